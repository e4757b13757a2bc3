// SPDX-License-Identifier: MIT
// A minimal, bounded HTTP/1.1 responder on the master's loop.
#include "server/metrics_server.hpp"

#include <arpa/inet.h>
#include <netdb.h>

#include <cstring>

#include "server/common/log.hpp"
#include "quiver_build.h"

namespace quiver::server {

namespace {
constexpr int kMaxClients = 64;
constexpr size_t kMaxHead = 8192;
constexpr uint64_t kClientTimeoutMs = 10000;

const char* reason(int status) {
    switch (status) {
        case 200: return "OK";
        case 400: return "Bad Request";
        case 404: return "Not Found";
        case 405: return "Method Not Allowed";
        case 431: return "Request Header Fields Too Large";
        case 503: return "Service Unavailable";
        default: return "Error";
    }
}
}  // namespace

struct MetricsServer::Client {
    MetricsServer* server = nullptr;
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_write_t write_req;
    std::string in;
    std::string out;
    int handles = 0;
    bool done = false;   // answered or closing: ignore further input
    Client* prev = nullptr;
    Client* next = nullptr;
};

MetricsServer::MetricsServer(uv_loop_t* loop, Handler handler) : loop_(loop), handler_(std::move(handler)) {}

MetricsServer::~MetricsServer() = default;

Result<void> MetricsServer::start(const ListenSpec& spec) {
    sockaddr_storage ss{};
    std::string host = spec.host.empty() ? "0.0.0.0" : spec.host;
    auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
    if (uv_ip4_addr(host.c_str(), spec.port, v4) != 0 && uv_ip6_addr(host.c_str(), spec.port, v6) != 0) {
        // A host name: resolve once, at start.
        addrinfo hints{}, *res = nullptr;
        hints.ai_socktype = SOCK_STREAM;
        if (::getaddrinfo(host.c_str(), nullptr, &hints, &res) != 0 || !res)
            return unexpected(Errc::kInvalid, "metrics.listen: cannot resolve host", host);
        std::memcpy(&ss, res->ai_addr, res->ai_addrlen);
        if (ss.ss_family == AF_INET) v4->sin_port = htons(spec.port);
        else v6->sin6_port = htons(spec.port);
        ::freeaddrinfo(res);
    }
    uv_tcp_init(loop_, &tcp_);
    tcp_.data = this;
    ++open_handles_;
    int rc = uv_tcp_bind(&tcp_, reinterpret_cast<sockaddr*>(&ss), 0);
    if (rc == 0) rc = uv_listen(reinterpret_cast<uv_stream_t*>(&tcp_), 128, on_connection);
    if (rc != 0) {
        close();
        return unexpected(Errc::kSystem, "metrics.listen: cannot listen",
                          spec.address + ": " + uv_strerror(rc));
    }
    listening_ = true;
    return {};
}

void MetricsServer::close() {
    if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(&tcp_)) && open_handles_ > 0) {
        uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), [](uv_handle_t* h) noexcept {
            --static_cast<MetricsServer*>(h->data)->open_handles_;
        });
    }
    listening_ = false;
    for (Client* c = head_; c; c = c->next) finish(c);
}

void MetricsServer::on_connection(uv_stream_t* s, int status) noexcept {
    auto* self = static_cast<MetricsServer*>(s->data);
    if (status != 0) return;
    auto* c = new Client();
    c->server = self;
    uv_tcp_init(self->loop_, &c->tcp);
    uv_timer_init(self->loop_, &c->timer);
    c->tcp.data = c->timer.data = c;
    c->handles = 2;
    self->open_handles_ += 2;
    ++self->clients_;
    c->next = self->head_;
    if (self->head_) self->head_->prev = c;
    self->head_ = c;
    if (uv_accept(s, reinterpret_cast<uv_stream_t*>(&c->tcp)) != 0 || self->clients_ > kMaxClients) {
        self->finish(c);
        return;
    }
    uv_timer_start(&c->timer, [](uv_timer_t* t) noexcept {
        auto* cl = static_cast<Client*>(t->data);
        cl->server->finish(cl);
    }, kClientTimeoutMs, 0);
    uv_read_start(
        reinterpret_cast<uv_stream_t*>(&c->tcp),
        [](uv_handle_t*, size_t, uv_buf_t* b) noexcept {
            static char buf[4096];
            *b = uv_buf_init(buf, sizeof buf);
        },
        [](uv_stream_t* st, ssize_t n, const uv_buf_t* b) noexcept {
            auto* cl = static_cast<Client*>(st->data);
            if (cl->done) return;
            if (n < 0) {
                cl->server->finish(cl);
                return;
            }
            cl->in.append(b->base, static_cast<size_t>(n));
            if (cl->in.find("\r\n\r\n") != std::string::npos || cl->in.find("\n\n") != std::string::npos ||
                cl->in.size() > kMaxHead)
                cl->server->answer(cl);
        });
}

void MetricsServer::answer(Client* c) {
    c->done = true;
    uv_read_stop(reinterpret_cast<uv_stream_t*>(&c->tcp));
    HttpAnswer a;
    bool head = false;
    size_t eol = c->in.find_first_of("\r\n");
    std::string_view line = std::string_view(c->in).substr(0, eol);
    size_t sp1 = line.find(' '), sp2 = line.rfind(' ');
    if (c->in.size() > kMaxHead && eol == std::string::npos) {
        a = {431, "text/plain; charset=utf-8", "request head too large\n"};
    } else if (sp1 == std::string_view::npos || sp2 == sp1 || line.substr(sp2 + 1).substr(0, 5) != "HTTP/") {
        a = {400, "text/plain; charset=utf-8", "bad request line\n"};
    } else {
        std::string_view method = line.substr(0, sp1);
        std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
        std::string_view path = target.substr(0, target.find('?'));
        head = method == "HEAD";
        if (method != "GET" && !head) a = {405, "text/plain; charset=utf-8", "only GET and HEAD\n"};
        else a = handler_(path);
    }
    c->out = "HTTP/1.1 " + std::to_string(a.status) + " " + reason(a.status) + "\r\nServer: quiver/" QUIVER_VERSION
             "\r\nContent-Type: " + a.content_type + "\r\nContent-Length: " + std::to_string(a.body.size()) +
             "\r\nCache-Control: no-store\r\nConnection: close\r\n" +
             (a.status == 405 ? "Allow: GET, HEAD\r\n" : "") + "\r\n";
    if (!head) c->out += a.body;
    uv_buf_t b = uv_buf_init(c->out.data(), static_cast<unsigned>(c->out.size()));
    c->write_req.data = c;
    int rc = uv_write(&c->write_req, reinterpret_cast<uv_stream_t*>(&c->tcp), &b, 1, [](uv_write_t* r, int) noexcept {
        auto* cl = static_cast<Client*>(r->data);
        cl->server->finish(cl);
    });
    if (rc != 0) finish(c);
}

void MetricsServer::finish(Client* c) {
    if (uv_is_closing(reinterpret_cast<uv_handle_t*>(&c->tcp))) return;
    c->done = true;
    auto on_close = [](uv_handle_t* h) noexcept {
        auto* cl = static_cast<Client*>(h->data);
        MetricsServer* self = cl->server;
        --self->open_handles_;
        if (--cl->handles > 0) return;
        if (cl->prev) cl->prev->next = cl->next;
        else self->head_ = cl->next;
        if (cl->next) cl->next->prev = cl->prev;
        --self->clients_;
        delete cl;
    };
    uv_close(reinterpret_cast<uv_handle_t*>(&c->tcp), on_close);
    uv_close(reinterpret_cast<uv_handle_t*>(&c->timer), on_close);
}

}  // namespace quiver::server
