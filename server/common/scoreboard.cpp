// SPDX-License-Identifier: MIT
// Scoreboard memory: memfd_create + mmap(MAP_SHARED), sized once.
#include "server/common/scoreboard.hpp"

#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <new>

#include "server/common/log.hpp"

namespace quiver {

uint64_t monotonic_ms() {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1000000;
}

namespace {
uint64_t ld(const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); }
void zero(std::atomic<uint64_t>& a) { a.store(0, std::memory_order_relaxed); }
}  // namespace

void ScoreTotals::add(const ScoreSlot& s) {
    requests += ld(s.requests);
    bytes_in += ld(s.bytes_in);
    bytes_out += ld(s.bytes_out);
    accepted += ld(s.accepted);
    rejected += ld(s.rejected);
    for (size_t a = 0; a < kMaxApps; ++a) {
        for (size_t m = 0; m < kMethods; ++m)
            for (size_t c = 0; c < kStatusClasses; ++c) app_requests[a][m][c] += ld(s.apps[a].requests[m][c]);
        for (size_t b = 0; b < kLatencyBuckets; ++b) app_duration[a][b] += ld(s.apps[a].duration[b]);
        app_duration_sum_us[a] += ld(s.apps[a].duration_sum_us);
    }
    for (size_t r = 0; r < kPgResults; ++r) pg_queries[r] += ld(s.pg.queries[r]);
    for (size_t b = 0; b < kLatencyBuckets; ++b) pg_duration[b] += ld(s.pg.duration[b]);
    pg_duration_sum_us += ld(s.pg.duration_sum_us);
}

void reset_counters(ScoreSlot& s) {
    zero(s.requests);
    zero(s.in_flight);
    zero(s.bytes_in);
    zero(s.bytes_out);
    zero(s.accepted);
    zero(s.rejected);
    for (auto& st : s.status) zero(st);
    s.connections.store(0, std::memory_order_relaxed);
    for (auto& c : s.connections_by_protocol) c.store(0, std::memory_order_relaxed);
    for (AppScore& a : s.apps) {
        for (auto& row : a.requests)
            for (auto& c : row) zero(c);
        for (auto& b : a.duration) zero(b);
        zero(a.duration_sum_us);
    }
    for (auto& q : s.pg.queries) zero(q);
    for (auto& b : s.pg.duration) zero(b);
    zero(s.pg.duration_sum_us);
    s.pg.up.store(0, std::memory_order_relaxed);
    s.pg.pinned.store(0, std::memory_order_relaxed);
    s.pg.connecting.store(0, std::memory_order_relaxed);
    s.pg.down.store(0, std::memory_order_relaxed);
}

Scoreboard& Scoreboard::operator=(Scoreboard&& o) noexcept {
    if (this != &o) {
        this->~Scoreboard();
        fd_ = o.fd_;
        slots_ = o.slots_;
        base_ = o.base_;
        bytes_ = o.bytes_;
        o.fd_ = -1;
        o.base_ = nullptr;
        o.slots_ = o.bytes_ = 0;
    }
    return *this;
}

Scoreboard::~Scoreboard() {
    if (base_) ::munmap(base_, bytes_);
    if (fd_ >= 0) ::close(fd_);
    base_ = nullptr;
    fd_ = -1;
}

static_assert(std::atomic<uint64_t>::is_always_lock_free, "scoreboard needs lock-free 64-bit atomics");

Result<Scoreboard> Scoreboard::create(size_t slots) {
    if (slots == 0 || slots > kMaxSlots) return unexpected(Errc::kInvalid, "scoreboard size");
    int fd = ::memfd_create("quiver-scoreboard", MFD_CLOEXEC);
    if (fd < 0) return unexpected(Errc::kSystem, "memfd_create() failed", log::errno_text(errno));
    size_t bytes = slots * sizeof(ScoreSlot);
    if (::ftruncate(fd, static_cast<off_t>(bytes)) != 0) {
        int err = errno;
        ::close(fd);
        return unexpected(Errc::kSystem, "ftruncate(scoreboard) failed", log::errno_text(err));
    }
    void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        int err = errno;
        ::close(fd);
        return unexpected(Errc::kSystem, "mmap(scoreboard) failed", log::errno_text(err));
    }
    Scoreboard sb;
    sb.fd_ = fd;
    sb.slots_ = slots;
    sb.bytes_ = bytes;
    // The memfd is zero-filled; placement-new gives the atomics a lifetime.
    sb.base_ = new (p) ScoreSlot[slots]();
    return sb;
}

Result<Scoreboard> Scoreboard::attach(int fd) {
    struct stat st;
    if (::fstat(fd, &st) != 0) return unexpected(Errc::kSystem, "fstat(scoreboard) failed", log::errno_text(errno));
    size_t bytes = static_cast<size_t>(st.st_size);
    if (bytes == 0 || bytes % sizeof(ScoreSlot) != 0) return unexpected(Errc::kInvalid, "scoreboard fd has a bad size");
    void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) return unexpected(Errc::kSystem, "mmap(scoreboard) failed", log::errno_text(errno));
    Scoreboard sb;
    sb.fd_ = fd;
    sb.slots_ = bytes / sizeof(ScoreSlot);
    sb.bytes_ = bytes;
    sb.base_ = static_cast<ScoreSlot*>(p);
    return sb;
}

}  // namespace quiver
