// SPDX-License-Identifier: MIT
// The master's once-a-second look at the scoreboard: per worker requests/s,
// p50/p99 latency over the last second, connections and RSS, plus a ring of
// totals for the charts of /status. Read by /status and `quiver status --watch`.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "server/common/scoreboard.hpp"
#include "server/metrics.hpp"

namespace quiver::server {

struct WorkerSample {
    int slot = 0;
    int pid = 0;
    uint32_t generation = 0;
    std::string state;
    double rps = 0;
    double p50_ms = 0;      // over the last interval; 0 without requests
    double p99_ms = 0;
    uint64_t requests = 0;  // since the worker started
    uint64_t connections = 0;
    uint64_t in_flight = 0;
    uint64_t rss_bytes = 0;
    uint64_t age_s = 0;
};

struct TotalSample {
    int64_t unix_s = 0;
    double rps = 0;
    double p99_ms = 0;
};

// The q-quantile (0..1) of per-bucket counts, interpolated inside its bucket
// as Prometheus' histogram_quantile does; milliseconds. 0 when empty.
double bucket_quantile_ms(const uint64_t* buckets, double q);

class StatusSampler {
public:
    static constexpr size_t kHistory = 300;  // seconds kept for the charts

    void sample(const Scoreboard& sb, const std::vector<WorkerView>& workers, uint64_t now_ms);
    const std::vector<WorkerSample>& workers() const { return rows_; }
    const std::deque<TotalSample>& history() const { return history_; }
    const TotalSample& total() const { return total_; }

private:
    struct Prev {
        int pid = 0;
        uint64_t requests = 0;
        uint64_t buckets[kLatencyBuckets] = {};
    };
    std::vector<Prev> prev_;
    std::vector<WorkerSample> rows_;
    std::deque<TotalSample> history_;
    TotalSample total_;
    uint64_t last_ms_ = 0;
};

}  // namespace quiver::server
