// SPDX-License-Identifier: MIT
// sd_notify, watchdog and socket activation by hand: each is a few lines of
// documented protocol (sd_notify(3), sd_watchdog_enabled(3),
// sd_listen_fds(3)), and doing them here keeps libsystemd out of the
// dependencies of a server that also runs without systemd.
#include "server/systemd.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <ctime>

namespace quiver::server::systemd {

bool notify_enabled() {
    const char* path = std::getenv("NOTIFY_SOCKET");
    return path && *path;
}

bool notify(std::string_view state) {
    const char* path = std::getenv("NOTIFY_SOCKET");
    if (!path || !*path) return false;
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    size_t len = std::strlen(path);
    if (len >= sizeof sa.sun_path || (path[0] != '/' && path[0] != '@')) return false;
    std::memcpy(sa.sun_path, path, len);
    if (path[0] == '@') sa.sun_path[0] = '\0';  // abstract namespace
    socklen_t salen = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + len);
    int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    ssize_t n = ::sendto(fd, state.data(), state.size(), MSG_NOSIGNAL | MSG_DONTWAIT,
                         reinterpret_cast<sockaddr*>(&sa), salen);
    ::close(fd);
    return n == static_cast<ssize_t>(state.size());
}

uint64_t watchdog_usec() {
    const char* usec = std::getenv("WATCHDOG_USEC");
    if (!usec) return 0;
    if (const char* pid = std::getenv("WATCHDOG_PID"); pid && std::atol(pid) != ::getpid()) return 0;
    return std::strtoull(usec, nullptr, 10);
}

std::vector<ActivatedSocket> take_activated_sockets() {
    std::vector<ActivatedSocket> out;
    const char* pid = std::getenv("LISTEN_PID");
    const char* fds = std::getenv("LISTEN_FDS");
    if (!pid || !fds || std::atol(pid) != ::getpid()) return out;
    int n = std::atoi(fds);
    std::vector<std::string> names;
    if (const char* nm = std::getenv("LISTEN_FDNAMES")) {
        std::string s = nm;
        size_t start = 0;
        for (;;) {
            size_t colon = s.find(':', start);
            names.push_back(s.substr(start, colon == std::string::npos ? std::string::npos : colon - start));
            if (colon == std::string::npos) break;
            start = colon + 1;
        }
    }
    for (int i = 0; i < n; ++i) {
        int fd = 3 + i;
        ::fcntl(fd, F_SETFD, FD_CLOEXEC);
        out.push_back({fd, static_cast<size_t>(i) < names.size() ? names[static_cast<size_t>(i)] : ""});
    }
    ::unsetenv("LISTEN_PID");
    ::unsetenv("LISTEN_FDS");
    ::unsetenv("LISTEN_FDNAMES");
    return out;
}

uint64_t monotonic_usec() {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000000 + static_cast<uint64_t>(ts.tv_nsec) / 1000;
}

}  // namespace quiver::server::systemd
