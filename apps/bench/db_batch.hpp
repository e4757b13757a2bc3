// SPDX-License-Identifier: MIT
// DbBatch: the queries of one request, all sent before the handler suspends
// and awaited together, over plugin.h's db_query. Recycled through a pool so
// that a steady load allocates nothing here.
#pragma once

#include <quiver/plugin.h>

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fortunes.hpp"
#include "world.hpp"

namespace bench {

/// How a batch ended, worst query first.
enum class DbOutcome : std::uint8_t {
    kOk,
    kUnavailable,  // no connection, timeout, or no database configured: answer 503
    kError,        // the server refused a statement, or a row was malformed: answer 500
};

class DbBatch;
class DbBatchPool;

/// True for the SQLSTATE classes that mean "the database cannot serve now",
/// which the app answers with 503 rather than 500 (PostgreSQL appendix A):
/// 08 connection exception, 53 insufficient resources (e.g. 53300
/// too_many_connections), 57 operator intervention (57P01 admin_shutdown
/// while PostgreSQL stops, 57014 query_canceled by a timeout).
bool unavailable_sqlstate(std::string_view sqlstate) noexcept;

/// Reads one query's result into the batch (see DbBatch::start). Runs during
/// the host's callback; returns false when the rows are not what the caller
/// expects (the batch then fails with kError and `why`).
using RowSink = bool (*)(DbBatch& batch, std::size_t index, const qv_db_result_t& result,
                         const char*& why);

/// One request's queries. Use: start(n, sink), then send() each query, then
/// `co_await batch.wait()`. The sink runs once per successful result, on
/// the loop, in completion order; the awaiting coroutine resumes once, after
/// the last result. The buffers below are the sinks' outputs and scratch;
/// they keep their capacity from one request to the next.
class DbBatch {
public:
    std::vector<World> worlds;      // /db, /queries, /updates, /cached-queries
    std::vector<World> fetched;     // rows of a many-row World query (cache misses)
    std::vector<Fortune> fortunes;  // views into `text`
    std::vector<std::int32_t> ids;  // scratch for the handler
    std::string text;               // copied strings, or a rendered body
    std::string param_a;            // parameter texts (copied by the host at send)
    std::string param_b;

    DbBatch(const DbBatch&) = delete;
    DbBatch& operator=(const DbBatch&) = delete;

    /// Prepares for `n` queries (n <= kMaxQueriesPerBatch) whose results go
    /// to `sink`; clears the outcome, keeps the buffers' contents.
    void start(std::size_t n, RowSink sink);

    /// Sends query `index` (< n) now: `sql` with text parameters, which the
    /// host copies before returning. A refusal is recorded in the outcome.
    void send(std::size_t index, std::string_view sql, const qv_str_t* params,
              std::size_t count) noexcept;

    /// Like send(), but only queues query `index` (the parameters are copied
    /// now; `sql` must stay valid until submit(), as the app's constants do).
    void queue(std::size_t index, std::string_view sql, const qv_str_t* params,
               std::size_t count) noexcept;
    /// Sends the queued queries: with the pool's batching on and a host that
    /// offers db_batch, as one db_batch (one Sync, one implicit transaction
    /// for them all); else each with its own db_query, like send().
    void submit() noexcept;

    /// `co_await batch.wait()`: resumes when every query sent has completed
    /// (at once when none is pending).
    struct Awaiter {
        DbBatch* batch;
        bool await_ready() const noexcept { return batch->pending_ == 0; }
        void await_suspend(std::coroutine_handle<> h) noexcept { batch->waiter_ = h; }
        void await_resume() const noexcept { batch->waiter_ = {}; }
    };
    Awaiter wait() noexcept { return Awaiter{this}; }

    DbOutcome outcome() const noexcept { return outcome_; }
    bool ok() const noexcept { return outcome_ == DbOutcome::kOk; }
    /// The first failure's message ("" when ok()).
    std::string_view error() const noexcept { return error_; }
    /// The first server error's SQLSTATE, when it gave one.
    std::string_view sqlstate() const noexcept { return sqlstate_; }
    std::size_t pending() const noexcept { return pending_; }

    static constexpr std::size_t kMaxQueriesPerBatch = 1024;

private:
    friend class DbBatchPool;

    struct Queued {
        std::string_view sql;
        std::size_t first_param;  // into queued_params_
        std::size_t count;
    };
    struct QueuedParam {
        std::size_t offset;  // into queued_text_
        std::size_t len;
        bool null;
    };

    struct Slot {
        DbBatch* batch;
        std::size_t index;
        qv_db_query_t* handle;
        bool pending;
    };

    DbBatch(const qv_host_t* host, bool use_db_batch) noexcept
        : host_(host), use_db_batch_(use_db_batch) {}
    ~DbBatch() = default;

    static void on_result(void* arg, const qv_db_result_t* result) noexcept;
    void refused(int rc, std::string_view out_of_memory, std::string_view other) noexcept;
    void fail(DbOutcome o, std::string_view why, std::string_view sqlstate = {}) noexcept;
    // The awaiting coroutine is gone: cancel what is pending and free this
    // batch once the last callback has run.
    void abandon() noexcept;

    void submit_one_by_one() noexcept;

    const qv_host_t* host_;
    bool use_db_batch_;
    RowSink sink_ = nullptr;
    std::vector<Queued> queued_;  // in statement order; cleared by submit()
    std::vector<QueuedParam> queued_params_;
    std::string queued_text_;
    std::vector<qv_str_t> submit_params_;  // scratch for submit()
    std::vector<qv_db_stmt_t> submit_stmts_;
    std::vector<void*> submit_args_;
    std::vector<qv_db_query_t*> submit_outs_;
    std::vector<Slot> slots_;
    std::size_t pending_ = 0;
    std::coroutine_handle<> waiter_;
    DbOutcome outcome_ = DbOutcome::kOk;
    bool orphaned_ = false;
    std::string error_;
    std::string sqlstate_;
};

/// Recycles batches. Owned by the app (one per worker); outlives every lease.
class DbBatchPool {
public:
    /// A batch on loan: returned to the pool by the destructor, or, when
    /// queries are still pending (the request was cancelled and its coroutine
    /// destroyed), abandoned: its queries are cancelled and it frees itself
    /// after their callbacks.
    class Lease {
    public:
        Lease(DbBatchPool* pool, DbBatch* b) noexcept : pool_(pool), b_(b) {}
        Lease(Lease&& o) noexcept : pool_(o.pool_), b_(o.b_) { o.b_ = nullptr; }
        Lease(const Lease&) = delete;
        Lease& operator=(const Lease&) = delete;
        Lease& operator=(Lease&&) = delete;
        ~Lease() {
            if (b_ != nullptr) pool_->give_back(b_);
        }
        DbBatch* operator->() const noexcept { return b_; }
        DbBatch& operator*() const noexcept { return *b_; }

    private:
        DbBatchPool* pool_;
        DbBatch* b_;
    };

    /// Keeps at most `max_idle` idle batches (the rest are freed on return).
    /// `use_db_batch`: DbBatch::submit() uses the host's db_batch (one Sync).
    explicit DbBatchPool(const qv_host_t* host, std::size_t max_idle = 256,
                         bool use_db_batch = true)
        : host_(host), max_idle_(max_idle), use_db_batch_(use_db_batch) {}
    ~DbBatchPool();
    DbBatchPool(const DbBatchPool&) = delete;
    DbBatchPool& operator=(const DbBatchPool&) = delete;

    Lease acquire();

    std::size_t idle() const noexcept { return idle_.size(); }

private:
    void give_back(DbBatch* b) noexcept;

    const qv_host_t* host_;
    std::size_t max_idle_;
    bool use_db_batch_;
    std::vector<DbBatch*> idle_;
};

}  // namespace bench
