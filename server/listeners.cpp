// SPDX-License-Identifier: MIT
// bind()/listen() for TCP and unix listeners, with errors that name the
// call, the address and the errno.
#include "server/listeners.hpp"

#include <grp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "server/common/log.hpp"

namespace quiver::server {

namespace {

Unexpected<Error> sys_fail(const char* call, const ListenSpec& spec, int err) {
    return unexpected(Errc::kSystem, "", std::string(call) + "(" + spec.address + ") failed: " +
                                             log::errno_text(err));
}

Result<BoundListener> bind_tcp(const ListenSpec& spec) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    addrinfo* res = nullptr;
    std::string port = std::to_string(spec.port);
    const char* host = spec.host.empty() || spec.host == "*" ? nullptr : spec.host.c_str();
    int rc = ::getaddrinfo(host, port.c_str(), &hints, &res);
    if (rc != 0)
        return unexpected(Errc::kInvalid, "", "getaddrinfo(" + spec.address + ") failed: " + gai_strerror(rc));
    // With no host, prefer IPv4's 0.0.0.0 (what "any" means to most operators).
    addrinfo* ai = res;
    if (!host)
        for (addrinfo* p = res; p; p = p->ai_next)
            if (p->ai_family == AF_INET) { ai = p; break; }
    int fd = ::socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        int err = errno;
        ::freeaddrinfo(res);
        return sys_fail("socket", spec, err);
    }
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (ai->ai_family == AF_INET6) ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (::bind(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        int err = errno;
        ::freeaddrinfo(res);
        ::close(fd);
        return sys_fail("bind", spec, err);
    }
    ::freeaddrinfo(res);
    if (::listen(fd, spec.backlog) != 0) {
        int err = errno;
        ::close(fd);
        return sys_fail("listen", spec, err);
    }
    BoundListener b;
    b.spec = spec;
    b.fd = fd;
    return b;
}

Result<BoundListener> bind_unix(const ListenSpec& spec, const std::string& user, const std::string& group) {
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    if (spec.path.size() >= sizeof sa.sun_path)
        return unexpected(Errc::kInvalid, "", "unix socket path too long (" + std::to_string(spec.path.size()) +
                                                  " bytes, at most " + std::to_string(sizeof sa.sun_path - 1) +
                                                  "): " + spec.path);
    std::memcpy(sa.sun_path, spec.path.data(), spec.path.size());
    struct stat st;
    if (::lstat(spec.path.c_str(), &st) == 0) {
        if (!S_ISSOCK(st.st_mode))
            return unexpected(Errc::kInvalid, "", "bind(" + spec.address +
                                                      ") refused: the path exists and is not a socket");
        // A socket file: live server, or left behind by a crashed run?
        int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int rc = ::connect(probe, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
        int err = errno;
        ::close(probe);
        if (rc == 0)
            return unexpected(Errc::kInvalid, "", "bind(" + spec.address +
                                                      ") refused: a running server is listening there");
        if (err != ECONNREFUSED && err != ENOENT) return sys_fail("connect", spec, err);
        if (::unlink(spec.path.c_str()) != 0 && errno != ENOENT) return sys_fail("unlink", spec, errno);
        log::info("replaced stale socket file ", spec.path);
    }
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return sys_fail("socket", spec, errno);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
        int err = errno;
        ::close(fd);
        return sys_fail("bind", spec, err);
    }
    BoundListener b;
    b.spec = spec;
    b.fd = fd;
    b.created_file = true;
    if (::chmod(spec.path.c_str(), spec.mode) != 0) {
        int err = errno;
        close_listener(b);
        return sys_fail("chmod", spec, err);
    }
    if (::geteuid() == 0 && (!user.empty() || !group.empty())) {
        uid_t uid = static_cast<uid_t>(-1);
        gid_t gid = static_cast<gid_t>(-1);
        if (!user.empty())
            if (struct passwd* pw = ::getpwnam(user.c_str())) uid = pw->pw_uid, gid = pw->pw_gid;
        if (!group.empty())
            if (struct group* gr = ::getgrnam(group.c_str())) gid = gr->gr_gid;
        if (::chown(spec.path.c_str(), uid, gid) != 0) {
            int err = errno;
            close_listener(b);
            return sys_fail("chown", spec, err);
        }
    }
    if (::listen(fd, spec.backlog) != 0) {
        int err = errno;
        close_listener(b);
        return sys_fail("listen", spec, err);
    }
    return b;
}

}  // namespace

Result<BoundListener> bind_listener(const ListenSpec& spec, const std::string& user, const std::string& group) {
    return spec.is_unix ? bind_unix(spec, user, group) : bind_tcp(spec);
}

void close_listener(BoundListener& l) {
    if (l.fd >= 0) ::close(l.fd);
    l.fd = -1;
    if (l.created_file && !l.spec.path.empty()) ::unlink(l.spec.path.c_str());
    l.created_file = false;
}

bool same_socket(const ListenSpec& a, const ListenSpec& b) {
    if (a.is_unix != b.is_unix || a.protocol != b.protocol) return false;
    if (a.is_unix) return a.path == b.path;
    return a.host == b.host && a.port == b.port;
}

}  // namespace quiver::server
