// SPDX-License-Identifier: MIT
// Pool internals shared by pool.cpp and connection.cpp: the Query object that
// travels waiting -> unsent -> sent, its intrusive list, and the registry that
// turns SQL texts into prepared-statement names. Not for use outside workers/pg/.
#pragma once

#include <libpq-fe.h>

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace quiver::worker::pg {

struct ResultView;
class Connection;
class Session;
using QueryCallback = void (*)(void* arg, const ResultView& r);

// While alive, libpq's writes to socket `fd` on this thread are held in its
// output buffer (send() answers EAGAIN without a system call) until the next
// PQflush after it: the queries of one loop turn leave in one send(). -1 holds
// nothing. A no-op with libpq 17+, whose PQsendPipelineSync does not write.
class SendHold {
public:
    explicit SendHold(int fd) noexcept;
    ~SendHold();
    SendHold(const SendHold&) = delete;
    SendHold& operator=(const SendHold&) = delete;

private:
    int previous_;
};

// One statement, from query() until its Sync result is read (or it is dropped
// before being sent). Recycled through the pool's free list, so the buffers
// below keep their capacity and a steady load allocates nothing.
class Query {
public:
    enum class Where : uint8_t { kNone, kWaiting, kUnsent, kSent };
    // What the next PQgetResult belongs to, once sent.
    enum class Phase : uint8_t { kPrepare, kExec, kSync };

    static constexpr int32_t kNullParam = -1;

    QueryCallback cb = nullptr;
    void* arg = nullptr;
    Query* prev = nullptr;  // QueryList links (waiting, unsent or sent)
    Query* next = nullptr;
    Query* deferred_next = nullptr;
    Connection* conn = nullptr;  // set while kUnsent or kSent
    Session* session = nullptr;  // pinned connection, or nullptr for the pool
    uint64_t deadline = 0;       // uv_now() ms; UINT64_MAX = none
    uint64_t cancel_at = 0;      // when the server-side cancel was sent
    uint64_t start_ns = 0;       // uv_hrtime() when acquired (query duration metric)
    uint32_t stmt = 0;           // StatementRegistry id, or kUnnamed
    Where where = Where::kNone;
    Phase phase = Phase::kExec;
    bool with_prepare = false;   // a Parse for `stmt` was sent ahead of it
    bool delivered = false;      // the callback ran or is scheduled: results are discarded
    bool in_deferred = false;    // on the pool's deferred list
    bool want_cancel = false;    // timed out or cancelled after being sent
    bool cancel_sent = false;
    bool internal = false;       // the pool's own statement (ROLLBACK): no callback
    bool exec_seen = false;      // the execute step produced its result
    // Batches (Pool::batch): every member but the last is sent without a Sync,
    // so its Phase ends after kExec's NULL; the last carries the batch's Sync.
    bool sync = true;            // a Sync follows this query's Execute
    bool batched = false;        // a member of a batch of two or more statements
    int deferred_status = 0;
    std::string_view deferred_error;
    std::string_view deferred_sqlstate;
    PGresult* prep_error = nullptr;  // the failed Parse, reported for this query

    std::string sql;               // kept only for unnamed statements
    std::string values;            // every parameter's text, each NUL-terminated
    std::vector<int32_t> offsets;  // start of each parameter in `values`, or kNullParam

    // Drops per-use state and oversized buffers; keeps ordinary capacity.
    void reset();
};

// Intrusive doubly linked FIFO of queries (no allocation).
class QueryList {
public:
    bool empty() const { return head_ == nullptr; }
    size_t size() const { return size_; }
    Query* front() const { return head_; }
    void push_back(Query* q);
    Query* pop_front();
    void remove(Query* q);
    // Moves every element of `other` to the end of this list.
    void splice_back(QueryList& other);

private:
    Query* head_ = nullptr;
    Query* tail_ = nullptr;
    size_t size_ = 0;
};

// SQL text -> statement id, shared by the pool's connections: statement `id`
// is named "q<id+1>" on every connection that prepared it. Bounded: past
// kMaxStatements, new texts run as unnamed statements (parsed every time).
class StatementRegistry {
public:
    static constexpr uint32_t kUnnamed = UINT32_MAX;
    static constexpr uint32_t kMaxStatements = 4096;

    uint32_t intern(std::string_view sql);
    const std::string& sql(uint32_t id) const { return texts_[id]; }
    size_t size() const { return texts_.size(); }
    // Writes "q<id+1>" with its NUL into `buf` (at least 16 bytes).
    static void name(uint32_t id, char* buf);

private:
    std::deque<std::string> texts_;  // stable addresses for the map's keys
    std::unordered_map<std::string_view, uint32_t> ids_;
};

}  // namespace quiver::worker::pg
