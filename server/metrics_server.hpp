// SPDX-License-Identifier: MIT
// The master's small HTTP/1.1 listener for /metrics and /status: one request
// per connection, answered from memory and closed. Bounded: 64 clients at a
// time, 8 KiB of request head, 10 s per client. It runs in the master's loop
// and only reads the scoreboard, so workers never wait on it.
#pragma once

#include <uv.h>

#include <functional>
#include <string>
#include <string_view>

#include "server/common/config/config.hpp"
#include "server/common/result.hpp"

namespace quiver::server {

struct HttpAnswer {
    int status = 200;
    std::string content_type;
    std::string body;
};

class MetricsServer {
public:
    // path without the query; method GET or HEAD (others get 405 first).
    using Handler = std::function<HttpAnswer(std::string_view path)>;

    MetricsServer(uv_loop_t* loop, Handler handler);
    ~MetricsServer();
    MetricsServer(const MetricsServer&) = delete;
    MetricsServer& operator=(const MetricsServer&) = delete;

    // Binds host:port (as parsed by the config) and listens.
    Result<void> start(const ListenSpec& spec);
    // Closes the listener and every client; frees itself from the loop's
    // point of view once the close callbacks ran (the object must outlive them).
    void close();
    bool closed() const { return open_handles_ == 0; }

private:
    struct Client;
    static void on_connection(uv_stream_t* server, int status) noexcept;
    void answer(Client* c);
    void finish(Client* c);

    uv_loop_t* loop_;
    Handler handler_;
    uv_tcp_t tcp_;
    bool listening_ = false;
    int open_handles_ = 0;
    int clients_ = 0;
    Client* head_ = nullptr;
};

}  // namespace quiver::server
