// SPDX-License-Identifier: MIT
// The master's observability: the /metrics and /status listener, the
// once-a-second status sampler, restart counting, and `status --watch`'s text.
#include <unistd.h>

#include "server/common/config/values.hpp"
#include "server/common/log.hpp"
#include "server/master.hpp"
#include "server/status_page.hpp"

namespace quiver::server {

void Master::start_observability() {
    uv_timer_init(&loop_, &sample_timer_);
    sample_timer_.data = this;
    uv_timer_start(&sample_timer_, [](uv_timer_t* t) noexcept {
        auto* m = static_cast<Master*>(t->data);
        m->sampler_.sample(m->scoreboard_, m->worker_views(), monotonic_ms());
    }, 1000, 1000);
    uv_unref(reinterpret_cast<uv_handle_t*>(&sample_timer_));
    uv_timer_init(&loop_, &metrics_retry_);
    metrics_retry_.data = this;
    metrics_address_ = config_->metrics.listen;
    if (!metrics_address_.empty()) try_start_metrics();
}

// A failed bind is retried every second: after USR2 the old master holds the
// port until it exits. Only the first failure is logged.
void Master::try_start_metrics() {
    auto spec = config::parse_address(metrics_address_, "");
    if (!spec) {
        log::error("metrics.listen: ", spec.error().message());
        return;
    }
    bool first = !metrics_;
    metrics_ = std::make_unique<MetricsServer>(&loop_, [this](std::string_view path) { return serve_metrics(path); });
    if (auto rc = metrics_->start(*spec); !rc) {
        if (first) log::error(rc.error().message(), "; serving without /metrics, retrying every second");
        if (uv_is_active(reinterpret_cast<uv_handle_t*>(&metrics_retry_))) return;
        uv_timer_start(&metrics_retry_, [](uv_timer_t* t) noexcept {
            auto* m = static_cast<Master*>(t->data);
            if (m->stopping_) uv_timer_stop(t);
            else if (m->metrics_->closed()) m->try_start_metrics();  // else: still closing
        }, 1000, 1000);
        return;
    }
    uv_timer_stop(&metrics_retry_);
    log::info("metrics and status on http://", metrics_address_, "/metrics and /status");
}

std::vector<WorkerView> Master::worker_views() const {
    std::vector<WorkerView> v;
    for (const WorkerProc* w : procs_) {
        if (w->exited || w->score_slot < 0) continue;
        WorkerView x;
        x.slot = w->slot;
        x.score_slot = w->score_slot;
        x.pid = w->pid;
        x.generation = w->generation;
        x.state = w->state == WorkerProc::State::kStarting ? "starting"
                  : w->state == WorkerProc::State::kReady  ? "ready"
                                                            : "retiring";
        x.started_ms = w->started_ms;
        v.push_back(x);
    }
    return v;
}

HttpAnswer Master::serve_metrics(std::string_view path) {
    if (path == "/metrics") {
        MetricsInput in;
        in.scoreboard = &scoreboard_;
        in.counters = &counters_;
        in.workers = worker_views();
        for (const AppSpec& a : config_->apps) in.apps.push_back(a.name);
        for (const BoundListener& l : listeners_) in.listeners.push_back({l.spec.address, l.fd, l.spec.is_unix});
        in.generation = generation_;
        return {200, "text/plain; version=0.0.4; charset=utf-8", render_metrics(in)};
    }
    StatusHeader h{::getpid(), generation_, last_reload_, reloading_};
    if (path == "/status") return {200, "text/html; charset=utf-8", render_status_html(h, sampler_)};
    if (path == "/status.txt") return {200, "text/plain; charset=utf-8", render_status_text(h, sampler_)};
    if (path == "/")
        return {200, "text/html; charset=utf-8",
                "<!DOCTYPE html><html><body><a href=\"/metrics\">/metrics</a> <a href=\"/status\">/status</a>"
                "</body></html>\n"};
    return {404, "text/plain; charset=utf-8", "not found (try /metrics or /status)\n"};
}

std::string Master::watch_text() const {
    StatusHeader h{::getpid(), generation_, last_reload_, reloading_};
    return render_status_text(h, sampler_);
}

// Why a worker went away, for quiver_worker_restarts_total. Exits of a
// stopping master, of TTOU and of a refused generation are not restarts.
void Master::count_exit(const WorkerProc* w, int sig) {
    if (stopping_) return;
    RestartReason r;
    if (w->state == WorkerProc::State::kRetiring) {
        if (w->retire_reason == "reload") r = RestartReason::kReload;
        else if (w->retire_reason.rfind("max_requests", 0) == 0) r = RestartReason::kMaxRequests;
        else return;
    } else if (w->error == "heartbeat timeout" || w->error == "not ready in time") {
        r = RestartReason::kTimeout;
    } else {
        (void)sig;
        r = RestartReason::kCrash;
    }
    ++counters_.restarts[static_cast<size_t>(r)];
}

}  // namespace quiver::server
