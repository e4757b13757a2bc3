// SPDX-License-Identifier: MIT
// Once-a-second deltas of the scoreboard, per worker and in total.
#include "server/status_sampler.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>

namespace quiver::server {

namespace {

uint64_t rss_of(int pid) {
    char path[64];
    std::snprintf(path, sizeof path, "/proc/%d/statm", pid);
    int fd = ::open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    char buf[128];
    ssize_t n = ::read(fd, buf, sizeof buf - 1);
    ::close(fd);
    if (n <= 0) return 0;
    buf[n] = '\0';
    unsigned long long size = 0, resident = 0;
    if (std::sscanf(buf, "%llu %llu", &size, &resident) != 2) return 0;
    return resident * static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
}

}  // namespace

double bucket_quantile_ms(const uint64_t* buckets, double q) {
    uint64_t total = 0;
    for (size_t b = 0; b < kLatencyBuckets; ++b) total += buckets[b];
    if (total == 0) return 0;
    double rank = q * static_cast<double>(total);
    uint64_t cum = 0;
    for (size_t b = 0; b < kLatencyBuckets; ++b) {
        uint64_t prev = cum;
        cum += buckets[b];
        if (static_cast<double>(cum) < rank || buckets[b] == 0) continue;
        if (b + 1 == kLatencyBuckets) return static_cast<double>(kLatencyBoundsUs[b - 1]) / 1000.0;
        double lo = b == 0 ? 0.0 : static_cast<double>(kLatencyBoundsUs[b - 1]);
        double hi = static_cast<double>(kLatencyBoundsUs[b]);
        double frac = (rank - static_cast<double>(prev)) / static_cast<double>(buckets[b]);
        return (lo + (hi - lo) * frac) / 1000.0;
    }
    return static_cast<double>(kLatencyBoundsUs[kLatencyBuckets - 2]) / 1000.0;
}

void StatusSampler::sample(const Scoreboard& sb, const std::vector<WorkerView>& workers, uint64_t now_ms) {
    double secs = last_ms_ && now_ms > last_ms_ ? static_cast<double>(now_ms - last_ms_) / 1000.0 : 0;
    last_ms_ = now_ms;
    std::vector<Prev> next;
    rows_.clear();
    uint64_t total_delta[kLatencyBuckets] = {};
    double total_rps = 0;
    for (const WorkerView& v : workers) {
        const ScoreSlot& s = sb.slot(static_cast<size_t>(v.score_slot));
        Prev now;
        now.pid = v.pid;
        now.requests = s.requests.load(std::memory_order_relaxed);
        for (const AppScore& a : s.apps)
            for (size_t b = 0; b < kLatencyBuckets; ++b) now.buckets[b] += a.duration[b].load(std::memory_order_relaxed);
        auto it = std::find_if(prev_.begin(), prev_.end(), [&](const Prev& p) { return p.pid == v.pid; });
        WorkerSample row;
        row.slot = v.slot;
        row.pid = v.pid;
        row.generation = v.generation;
        row.state = v.state;
        row.requests = now.requests;
        row.connections = s.connections.load(std::memory_order_relaxed);
        row.in_flight = s.in_flight.load(std::memory_order_relaxed);
        row.rss_bytes = rss_of(v.pid);
        row.age_s = now_ms > v.started_ms ? (now_ms - v.started_ms) / 1000 : 0;
        if (it != prev_.end() && secs > 0) {
            uint64_t delta[kLatencyBuckets];
            for (size_t b = 0; b < kLatencyBuckets; ++b) {
                delta[b] = now.buckets[b] >= it->buckets[b] ? now.buckets[b] - it->buckets[b] : 0;
                total_delta[b] += delta[b];
            }
            row.rps = static_cast<double>(now.requests >= it->requests ? now.requests - it->requests : 0) / secs;
            row.p50_ms = bucket_quantile_ms(delta, 0.5);
            row.p99_ms = bucket_quantile_ms(delta, 0.99);
            total_rps += row.rps;
        }
        rows_.push_back(std::move(row));
        next.push_back(now);
    }
    std::sort(rows_.begin(), rows_.end(), [](const WorkerSample& a, const WorkerSample& b) {
        return a.slot != b.slot ? a.slot < b.slot : a.generation < b.generation;
    });
    prev_ = std::move(next);
    if (secs == 0) return;
    total_.unix_s = static_cast<int64_t>(::time(nullptr));
    total_.rps = total_rps;
    total_.p99_ms = bucket_quantile_ms(total_delta, 0.99);
    history_.push_back(total_);
    while (history_.size() > kHistory) history_.pop_front();
}

}  // namespace quiver::server
