// SPDX-License-Identifier: MIT
// Host: the C++ face of the host's services table (log, clock, identity), and
// quiver::sleep(), the awaitable over timer_start/timer_cancel.
#pragma once

#include <quiver/plugin.h>

#include <chrono>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace quiver {

/// A non-owning handle on the host's qv_host_t. Cheap to copy; valid while the
/// app instance lives (the host keeps the table until destroy returns). Every
/// call must come from the worker's loop thread, like every SDK call.
class Host {
public:
    Host() noexcept = default;
    explicit Host(const qv_host_t* h) noexcept : h_(h) {}

    /// The raw table, for services the SDK does not wrap.
    const qv_host_t* raw() const noexcept { return h_; }

    /// True when the table reaches up to and including the member ending at
    /// `end_offset` (entries past struct_size do not exist).
    bool covers(std::size_t end_offset) const noexcept {
        return h_ != nullptr && h_->struct_size >= end_offset;
    }

    /// Logs one line under the plugin's name; QV_LOG_* levels. Never throws.
    void log(int level, std::string_view msg) const noexcept {
        if (covers(offsetof(qv_host_t, log) + sizeof h_->log) && h_->log != nullptr) {
            h_->log(h_->ctx, level, msg.data(), msg.size());
        }
    }
    void error(std::string_view msg) const noexcept { log(QV_LOG_ERROR, msg); }
    void warning(std::string_view msg) const noexcept { log(QV_LOG_WARNING, msg); }
    void info(std::string_view msg) const noexcept { log(QV_LOG_INFO, msg); }
    void debug(std::string_view msg) const noexcept { log(QV_LOG_DEBUG, msg); }

    /// The loop's monotonic clock in milliseconds (cached per loop turn), or 0
    /// when the host does not offer it.
    std::uint64_t now_ms() const noexcept {
        return has_clock() ? h_->now_ms(h_->ctx) : 0;
    }

    int worker_id() const noexcept {
        return covers(offsetof(qv_host_t, worker_id) + sizeof h_->worker_id) ? h_->worker_id : -1;
    }
    std::uint32_t generation() const noexcept {
        return covers(offsetof(qv_host_t, generation) + sizeof h_->generation) ? h_->generation
                                                                                : 0;
    }

    bool has_clock() const noexcept {
        return covers(offsetof(qv_host_t, now_ms) + sizeof h_->now_ms) && h_->now_ms != nullptr;
    }
    bool has_timers() const noexcept {
        return covers(offsetof(qv_host_t, timer_cancel) + sizeof h_->timer_cancel) &&
               h_->timer_start != nullptr && h_->timer_cancel != nullptr;
    }
    bool has_db() const noexcept {
        return covers(offsetof(qv_host_t, db_cancel) + sizeof h_->db_cancel) &&
               h_->db_query != nullptr;
    }
    bool has_db_sessions() const noexcept {
        return covers(offsetof(qv_host_t, db_session_end) + sizeof h_->db_session_end) &&
               h_->db_session_begin != nullptr && h_->db_session_end != nullptr &&
               h_->db_query != nullptr;
    }

private:
    const qv_host_t* h_ = nullptr;
};

/// The awaitable returned by quiver::sleep(). `co_await` suspends until the
/// host's timer fires and yields QV_OK, or yields a negative QV_E* code at
/// once, without suspending, when no timer could be started (QV_ENOTSUP when
/// the host offers no timers). Destroyed while suspended (the request was
/// cancelled), it cancels the timer. Use it directly in the co_await
/// expression; it cannot be copied or moved.
class [[nodiscard]] SleepAwaitable {
public:
    SleepAwaitable(Host host, std::uint64_t ms) noexcept : host_(host), ms_(ms) {}
    SleepAwaitable(const SleepAwaitable&) = delete;
    SleepAwaitable& operator=(const SleepAwaitable&) = delete;
    ~SleepAwaitable() {
        if (timer_ != nullptr) host_.raw()->timer_cancel(timer_);
    }

    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> h) noexcept {
        if (!host_.has_timers()) {
            rc_ = QV_ENOTSUP;
            return false;
        }
        waiter_ = h;
        qv_timer_t* t = nullptr;
        const qv_host_t* raw = host_.raw();
        const int rc = raw->timer_start(raw->ctx, ms_, &SleepAwaitable::on_timer, this, &t);
        if (rc != QV_OK) {
            rc_ = rc;  // the callback will never run: resume at once
            return false;
        }
        timer_ = t;
        return true;
    }
    int await_resume() const noexcept { return rc_; }

private:
    static void on_timer(void* arg) noexcept {
        auto* self = static_cast<SleepAwaitable*>(arg);
        self->timer_ = nullptr;
        self->waiter_.resume();
    }

    Host host_;
    std::uint64_t ms_;
    qv_timer_t* timer_ = nullptr;
    std::coroutine_handle<> waiter_;
    int rc_ = QV_OK;
};

/// Suspends the calling coroutine for `d` (rounded up to whole milliseconds;
/// zero or negative still yields to the loop once):
/// `co_await quiver::sleep(req.host(), std::chrono::milliseconds(100));`
template <typename Rep, typename Period>
SleepAwaitable sleep(Host host, std::chrono::duration<Rep, Period> d) noexcept {
    const auto ms = std::chrono::ceil<std::chrono::milliseconds>(d).count();
    return SleepAwaitable(host, ms > 0 ? static_cast<std::uint64_t>(ms) : 0);
}

}  // namespace quiver
