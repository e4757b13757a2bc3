// SPDX-License-Identifier: MIT
// Connection: one accepted socket. Owns the stream handle, the codec, the
// ordered queue of exchanges (pipelining: responses leave strictly in request
// order even when handlers finish out of order), the output buffer and one
// timer for every timeout. It does not parse (the codec does) and does not
// know plugins (the Worker dispatches each request).
//
// Lifetime (libuv's rules): a Connection is freed only in its close callback.
// An exchange that an app still holds when the connection closes is detached
// (conn == nullptr) and freed when the app finishes it.
#pragma once

#include <uv.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <quiver/plugin.h>

#include "server/common/config/config.hpp"
#include "workers/codec/codec.hpp"
#include "workers/http/request.hpp"
#include "workers/http/response.hpp"

namespace quiver::worker {

class Connection;
class Worker;
struct App;

// One request and its response. Handed to a plugin as an opaque qv_request_t.
struct Exchange {
    enum class State : uint8_t {
        kHandling,   // the app has it
        kStreaming,  // the app started a streamed response
        kDone,       // the whole response is serialised
    };

    Connection* conn = nullptr;   // nullptr once detached from a closed connection
    Exchange* next = nullptr;     // ordered queue / free list
    Request req;
    std::string out;              // response bytes while not at the head of the queue
    State state = State::kHandling;
    bool close_after = false;     // the connection closes after this response
    bool direct = false;          // at the head: bytes go straight to the connection
    bool canceled = false;
    bool counted = false;         // counted in the scoreboard's in_flight
    bool held = false;            // the app has it and has not finished it yet
    bool timed_out = false;       // answered 504 by timeouts.request
    Exchange* dl_prev = nullptr;  // the worker's deadline list (timeouts.request)
    Exchange* dl_next = nullptr;
    uint64_t deadline_ms = 0;
    BodyMode mode = BodyMode::kLength;
    int status = 0;
    uint64_t body_bytes = 0;      // body bytes sent (access log)
    uint64_t start_ms = 0;
    uint64_t start_ns = 0;        // uv_hrtime() at dispatch (duration metrics); 0 = not dispatched
    App* app = nullptr;
    uint64_t id = 0;

    // Plugin view (filled by the plugin host).
    qv_request_info_t info{};
    std::vector<qv_header_t> qv_headers;
    char id_text[72] = {};        // the request id: X-Request-Id, traceparent's trace id, or ours
    qv_cancel_cb cancel_cb = nullptr;
    void* cancel_arg = nullptr;

    void reset();
};

class Connection {
public:
    Connection(Worker* worker, const ListenSpec* listen, std::unique_ptr<Codec> codec);
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    // Takes an accepted, non-blocking fd. Returns false (and closes fd) on failure.
    bool open(int fd, bool is_unix, std::string remote_addr);

    // Finishing an exchange (called by the plugin host).
    // The response is serialised at once: into the connection's buffer when
    // the exchange is at the head of the queue, into ex->out otherwise.
    void respond(Exchange* ex, int status, const OutHeader* headers, size_t n,
                 std::string_view body);
    void stream_start(Exchange* ex, int status, const OutHeader* headers, size_t n);
    void stream_write(Exchange* ex, std::string_view data);
    void stream_end(Exchange* ex);
    // A plain error response from quiver itself (500, 503, 504...).
    void respond_error(Exchange* ex, int status);

    // Graceful stop: no new requests after the ones already received; idle
    // keep-alive connections answer their next request with Connection: close.
    void drain();
    // Close now (quick stop, timeouts).
    void close();

    bool idle() const { return head_ == nullptr && !codec_->in_message(); }
    const std::string& remote_addr() const { return remote_addr_; }
    Worker* worker() const { return worker_; }
    const ListenSpec* listen() const { return listen_; }
    size_t buffered_capacity() const {
        return wbuf_.capacity() + inflight_.capacity() + pending_in_.capacity();
    }

    // Called by the worker once per loop turn for connections marked dirty.
    void flush();
    bool dirty_ = false;
    Connection* next_dirty_ = nullptr;
    size_t index_ = 0;           // position in the worker's connection list

private:
    static void on_poll(uv_poll_t* p, int status, int events) noexcept;
    static void on_timer(uv_timer_t* t) noexcept;
    static void on_close(uv_handle_t* h) noexcept;

    void handle_poll(int status, int events);
    void read_some();
    void write_some();
    void update_poll();
    void handle_read(ssize_t nread, const char* data);
    void feed(const char* data, size_t len);
    void handle_message();
    void handle_codec_error(int status, std::string_view reason);
    void handle_written();
    void handle_timer();

    std::string& sink(Exchange* ex) { return ex->direct ? wbuf_ : ex->out; }
    ResponseHead make_head(const Exchange* ex, int status, bool has_body_length) const;
    void enqueue(Exchange* ex);
    void complete(Exchange* ex);
    void advance_queue();
    void mark_dirty();
    void pause_reading();
    void resume_reading();
    void begin_close();
    void update_deadline();
    void release_exchange(Exchange* ex);

    Worker* worker_;
    const ListenSpec* listen_;
    std::unique_ptr<Codec> codec_;
    // The socket is driven by a poll handle and plain recv()/send(): one
    // system call per read and per write, without libuv's stream layer (and
    // without read()/write(), whose VFS path costs more on sockets).
    uv_poll_t poll_;
    int fd_ = -1;
    int poll_events_ = 0;        // the events poll_ watches now
    uv_timer_t timer_;

    Exchange* head_ = nullptr;
    Exchange* tail_ = nullptr;
    uint32_t queued_ = 0;
    std::string wbuf_;           // bytes waiting to be written
    std::string inflight_;       // bytes the socket did not take yet (sent as it becomes writable)
    size_t inflight_off_ = 0;    // how much of inflight_ is sent
    std::string pending_in_;     // received bytes not fed yet (pipelining backpressure)
    std::string remote_addr_;
    int handles_open_ = 0;

    uint64_t deadline_ms_ = 0;   // 0 = none
    uint64_t timer_due_ms_ = 0;  // when the armed timer fires (0 = not armed)
    uint64_t request_start_ms_ = 0;
    uint64_t body_start_ms_ = 0;
    uint64_t idle_since_ms_ = 0;
    uint64_t write_progress_ms_ = 0;

    bool reading_ = false;
    bool in_read_ = false;       // inside on_read: flush once at its end
    bool writing_ = false;       // inflight_ waits for the socket to become writable
    bool eof_ = false;           // the peer half-closed
    bool no_more_requests_ = false;  // stop parsing (close after queue drains)
    bool draining_ = false;
    bool closing_ = false;       // shutdown/close started
    bool lingering_ = false;     // after shutdown(SHUT_WR), discarding input
    bool continue_owed_ = false; // a 100 Continue waits for the queue to empty
    bool was_in_body_ = false;
    bool is_unix_ = false;
};

}  // namespace quiver::worker
