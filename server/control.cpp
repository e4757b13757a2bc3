// SPDX-License-Identifier: MIT
// Control socket server (on the master's loop) and its blocking client.
#include "server/control.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "server/common/log.hpp"
#include "server/common/scoreboard.hpp"

namespace quiver::server {

namespace {
constexpr size_t kMaxCommand = 1024;
}

struct ControlServer::Client {
    uv_pipe_t pipe;
    ControlServer* server = nullptr;
    std::string line;
    bool answered = false;
    bool closing = false;
    // Shared with a pending reply so that a client that hung up before the
    // reply (a slow reload) is never written to after it is freed.
    std::shared_ptr<bool> alive = std::make_shared<bool>(true);

    void close() {
        if (closing) return;
        closing = true;
        *alive = false;
        uv_close(reinterpret_cast<uv_handle_t*>(&pipe),
                 [](uv_handle_t* h) noexcept { delete static_cast<Client*>(h->data); });
    }
};

ControlServer::ControlServer(uv_loop_t* loop, Handler handler) : loop_(loop), handler_(std::move(handler)) {}

ControlServer::~ControlServer() = default;

Result<void> ControlServer::start(const std::string& path) {
    struct stat st;
    if (::lstat(path.c_str(), &st) == 0) {
        if (!S_ISSOCK(st.st_mode))
            return unexpected(Errc::kInvalid, "", "control socket " + path + " exists and is not a socket");
        // A live master answers on it; a stale file from a crash does not.
        int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_un sa{};
        sa.sun_family = AF_UNIX;
        std::strncpy(sa.sun_path, path.c_str(), sizeof sa.sun_path - 1);
        int rc = ::connect(probe, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
        ::close(probe);
        if (rc == 0) return unexpected(Errc::kInvalid, "", "control socket " + path + " is in use by a running master");
        ::unlink(path.c_str());
    }
    // Bound by hand, not with uv_pipe_bind: libuv would unlink the path when
    // the handle closes, and after a binary upgrade the path belongs to the
    // new master. close() removes it when it is still ours.
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    if (path.size() >= sizeof sa.sun_path) return unexpected(Errc::kInvalid, "", "control socket path too long: " + path);
    std::memcpy(sa.sun_path, path.data(), path.size());
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return unexpected(Errc::kSystem, "", "socket(" + path + ") failed: " + log::errno_text(errno));
    // Created 0600 from the start: nobody else may ever connect.
    mode_t old = ::umask(0177);
    int rc = ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    int err = errno;
    ::umask(old);
    if (rc != 0) {
        ::close(fd);
        return unexpected(Errc::kSystem, "", "bind(" + path + ") failed: " + log::errno_text(err));
    }
    if (::listen(fd, 16) != 0) {
        err = errno;
        ::close(fd);
        ::unlink(path.c_str());
        return unexpected(Errc::kSystem, "", "listen(" + path + ") failed: " + log::errno_text(err));
    }
    uv_pipe_init(loop_, &pipe_, 0);
    pipe_.data = this;
    open_ = true;
    path_ = path;
    uv_pipe_open(&pipe_, fd);
    rc = uv_listen(reinterpret_cast<uv_stream_t*>(&pipe_), 16, on_connection);
    if (rc != 0) return unexpected(Errc::kSystem, "", "listen(" + path + ") failed: " + uv_err_name(rc));
    return {};
}

void ControlServer::close() {
    if (!open_) return;
    open_ = false;
    uv_close(reinterpret_cast<uv_handle_t*>(&pipe_), nullptr);
    if (!path_.empty()) ::unlink(path_.c_str());
}

void ControlServer::on_connection(uv_stream_t* s, int status) noexcept {
    auto* self = static_cast<ControlServer*>(s->data);
    if (status < 0) return;
    auto* c = new Client();
    c->server = self;
    uv_pipe_init(self->loop_, &c->pipe, 0);
    c->pipe.data = c;
    if (uv_accept(s, reinterpret_cast<uv_stream_t*>(&c->pipe)) != 0) {
        c->close();
        return;
    }
    uv_read_start(
        reinterpret_cast<uv_stream_t*>(&c->pipe),
        [](uv_handle_t*, size_t, uv_buf_t* b) noexcept {
            static char buf[1024];
            *b = uv_buf_init(buf, sizeof buf);
        },
        [](uv_stream_t* st, ssize_t n, const uv_buf_t* buf) noexcept {
            auto* cl = static_cast<Client*>(st->data);
            if (n < 0) {
                cl->close();
                return;
            }
            if (cl->answered) return;
            cl->line.append(buf->base, static_cast<size_t>(n));
            size_t nl = cl->line.find('\n');
            if (nl == std::string::npos) {
                if (cl->line.size() > kMaxCommand) cl->close();
                return;
            }
            cl->answered = true;
            std::string cmd = cl->line.substr(0, nl);
            if (!cmd.empty() && cmd.back() == '\r') cmd.pop_back();
            std::weak_ptr<bool> alive = cl->alive;
            cl->server->handler_(cmd, [cl, alive](std::string text) {
                auto a = alive.lock();
                if (!a || !*a) return;
                if (text.empty() || text.back() != '\n') text.push_back('\n');
                auto* req = new uv_write_t;
                auto* data = new std::string(std::move(text));
                req->data = data;
                uv_buf_t b = uv_buf_init(data->data(), static_cast<unsigned>(data->size()));
                uv_write(req, reinterpret_cast<uv_stream_t*>(&cl->pipe), &b, 1, [](uv_write_t* r, int) noexcept {
                    auto* d = static_cast<std::string*>(r->data);
                    auto* client = static_cast<Client*>(r->handle->data);
                    delete d;
                    delete r;
                    client->close();
                });
            });
        });
}

int run_control_command(const std::string& path, const std::string& command, double timeout_s) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    if (path.size() >= sizeof sa.sun_path) {
        std::fprintf(stderr, "quiver: control socket path too long: %s\n", path.c_str());
        return 2;
    }
    std::memcpy(sa.sun_path, path.data(), path.size());
    if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
        std::fprintf(stderr, "quiver: connect(%s) failed: %s; is quiver running?\n", path.c_str(),
                     log::errno_text(errno).c_str());
        ::close(fd);
        return 2;
    }
    std::string line = command + "\n";
    if (::send(fd, line.data(), line.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(line.size())) {
        std::fprintf(stderr, "quiver: send(%s) failed: %s\n", path.c_str(), log::errno_text(errno).c_str());
        ::close(fd);
        return 2;
    }
    std::string reply;
    uint64_t deadline = monotonic_ms() + static_cast<uint64_t>(timeout_s * 1000);
    char buf[4096];
    for (;;) {
        uint64_t now = monotonic_ms();
        if (now >= deadline) {
            std::fprintf(stderr, "quiver: no complete answer from %s within %.0f s\n", path.c_str(), timeout_s);
            ::close(fd);
            return 2;
        }
        pollfd p{fd, POLLIN, 0};
        int r = ::poll(&p, 1, static_cast<int>(deadline - now));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) continue;
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        reply.append(buf, static_cast<size_t>(n));
    }
    ::close(fd);
    std::fputs(reply.c_str(), stdout);
    return reply.rfind("ok", 0) == 0 ? 0 : 1;
}

}  // namespace quiver::server
