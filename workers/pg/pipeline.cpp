// SPDX-License-Identifier: MIT
// The pipeline of one connection: sending queued queries (Parse on first use,
// Bind/Execute, one Sync each; a turn's queries in one send()), reading results
// back in FIFO order, query deadlines and server-side cancels. Also the Query
// list and statement registry.
#include <dlfcn.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <cerrno>
#include <algorithm>
#include <cstdio>
#include <cstring>

#include "workers/pg/connection.hpp"
#include "workers/pg/pool.hpp"

namespace quiver::worker::pg {

namespace {

// A cancelled query that still has not stopped after this long means the
// server or the network is not answering: the connection is reset.
constexpr uint64_t kCancelGraceMs = 2000;
constexpr uint64_t kNoDeadline = UINT64_MAX;
constexpr size_t kKeepBufferBytes = 64 * 1024;
constexpr size_t kKeepParams = 1024;

std::string_view trimmed(const char* s) {
    if (s == nullptr) return {};
    std::string_view v(s);
    while (!v.empty() && (v.back() == '\n' || v.back() == ' ')) v.remove_suffix(1);
    return v;
}

std::string_view field(const PGresult* r, int code) {
    const char* f = PQresultErrorField(r, code);
    return f != nullptr ? std::string_view(f) : std::string_view();
}

// Errors that mean the server is going away or cannot serve: report them as
// unavailable (the app answers 503), not as a failed statement.
bool is_unavailable(std::string_view sqlstate) {
    return sqlstate.starts_with("57P") || sqlstate.starts_with("08");
}

// The socket whose writes are being held on this thread (see SendHold), or -1.
thread_local int t_held_fd = -1;

}  // namespace

// ---- holding libpq's writes until the end of the turn ----

SendHold::SendHold(int fd) noexcept : previous_(t_held_fd) {
#ifndef LIBPQ_HAS_SEND_PIPELINE_SYNC
    t_held_fd = fd;
#else
    (void)fd;
#endif
}

SendHold::~SendHold() { t_held_fd = previous_; }

}  // namespace quiver::worker::pg

#ifndef LIBPQ_HAS_SEND_PIPELINE_SYNC
// libpq 15 has no PQsendPipelineSync: PQpipelineSync ends with PQflush, one
// send() per query. These definitions interpose libc's send() and recv() (the
// only socket calls libpq's plain, non-TLS transport makes) for the whole
// process, and differ from libc only for the socket a SendHold names, on the
// thread that holds it: there they answer EAGAIN without a system call, so
// libpq keeps the messages in its output buffer (it treats EAGAIN as "socket
// full, flush later" and tries one read, which also answers EAGAIN). The turn's
// PQflush, after the hold, sends them all in one call. Every message and every
// Sync is sent exactly as before, in the same order; only the syscalls merge.
namespace {

template <typename Fn>
Fn next_symbol(const char* name) noexcept {
    void* f = dlsym(RTLD_NEXT, name);
    if (f == nullptr) f = dlsym(RTLD_DEFAULT, name);
    return reinterpret_cast<Fn>(f);
}

}  // namespace

extern "C" ssize_t send(int fd, const void* buf, size_t len, int flags) {
    using Fn = ssize_t (*)(int, const void*, size_t, int);
    if (fd >= 0 && fd == quiver::worker::pg::t_held_fd) {
        errno = EAGAIN;
        return -1;
    }
    static const Fn real = next_symbol<Fn>("send");
    return real(fd, buf, len, flags);
}

extern "C" ssize_t recv(int fd, void* buf, size_t len, int flags) {
    using Fn = ssize_t (*)(int, void*, size_t, int);
    if (fd >= 0 && fd == quiver::worker::pg::t_held_fd) {
        errno = EAGAIN;
        return -1;
    }
    static const Fn real = next_symbol<Fn>("recv");
    return real(fd, buf, len, flags);
}
#endif

namespace quiver::worker::pg {

// ---- Query, QueryList, StatementRegistry ----

void Query::reset() {
    cb = nullptr;
    arg = nullptr;
    prev = next = deferred_next = nullptr;
    conn = nullptr;
    session = nullptr;
    deadline = 0;
    cancel_at = 0;
    stmt = 0;
    where = Where::kNone;
    phase = Phase::kExec;
    with_prepare = delivered = in_deferred = want_cancel = cancel_sent = internal = false;
    exec_seen = false;
    sync = true;
    batched = false;
    deferred_status = 0;
    deferred_error = {};
    deferred_sqlstate = {};
    if (prep_error != nullptr) PQclear(prep_error);
    prep_error = nullptr;
    // Keep ordinary capacity (no allocation under a steady load), drop outliers.
    if (sql.capacity() > kKeepBufferBytes) std::string().swap(sql);
    if (values.capacity() > kKeepBufferBytes) std::string().swap(values);
    if (offsets.capacity() > kKeepParams) std::vector<int32_t>().swap(offsets);
    sql.clear();
    values.clear();
    offsets.clear();
}

void QueryList::push_back(Query* q) {
    q->next = nullptr;
    q->prev = tail_;
    if (tail_ != nullptr) {
        tail_->next = q;
    } else {
        head_ = q;
    }
    tail_ = q;
    ++size_;
}

Query* QueryList::pop_front() {
    Query* q = head_;
    if (q != nullptr) remove(q);
    return q;
}

void QueryList::remove(Query* q) {
    (q->prev != nullptr ? q->prev->next : head_) = q->next;
    (q->next != nullptr ? q->next->prev : tail_) = q->prev;
    q->prev = q->next = nullptr;
    --size_;
}

void QueryList::splice_back(QueryList& other) {
    if (other.head_ == nullptr) return;
    if (tail_ != nullptr) {
        tail_->next = other.head_;
        other.head_->prev = tail_;
    } else {
        head_ = other.head_;
    }
    tail_ = other.tail_;
    size_ += other.size_;
    other.head_ = other.tail_ = nullptr;
    other.size_ = 0;
}

uint32_t StatementRegistry::intern(std::string_view sql) {
    if (auto it = ids_.find(sql); it != ids_.end()) return it->second;
    if (texts_.size() >= kMaxStatements) return kUnnamed;
    texts_.emplace_back(sql);
    auto id = static_cast<uint32_t>(texts_.size() - 1);
    ids_.emplace(std::string_view(texts_.back()), id);
    return id;
}

void StatementRegistry::name(uint32_t id, char* buf) {
    std::snprintf(buf, 16, "q%u", id + 1);
}

// ---- sending ----

void Connection::enqueue(Query* q) {
    q->where = Query::Where::kUnsent;
    q->conn = this;
    unsent_.push_back(q);
    arm_deadline(q->deadline);
    pool_.mark_dirty(this);
}

bool Connection::remove_unsent(Query* q) {
    if (q->where != Query::Where::kUnsent) return false;
    unsent_.remove(q);
    q->where = Query::Where::kNone;
    q->conn = nullptr;
    if (closing_) pool_.mark_dirty(this);  // may now be drained: finish in the next flush
    return true;
}

void Connection::flush() {
    if (state_ != State::kUp) return;
    if (closing_ && load() == 0) return finish_close();
    // While the socket is full, hold new queries back (they time out here if
    // it stays full) instead of growing libpq's buffer without bound; and while
    // a cancel is in progress (see holding_sends).
    if (!want_write_ && !holding_sends() && !unsent_.empty()) {
        bool failed = false;
        {
            const SendHold hold(hold_sends_ ? PQsocket(conn_) : -1);
            while (Query* q = unsent_.pop_front()) {
                if (!send(q)) {
                    failed = true;
                    break;
                }
            }
        }
        // Outside the hold: lose() closes the socket and runs callbacks.
        if (failed) return lose(PQerrorMessage(conn_));
    }
    flush_output();  // the whole turn's messages: one send() per connection
}

bool Connection::send(Query* q) {
    const size_t n = q->offsets.size();
    auto& ptrs = pool_.param_ptrs_;
    ptrs.resize(n);
    for (size_t i = 0; i < n; ++i) {
        ptrs[i] = q->offsets[i] == Query::kNullParam ? nullptr : q->values.data() + q->offsets[i];
    }
    const int nparams = static_cast<int>(n);
    bool ok = true;
    q->with_prepare = false;
    if (q->stmt == StatementRegistry::kUnnamed) {
        ok = PQsendQueryParams(conn_, q->sql.c_str(), nparams, nullptr, ptrs.data(), nullptr,
                               nullptr, 0) == 1;
    } else {
        char name[16];
        StatementRegistry::name(q->stmt, name);
        if (prepared_.size() <= q->stmt) prepared_.resize(q->stmt + 1, 0);
        if (prepared_[q->stmt] == 0) {
            // Parse once per connection; queries pipelined behind it use the
            // name at once (the server handles the Parse first).
            ok = PQsendPrepare(conn_, name, pool_.statements_.sql(q->stmt).c_str(), 0,
                               nullptr) == 1;
            if (ok) {
                prepared_[q->stmt] = 1;
                q->with_prepare = true;
                ++pool_.stats_.prepares;
            }
        }
        ok = ok && PQsendQueryPrepared(conn_, name, nparams, ptrs.data(), nullptr, nullptr, 0) == 1;
    }
    // One Sync per query: an error aborts only this query's segment, and each
    // query outside a session is its own implicit transaction. A batch's
    // members (Pool::batch) share the Sync sent after its last one. libpq 15's
    // PQpipelineSync also flushes (held by flush()'s SendHold); libpq 17's
    // PQsendPipelineSync leaves the flush to flush_output(), once per loop turn.
    if (q->sync) {
#ifdef LIBPQ_HAS_SEND_PIPELINE_SYNC
        ok = ok && PQsendPipelineSync(conn_) == 1;
#else
        ok = ok && PQpipelineSync(conn_) == 1;
#endif
        ++pool_.stats_.syncs;
    }
    q->where = Query::Where::kSent;
    q->phase = q->with_prepare ? Query::Phase::kPrepare : Query::Phase::kExec;
    q->exec_seen = false;
    sent_.push_back(q);  // if !ok, it fails with the rest when flush() loses the connection
    return ok;
}

bool Connection::flush_output() {
    const int r = PQflush(conn_);
    if (r < 0) {
        lose(PQerrorMessage(conn_));
        return false;
    }
    want_write_ = r == 1;
    watch(PQsocket(conn_), UV_READABLE | (want_write_ ? UV_WRITABLE : 0));
    return state_ == State::kUp;
}

// ---- receiving ----

void Connection::handle_io(int events) {
    if ((events & (UV_READABLE | UV_DISCONNECT)) != 0) {
        if (PQconsumeInput(conn_) == 0) return lose(PQerrorMessage(conn_));
        read_results();
        if (state_ != State::kUp) return;
        if (PQstatus(conn_) == CONNECTION_BAD) return lose(PQerrorMessage(conn_));
    }
    if (want_write_) {
        if (!flush_output()) return;
        // Queries held back while the socket was full go out this turn.
        if (!want_write_ && !unsent_.empty()) pool_.mark_dirty(this);
    }
}

void Connection::read_results() {
    dispatching_ = true;
    // Our FIFO, not PQgetResult, says when to stop: with nothing pending,
    // libpq returns NULL forever and PQisBusy() is 0.
    while (!sent_.empty() && PQisBusy(conn_) == 0) {
        PGresult* r = PQgetResult(conn_);
        if (!dispatch(sent_.front(), r)) break;
    }
    dispatching_ = false;
    if (state_ != State::kUp) return;
    maybe_cancel_head();
    if (closing_ && load() == 0) pool_.mark_dirty(this);
}

// Returns false when the connection was reset.
bool Connection::dispatch(Query* q, PGresult* r) {
    switch (q->phase) {
        case Query::Phase::kPrepare: {
            if (r == nullptr) {
                q->phase = Query::Phase::kExec;
                return true;
            }
            if (PQresultStatus(r) == PGRES_COMMAND_OK) {
                prepared_[q->stmt] = 2;
                PQclear(r);
                return true;
            }
            if (PQresultStatus(r) == PGRES_PIPELINE_ABORTED) {
                // An earlier statement of its batch failed: the Parse was
                // skipped. Prepare again next time; queries already pipelined
                // behind that use the name fail with this explanation.
                PQclear(r);
                prepared_[q->stmt] = 0;
                failed_stmt_ = q->stmt;
                failed_error_ = "the statement was not prepared: an earlier statement of its "
                                "batch failed";
                failed_sqlstate_ = "26000";
                return true;
            }
            // The Parse failed: the server skips to this query's Sync, so the
            // execute comes back PGRES_PIPELINE_ABORTED; report this error instead.
            prepared_[q->stmt] = 0;
            failed_stmt_ = q->stmt;
            failed_error_ = trimmed(PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY));
            failed_sqlstate_ = field(r, PG_DIAG_SQLSTATE);
            if (q->prep_error != nullptr) PQclear(q->prep_error);
            q->prep_error = r;
            return true;
        }
        case Query::Phase::kExec: {
            if (r == nullptr) {
                if (!q->exec_seen) {
                    lose("pipeline out of step: no result for a query");
                    return false;
                }
                if (!q->sync) {  // a batch member: the batch's last one reads the Sync
                    pop_head();
                    return true;
                }
                q->phase = Query::Phase::kSync;
                return true;
            }
            const ExecStatusType st = PQresultStatus(r);
            if (st == PGRES_COPY_IN || st == PGRES_COPY_OUT || st == PGRES_COPY_BOTH) {
                PQclear(r);
                if (!q->delivered) {
                    ResultView v;
                    v.status = kStatusError;
                    v.error = "COPY is not supported by the database pool";
                    pool_.deliver(q, v);
                }
                lose("a query started COPY; the connection is reset");
                return false;
            }
            if (q->exec_seen) {  // one statement gives one result; ignore extras
                PQclear(r);
                return true;
            }
            q->exec_seen = true;
            deliver_exec(q, r);
            return state_ == State::kUp;
        }
        case Query::Phase::kSync: {
            const bool in_step = r != nullptr && PQresultStatus(r) == PGRES_PIPELINE_SYNC;
            if (r != nullptr) PQclear(r);
            if (!in_step) {
                lose("pipeline out of step: expected the result of a Sync");
                return false;
            }
            pop_head();
            return true;
        }
    }
    return true;
}

void Connection::deliver_exec(Query* q, PGresult* r) {
    if (q->delivered) {  // timed out or cancelled: discard
        PQclear(r);
        return;
    }
    ResultView v;
    const ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK || st == PGRES_EMPTY_QUERY ||
        st == PGRES_SINGLE_TUPLE) {
        v.status = kStatusOk;
        v.res = r;
    } else if (st == PGRES_PIPELINE_ABORTED) {
        v.status = kStatusError;
        if (q->prep_error != nullptr) {
            v.res = q->prep_error;
            v.error = trimmed(PQresultErrorField(q->prep_error, PG_DIAG_MESSAGE_PRIMARY));
            v.sqlstate = field(q->prep_error, PG_DIAG_SQLSTATE);
        } else {
            // Only a batch shares a Sync with statements before it.
            v.error = "not run: an earlier statement of its batch failed";
        }
    } else {
        v.status = kStatusError;
        v.res = r;
        v.sqlstate = field(r, PG_DIAG_SQLSTATE);
        v.error = trimmed(PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY));
        if (v.error.empty()) v.error = trimmed(PQresultErrorMessage(r));
        if (v.sqlstate == "26000" && q->stmt != StatementRegistry::kUnnamed) {
            if (q->stmt == failed_stmt_) {
                // Pipelined behind a Parse that failed: give that error.
                v.error = failed_error_;
                v.sqlstate = failed_sqlstate_;
            } else if (prepared_[q->stmt] == 2) {
                prepared_[q->stmt] = 0;  // someone ran DEALLOCATE: prepare again next time
            }
        }
        if (is_unavailable(v.sqlstate) || PQstatus(conn_) == CONNECTION_BAD) {
            v.status = kStatusUnavailable;
        }
    }
    pool_.deliver(q, v);
    PQclear(r);
}

void Connection::pop_head() {
    Query* q = sent_.pop_front();
    q->where = Query::Where::kNone;
    q->conn = nullptr;
    if (q->cancel_sent && !q->sync && !sent_.empty()) {
        // The cancel stands for the rest of the batch (up to its Sync): the
        // server skips those statements, and nothing new is sent until the
        // batch's Sync returns (see holding_sends) or the grace period ends.
        Query* next = sent_.front();
        if (!next->cancel_sent) {
            next->cancel_sent = true;
            next->cancel_at = q->cancel_at;
        }
    } else if (q->cancel_sent && !unsent_.empty()) {
        pool_.mark_dirty(this);  // release held sends
    }
    if (!q->delivered) {
        ResultView v;
        v.status = kStatusError;
        v.error = "no result for the query";
        pool_.deliver(q, v);
    }
    pool_.finish_if_idle(q);
}

// ---- deadlines and cancels ----

void Connection::arm_deadline(uint64_t deadline) {
    if (deadline == kNoDeadline) return;
    if (timer_due_ != 0 && timer_due_ <= deadline) return;
    const uint64_t now = uv_now(pool_.loop_);
    arm_timer(deadline > now ? deadline - now : 0);
    timer_due_ = deadline;
}

void Connection::check_deadlines() {
    const uint64_t now = uv_now(pool_.loop_);
    // Collect first, deliver after: callbacks may queue or cancel queries.
    QueryList expired;
    for (Query* q = unsent_.front(); q != nullptr;) {
        Query* next = q->next;
        // A batch's members share one deadline and leave together (a member
        // already cancelled must not be sent without the batch's Sync).
        if ((!q->delivered || q->batched) && q->deadline <= now) {
            unsent_.remove(q);
            q->where = Query::Where::kNone;
            q->conn = nullptr;
            expired.push_back(q);
        }
        q = next;
    }
    // Sent queries stay in the FIFO (their results must still be read); they
    // are only marked. Nothing unlinks from sent_ outside read_results.
    size_t late_sent = 0;
    for (Query* q = sent_.front(); q != nullptr; q = q->next) {
        if (!q->delivered && q->deadline <= now) {
            q->want_cancel = true;
            ++late_sent;
        }
    }
    ResultView v;
    v.status = kStatusTimeout;
    v.error = "query timed out";
    while (Query* q = expired.pop_front()) {
        pool_.deliver(q, v);
        pool_.finish_if_idle(q);
    }
    for (Query* q = sent_.front(); late_sent > 0 && q != nullptr; q = q->next) {
        if (!q->delivered && q->want_cancel) {
            --late_sent;
            pool_.deliver(q, v);
        }
    }
    if (state_ != State::kUp) return;
    maybe_cancel_head();
    Query* head = sent_.front();
    if (head != nullptr && head->cancel_sent && now >= head->cancel_at + kCancelGraceMs) {
        return lose("a cancelled query did not stop within " + std::to_string(kCancelGraceMs) +
                    " ms; resetting the connection");
    }
    // Re-arm for the earliest remaining deadline.
    uint64_t next = kNoDeadline;
    for (Query* q = unsent_.front(); q != nullptr; q = q->next) {
        if (!q->delivered) next = std::min(next, q->deadline);
    }
    for (Query* q = sent_.front(); q != nullptr; q = q->next) {
        if (!q->delivered) next = std::min(next, q->deadline);
    }
    if (head != nullptr && head->cancel_sent) {
        next = std::min(next, head->cancel_at + kCancelGraceMs);
    }
    timer_due_ = 0;
    arm_deadline(next);
}

void Connection::cancel_sent(Query* q) {
    q->want_cancel = true;
    if (sent_.front() == q && !dispatching_) maybe_cancel_head();
}

// The server executes the pipeline in order, so only the head can be running:
// a cancel request is sent when a query that is no longer wanted reaches it.
// NOTE: PostgreSQL's cancel is per backend, not per statement. If the head
// finishes just before the request lands, the next query is cancelled instead
// (it fails with SQLSTATE 57014). That race exists only when queries time out.
void Connection::maybe_cancel_head() {
    Query* q = sent_.front();
    if (q == nullptr || !q->want_cancel || q->cancel_sent || conn_ == nullptr) return;
    q->cancel_sent = true;
    q->cancel_at = uv_now(pool_.loop_);
    if (pool_.start_cancel(this, conn_)) ++cancels_running_;
    arm_deadline(q->cancel_at + kCancelGraceMs);
}

// NOTE: a cancel must not reach a statement sent after it was decided.
// PostgreSQL 15's postmaster signals the backend twice (its pid, then its
// process group: signal_child() in postmaster.c); under load the second
// SIGINT can arrive after the first already aborted the head, and then cancels
// whatever runs next. So nothing new is sent while a cancel is in progress:
// until the PQcancel job has returned (the postmaster closed the cancel
// connection, after both kill()s) and the cancelled query's Sync has come
// back. A stray signal then finds the backend idle, and PostgreSQL ignores a
// cancel that arrives while it waits for a command. Queries pipelined before
// the cancel was decided remain exposed to this race.
bool Connection::holding_sends() const {
    if (cancels_running_ > 0) return true;
    const Query* head = sent_.front();
    return head != nullptr && head->cancel_sent;
}

void Connection::cancel_finished() {
    --cancels_running_;
    if (cancels_running_ == 0 && state_ == State::kUp && !unsent_.empty()) {
        pool_.mark_dirty(this);
    }
}

}  // namespace quiver::worker::pg
