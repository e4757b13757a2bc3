// SPDX-License-Identifier: MIT
// The control socket: a unix socket (mode 0600) on which the running master
// takes one-line commands (`reload`, `status`, `stop`) from `quiver reload|
// status|stop`, and the client side of those commands.
#pragma once

#include <uv.h>

#include <functional>
#include <string>

#include "server/common/result.hpp"

namespace quiver::server {

class ControlServer {
public:
    // Handles one command line; calls `reply` exactly once (now or later)
    // with the text to send back. The first line of a reply is "ok ..." or
    // "error ...".
    using Reply = std::function<void(std::string)>;
    using Handler = std::function<void(const std::string& command, Reply reply)>;

    ControlServer(uv_loop_t* loop, Handler handler);
    ~ControlServer();
    ControlServer(const ControlServer&) = delete;
    ControlServer& operator=(const ControlServer&) = delete;

    // Binds `path` (replacing a stale socket file, never anything else) with
    // mode 0600 and starts listening.
    Result<void> start(const std::string& path);
    void close();

private:
    struct Client;
    static void on_connection(uv_stream_t* server, int status) noexcept;

    uv_loop_t* loop_;
    Handler handler_;
    uv_pipe_t pipe_;
    std::string path_;
    bool open_ = false;
};

// Client: sends `command` to the master at `path`, prints its reply, and
// returns 0 when the reply starts with "ok", 1 otherwise (2 when the socket
// cannot be reached).
int run_control_command(const std::string& path, const std::string& command, double timeout_s);

}  // namespace quiver::server
