// SPDX-License-Identifier: MIT
// The worker's PostgreSQL pool: N non-blocking libpq connections on one libuv
// loop, pipelined, with prepared statements, timeouts, sessions and reconnects.
// The plugin host adapts it to plugin.h's qv_db_* services.
#pragma once

#include <libpq-fe.h>
#include <uv.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "server/common/config/config.hpp"
#include "server/common/result.hpp"
#include "server/common/scoreboard.hpp"
#include "workers/pg/pipeline.hpp"

namespace quiver::worker::pg {

// Result statuses: the same numbers as plugin.h's QV_DB_*.
inline constexpr int kStatusOk = 0;           // rows (possibly none) or a command completed
inline constexpr int kStatusError = 1;        // the server (or the pool) refused the query
inline constexpr int kStatusUnavailable = 2;  // no connection could serve it
inline constexpr int kStatusTimeout = 3;      // ran past query_timeout; cancelled server-side
inline constexpr int kStatusCanceled = 4;     // cancelled by Pool::cancel or by Pool::close

// What a query callback receives. Everything it points to is valid only during
// the callback. Maps 1:1 onto qv_db_result_t: rows, columns and affected come
// from `res` (PQntuples, PQfname, PQgetvalue/PQgetisnull, PQcmdTuples).
struct ResultView {
    int status = kStatusOk;
    // kStatusOk: the result (PGRES_TUPLES_OK, PGRES_COMMAND_OK or PGRES_EMPTY_QUERY).
    // kStatusError: the server's error result when there is one, else nullptr.
    // Other statuses: nullptr.
    const PGresult* res = nullptr;
    std::string_view error;     // primary message when status != kStatusOk
    std::string_view sqlstate;  // five characters when the server gave one, else empty
};

using QueryCallback = void (*)(void* arg, const ResultView& r);

// One statement of Pool::batch: what Pool::query takes.
struct BatchStatement {
    std::string_view sql;
    const std::string_view* params = nullptr;
    const bool* is_null = nullptr;  // may be nullptr: no parameter is NULL
    size_t n = 0;
};
// `s` is nullptr unless status == kStatusOk.
using SessionCallback = void (*)(void* arg, Session* s, int status);
using DoneCallback = void (*)(void* arg);

enum class LogLevel { kError, kWarning, kInfo, kDebug };
using LogFn = void (*)(void* arg, LogLevel level, std::string_view msg);

// One pool per worker loop. Every method must be called on that loop's thread.
//
// Callback rule (libuv's): every call that takes a callback calls it exactly
// once, never synchronously from inside the call, and always before close()'s
// `done` runs. Failures that are known at once (no connection up, bad
// parameters, pool closing) are delivered on the next loop turn.
class Pool {
public:
    // Gauges and counters for the scoreboard and /metrics.
    struct Stats {
        uint32_t connections_up = 0;
        uint32_t connections_connecting = 0;
        uint32_t connections_down = 0;  // waiting to reconnect, or closed
        uint32_t sessions = 0;          // connections pinned by a session now
        uint64_t in_flight = 0;         // queries accepted whose callback has not run
        uint64_t queries_ok = 0;
        uint64_t queries_error = 0;
        uint64_t queries_unavailable = 0;
        uint64_t queries_timeout = 0;
        uint64_t queries_canceled = 0;
        uint64_t connects = 0;           // successful connection attempts
        uint64_t connect_failures = 0;   // failed or timed-out attempts
        uint64_t connections_lost = 0;   // up connections that broke or were reset
        uint64_t prepares = 0;           // Parse messages sent (once per SQL text per connection)
        uint64_t syncs = 0;              // Sync messages sent (one per query, one per batch)
        uint64_t cancel_requests = 0;    // server-side cancels sent (timeouts, Pool::cancel)
        uint64_t duration[kLatencyBuckets] = {};  // delivered queries by latency bucket
        uint64_t duration_sum_us = 0;
    };

    // Nothing happens until start(). `s.pool` connections; `s.url` is a libpq
    // URL or key=value string ("" = libpq's environment: PGHOST, ...);
    // timeouts in milliseconds, 0 = none.
    Pool(uv_loop_t* loop, const DatabaseSettings& s);
    // Requires close() to have completed (its `done` ran), or start() never called.
    ~Pool();
    Pool(const Pool&) = delete;
    Pool& operator=(const Pool&) = delete;

    // Checks what can be checked without a server: the connection string
    // parses, the pool size is 1..1000. For config validation at startup.
    static Result<void> validate(const DatabaseSettings& s);

    // Where log lines go (default: server/common/log.hpp's error log). Lines
    // name the connection ("pg connection 1: lost: ..."). Call before start().
    void set_logger(LogFn fn, void* arg);

    // Begins connecting every connection and returns at once. A database that
    // is down is not an error: attempts repeat with backoff (100 ms doubling,
    // capped at 1 s) for the pool's whole life, and a query arriving while no
    // connection is up triggers an attempt at once (at most every 100 ms).
    // NOTE: libpq resolves host names synchronously inside each attempt; give
    // an IP address (or hostaddr=) to keep a slow resolver off the loop.
    void start();

    // Runs one SQL statement with text parameters ($1..$n). params[i] is the
    // text of $i+1; it is SQL NULL when is_null != nullptr && is_null[i]. The
    // SQL text and the parameters are copied before query() returns.
    //
    // With `s` == nullptr the least-loaded unpinned connection runs it (queries
    // of one loop turn keep to one connection while it is not much busier); with a
    // session from begin_session, that pinned connection runs it. Each SQL text
    // is prepared once per connection (named "q<n>"; past 4096 distinct texts
    // per pool, new ones run unnamed, parsed each time) and every query is sent
    // with its own Sync, so an error fails only that query and, outside a
    // session, each query is its own transaction. Queries sent on one
    // connection complete in the order they were issued. Sends are collected
    // and flushed once per loop turn.
    //
    // Always returns a handle, valid until `cb` runs, and calls `cb` exactly
    // once. While no connection is up, `cb` gets kStatusUnavailable on the next
    // loop turn; past query_timeout it gets kStatusTimeout.
    Query* query(Session* s, std::string_view sql, const std::string_view* params,
                 const bool* is_null, size_t n, QueryCallback cb, void* arg);

    // Runs `count` statements as one batch: pipelined back to back on one
    // unpinned connection with a single Sync after the last, so they run in
    // one implicit transaction (one snapshot) and cost the server one commit
    // and one flush. Statement i's callback is `cb` with args[i]; callbacks
    // run in order (the server sends the results together at the Sync). If statement k fails, k gets its error and every later
    // statement gets kStatusError "not run: an earlier statement of its batch
    // failed" (libpq's PGRES_PIPELINE_ABORTED); when one statement cannot be
    // sent (NUL byte, too many parameters) none is, and the others get
    // kStatusError "not run: another statement of its batch is invalid".
    // Copying, preparing, unavailability and query_timeout (one deadline for
    // the batch) are as for query(). outs[i] (outs may be nullptr) receives
    // each statement's handle for cancel(): cancelling a member not yet sent
    // only cancels its callback (it is still sent, its result discarded);
    // once sent, the server-side cancel of query() applies, and it aborts the
    // rest of the batch. count 0 does nothing.
    void batch(const BatchStatement* stmts, size_t count, QueryCallback cb, void* const* args,
               Query** outs);

    // Cancels a query whose callback has not run yet: the callback runs on the
    // next loop turn with kStatusCanceled. If the query already reached the
    // server and is executing, a server-side cancel request is sent from the
    // libuv thread pool (libpq 15 has no non-blocking PQcancel); its result,
    // when it arrives, is discarded. The connection sends nothing new until
    // that cancel is over, but PostgreSQL's cancel is per backend: a query
    // already pipelined behind may be cancelled instead if the target finishes
    // first (it then fails with SQLSTATE 57014). The same holds for timeouts.
    // Calling cancel() after the callback ran is a bug.
    void cancel(Query* q);

    // Pins one connection for a transaction: queries passed with the session run
    // on it, and no other query does. Waits (up to query_timeout) when every up
    // connection is pinned; fails fast (kStatusUnavailable) when none is up. If
    // the connection is lost while pinned, the session's queries fail with
    // kStatusUnavailable until end_session.
    void begin_session(SessionCallback cb, void* arg);

    // Returns the connection to the pool. If a transaction may still be open,
    // a ROLLBACK is queued first (its result is discarded). `s` is invalid after.
    void end_session(Session* s);

    // Graceful shutdown: new calls fail (kStatusUnavailable), waiting queries
    // and session requests get kStatusCanceled, queries already on a connection
    // finish (bounded by query_timeout), then every handle is closed and every
    // connection finished. `done` runs once all of that is over; the loop can
    // then be closed. The Pool may be destroyed from `done` onwards.
    void close(DoneCallback done, void* arg);

    const Stats& stats() const { return stats_; }
    bool ready() const { return stats_.connections_up > 0; }

    // Calls `cb` once, on a later loop turn: when the first connection is up, or
    // when every connection's first attempt has failed (then ready() is false).
    void on_ready(DoneCallback cb, void* arg);

private:
    friend class Connection;

    struct SessionRequest {
        SessionCallback cb;
        void* arg;
        uint64_t deadline;
        Session* session;
        int status;
    };

    // Query objects and their free list.
    Query* acquire(QueryCallback cb, void* arg);
    void release(Query* q);
    void defer(Query* q, int status, std::string_view error, std::string_view sqlstate = {});
    void deliver(Query* q, const ResultView& r);
    void finish_if_idle(Query* q);

    bool fill(Query* q, std::string_view sql, const std::string_view* params,
              const bool* is_null, size_t n);
    Connection* pick();
    void route(Query* q);
    void serve_waiters();
    void fail_waiters(int status, std::string_view why);
    void kick_reconnects();
    uint64_t deadline_from_now() const;
    void arm_wait_timer(uint64_t deadline);
    void handle_wait_timer();

    // Called by connections.
    void mark_dirty(Connection* c);
    void connection_up(Connection* c);
    void connection_down(Connection* c, bool first_failure);
    void connection_closed(Connection* c);
    void handle_closed();
    bool start_cancel(Connection* c, PGconn* conn);
    void log(LogLevel level, std::string_view msg);

    void wake();
    void run_turn();
    void progress_close();
    static void on_idle(uv_idle_t* h) noexcept;
    static void on_check(uv_check_t* h) noexcept;
    static void on_wait_timer(uv_timer_t* h) noexcept;
    static void on_handle_closed(uv_handle_t* h) noexcept;

    uv_loop_t* loop_;
    DatabaseSettings settings_;
    LogFn log_fn_ = nullptr;
    void* log_arg_ = nullptr;

    std::vector<std::unique_ptr<Connection>> conns_;
    std::vector<Connection*> dirty_;
    StatementRegistry statements_;
    std::vector<const char*> param_ptrs_;  // scratch for sending

    Query* free_ = nullptr;          // free list (singly linked through next)
    QueryList waiting_;              // pool queries waiting for an unpinned connection
    Query* deferred_head_ = nullptr; // callbacks due on the next loop turn
    Query* deferred_tail_ = nullptr;
    std::deque<SessionRequest> session_waiters_;
    std::deque<SessionRequest> session_deferred_;

    uv_idle_t idle_{};
    uv_check_t check_{};
    uv_timer_t wait_timer_{};
    uint64_t wait_timer_due_ = 0;
    bool wait_timer_armed_ = false;
    bool idle_active_ = false;
    bool in_turn_ = false;

    bool started_ = false;
    bool closing_ = false;
    bool close_started_ = false;        // waiters failed, connections told to close
    bool pool_handles_closing_ = false; // idle, check and wait timer being closed
    bool closed_ = false;
    int open_handles_ = 0;           // pool + connection handles not yet closed
    int cancel_jobs_ = 0;            // PQcancel jobs on the thread pool
    DoneCallback close_done_ = nullptr;
    void* close_arg_ = nullptr;

    DoneCallback ready_cb_ = nullptr;
    void* ready_arg_ = nullptr;
    bool ready_decided_ = false;     // a connection came up or all first attempts failed
    int first_failures_ = 0;         // connections whose first attempt failed
    uint64_t last_kick_ = 0;
    size_t rr_ = 0;                  // round-robin start for pick()
    Connection* turn_conn_ = nullptr; // where this turn's queries go (see pick())

    Stats stats_;
};

}  // namespace quiver::worker::pg
