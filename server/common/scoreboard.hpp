// SPDX-License-Identifier: MIT
// Scoreboard: a shared-memory array with one slot per worker slot, which the
// worker bumps without IPC and the master reads (heartbeat, status, metrics).
// The memory is a memfd the master creates and hands to each worker as an fd.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string_view>

#include "server/common/result.hpp"

namespace quiver {

enum class WorkerState : uint32_t { kFree = 0, kStarting, kReady, kStopping };

// Fixed label sets, so that /metrics has bounded cardinality.
// Methods: the RFC 9110 set plus PATCH; anything else counts as "other".
inline constexpr size_t kMethods = 10;
inline constexpr const char* kMethodNames[kMethods] = {
    "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE", "other"};
// Status classes: [1..5] = 1xx..5xx, [0] = anything else.
inline constexpr size_t kStatusClasses = 6;
// Apps: [0] = no app (404, 400, OPTIONS *), [1..kMaxApps-2] = the configured
// apps in config order, [kMaxApps-1] = every app past those.
inline constexpr size_t kMaxApps = 8;
// Latency histogram upper bounds in microseconds (Prometheus `le`), plus +Inf.
inline constexpr uint64_t kLatencyBoundsUs[] = {100,    250,    500,    1000,    2500,   5000,
                                                10000,  25000,  50000,  100000,  250000, 500000,
                                                1000000, 2500000, 5000000, 10000000};
inline constexpr size_t kLatencyBuckets = std::size(kLatencyBoundsUs) + 1;
// PostgreSQL query results, as the pool counts them.
inline constexpr size_t kPgResults = 5;
inline constexpr const char* kPgResultNames[kPgResults] = {"ok", "error", "unavailable",
                                                          "timeout", "canceled"};

inline size_t latency_bucket(uint64_t us) {
    size_t i = 0;
    while (i < std::size(kLatencyBoundsUs) && us > kLatencyBoundsUs[i]) ++i;
    return i;
}

inline size_t method_index(std::string_view m) {
    switch (m.size()) {
        case 3: return m == "GET" ? 0 : m == "PUT" ? 3 : 9;
        case 4: return m == "HEAD" ? 1 : m == "POST" ? 2 : 9;
        case 5: return m == "PATCH" ? 5 : m == "TRACE" ? 8 : 9;
        case 6: return m == "DELETE" ? 4 : 9;
        case 7: return m == "OPTIONS" ? 6 : m == "CONNECT" ? 7 : 9;
        default: return 9;
    }
}

// A counter with a single writer (its worker): a plain load and store, no
// locked instruction; readers in other processes see a monotonic value.
inline void bump(std::atomic<uint64_t>& c, uint64_t n = 1) {
    c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

inline void bump32(std::atomic<uint32_t>& c, int32_t d) {
    c.store(c.load(std::memory_order_relaxed) + static_cast<uint32_t>(d), std::memory_order_relaxed);
}

struct AppScore {
    std::atomic<uint64_t> requests[kMethods][kStatusClasses];
    std::atomic<uint64_t> duration[kLatencyBuckets];  // per bucket (not cumulative)
    std::atomic<uint64_t> duration_sum_us;
};

struct PgScore {
    std::atomic<uint64_t> queries[kPgResults];
    std::atomic<uint64_t> duration[kLatencyBuckets];
    std::atomic<uint64_t> duration_sum_us;
    std::atomic<uint32_t> up;           // connections up (idle or busy)
    std::atomic<uint32_t> pinned;       // up and pinned by a session (transaction)
    std::atomic<uint32_t> connecting;
    std::atomic<uint32_t> down;
};

// One worker's counters. Written only by that worker (relaxed atomics: the
// master reads approximate, monotonic values), except `state`/`pid` which the
// master resets when a slot is freed.
struct alignas(64) ScoreSlot {
    std::atomic<uint32_t> pid;
    std::atomic<uint32_t> generation;
    std::atomic<uint32_t> state;           // WorkerState
    std::atomic<uint32_t> connections;     // open now
    std::atomic<uint64_t> heartbeat_ms;    // CLOCK_MONOTONIC, bumped by the loop
    std::atomic<uint64_t> started_ms;
    std::atomic<uint64_t> requests;        // finished responses
    std::atomic<uint64_t> in_flight;       // requests handed to apps, not finished
    std::atomic<uint64_t> bytes_in;
    std::atomic<uint64_t> bytes_out;
    std::atomic<uint64_t> status[6];       // [1..5] = 1xx..5xx; [0] = connection closed without answer
    std::atomic<uint64_t> accepted;        // connections accepted
    std::atomic<uint64_t> rejected;        // connections refused past max_connections
    std::atomic<uint32_t> connections_by_protocol[2];  // Protocol::kHttp, kUwsgi
    AppScore apps[kMaxApps];
    PgScore pg;
};

// Counters a worker leaves behind when it exits: the master adds them up so
// that the totals it exposes never go backwards when a slot is reused.
struct ScoreTotals {
    uint64_t requests = 0, bytes_in = 0, bytes_out = 0, accepted = 0, rejected = 0;
    uint64_t app_requests[kMaxApps][kMethods][kStatusClasses] = {};
    uint64_t app_duration[kMaxApps][kLatencyBuckets] = {};
    uint64_t app_duration_sum_us[kMaxApps] = {};
    uint64_t pg_queries[kPgResults] = {};
    uint64_t pg_duration[kLatencyBuckets] = {};
    uint64_t pg_duration_sum_us = 0;

    void add(const ScoreSlot& s);
};

// Zeroes a slot's counters (the master, before a new worker uses the slot).
void reset_counters(ScoreSlot& s);

class Scoreboard {
public:
    static constexpr uint32_t kMagic = 0x51564231;  // "QVB1"
    static constexpr size_t kMaxSlots = 1024;

    Scoreboard() = default;
    Scoreboard(const Scoreboard&) = delete;
    Scoreboard& operator=(const Scoreboard&) = delete;
    Scoreboard(Scoreboard&& o) noexcept { *this = static_cast<Scoreboard&&>(o); }
    Scoreboard& operator=(Scoreboard&& o) noexcept;
    ~Scoreboard();

    // Master: a new zeroed scoreboard in a memfd.
    static Result<Scoreboard> create(size_t slots);
    // Worker: map the scoreboard handed over as `fd` (takes ownership).
    static Result<Scoreboard> attach(int fd);

    int fd() const { return fd_; }
    size_t size() const { return slots_; }
    ScoreSlot& slot(size_t i) { return base_[i]; }
    const ScoreSlot& slot(size_t i) const { return base_[i]; }

private:
    int fd_ = -1;
    size_t slots_ = 0;
    ScoreSlot* base_ = nullptr;
    size_t bytes_ = 0;
};

// CLOCK_MONOTONIC in milliseconds; the same clock in every process.
uint64_t monotonic_ms();

}  // namespace quiver
