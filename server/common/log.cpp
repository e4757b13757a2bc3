// SPDX-License-Identifier: MIT
// Error log writer: formats one line and writes it with a single write(2),
// so lines from master and workers sharing a file never interleave.
#include "server/common/log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>

namespace quiver::log {
namespace {

struct State {
    std::string role = "quiver";
    Level level = Level::kInfo;
    std::string path;   // "" = stderr
    int fd = 2;
    bool journal = false;
};

State& state() {
    static State s;
    return s;
}

const char* level_name(Level l) {
    switch (l) {
        case Level::kError: return "error";
        case Level::kWarning: return "warning";
        case Level::kInfo: return "info";
        case Level::kDebug: return "debug";
    }
    return "info";
}

int open_log(const std::string& path) {
    return ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
}

}  // namespace

bool parse_level(std::string_view s, Level* out) {
    if (s == "error") *out = Level::kError;
    else if (s == "warning" || s == "warn") *out = Level::kWarning;
    else if (s == "info") *out = Level::kInfo;
    else if (s == "debug") *out = Level::kDebug;
    else return false;
    return true;
}

bool init(std::string_view role, Level level, const std::string& path) {
    State& st = state();
    st.role = role;
    st.level = level;
    // Under systemd the journal stamps time and priority itself; it tells us
    // so with JOURNAL_STREAM (systemd.exec(5)). Only trust it for stderr.
    st.journal = std::getenv("JOURNAL_STREAM") != nullptr;
    if (path.empty() || path == "-") {
        if (st.fd > 2) ::close(st.fd);
        st.fd = 2;
        st.path.clear();
        return true;
    }
    int fd = open_log(path);
    if (fd < 0) {
        int err = errno;
        error("open(", path, ") failed: ", errno_text(err), "; logging to stderr");
        return false;
    }
    if (st.fd > 2) ::close(st.fd);
    st.fd = fd;
    st.path = path;
    st.journal = false;
    return true;
}

void reopen() {
    State& st = state();
    if (st.path.empty()) return;
    int fd = open_log(st.path);
    if (fd < 0) {
        int err = errno;
        error("reopen(", st.path, ") failed: ", errno_text(err));
        return;
    }
    ::dup2(fd, st.fd);
    ::close(fd);
}

void set_role(std::string_view role) { state().role = role; }

bool enabled(Level level) { return static_cast<int>(level) <= static_cast<int>(state().level); }

void write(Level level, std::string_view msg) {
    State& st = state();
    std::string line;
    line.reserve(msg.size() + 64);
    if (st.journal) {
        line.push_back('<');
        line.push_back(static_cast<char>('0' + static_cast<int>(level)));
        line.push_back('>');
    } else {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        struct tm tm;
        gmtime_r(&ts.tv_sec, &tm);
        char buf[40];
        size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
        n += static_cast<size_t>(snprintf(buf + n, sizeof buf - n, ".%03ldZ ",
                                          static_cast<long>(ts.tv_nsec / 1000000)));
        line.append(buf, n);
        line.append(level_name(level));
        line.push_back(' ');
    }
    line.append(st.role);
    line.append("[");
    line.append(std::to_string(::getpid()));
    line.append("]: ");
    line.append(msg);
    line.push_back('\n');
    // One write per line; a short write to a full disk loses the rest of the
    // line, never the process.
    ssize_t r;
    do {
        r = ::write(st.fd, line.data(), line.size());
    } while (r < 0 && errno == EINTR);
}

std::string errno_text(int err) {
    const char* name = strerrorname_np(err);
    std::string s = name ? name : std::to_string(err);
    s += " (";
    s += strerror(err);
    s += ")";
    return s;
}

}  // namespace quiver::log
