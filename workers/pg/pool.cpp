// SPDX-License-Identifier: MIT
// Pool: routes queries to the least-loaded connection, pins sessions, delivers
// deferred callbacks and flushes every dirty connection once per loop turn,
// and shuts down gracefully. Per-connection work is in connection.cpp and
// pipeline.cpp.
#include "workers/pg/pool.hpp"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <string>

#include "server/common/log.hpp"
#include "workers/pg/connection.hpp"

namespace quiver::worker::pg {

namespace {

constexpr uint64_t kNoDeadline = UINT64_MAX;
// While no connection is up, a query triggers reconnect attempts at most this often.
constexpr uint64_t kKickIntervalMs = 100;
constexpr size_t kMaxParams = 65535;  // the protocol's Int16 parameter count
constexpr int kMaxPoolSize = 1000;
// See pick(): how much busier than the least-loaded connection the turn's
// connection may be before a query goes elsewhere.
constexpr size_t kTurnAffinity = 32;

constexpr std::string_view kNoConnection = "no database connection is up";
constexpr std::string_view kClosed = "the database pool is closed";
constexpr std::string_view kClosing = "the database pool is closing";

struct CancelJob {
    uv_work_t req;
    PGcancel* cancel;
    Pool* pool;
    Connection* conn;  // outlives the job: connections live as long as the pool
    int ok;
    char err[256];
};

}  // namespace

Pool::Pool(uv_loop_t* loop, const DatabaseSettings& s) : loop_(loop), settings_(s) {
    const int n = settings_.pool < 1 ? 1 : settings_.pool;
    conns_.reserve(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) conns_.push_back(std::make_unique<Connection>(*this, i));
    dirty_.reserve(conns_.size());
    stats_.connections_down = static_cast<uint32_t>(n);
}

Pool::~Pool() {
    // A started pool must be closed first: its handles reference this object.
    assert(!started_ || closed_);
    while (free_ != nullptr) {
        Query* q = free_;
        free_ = q->next;
        delete q;
    }
}

Result<void> Pool::validate(const DatabaseSettings& s) {
    if (s.pool < 1 || s.pool > kMaxPoolSize) {
        return unexpected(Errc::kInvalid, "database.pool must be 1..1000",
                          std::to_string(s.pool));
    }
    if (!s.url.empty()) {
        char* err = nullptr;
        PQconninfoOption* opts = PQconninfoParse(s.url.c_str(), &err);
        if (opts == nullptr) {
            std::string detail = err != nullptr ? err : "out of memory";
            while (!detail.empty() && detail.back() == '\n') detail.pop_back();
            PQfreemem(err);
            return unexpected(Errc::kInvalid, "database.url is not a valid libpq connection string",
                              detail);
        }
        PQconninfoFree(opts);
    }
    return {};
}

void Pool::set_logger(LogFn fn, void* arg) {
    log_fn_ = fn;
    log_arg_ = arg;
}

void Pool::log(LogLevel level, std::string_view msg) {
    if (log_fn_ != nullptr) return log_fn_(log_arg_, level, msg);
    static constexpr quiver::log::Level kLevels[] = {
        quiver::log::Level::kError, quiver::log::Level::kWarning, quiver::log::Level::kInfo,
        quiver::log::Level::kDebug};
    const quiver::log::Level l = kLevels[static_cast<int>(level)];
    if (quiver::log::enabled(l)) quiver::log::write(l, msg);
}

void Pool::start() {
    assert(!started_);
    started_ = true;
    uv_idle_init(loop_, &idle_);
    uv_check_init(loop_, &check_);
    uv_timer_init(loop_, &wait_timer_);
    idle_.data = check_.data = wait_timer_.data = this;
    open_handles_ += 3;
    // The check runs after every poll phase, so sends queued while handling
    // I/O go out in the same loop turn; it must not keep the loop alive.
    uv_check_start(&check_, on_check);
    uv_unref(reinterpret_cast<uv_handle_t*>(&check_));
    for (auto& c : conns_) c->init();
    for (auto& c : conns_) c->connect();
    wake();  // calls made before start() were deferred
}

// ---- queries ----

Query* Pool::acquire(QueryCallback cb, void* arg) {
    Query* q = free_;
    if (q != nullptr) {
        free_ = q->next;
        q->next = nullptr;
    } else {
        q = new Query();
    }
    q->cb = cb;
    q->arg = arg;
    if (cb != nullptr) ++stats_.in_flight;
    q->start_ns = uv_hrtime();
    return q;
}

void Pool::release(Query* q) {
    q->reset();
    q->next = free_;
    free_ = q;
}

void Pool::finish_if_idle(Query* q) {
    if (q->where == Query::Where::kNone && !q->in_deferred) release(q);
}

void Pool::deliver(Query* q, const ResultView& r) {
    if (q->delivered) return;
    q->delivered = true;
    if (q->internal || q->cb == nullptr) return;
    switch (r.status) {
        case kStatusOk: ++stats_.queries_ok; break;
        case kStatusError: ++stats_.queries_error; break;
        case kStatusUnavailable: ++stats_.queries_unavailable; break;
        case kStatusTimeout: ++stats_.queries_timeout; break;
        default: ++stats_.queries_canceled; break;
    }
    --stats_.in_flight;
    uint64_t us = (uv_hrtime() - q->start_ns) / 1000;
    ++stats_.duration[latency_bucket(us)];
    stats_.duration_sum_us += us;
    q->cb(q->arg, r);
}

void Pool::defer(Query* q, int status, std::string_view error, std::string_view sqlstate) {
    q->delivered = true;  // a result that still arrives is discarded
    q->in_deferred = true;
    q->deferred_status = status;
    q->deferred_error = error;
    q->deferred_sqlstate = sqlstate;
    q->deferred_next = nullptr;
    if (deferred_tail_ != nullptr) {
        deferred_tail_->deferred_next = q;
    } else {
        deferred_head_ = q;
    }
    deferred_tail_ = q;
    wake();
}

uint64_t Pool::deadline_from_now() const {
    return settings_.query_timeout == 0 ? kNoDeadline : uv_now(loop_) + settings_.query_timeout;
}

// Copies the statement into `q`. Returns false, with `q` deferred with the
// reason, when it cannot be sent.
bool Pool::fill(Query* q, std::string_view sql, const std::string_view* params,
                const bool* is_null, size_t n) {
    if (n > kMaxParams) {
        defer(q, kStatusError, "too many parameters (at most 65535)", "54023");
        return false;
    }
    // libpq takes text parameters as C strings: copy each with its NUL. A NUL
    // inside cannot be sent (PostgreSQL text cannot hold one either).
    if (!sql.empty() && std::memchr(sql.data(), 0, sql.size()) != nullptr) {
        defer(q, kStatusError, "the SQL text contains a NUL byte", "22021");
        return false;
    }
    q->offsets.resize(n);
    for (size_t i = 0; i < n; ++i) {
        if (is_null != nullptr && is_null[i]) {
            q->offsets[i] = Query::kNullParam;
            continue;
        }
        const std::string_view p = params[i];
        if (!p.empty() && std::memchr(p.data(), 0, p.size()) != nullptr) {
            defer(q, kStatusError, "a query parameter contains a NUL byte", "22021");
            return false;
        }
        q->offsets[i] = static_cast<int32_t>(q->values.size());
        q->values.append(p);
        q->values.push_back('\0');
    }
    q->stmt = statements_.intern(sql);
    if (q->stmt == StatementRegistry::kUnnamed) q->sql.assign(sql);
    return true;
}

Query* Pool::query(Session* s, std::string_view sql, const std::string_view* params,
                   const bool* is_null, size_t n, QueryCallback cb, void* arg) {
    Query* q = acquire(cb, arg);
    if (!started_ || closing_) {
        defer(q, kStatusUnavailable, kClosed);
        return q;
    }
    if (!fill(q, sql, params, is_null, n)) return q;
    q->deadline = deadline_from_now();
    q->session = s;
    if (s != nullptr) {
        if (!s->active_) {
            defer(q, kStatusError, "the session has ended");
        } else if (s->broken_ || s->conn_->state() != Connection::State::kUp) {
            defer(q, kStatusUnavailable, "the session's database connection was lost");
        } else {
            s->conn_->enqueue(q);
        }
        return q;
    }
    route(q);
    return q;
}

void Pool::batch(const BatchStatement* stmts, size_t count, QueryCallback cb,
                 void* const* args, Query** outs) {
    if (count == 0) return;
    Query* first = nullptr;  // the batch's queries, linked through `next` until routed
    Query* last = nullptr;
    size_t invalid = count;  // index of the first statement that cannot be sent
    for (size_t i = 0; i < count; ++i) {
        Query* q = acquire(cb, args[i]);
        if (outs != nullptr) outs[i] = q;
        if (!started_ || closing_) {
            defer(q, kStatusUnavailable, kClosed);
            continue;
        }
        if (invalid < count) {
            defer(q, kStatusError, "not run: another statement of its batch is invalid");
            continue;
        }
        const BatchStatement& st = stmts[i];
        if (!fill(q, st.sql, st.params, st.is_null, st.n)) {
            // Nothing of the batch is sent: fail the members filled so far too.
            invalid = i;
            for (Query* p = first; p != nullptr;) {
                Query* following = p->next;
                p->next = nullptr;
                defer(p, kStatusError, "not run: another statement of its batch is invalid");
                p = following;
            }
            first = last = nullptr;
            continue;
        }
        q->deadline = i == 0 ? deadline_from_now() : first->deadline;  // one deadline
        q->batched = count > 1;
        q->sync = i + 1 == count;
        q->next = nullptr;
        (last != nullptr ? last->next : first) = q;
        last = q;
    }
    if (first == nullptr) return;
    // Contiguous on one connection, in order: only the last carries the Sync.
    Connection* c = pick();
    if (c == nullptr && stats_.connections_up == 0) kick_reconnects();
    for (Query* q = first; q != nullptr;) {
        Query* following = q->next;
        q->next = nullptr;
        if (c != nullptr) {
            c->enqueue(q);
        } else if (stats_.connections_up == 0) {
            defer(q, kStatusUnavailable, kNoConnection);
        } else {
            // Every connection is pinned: wait, contiguously (see serve_waiters).
            q->where = Query::Where::kWaiting;
            waiting_.push_back(q);
            arm_wait_timer(q->deadline);
        }
        q = following;
    }
}

// The least-loaded usable connection, except that queries issued in one loop
// turn stay on the connection the turn started with while it is at most
// kTurnAffinity queries busier than the least-loaded one. A backend then
// receives a turn's queries together and answers them in one wakeup, instead
// of each backend being woken for every other query.
Connection* Pool::pick() {
    Connection* best = nullptr;
    size_t best_load = SIZE_MAX;
    const size_t n = conns_.size();
    for (size_t i = 0; i < n; ++i) {
        Connection* c = conns_[(rr_ + i) % n].get();
        if (!c->up() || c->pinned()) continue;
        const size_t load = c->load();
        if (load < best_load) {
            best = c;
            best_load = load;
            if (load == 0) break;
        }
    }
    ++rr_;
    Connection* t = turn_conn_;
    if (t != nullptr && t != best && t->up() && !t->pinned() &&
        t->load() <= best_load + kTurnAffinity) {
        return t;
    }
    turn_conn_ = best;
    return best;
}

void Pool::route(Query* q) {
    if (Connection* c = pick()) return c->enqueue(q);
    if (stats_.connections_up == 0) {
        kick_reconnects();
        return defer(q, kStatusUnavailable, kNoConnection);
    }
    // Connections are up but every one is pinned by a session: wait for one.
    q->where = Query::Where::kWaiting;
    waiting_.push_back(q);
    arm_wait_timer(q->deadline);
}

void Pool::cancel(Query* q) {
    if (q == nullptr || q->delivered) return;
    switch (q->where) {
        case Query::Where::kWaiting:
            if (q->batched) break;  // see below
            waiting_.remove(q);
            q->where = Query::Where::kNone;
            break;
        case Query::Where::kUnsent:
            // A batch member stays queued (its batch's Sync may be its own or
            // depend on it); only its callback is cancelled, its result discarded.
            if (q->batched) break;
            q->conn->remove_unsent(q);
            break;
        case Query::Where::kSent:
            q->conn->cancel_sent(q);
            break;
        case Query::Where::kNone:
            break;
    }
    defer(q, kStatusCanceled, "query canceled");
}

void Pool::kick_reconnects() {
    if (closing_) return;
    const uint64_t now = uv_now(loop_);
    if (last_kick_ != 0 && now - last_kick_ < kKickIntervalMs) return;
    last_kick_ = now;
    for (auto& c : conns_) c->kick();
}

// ---- sessions ----

void Pool::begin_session(SessionCallback cb, void* arg) {
    SessionRequest req{cb, arg, kNoDeadline, nullptr, kStatusOk};
    if (!started_ || closing_) {
        req.status = kStatusUnavailable;
    } else if (stats_.connections_up == 0) {
        kick_reconnects();
        req.status = kStatusUnavailable;
    } else if (Connection* c = pick()) {
        c->session_.active_ = true;
        c->session_.broken_ = false;
        ++stats_.sessions;
        req.session = &c->session_;
    } else {
        req.deadline = deadline_from_now();
        session_waiters_.push_back(req);
        arm_wait_timer(req.deadline);
        return;
    }
    session_deferred_.push_back(req);
    wake();
}

void Pool::end_session(Session* s) {
    if (s == nullptr || !s->active_) return;
    Connection* c = s->conn_;
    if (!s->broken_ && c->state() == Connection::State::kUp && c->may_be_in_transaction()) {
        // Queued behind the session's own queries, ahead of any pool query.
        Query* q = acquire(nullptr, nullptr);
        q->internal = true;
        q->delivered = true;
        q->stmt = statements_.intern("ROLLBACK");
        if (q->stmt == StatementRegistry::kUnnamed) q->sql = "ROLLBACK";
        q->deadline = deadline_from_now();
        c->enqueue(q);
    }
    s->active_ = false;
    s->broken_ = false;
    --stats_.sessions;
    wake();  // waiters may now get this connection
}

// ---- waiting for an unpinned connection ----

void Pool::serve_waiters() {
    while (!session_waiters_.empty()) {
        Connection* c = pick();
        if (c == nullptr) break;
        SessionRequest req = session_waiters_.front();
        session_waiters_.pop_front();
        c->session_.active_ = true;
        c->session_.broken_ = false;
        ++stats_.sessions;
        req.session = &c->session_;
        req.status = kStatusOk;
        session_deferred_.push_back(req);
    }
    while (!waiting_.empty()) {
        Connection* c = pick();
        if (c == nullptr) break;
        // A batch goes to one connection whole: up to its member with the Sync.
        Query* q = nullptr;
        do {
            q = waiting_.pop_front();
            q->where = Query::Where::kNone;
            c->enqueue(q);
        } while (!q->sync && !waiting_.empty());
    }
}

void Pool::fail_waiters(int status, std::string_view why) {
    while (Query* q = waiting_.pop_front()) {
        q->where = Query::Where::kNone;
        if (q->delivered) {  // a cancelled batch member: its callback is already due
            finish_if_idle(q);
            continue;
        }
        defer(q, status, why);
    }
    while (!session_waiters_.empty()) {
        SessionRequest req = session_waiters_.front();
        session_waiters_.pop_front();
        req.status = status;
        session_deferred_.push_back(req);
    }
    wake();
}

void Pool::arm_wait_timer(uint64_t deadline) {
    if (deadline == kNoDeadline) return;
    if (wait_timer_armed_ && wait_timer_due_ <= deadline) return;
    const uint64_t now = uv_now(loop_);
    uv_timer_start(&wait_timer_, on_wait_timer, deadline > now ? deadline - now : 0, 0);
    wait_timer_armed_ = true;
    wait_timer_due_ = deadline;
}

void Pool::handle_wait_timer() {
    wait_timer_armed_ = false;
    const uint64_t now = uv_now(loop_);
    QueryList expired;
    uint64_t next = kNoDeadline;
    for (Query* q = waiting_.front(); q != nullptr;) {
        Query* following = q->next;
        if (q->deadline <= now) {
            waiting_.remove(q);
            q->where = Query::Where::kNone;
            expired.push_back(q);
        } else {
            next = std::min(next, q->deadline);
        }
        q = following;
    }
    std::deque<SessionRequest> late;
    for (auto it = session_waiters_.begin(); it != session_waiters_.end();) {
        if (it->deadline <= now) {
            late.push_back(*it);
            it = session_waiters_.erase(it);
        } else {
            next = std::min(next, it->deadline);
            ++it;
        }
    }
    arm_wait_timer(next);
    ResultView v;
    v.status = kStatusTimeout;
    v.error = "timed out waiting for a free database connection";
    while (Query* q = expired.pop_front()) {
        deliver(q, v);
        finish_if_idle(q);
    }
    for (const SessionRequest& req : late) req.cb(req.arg, nullptr, kStatusTimeout);
}

// ---- connection events ----

void Pool::mark_dirty(Connection* c) {
    if (!c->dirty_) {
        c->dirty_ = true;
        dirty_.push_back(c);
    }
    wake();
}

void Pool::connection_up(Connection*) {
    ready_decided_ = true;
    wake();  // waiters may be served now
}

void Pool::connection_down(Connection*, bool first_failure) {
    if (first_failure) ++first_failures_;
    if (!ready_decided_ && first_failures_ == static_cast<int>(conns_.size())) {
        ready_decided_ = true;
        wake();
    }
    // Fail fast: nothing waits for a connection that may not come back.
    if (stats_.connections_up == 0) fail_waiters(kStatusUnavailable, kNoConnection);
}

void Pool::connection_closed(Connection*) { wake(); }

void Pool::on_ready(DoneCallback cb, void* arg) {
    ready_cb_ = cb;
    ready_arg_ = arg;
    wake();
}

// PQcancel blocks (it opens a connection to the server and waits for it to
// close), so it runs on libuv's thread pool with its own PGcancel copy; the
// loop never waits for it. libpq 17's PQcancelStart would allow doing it on
// the loop; Debian 12 ships libpq 15.
bool Pool::start_cancel(Connection* c, PGconn* conn) {
    PGcancel* cancel = PQgetCancel(conn);
    if (cancel == nullptr) return false;
    auto* job = new CancelJob{{}, cancel, this, c, 0, {}};
    job->req.data = job;
    const int rc = uv_queue_work(
        loop_, &job->req,
        [](uv_work_t* req) noexcept {
            auto* j = static_cast<CancelJob*>(req->data);
            j->ok = PQcancel(j->cancel, j->err, sizeof j->err);
        },
        [](uv_work_t* req, int) noexcept {
            auto* j = static_cast<CancelJob*>(req->data);
            PQfreeCancel(j->cancel);
            Pool* pool = j->pool;
            if (j->ok == 0) {
                pool->log(LogLevel::kWarning,
                          std::string("pg cancel request failed: ") + j->err);
            }
            Connection* conn = j->conn;
            delete j;
            --pool->cancel_jobs_;
            conn->cancel_finished();
            if (pool->closing_) pool->wake();
        });
    if (rc != 0) {
        PQfreeCancel(cancel);
        delete job;
        log(LogLevel::kWarning, std::string("uv_queue_work(pg cancel) failed: ") + uv_err_name(rc));
        return false;
    }
    ++cancel_jobs_;
    ++stats_.cancel_requests;
    return true;
}

// ---- the loop turn ----

void Pool::wake() {
    if (idle_active_ || pool_handles_closing_ || !started_) return;
    idle_active_ = true;
    uv_idle_start(&idle_, on_idle);
}

void Pool::run_turn() {
    if (in_turn_) return;
    in_turn_ = true;

    // Callbacks deferred by earlier calls. Only this batch: what they defer in
    // turn runs next turn, so a retry loop cannot spin inside one turn.
    Query* batch = deferred_head_;
    deferred_head_ = deferred_tail_ = nullptr;
    while (batch != nullptr) {
        Query* q = batch;
        batch = q->deferred_next;
        q->deferred_next = nullptr;
        q->in_deferred = false;
        if (q->cb != nullptr) {
            ResultView v;
            v.status = q->deferred_status;
            v.error = q->deferred_error;
            v.sqlstate = q->deferred_sqlstate;
            q->delivered = false;  // deliver() counts and calls it once
            deliver(q, v);
        }
        finish_if_idle(q);
    }

    serve_waiters();
    for (size_t n = session_deferred_.size(); n > 0 && !session_deferred_.empty(); --n) {
        SessionRequest req = session_deferred_.front();
        session_deferred_.pop_front();
        req.cb(req.arg, req.status == kStatusOk ? req.session : nullptr, req.status);
    }
    if (ready_decided_ && ready_cb_ != nullptr) {
        DoneCallback cb = ready_cb_;
        ready_cb_ = nullptr;
        cb(ready_arg_);
    }

    // Once per turn: every connection that got queries sends them and flushes.
    // Flushing may fail a connection, whose callbacks may dirty another one:
    // the index loop picks those up too.
    for (size_t i = 0; i < dirty_.size(); ++i) {
        Connection* c = dirty_[i];
        c->dirty_ = false;
        c->flush();
    }
    dirty_.clear();
    turn_conn_ = nullptr;  // the next turn starts from the least-loaded connection

    in_turn_ = false;
    if (closing_) {
        progress_close();
        if (closed_ || !started_) return;
    }
    const bool pending = deferred_head_ != nullptr || !session_deferred_.empty() ||
                         (ready_decided_ && ready_cb_ != nullptr);
    if (!pending && idle_active_) {
        idle_active_ = false;
        uv_idle_stop(&idle_);
    }
}

void Pool::close(DoneCallback done, void* arg) {
    assert(!closing_);
    close_done_ = done;
    close_arg_ = arg;
    closing_ = true;
    if (!started_) {
        // Nothing was ever opened; still never call back synchronously.
        started_ = true;
        uv_idle_init(loop_, &idle_);
        uv_check_init(loop_, &check_);
        uv_timer_init(loop_, &wait_timer_);
        idle_.data = check_.data = wait_timer_.data = this;
        open_handles_ += 3;
        for (auto& c : conns_) c->begin_close();
    }
    wake();
}

void Pool::progress_close() {
    if (!close_started_) {
        close_started_ = true;
        fail_waiters(kStatusCanceled, kClosing);
        for (auto& c : conns_) c->begin_close();
        ready_decided_ = true;  // an on_ready still pending runs, with ready() false
    }
    for (auto& c : conns_) {
        if (c->state() != Connection::State::kClosed) return;
    }
    if (deferred_head_ != nullptr || !session_deferred_.empty() || cancel_jobs_ > 0 ||
        (ready_cb_ != nullptr) || pool_handles_closing_) {
        return;
    }
    pool_handles_closing_ = true;
    idle_active_ = false;
    uv_close(reinterpret_cast<uv_handle_t*>(&idle_), on_handle_closed);
    uv_close(reinterpret_cast<uv_handle_t*>(&check_), on_handle_closed);
    uv_close(reinterpret_cast<uv_handle_t*>(&wait_timer_), on_handle_closed);
}

void Pool::handle_closed() {
    --open_handles_;
    if (open_handles_ == 0 && pool_handles_closing_) {
        closed_ = true;
        if (close_done_ != nullptr) close_done_(close_arg_);  // may destroy the Pool
    }
}

void Pool::on_idle(uv_idle_t* h) noexcept { static_cast<Pool*>(h->data)->run_turn(); }
void Pool::on_check(uv_check_t* h) noexcept { static_cast<Pool*>(h->data)->run_turn(); }
void Pool::on_wait_timer(uv_timer_t* h) noexcept {
    static_cast<Pool*>(h->data)->handle_wait_timer();
}
void Pool::on_handle_closed(uv_handle_t* h) noexcept {
    static_cast<Pool*>(h->data)->handle_closed();
}

}  // namespace quiver::worker::pg
