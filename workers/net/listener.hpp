// SPDX-License-Identifier: MIT
// Listener: accepts on one listening socket that the master owns and shares
// with every worker. Readiness comes from uv_poll and each wake-up accepts a
// small batch, so workers woken together split a burst of connections
// instead of the first one taking them all.
#pragma once

#include <uv.h>

#include "server/common/config/config.hpp"

namespace quiver::worker {

class Worker;

class Listener {
public:
    Listener(Worker* worker, const ListenSpec* spec, int fd);
    Listener(const Listener&) = delete;
    Listener& operator=(const Listener&) = delete;

    bool start();   // begin accepting
    void stop();    // stop accepting (the socket stays open in the master)
    void close();   // release the poll handle; the object may be freed after on_closed
    bool closed() const { return closed_; }
    const ListenSpec* spec() const { return spec_; }

private:
    static void on_poll(uv_poll_t* p, int status, int events) noexcept;
    static void on_close(uv_handle_t* h) noexcept;
    void handle_accept();

    Worker* worker_;
    const ListenSpec* spec_;
    int fd_;
    uv_poll_t poll_;
    bool initialised_ = false;
    bool active_ = false;
    bool closed_ = false;
};

}  // namespace quiver::worker
