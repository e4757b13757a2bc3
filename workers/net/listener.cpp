// SPDX-License-Identifier: MIT
// Accepting connections from a shared listening socket.
#include "workers/net/listener.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "server/common/log.hpp"
#include "workers/worker.hpp"

namespace quiver::worker {

namespace {

// Connections accepted per wake-up. Small, so that the workers sharing a
// socket take turns; large enough that a burst costs few wake-ups.
constexpr int kAcceptBatch = 8;

std::string peer_text(const sockaddr_storage& ss) {
    char buf[INET6_ADDRSTRLEN] = {};
    if (ss.ss_family == AF_INET) {
        auto* sa = reinterpret_cast<const sockaddr_in*>(&ss);
        inet_ntop(AF_INET, &sa->sin_addr, buf, sizeof buf);
    } else if (ss.ss_family == AF_INET6) {
        auto* sa = reinterpret_cast<const sockaddr_in6*>(&ss);
        if (IN6_IS_ADDR_V4MAPPED(&sa->sin6_addr))
            inet_ntop(AF_INET, &sa->sin6_addr.s6_addr[12], buf, sizeof buf);
        else
            inet_ntop(AF_INET6, &sa->sin6_addr, buf, sizeof buf);
    } else {
        return "unix";
    }
    return buf;
}

}  // namespace

Listener::Listener(Worker* worker, const ListenSpec* spec, int fd)
    : worker_(worker), spec_(spec), fd_(fd) {}

bool Listener::start() {
    if (!initialised_) {
        int rc = uv_poll_init(worker_->loop(), &poll_, fd_);
        if (rc != 0) {
            log::error("uv_poll_init(", spec_->address, ") failed: ", uv_err_name(rc));
            return false;
        }
        poll_.data = this;
        initialised_ = true;
    }
    if (active_) return true;
    int rc = uv_poll_start(&poll_, UV_READABLE, on_poll);
    if (rc != 0) {
        log::error("uv_poll_start(", spec_->address, ") failed: ", uv_err_name(rc));
        return false;
    }
    active_ = true;
    return true;
}

void Listener::stop() {
    if (active_) uv_poll_stop(&poll_);
    active_ = false;
}

void Listener::close() {
    stop();
    if (initialised_ && !uv_is_closing(reinterpret_cast<uv_handle_t*>(&poll_)))
        uv_close(reinterpret_cast<uv_handle_t*>(&poll_), on_close);
    else
        closed_ = true;
}

void Listener::on_close(uv_handle_t* h) noexcept { static_cast<Listener*>(h->data)->closed_ = true; }

void Listener::on_poll(uv_poll_t* p, int status, int) noexcept {
    auto* l = static_cast<Listener*>(p->data);
    if (status < 0) {
        log::error("poll(", l->spec_->address, ") failed: ", uv_err_name(status));
        return;
    }
    l->handle_accept();
}

void Listener::handle_accept() {
    for (int i = 0; i < kAcceptBatch && active_; ++i) {
        sockaddr_storage ss;
        socklen_t len = sizeof ss;
        int fd = ::accept4(fd_, reinterpret_cast<sockaddr*>(&ss), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            int err = errno;
            if (err == EAGAIN || err == EWOULDBLOCK || err == EINTR) return;
            if (err == ECONNABORTED || err == EPROTO) continue;
            if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
                // Out of descriptors: stop accepting for a moment rather than
                // spin on a readable socket; the worker resumes us.
                // Logged once per episode (the worker says when it ends).
                worker_->accept_paused(this, err);
                return;
            }
            log::error("accept4(", spec_->address, ") failed: ", log::errno_text(err));
            return;
        }
        worker_->accept(fd, spec_, spec_->is_unix, peer_text(ss));
    }
}

}  // namespace quiver::worker
