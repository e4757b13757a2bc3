// SPDX-License-Identifier: MIT
// One pooled libpq connection: the non-blocking connect state machine, the
// pipeline (send with one Sync per query, read results in FIFO order), query
// deadlines and reconnects. Owned and driven by Pool; not used elsewhere.
#pragma once

#include <libpq-fe.h>
#include <uv.h>

#include <cstdint>
#include <string>
#include <vector>

#include "workers/pg/pipeline.hpp"

namespace quiver::worker::pg {

class Pool;

// A connection pinned for a transaction. Lives inside its Connection, so
// begin_session allocates nothing; valid until end_session.
class Session {
public:
    Connection* connection() const { return conn_; }

private:
    friend class Connection;
    friend class Pool;
    Connection* conn_ = nullptr;
    bool active_ = false;  // pinned by a caller
    bool broken_ = false;  // the connection was lost while pinned
};

class Connection {
public:
    enum class State : uint8_t { kIdle, kConnecting, kUp, kDown, kClosed };

    Connection(Pool& pool, int index);
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    void init();     // the timer handle; before connect()
    void connect();  // starts one attempt now

    // Queues `q` for this turn's flush (Pool marks the connection dirty).
    void enqueue(Query* q);
    // Takes back a query that was not sent yet; false if it was.
    bool remove_unsent(Query* q);
    // Once per loop turn: sends the unsent queries and flushes libpq's buffer.
    void flush();
    // Cancels a sent query: discards its result; cancels server-side once it executes.
    void cancel_sent(Query* q);
    // The PQcancel job started for this connection has returned.
    void cancel_finished();
    // Pool shutdown: finish what was sent, then close the handles.
    void begin_close();
    // Attempt at once if waiting to reconnect (rate-limited by the caller).
    void kick();

    State state() const { return state_; }
    bool up() const { return state_ == State::kUp && !closing_; }
    bool pinned() const { return session_.active_; }
    size_t load() const { return sent_.size() + unsent_.size(); }
    Session& session() { return session_; }
    // Whether a ROLLBACK is needed before handing the connection to the pool.
    bool may_be_in_transaction() const;
    int index() const { return index_; }

private:
    friend class Pool;

    struct PollHandle {
        uv_poll_t handle;
        Connection* owner;  // nullptr once the connection let go of it
        Pool* pool;
        int fd;
    };

    void set_state(State s);
    void watch(int fd, int events);
    void close_poll();
    void arm_timer(uint64_t delay_ms);
    void handle_poll(int status, int events);
    void handle_connect_poll();
    void handle_connected();
    void fail_attempt(std::string_view why);
    void lose(std::string_view why);
    void finish_close();
    void handle_timer();

    bool send(Query* q);  // false: libpq refused; the caller loses the connection
    void handle_io(int events);
    bool flush_output();
    void read_results();
    bool dispatch(Query* q, PGresult* r);
    void deliver_exec(Query* q, PGresult* r);
    void pop_head();
    void check_deadlines();
    void arm_deadline(uint64_t deadline);
    void maybe_cancel_head();
    bool holding_sends() const;

    static void on_poll(uv_poll_t* h, int status, int events) noexcept;
    static void on_poll_closed(uv_handle_t* h) noexcept;
    static void on_timer(uv_timer_t* h) noexcept;
    static void on_timer_closed(uv_handle_t* h) noexcept;
    static void on_notice(void* arg, const char* message) noexcept;

    Pool& pool_;
    int index_;
    State state_ = State::kIdle;
    bool closing_ = false;
    bool ever_up_ = false;
    bool failed_once_ = false;     // for on_ready: the first attempt failed
    bool failing_ = false;         // in a streak of failed attempts (log once)
    bool want_write_ = false;      // PQflush returned 1
    bool dispatching_ = false;     // inside read_results
    bool dirty_ = false;           // on the pool's list of connections to flush this turn
    bool hold_sends_ = false;      // plain socket: a turn's sends merge into one (SendHold)
    PGconn* conn_ = nullptr;
    PollHandle* poll_ = nullptr;
    int poll_events_ = 0;
    uv_timer_t timer_{};
    bool timer_open_ = false;
    uint64_t timer_due_ = 0;       // uv_now() ms of the armed deadline check, 0 = none
    uint64_t attempt_start_ = 0;
    uint64_t backoff_ = 0;         // ms before the next attempt; 0 = none yet
    int cancels_running_ = 0;      // PQcancel jobs for this connection not yet returned

    QueryList unsent_;             // queued this turn, or held while the socket is full
    QueryList sent_;               // awaiting results, in pipeline order
    std::vector<uint8_t> prepared_;  // per statement id: 0 no, 1 Parse sent, 2 prepared
    uint32_t failed_stmt_ = StatementRegistry::kUnnamed;  // last statement whose Parse failed
    std::string failed_error_;     // its message and SQLSTATE, for queries pipelined behind it
    std::string failed_sqlstate_;
    std::string last_error_;       // libpq's message for the last failure
    Session session_;
};

}  // namespace quiver::worker::pg
