// SPDX-License-Identifier: MIT
// Scoreboard: a shared-memory array with one slot per worker slot, which the
// worker bumps without IPC and the master reads (heartbeat, status, metrics).
// The memory is a memfd the master creates and hands to each worker as an fd.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "server/common/result.hpp"

namespace quiver {

enum class WorkerState : uint32_t { kFree = 0, kStarting, kReady, kStopping };

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
};

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
