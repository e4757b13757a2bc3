// SPDX-License-Identifier: MIT
// DbBatch and its pool (see db_batch.hpp).
#include "db_batch.hpp"

#include <cassert>
#include <utility>

namespace bench {

bool unavailable_sqlstate(std::string_view s) noexcept {
    if (s.size() != 5) return false;
    const std::string_view cls = s.substr(0, 2);
    return cls == "08" || cls == "53" || cls == "57";
}

void DbBatch::start(std::size_t n, RowSink sink) {
    assert(pending_ == 0 && n <= kMaxQueriesPerBatch);
    sink_ = sink;
    slots_.resize(n);  // never resized while queries are pending
    for (std::size_t i = 0; i < n; ++i) slots_[i] = Slot{this, i, nullptr, false};
    outcome_ = DbOutcome::kOk;
    queued_.clear();
    queued_params_.clear();
    queued_text_.clear();
    error_.clear();
    sqlstate_.clear();
}

void DbBatch::send(std::size_t index, std::string_view sql, const qv_str_t* params,
                   std::size_t count) noexcept {
    Slot& s = slots_[index];
    if (host_ == nullptr || host_->db_query == nullptr) {
        return fail(DbOutcome::kUnavailable, "no database configured");
    }
    const int rc = host_->db_query(host_->ctx, nullptr, sql.data(), sql.size(), params, count,
                                   &DbBatch::on_result, &s, &s.handle);
    if (rc != QV_OK) return refused(rc, "db_query: out of memory", "db_query refused the query");
    s.pending = true;
    ++pending_;
}

// The host refused a db_query or db_batch call at once.
void DbBatch::refused(int rc, std::string_view out_of_memory, std::string_view other) noexcept {
    switch (rc) {
        case QV_ENOTSUP:
            return fail(DbOutcome::kUnavailable, "no database configured");
        case QV_EUNAVAIL:
            return fail(DbOutcome::kUnavailable, "database unavailable");
        case QV_ETIMEDOUT:
            return fail(DbOutcome::kUnavailable, "database timed out");
        case QV_ENOMEM:
            return fail(DbOutcome::kError, out_of_memory);
        default:
            return fail(DbOutcome::kError, other);
    }
}

void DbBatch::queue(std::size_t index, std::string_view sql, const qv_str_t* params,
                    std::size_t count) noexcept {
    // Statements are sent in queue order; the sinks index by `index`.
    assert(index == queued_.size());
    (void)index;
    try {
        queued_.push_back(Queued{sql, queued_params_.size(), count});
        for (std::size_t i = 0; i < count; ++i) {
            const qv_str_t& p = params[i];
            queued_params_.push_back(QueuedParam{queued_text_.size(), p.len, p.ptr == nullptr});
            if (p.ptr != nullptr) queued_text_.append(p.ptr, p.len);
        }
    } catch (...) {
        queued_.clear();
        fail(DbOutcome::kError, "db_batch: out of memory");
    }
}

void DbBatch::submit_one_by_one() noexcept {
    const std::size_t n = queued_.size();
    for (std::size_t i = 0; i < n && outcome_ == DbOutcome::kOk; ++i) {
        const Queued& q = queued_[i];
        submit_params_.clear();
        for (std::size_t k = 0; k < q.count; ++k) {
            const QueuedParam& p = queued_params_[q.first_param + k];
            submit_params_.push_back(p.null ? qv_str_t{nullptr, 0}
                                            : qv_str_t{queued_text_.data() + p.offset, p.len});
        }
        send(i, q.sql, submit_params_.data(), q.count);
    }
}

void DbBatch::submit() noexcept {
    const std::size_t n = queued_.size();
    if (n == 0 || outcome_ != DbOutcome::kOk) return queued_.clear();
    try {
        submit_params_.reserve(queued_params_.size());
        if (n == 1 || !use_db_batch_ || host_ == nullptr || host_->db_batch == nullptr ||
            n > QV_DB_BATCH_MAX) {
            submit_one_by_one();
            return queued_.clear();
        }
        submit_params_.clear();
        for (const QueuedParam& p : queued_params_) {
            submit_params_.push_back(p.null ? qv_str_t{nullptr, 0}
                                            : qv_str_t{queued_text_.data() + p.offset, p.len});
        }
        submit_stmts_.resize(n);
        submit_args_.resize(n);
        submit_outs_.assign(n, nullptr);
        for (std::size_t i = 0; i < n; ++i) {
            const Queued& q = queued_[i];
            submit_stmts_[i] = qv_db_stmt_t{q.sql.data(), q.sql.size(),
                                            submit_params_.data() + q.first_param, q.count};
            submit_args_[i] = &slots_[i];
        }
    } catch (...) {
        queued_.clear();
        return fail(DbOutcome::kError, "db_batch: out of memory");
    }
    queued_.clear();
    const int rc = host_->db_batch(host_->ctx, submit_stmts_.data(), n, &DbBatch::on_result,
                                   submit_args_.data(), submit_outs_.data());
    if (rc != QV_OK) return refused(rc, "db_batch: out of memory", "db_batch refused the queries");
    for (std::size_t i = 0; i < n; ++i) {
        slots_[i].handle = submit_outs_[i];
        slots_[i].pending = true;
    }
    pending_ += n;
}

void DbBatch::fail(DbOutcome o, std::string_view why, std::string_view sqlstate) noexcept {
    if (outcome_ != DbOutcome::kOk) return;  // the first failure explains best
    outcome_ = o;
    try {
        error_.assign(why);
        sqlstate_.assign(sqlstate);
    } catch (...) {  // std::bad_alloc: the outcome alone still decides the status
        error_.clear();
        sqlstate_.clear();
    }
}

void DbBatch::on_result(void* arg, const qv_db_result_t* r) noexcept {
    Slot& s = *static_cast<Slot*>(arg);
    DbBatch& b = *s.batch;
    s.pending = false;
    s.handle = nullptr;
    --b.pending_;
    if (b.orphaned_) {
        if (b.pending_ == 0) delete &b;
        return;
    }
    if (r == nullptr) {
        b.fail(DbOutcome::kError, "db_query: no result");
    } else {
        const std::string_view msg(r->error.ptr != nullptr ? r->error.ptr : "", r->error.len);
        const std::string_view state(r->sqlstate.ptr != nullptr ? r->sqlstate.ptr : "",
                                     r->sqlstate.len);
        switch (r->status) {
            case QV_DB_OK: {
                const char* why = "unexpected result";
                bool good = false;
                try {
                    good = b.sink_(b, s.index, *r, why);
                } catch (...) {
                    why = "out of memory reading the result";
                }
                if (!good) b.fail(DbOutcome::kError, why);
                break;
            }
            case QV_DB_UNAVAILABLE:
            case QV_DB_TIMEOUT:
            case QV_DB_CANCELED:  // only the pool cancels (shutting down): retry elsewhere
                b.fail(DbOutcome::kUnavailable, msg.empty() ? "database unavailable" : msg);
                break;
            default:
                b.fail(unavailable_sqlstate(state) ? DbOutcome::kUnavailable : DbOutcome::kError,
                       msg.empty() ? "query failed" : msg, state);
                break;
        }
    }
    // NOTE: resuming may finish the request and return this batch to the pool;
    // nothing touches it afterwards.
    if (b.pending_ == 0 && b.waiter_) std::exchange(b.waiter_, {}).resume();
}

void DbBatch::abandon() noexcept {
    orphaned_ = true;
    waiter_ = {};
    // db_cancel may run a callback before it returns: hold one count so that
    // this batch outlives the loop.
    ++pending_;
    for (Slot& s : slots_) {
        if (s.pending && s.handle != nullptr && host_->db_cancel != nullptr) {
            host_->db_cancel(s.handle);
        }
    }
    if (--pending_ == 0) delete this;
}

DbBatchPool::~DbBatchPool() {
    for (DbBatch* b : idle_) delete b;
}

DbBatchPool::Lease DbBatchPool::acquire() {
    if (idle_.empty()) return Lease(this, new DbBatch(host_, use_db_batch_));
    DbBatch* b = idle_.back();
    idle_.pop_back();
    return Lease(this, b);
}

void DbBatchPool::give_back(DbBatch* b) noexcept {
    if (b->pending_ != 0) return b->abandon();
    b->waiter_ = {};
    if (idle_.size() >= max_idle_) {
        delete b;
        return;
    }
    try {
        idle_.push_back(b);
    } catch (...) {
        delete b;
    }
}

}  // namespace bench
