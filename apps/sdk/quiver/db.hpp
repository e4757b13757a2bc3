// SPDX-License-Identifier: MIT
// Db and Transaction: `co_await db.query(sql, args...)` over qv_host_t.db_query,
// `co_await db.run(batch)` over db_batch, and pinned-connection transactions
// over db_session_begin/db_session_end.
#pragma once

#include <quiver/db_params.hpp>
#include <quiver/db_result.hpp>
#include <quiver/host.hpp>
#include <quiver/plugin.h>
#include <quiver/task.hpp>

#include <coroutine>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace quiver {

namespace detail {

// One query in flight. Heap-allocated: when the awaiting coroutine is
// destroyed first (request cancelled), the op is orphaned and frees itself
// when the host's callback finally runs.
struct QueryOp {
    template <typename... A>
    explicit QueryOp(const A&... args) : pack(args...), params(pack.build()) {}

    ParamPack pack;
    std::vector<qv_str_t> params;
    std::coroutine_handle<> waiter;
    qv_db_query_t* handle = nullptr;
    DbResult result;
    bool pending = false;
    bool orphaned = false;

    static void on_result(void* arg, const qv_db_result_t* r) noexcept {
        auto* op = static_cast<QueryOp*>(arg);
        op->pending = false;
        op->handle = nullptr;
        if (op->orphaned) {
            delete op;
            return;
        }
        try {
            op->result = r != nullptr ? DbResult::from(*r)
                                      : DbResult::failure(DbStatus::kError, "db_query: no result");
        } catch (...) {  // std::bad_alloc while copying
            op->result = DbResult::failure(DbStatus::kError, std::string());
        }
        op->waiter.resume();
    }
};

}  // namespace detail

/// The awaitable of Db::query and Transaction::query; `co_await` yields a
/// DbResult. When the host refuses the query at once (QV_ENOTSUP: no
/// database; QV_EUNAVAIL: database down), it completes without suspending
/// with that status. Destroyed while suspended (the request was cancelled),
/// it cancels the query with db_cancel. Use it directly in the co_await
/// expression: the SQL text is a view that must outlive the query.
class [[nodiscard]] QueryAwaitable {
public:
    QueryAwaitable(Host host, qv_db_session_t* session, std::string_view sql,
                   std::unique_ptr<detail::QueryOp> op) noexcept
        : host_(host), session_(session), sql_(sql), op_(std::move(op)) {}
    /// An awaitable that completes at once with `r`.
    explicit QueryAwaitable(DbResult r) noexcept : ready_(std::move(r)) {}
    QueryAwaitable(const QueryAwaitable&) = delete;
    QueryAwaitable& operator=(const QueryAwaitable&) = delete;
    ~QueryAwaitable() {
        if (op_ && op_->pending) {
            // NOTE: db_cancel may run the callback before returning; the op is
            // orphaned first and not touched afterwards.
            detail::QueryOp* op = op_.release();
            qv_db_query_t* handle = op->handle;
            op->orphaned = true;
            const qv_host_t* raw = host_.raw();
            if (handle != nullptr && raw->db_cancel != nullptr) raw->db_cancel(handle);
        }
    }

    bool await_ready() const noexcept { return !op_; }
    bool await_suspend(std::coroutine_handle<> h) {
        if (!host_.has_db()) {
            op_->result = DbResult::from_code(QV_ENOTSUP, "db_query");
            return false;
        }
        const qv_host_t* raw = host_.raw();
        op_->waiter = h;
        op_->pending = true;
        const int rc = raw->db_query(raw->ctx, session_, sql_.data(), sql_.size(),
                                     op_->params.data(), op_->params.size(),
                                     &detail::QueryOp::on_result, op_.get(), &op_->handle);
        if (rc != QV_OK) {
            op_->pending = false;  // the callback will never run
            op_->result = DbResult::from_code(rc, "db_query");
            return false;
        }
        return true;
    }
    DbResult await_resume() noexcept { return op_ ? std::move(op_->result) : std::move(ready_); }

private:
    Host host_;
    qv_db_session_t* session_ = nullptr;
    std::string_view sql_;
    std::unique_ptr<detail::QueryOp> op_;
    DbResult ready_;
};

namespace detail {
struct BatchOp;
}  // namespace detail

/// Statements for Db::run: each added with its parameters (copied), sent
/// together as one db_batch.
///
///     quiver::Batch b;
///     for (int id : ids) b.add("SELECT id, randomnumber FROM world WHERE id = $1", id);
///     std::vector<quiver::DbResult> rs = co_await db.run(std::move(b));
class Batch {
public:
    template <typename... A>
    Batch& add(std::string_view sql, const A&... args) {
        stmts_.push_back(Stmt{std::string(sql), detail::ParamPack(args...)});
        return *this;
    }
    std::size_t size() const noexcept { return stmts_.size(); }
    bool empty() const noexcept { return stmts_.empty(); }

private:
    friend struct detail::BatchOp;
    struct Stmt {
        std::string sql;
        detail::ParamPack pack;
    };
    std::vector<Stmt> stmts_;
};

namespace detail {

// One batch in flight; orphaned like QueryOp (freed by the last callback).
struct BatchOp {
    struct Slot {
        BatchOp* op;
        std::size_t index;
    };

    explicit BatchOp(Batch&& b) : batch(std::move(b)) {
        const std::size_t n = batch.stmts_.size();
        params.reserve(n);
        stmts.reserve(n);
        slots.reserve(n);
        for (std::size_t i = 0; i < n; ++i) {
            const Batch::Stmt& st = batch.stmts_[i];
            params.push_back(st.pack.build());
            stmts.push_back(qv_db_stmt_t{st.sql.data(), st.sql.size(), params[i].data(),
                                         params[i].size()});
            slots.push_back(Slot{this, i});
        }
        for (Slot& sl : slots) args.push_back(&sl);
        handles.assign(n, nullptr);
        results.resize(n);
    }

    Batch batch;
    std::vector<std::vector<qv_str_t>> params;
    std::vector<qv_db_stmt_t> stmts;
    std::vector<Slot> slots;
    std::vector<void*> args;
    std::vector<qv_db_query_t*> handles;
    std::vector<DbResult> results;
    std::coroutine_handle<> waiter;
    std::size_t pending = 0;
    bool orphaned = false;

    static void on_result(void* arg, const qv_db_result_t* r) noexcept {
        auto* slot = static_cast<Slot*>(arg);
        BatchOp* op = slot->op;
        op->handles[slot->index] = nullptr;
        --op->pending;
        if (op->orphaned) {
            if (op->pending == 0) delete op;
            return;
        }
        try {
            op->results[slot->index] =
                r != nullptr ? DbResult::from(*r)
                             : DbResult::failure(DbStatus::kError, "db_batch: no result");
        } catch (...) {  // std::bad_alloc while copying
            op->results[slot->index] = DbResult::failure(DbStatus::kError, std::string());
        }
        if (op->pending == 0) op->waiter.resume();
    }
};

}  // namespace detail

/// The awaitable of Db::run; `co_await` yields one DbResult per statement, in
/// order. A host refusal at once (no database, database down) completes
/// without suspending, every result carrying that status. Destroyed while
/// suspended (the request was cancelled), it cancels what is still pending.
class [[nodiscard]] BatchAwaitable {
public:
    BatchAwaitable(Host host, Batch&& b) : host_(host), op_(std::make_unique<detail::BatchOp>(std::move(b))) {}
    BatchAwaitable(const BatchAwaitable&) = delete;
    BatchAwaitable& operator=(const BatchAwaitable&) = delete;
    ~BatchAwaitable() {
        if (op_ && op_->pending > 0) {
            // The host never runs a callback inside db_cancel, so the handles
            // stay valid while they are cancelled; the op frees itself when
            // the last callback arrives.
            detail::BatchOp* op = op_.release();
            op->orphaned = true;
            const std::vector<qv_db_query_t*> handles = op->handles;
            const qv_host_t* raw = host_.raw();
            for (qv_db_query_t* h : handles) {
                if (h != nullptr && raw->db_cancel != nullptr) raw->db_cancel(h);
            }
        }
    }

    bool await_ready() const noexcept { return op_->stmts.empty(); }
    bool await_suspend(std::coroutine_handle<> h) {
        const qv_host_t* raw = host_.raw();
        if (!host_.has_db()) return refuse(QV_ENOTSUP);
        const std::size_t n = op_->stmts.size();
        op_->waiter = h;
        op_->pending = n;
        if (raw->db_batch != nullptr) {
            const int rc = raw->db_batch(raw->ctx, op_->stmts.data(), n, &detail::BatchOp::on_result,
                                         op_->args.data(), op_->handles.data());
            if (rc != QV_OK) {
                op_->pending = 0;  // no callback will run
                return refuse(rc);
            }
            return true;
        }
        // A host without db_batch: one db_query per statement (each with its
        // own Sync, so without the batch's shared transaction).
        for (std::size_t i = 0; i < n; ++i) {
            const qv_db_stmt_t& st = op_->stmts[i];
            const int rc = raw->db_query(raw->ctx, nullptr, st.sql, st.sql_len, st.params,
                                         st.param_count, &detail::BatchOp::on_result,
                                         op_->args[i], &op_->handles[i]);
            if (rc != QV_OK) {
                op_->results[i] = DbResult::from_code(rc, "db_query");
                --op_->pending;
            }
        }
        return op_->pending > 0;
    }
    std::vector<DbResult> await_resume() noexcept { return std::move(op_->results); }

private:
    bool refuse(int rc) {
        for (DbResult& r : op_->results) r = DbResult::from_code(rc, "db_batch");
        return false;
    }

    Host host_;
    std::unique_ptr<detail::BatchOp> op_;
};

/// A transaction on one pinned connection, from `co_await db.begin()`. When
/// ok(), BEGIN has run; query() runs on that connection; commit() and
/// rollback() end the transaction. The destructor releases the connection
/// (the host rolls back a transaction still open). Move-only.
class Transaction {
public:
    Transaction() = default;
    Transaction(Host host, qv_db_session_t* session) noexcept : host_(host), session_(session) {}
    static Transaction failed(DbStatus s, std::string message) {
        Transaction t;
        t.status_ = s;
        t.error_ = std::move(message);
        return t;
    }
    Transaction(Transaction&& o) noexcept
        : host_(o.host_), session_(std::exchange(o.session_, nullptr)), status_(o.status_),
          error_(std::move(o.error_)) {}
    Transaction& operator=(Transaction&& o) noexcept {
        if (this != &o) {
            end();
            host_ = o.host_, session_ = std::exchange(o.session_, nullptr);
            status_ = o.status_, error_ = std::move(o.error_);
        }
        return *this;
    }
    ~Transaction() { end(); }

    /// True while the connection is held.
    bool ok() const noexcept { return session_ != nullptr; }
    explicit operator bool() const noexcept { return ok(); }
    /// Why begin failed (kOk while ok()).
    DbStatus status() const noexcept { return status_; }
    std::string_view error() const noexcept { return error_; }

    /// Runs one statement on the transaction's connection (see Db::query);
    /// completes at once with an error when the transaction is not ok().
    template <typename... A>
    QueryAwaitable query(std::string_view sql, const A&... args) const {
        if (session_ == nullptr) {
            return QueryAwaitable(DbResult::failure(
                status_ == DbStatus::kOk ? DbStatus::kError : status_,
                error_.empty() ? std::string("transaction is not open") : error_));
        }
        return QueryAwaitable(host_, session_, sql, std::make_unique<detail::QueryOp>(args...));
    }
    QueryAwaitable commit() const { return query("COMMIT"); }
    QueryAwaitable rollback() const { return query("ROLLBACK"); }

    /// Releases the connection now (ROLLBACK first if still open).
    void end() noexcept {
        if (session_ != nullptr) host_.raw()->db_session_end(std::exchange(session_, nullptr));
    }

private:
    Host host_;
    qv_db_session_t* session_ = nullptr;
    DbStatus status_ = DbStatus::kOk;
    std::string error_;
};

namespace detail {

// One db_session_begin in flight; orphaned like QueryOp, and then releases
// the session it receives.
struct SessionOp {
    const qv_host_t* host = nullptr;
    std::coroutine_handle<> waiter;
    qv_db_session_t* session = nullptr;
    int status = QV_DB_OK;
    int rc = QV_OK;
    bool pending = false;
    bool orphaned = false;

    static void on_session(void* arg, qv_db_session_t* s, int status) noexcept {
        auto* op = static_cast<SessionOp*>(arg);
        op->pending = false;
        if (op->orphaned) {
            if (s != nullptr) op->host->db_session_end(s);
            delete op;
            return;
        }
        op->session = s;
        op->status = (s == nullptr && status == QV_DB_OK) ? QV_DB_ERROR : status;
        op->waiter.resume();
    }
};

class [[nodiscard]] SessionAwaitable {
public:
    explicit SessionAwaitable(Host host) : host_(host), op_(std::make_unique<SessionOp>()) {
        op_->host = host.raw();
    }
    SessionAwaitable(const SessionAwaitable&) = delete;
    SessionAwaitable& operator=(const SessionAwaitable&) = delete;
    ~SessionAwaitable() {
        if (op_ && op_->pending) op_.release()->orphaned = true;
    }
    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> h) noexcept {
        const qv_host_t* raw = host_.raw();
        op_->waiter = h;
        op_->pending = true;
        const int rc = raw->db_session_begin(raw->ctx, &SessionOp::on_session, op_.get());
        if (rc != QV_OK) {
            op_->pending = false;
            op_->rc = rc;
            return false;
        }
        return true;
    }
    SessionOp& await_resume() noexcept { return *op_; }

private:
    Host host_;
    std::unique_ptr<SessionOp> op_;
};

inline Task<Transaction> begin_transaction(Host host) {
    if (!host.has_db_sessions()) {
        co_return Transaction::failed(DbStatus::kNotSupported,
                                      "db_session_begin: no database configured");
    }
    qv_db_session_t* session = nullptr;
    {
        SessionAwaitable aw(host);
        SessionOp& op = co_await aw;
        if (op.rc != QV_OK) {
            DbResult r = DbResult::from_code(op.rc, "db_session_begin");
            co_return Transaction::failed(r.status(), std::string(r.error()));
        }
        if (op.session == nullptr) {
            const DbStatus s = DbResult::status_of(op.status);
            co_return Transaction::failed(s, "db_session_begin: " + std::string(to_string(s)));
        }
        session = op.session;
    }
    Transaction tx(host, session);
    DbResult r = co_await tx.query("BEGIN");
    if (!r.ok()) co_return Transaction::failed(r.status(), std::string(r.error()));
    co_return std::move(tx);
}

}  // namespace detail

/// The database, through the host's pool. Cheap to copy.
class Db {
public:
    Db() = default;
    explicit Db(Host host) noexcept : host_(host) {}

    /// True when the host offers a database (queries may still fail).
    bool available() const noexcept { return host_.has_db(); }

    /// Runs one statement with parameters $1, $2, ... taken from `args`
    /// (integers, floating point, bool, strings, std::optional or nullptr
    /// for NULL; copied). `co_await` yields a DbResult:
    ///
    ///     auto r = co_await db.query("SELECT id, name FROM t WHERE id = $1", id);
    ///     if (!r.ok()) co_return Response::text(std::string(r.error()), 503);
    ///     for (quiver::Row row : r.rows()) ... row["name"].as<std::string_view>() ...
    template <typename... A>
    QueryAwaitable query(std::string_view sql, const A&... args) const {
        return QueryAwaitable(host_, nullptr, sql, std::make_unique<detail::QueryOp>(args...));
    }

    /// Runs a Batch's statements as one db_batch: back to back on one
    /// connection with a single Sync, so they share one implicit transaction
    /// (one snapshot) and cost the server one commit and one flush. If one
    /// fails, the later ones are not run (their results say so). `co_await`
    /// yields the results in statement order.
    BatchAwaitable run(Batch batch) const { return BatchAwaitable(host_, std::move(batch)); }

    /// Pins a connection and runs BEGIN: `auto tx = co_await db.begin();`.
    /// Check tx.ok(); on failure tx.status() says why (kNotSupported,
    /// kUnavailable, ...).
    Task<Transaction> begin() const { return detail::begin_transaction(host_); }

private:
    Host host_;
};

}  // namespace quiver
