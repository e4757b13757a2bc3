// SPDX-License-Identifier: MIT
// /metrics: the Prometheus text exposition (format 0.0.4) of the scoreboard
// and the master's own counters. Pure: a snapshot in, text out; the master
// serves it (server/metrics_server.hpp).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "server/common/scoreboard.hpp"

namespace quiver::server {

enum class RestartReason : uint8_t { kCrash, kTimeout, kMaxRequests, kReload };
inline constexpr size_t kRestartReasons = 4;
inline constexpr const char* kRestartReasonNames[kRestartReasons] = {"crash", "timeout",
                                                                    "max_requests", "reload"};
enum class ReloadResult : uint8_t { kOk, kFailed, kRefused };
inline constexpr size_t kReloadResults = 3;
inline constexpr const char* kReloadResultNames[kReloadResults] = {"ok", "failed", "refused"};

// What only the master knows.
struct MasterCounters {
    uint64_t restarts[kRestartReasons] = {};
    uint64_t reloads[kReloadResults] = {};
    ScoreTotals retired;  // counters of workers that have exited
};

// A live worker as the master sees it.
struct WorkerView {
    int slot = 0;
    int score_slot = 0;
    int pid = 0;
    uint32_t generation = 0;
    const char* state = "";  // starting | ready | retiring
    uint64_t started_ms = 0;
};

struct ListenerView {
    std::string address;
    int fd = -1;
    bool is_unix = false;
};

struct MetricsInput {
    const Scoreboard* scoreboard = nullptr;
    const MasterCounters* counters = nullptr;
    std::vector<WorkerView> workers;
    std::vector<std::string> apps;  // config order
    std::vector<ListenerView> listeners;
    uint32_t generation = 0;
};

std::string render_metrics(const MetricsInput& in);

// A label value escaped for the text format: \ " and newline.
void escape_label(std::string& out, std::string_view v);

// The name of the scoreboard's app index `i` given the configured apps:
// "" for 0 (no app), the app's name, or "_other" for the shared last entry.
std::string app_label(const std::vector<std::string>& apps, size_t i);

// Listen queue of a listening socket: current length and limit, from the
// kernel (TCP_INFO for TCP, sock_diag for unix sockets). false when unknown.
bool listen_queue(const ListenerView& l, uint64_t* length, uint64_t* limit);

}  // namespace quiver::server
