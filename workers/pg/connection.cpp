// SPDX-License-Identifier: MIT
// Connection lifecycle: non-blocking connect driven by uv_poll on PQsocket,
// connect timeout, loss and reconnect with backoff, graceful close. The
// pipeline itself (send, results, deadlines) is in pipeline.cpp.
#include "workers/pg/connection.hpp"

#include <algorithm>
#include <string>

#include "workers/pg/pool.hpp"

namespace quiver::worker::pg {

namespace {

constexpr uint64_t kMinBackoffMs = 100;
// Capped low on purpose: service must return within about a second of the
// database coming back (DESIGN.md), and an attempt against a closed port is cheap.
constexpr uint64_t kMaxBackoffMs = 1000;

// libpq messages end in "\n" and may hold several lines ("...refused\n\tIs the
// server running..."): make one log-friendly line.
std::string one_line(std::string_view m) {
    std::string out;
    out.reserve(m.size());
    for (char ch : m) {
        if (ch == '\n' || ch == '\t' || ch == '\r') {
            if (!out.empty() && out.back() != ' ') out.push_back(' ');
        } else {
            out.push_back(ch);
        }
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out;
}

}  // namespace

Connection::Connection(Pool& pool, int index) : pool_(pool), index_(index) {
    session_.conn_ = this;
}

Connection::~Connection() {
    // Pool's destructor runs only after close() completed (or start() never
    // ran), so the handles are closed; PQfinish is all that can remain.
    if (conn_ != nullptr) PQfinish(conn_);
}

void Connection::init() {
    uv_timer_init(pool_.loop_, &timer_);
    timer_.data = this;
    timer_open_ = true;
    ++pool_.open_handles_;
}

void Connection::set_state(State s) {
    auto bucket = [this](State st) -> uint32_t& {
        switch (st) {
            case State::kUp: return pool_.stats_.connections_up;
            case State::kConnecting: return pool_.stats_.connections_connecting;
            default: return pool_.stats_.connections_down;
        }
    };
    --bucket(state_);
    ++bucket(s);
    state_ = s;
}

void Connection::connect() {
    if (closing_) return;
    set_state(State::kConnecting);
    attempt_start_ = uv_now(pool_.loop_);
    // expand_dbname: the URL (or key=value string) in dbname supplies every
    // other keyword; fallback_application_name only applies when it has none.
    const std::string& url = pool_.settings_.url;
    const char* const keys[] = {"dbname", "fallback_application_name", nullptr};
    const char* const vals[] = {url.empty() ? nullptr : url.c_str(), "quiver", nullptr};
    conn_ = PQconnectStartParams(keys, vals, 1);
    if (conn_ == nullptr) return fail_attempt("PQconnectStartParams: out of memory");
    if (PQstatus(conn_) == CONNECTION_BAD) return fail_attempt(PQerrorMessage(conn_));
    // libpq's protocol: act as if PQconnectPoll had returned PGRES_POLLING_WRITING.
    watch(PQsocket(conn_), UV_WRITABLE);
    if (state_ != State::kConnecting) return;
    if (pool_.settings_.connect_timeout > 0) arm_timer(pool_.settings_.connect_timeout);
}

void Connection::watch(int fd, int events) {
    if (poll_ != nullptr && poll_->fd != fd) close_poll();
    if (poll_ == nullptr) {
        if (fd < 0) {
            std::string why = "no socket: " + std::string(PQerrorMessage(conn_));
            return state_ == State::kConnecting ? fail_attempt(why) : lose(why);
        }
        auto* p = new PollHandle{{}, this, &pool_, fd};
        if (int rc = uv_poll_init(pool_.loop_, &p->handle, fd); rc != 0) {
            delete p;
            std::string why = std::string("uv_poll_init: ") + uv_err_name(rc) + " (" +
                              uv_strerror(rc) + ")";
            return state_ == State::kConnecting ? fail_attempt(why) : lose(why);
        }
        p->handle.data = p;
        poll_ = p;
        poll_events_ = 0;
        ++pool_.open_handles_;
    }
    if (events != poll_events_) {
        uv_poll_start(&poll_->handle, events, on_poll);
        poll_events_ = events;
    }
}

void Connection::close_poll() {
    if (poll_ == nullptr) return;
    // uv_close deregisters the fd from epoll at once, so libpq may close or
    // reuse the socket right after this (libuv aborts on a stale fd otherwise).
    poll_->owner = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(&poll_->handle), on_poll_closed);
    poll_ = nullptr;
    poll_events_ = 0;
}

void Connection::arm_timer(uint64_t delay_ms) {
    uv_timer_start(&timer_, on_timer, delay_ms, 0);
    timer_due_ = uv_now(pool_.loop_) + delay_ms;
}

void Connection::handle_poll(int status, int events) {
    if (status < 0) {
        // libuv reports EPOLLERR as UV_EBADF and stops the handle. The socket
        // has a pending error: let libpq read it (SO_ERROR), so a refused
        // connect moves on to the host's next address and every message
        // names the real cause.
        poll_events_ = 0;
        if (state_ == State::kConnecting) return handle_connect_poll();
        if (state_ != State::kUp) return;
        if (PQconsumeInput(conn_) == 0) return lose(PQerrorMessage(conn_));
        return lose(std::string("poll: ") + uv_err_name(status) + " (" + uv_strerror(status) +
                    ")");
    }
    if (state_ == State::kConnecting) return handle_connect_poll();
    if (state_ == State::kUp) handle_io(events);
}

void Connection::handle_connect_poll() {
    // NOTE: PQconnectPoll may close this socket and open another one (next
    // address of a host, SSL/GSS fallback), possibly with the same number.
    // Stopping first makes the next start a fresh EPOLL_CTL_ADD either way.
    uv_poll_stop(&poll_->handle);
    poll_events_ = 0;
    switch (PQconnectPoll(conn_)) {
        case PGRES_POLLING_OK:
            return handle_connected();
        case PGRES_POLLING_FAILED:
            return fail_attempt(PQerrorMessage(conn_));
        case PGRES_POLLING_READING:
            return watch(PQsocket(conn_), UV_READABLE);
        default:
            return watch(PQsocket(conn_), UV_WRITABLE);
    }
}

void Connection::handle_connected() {
    if (PQsetnonblocking(conn_, 1) != 0) return fail_attempt(PQerrorMessage(conn_));
    if (PQenterPipelineMode(conn_) != 1) return fail_attempt(PQerrorMessage(conn_));
    // The default processor prints to stderr; ours sends notices to the log.
    PQsetNoticeProcessor(conn_, on_notice, this);
    uv_timer_stop(&timer_);
    timer_due_ = 0;
    prepared_.clear();
    failed_stmt_ = StatementRegistry::kUnnamed;
    want_write_ = false;
    // TLS and GSS encryption write through their own layers: left alone.
    hold_sends_ = PQsslInUse(conn_) == 0 && PQgetgssctx(conn_) == nullptr;
    const bool recovered = failing_ || ever_up_;
    failing_ = false;
    ever_up_ = true;
    backoff_ = 0;
    set_state(State::kUp);
    watch(PQsocket(conn_), UV_READABLE);
    if (state_ != State::kUp) return;
    ++pool_.stats_.connects;
    std::string msg = "pg connection " + std::to_string(index_) + ": up (server " +
                      std::to_string(PQserverVersion(conn_)) + ", backend pid " +
                      std::to_string(PQbackendPID(conn_)) + ")";
    pool_.log(recovered ? LogLevel::kInfo : LogLevel::kDebug, msg);
    pool_.connection_up(this);
}

void Connection::fail_attempt(std::string_view why) {
    last_error_ = one_line(why);
    close_poll();
    if (conn_ != nullptr) {
        PQfinish(conn_);
        conn_ = nullptr;
    }
    uv_timer_stop(&timer_);
    timer_due_ = 0;
    ++pool_.stats_.connect_failures;
    set_state(State::kDown);
    backoff_ = backoff_ == 0 ? kMinBackoffMs : std::min(backoff_ * 2, kMaxBackoffMs);
    // One warning per streak of failures; the retries that follow log at debug.
    std::string msg = "pg connection " + std::to_string(index_) + ": connect failed: " +
                      last_error_ + (failing_ ? "" : " (retrying until it succeeds)");
    pool_.log(failing_ ? LogLevel::kDebug : LogLevel::kWarning, msg);
    failing_ = true;
    const bool first = !failed_once_ && !ever_up_;
    failed_once_ = true;
    if (closing_) {
        finish_close();
    } else {
        arm_timer(backoff_);
    }
    pool_.connection_down(this, first);
}

void Connection::lose(std::string_view why) {
    last_error_ = one_line(why);
    // Before PQfinish: libpq may already have closed the socket (see close_poll).
    close_poll();
    uv_timer_stop(&timer_);
    timer_due_ = 0;
    if (conn_ != nullptr) {
        PQfinish(conn_);
        conn_ = nullptr;
    }
    ++pool_.stats_.connections_lost;
    set_state(State::kDown);
    pool_.log(LogLevel::kWarning,
              "pg connection " + std::to_string(index_) + ": lost: " + last_error_);
    if (session_.active_) session_.broken_ = true;
    prepared_.clear();
    failed_stmt_ = StatementRegistry::kUnnamed;
    want_write_ = false;

    // Everything pending fails. Detach first: callbacks may queue new queries.
    QueryList pending;
    pending.splice_back(sent_);
    pending.splice_back(unsent_);
    const std::string why_copy = last_error_;  // callbacks see a stable string
    while (Query* q = pending.pop_front()) {
        q->where = Query::Where::kNone;
        q->conn = nullptr;
        if (!q->delivered) {
            ResultView v;
            v.status = kStatusUnavailable;
            v.error = why_copy;
            pool_.deliver(q, v);
        }
        pool_.finish_if_idle(q);
    }
    if (closing_) {
        finish_close();
    } else {
        // First retry at once (next loop turn); backoff applies from its failure on.
        backoff_ = 0;
        arm_timer(0);
    }
    pool_.connection_down(this, false);
}

void Connection::begin_close() {
    closing_ = true;
    switch (state_) {
        case State::kUp:
            if (load() == 0) finish_close();  // else pop_head finishes it when drained
            break;
        case State::kClosed:
            break;
        default:
            finish_close();
    }
}

void Connection::finish_close() {
    closing_ = true;
    close_poll();
    if (conn_ != nullptr) {
        PQfinish(conn_);
        conn_ = nullptr;
    }
    // Defensive: nothing should be pending here (see begin_close and lose).
    QueryList pending;
    pending.splice_back(sent_);
    pending.splice_back(unsent_);
    while (Query* q = pending.pop_front()) {
        q->where = Query::Where::kNone;
        q->conn = nullptr;
        if (!q->delivered) {
            ResultView v;
            v.status = kStatusCanceled;
            v.error = "the database pool is closing";
            pool_.deliver(q, v);
        }
        pool_.finish_if_idle(q);
    }
    if (state_ != State::kClosed) set_state(State::kClosed);
    if (timer_open_) {
        timer_open_ = false;
        uv_close(reinterpret_cast<uv_handle_t*>(&timer_), on_timer_closed);
    }
    pool_.connection_closed(this);
}

void Connection::kick() {
    if (state_ != State::kDown || closing_) return;
    uv_timer_stop(&timer_);
    timer_due_ = 0;
    connect();
}

void Connection::handle_timer() {
    timer_due_ = 0;
    switch (state_) {
        case State::kConnecting:
            return fail_attempt("connect timed out after " +
                                std::to_string(pool_.settings_.connect_timeout) + " ms");
        case State::kDown:
            return connect();
        case State::kUp:
            return check_deadlines();
        default:
            return;
    }
}

bool Connection::may_be_in_transaction() const {
    if (load() > 0) return true;
    return conn_ != nullptr && PQtransactionStatus(conn_) != PQTRANS_IDLE;
}

void Connection::on_poll(uv_poll_t* h, int status, int events) noexcept {
    auto* p = static_cast<PollHandle*>(h->data);
    if (p->owner != nullptr) p->owner->handle_poll(status, events);
}

void Connection::on_poll_closed(uv_handle_t* h) noexcept {
    auto* p = static_cast<PollHandle*>(h->data);
    Pool* pool = p->pool;
    delete p;
    pool->handle_closed();
}

void Connection::on_timer(uv_timer_t* h) noexcept {
    static_cast<Connection*>(h->data)->handle_timer();
}

void Connection::on_timer_closed(uv_handle_t* h) noexcept {
    static_cast<Connection*>(h->data)->pool_.handle_closed();
}

void Connection::on_notice(void* arg, const char* message) noexcept {
    auto* c = static_cast<Connection*>(arg);
    c->pool_.log(LogLevel::kDebug,
                 "pg connection " + std::to_string(c->index_) + ": " + one_line(message));
}

}  // namespace quiver::worker::pg
