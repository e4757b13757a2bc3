// SPDX-License-Identifier: MIT
// fork, load in the child, hand back the resolved config as our own dump
// (which the parent re-reads: well-formed by construction), kill on timeout.
#include "server/config_guard.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "server/common/log.hpp"
#include "server/common/scoreboard.hpp"

namespace quiver::server {

Result<Config> load_config_guarded(const ConfigSources& src, uint64_t timeout_ms) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return load_config(src);  // no pipe: load in-process
    pid_t pid = ::fork();
    if (pid < 0) {
        ::close(fds[0]);
        ::close(fds[1]);
        return load_config(src);
    }
    if (pid == 0) {
        ::close(fds[0]);
        auto cfg = load_config(src);
        std::string out = cfg ? "ok\n" + dump_config(*cfg) : "error\n" + cfg.error().message();
        size_t off = 0;
        while (off < out.size()) {
            ssize_t n = ::write(fds[1], out.data() + off, out.size() - off);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) break;
            off += static_cast<size_t>(n);
        }
        ::_exit(0);
    }
    ::close(fds[1]);
    std::string text;
    uint64_t deadline = monotonic_ms() + timeout_ms;
    bool timed_out = false;
    char buf[8192];
    for (;;) {
        uint64_t now = monotonic_ms();
        if (now >= deadline) {
            timed_out = true;
            break;
        }
        pollfd p{fds[0], POLLIN, 0};
        int r = ::poll(&p, 1, static_cast<int>(deadline - now));
        if (r < 0 && errno == EINTR) continue;
        if (r == 0) continue;
        ssize_t n = ::read(fds[0], buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        text.append(buf, static_cast<size_t>(n));
    }
    ::close(fds[0]);
    if (timed_out) ::kill(pid, SIGKILL);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    std::string where = src.path.empty() ? std::string("the configuration") : src.path;
    if (timed_out)
        return unexpected(Errc::kInvalid, "",
                          where + ": the YAML parser did not finish within " + std::to_string(timeout_ms / 1000) +
                              " s (a yaml-cpp defect on this input); check the file's syntax");
    if (text.rfind("ok\n", 0) == 0) {
        auto cfg = load_config_text(std::string_view(text).substr(3), src.path.empty() ? "(defaults)" : src.path, "/");
        if (cfg) cfg->source = src.path;
        return cfg;
    }
    if (text.rfind("error\n", 0) == 0) return unexpected(Errc::kInvalid, "", text.substr(6));
    return unexpected(Errc::kInvalid, "", where + ": loading the configuration failed (the loader died)");
}

}  // namespace quiver::server
