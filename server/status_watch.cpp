// SPDX-License-Identifier: MIT
// The terminal view of `quiver status --watch`.
#include "server/status_watch.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>

#include "server/common/log.hpp"
#include "server/common/scoreboard.hpp"

namespace quiver::server {

namespace {

volatile std::sig_atomic_t g_stop = 0;

// One "top" round trip; false with a message in `err` when it fails.
bool ask_top(const std::string& path, std::string* out, std::string* err) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    if (fd < 0 || path.size() >= sizeof sa.sun_path) {
        *err = "control socket path too long or socket() failed";
        if (fd >= 0) ::close(fd);
        return false;
    }
    std::memcpy(sa.sun_path, path.data(), path.size());
    if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
        *err = "connect(" + path + ") failed: " + log::errno_text(errno) + "; is quiver running?";
        ::close(fd);
        return false;
    }
    static const char kCmd[] = "top\n";
    if (::send(fd, kCmd, sizeof kCmd - 1, MSG_NOSIGNAL) != static_cast<ssize_t>(sizeof kCmd - 1)) {
        *err = "send(" + path + ") failed: " + log::errno_text(errno);
        ::close(fd);
        return false;
    }
    out->clear();
    uint64_t deadline = monotonic_ms() + 5000;
    char buf[4096];
    for (;;) {
        uint64_t now = monotonic_ms();
        if (now >= deadline || g_stop) {
            *err = "no answer from " + path + " within 5 s";
            ::close(fd);
            return false;
        }
        pollfd p{fd, POLLIN, 0};
        int r = ::poll(&p, 1, static_cast<int>(deadline - now));
        if (r <= 0) continue;
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        out->append(buf, static_cast<size_t>(n));
    }
    ::close(fd);
    if (out->rfind("ok\n", 0) != 0) {
        *err = out->empty() ? "empty answer" : *out;
        return false;
    }
    out->erase(0, 3);
    return true;
}

}  // namespace

int run_status_watch(const std::string& control_socket, int count) {
    struct sigaction sa{};
    sa.sa_handler = [](int) { g_stop = 1; };
    ::sigaction(SIGINT, &sa, nullptr);
    ::sigaction(SIGTERM, &sa, nullptr);
    bool tty = ::isatty(STDOUT_FILENO);
    for (int i = 0; !g_stop && (count <= 0 || i < count); ++i) {
        if (i > 0) {
            // Sleep one second in small steps, so ^C ends at once.
            for (int k = 0; k < 10 && !g_stop; ++k) ::usleep(100000);
            if (g_stop) break;
        }
        std::string text, err;
        if (!ask_top(control_socket, &text, &err)) {
            std::fprintf(stderr, "quiver: %s\n", err.c_str());
            return 2;
        }
        // Home + clear on a terminal; a separator line when piped.
        std::fputs(tty ? "\x1b[H\x1b[2J" : (i ? "\n" : ""), stdout);
        std::fputs(text.c_str(), stdout);
        if (tty) std::fputs("\n(refreshing every second; ^C to quit)\n", stdout);
        std::fflush(stdout);
    }
    return 0;
}

}  // namespace quiver::server
