// SPDX-License-Identifier: MIT
// Task<T>: the SDK's lazy coroutine type. Handlers return Task<Response>; any
// Task can co_await another, and the SDK's glue starts the outermost one.
#pragma once

#include <cassert>
#include <coroutine>
#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

namespace quiver {

template <typename T = void>
class Task;

namespace detail {

// Called when an outermost task completes (see Task::start). It may destroy
// the task: the frame is suspended at its final point when this runs.
using TaskDoneFn = void (*)(void* arg) noexcept;

struct TaskPromiseBase {
    std::coroutine_handle<> continuation_;  // the awaiting coroutine, if any
    TaskDoneFn on_done_ = nullptr;         // or this, for an outermost task
    void* on_done_arg_ = nullptr;
    std::exception_ptr error_;
    bool inline_ = false;  // the awaiter is still inside await_suspend (see Task::Awaiter)

    struct FinalAwaiter {
        bool await_ready() const noexcept { return false; }
        template <typename P>
        std::coroutine_handle<> await_suspend(std::coroutine_handle<P> h) noexcept {
            TaskPromiseBase& p = h.promise();
            if (p.continuation_) {
                // Completed inside the awaiter's await_suspend: it continues the
                // awaiting coroutine itself, on its own stack frame.
                if (p.inline_) return std::noop_coroutine();
                // Completed later, from a host callback: symmetric transfer to
                // the awaiting coroutine.
                return p.continuation_;
            }
            if (p.on_done_ != nullptr) {
                // NOTE: the callback may destroy this frame (and this awaiter, which
                // lives in it); nothing here touches either afterwards.
                const TaskDoneFn fn = p.on_done_;
                void* const arg = p.on_done_arg_;
                fn(arg);
            }
            return std::noop_coroutine();
        }
        void await_resume() const noexcept {}
    };

    std::suspend_always initial_suspend() const noexcept { return {}; }
    FinalAwaiter final_suspend() const noexcept { return {}; }
    void unhandled_exception() noexcept { error_ = std::current_exception(); }
};

template <typename T>
struct TaskPromise : TaskPromiseBase {
    std::optional<T> value_;

    Task<T> get_return_object() noexcept;
    template <typename U = T>
        requires std::is_constructible_v<T, U&&>
    void return_value(U&& v) {
        value_.emplace(std::forward<U>(v));
    }
    T take() {
        if (error_) std::rethrow_exception(error_);
        assert(value_.has_value());
        return std::move(*value_);
    }
};

template <>
struct TaskPromise<void> : TaskPromiseBase {
    Task<void> get_return_object() noexcept;
    void return_void() noexcept {}
    void take() {
        if (error_) std::rethrow_exception(error_);
    }
};

}  // namespace detail

/// A lazy coroutine producing a T (or void). Nothing runs until the task is
/// awaited (`co_await task`, which runs it to completion and yields its value
/// or rethrows its exception there) or started with start(). A task is
/// awaited or started once. Destroying a Task destroys its coroutine frame,
/// wherever it is suspended: local destructors run, and the SDK's awaitables
/// cancel the host operation they wait on. Move-only; not thread-safe (one
/// loop thread, like everything in a worker).
template <typename T>
class [[nodiscard]] Task {
    static_assert(!std::is_reference_v<T>, "Task<T&> is not supported; return a pointer");

public:
    using promise_type = detail::TaskPromise<T>;
    using handle_type = std::coroutine_handle<promise_type>;

    Task() noexcept = default;
    explicit Task(handle_type h) noexcept : h_(h) {}
    Task(Task&& o) noexcept : h_(std::exchange(o.h_, {})) {}
    Task& operator=(Task&& o) noexcept {
        if (this != &o) {
            reset();
            h_ = std::exchange(o.h_, {});
        }
        return *this;
    }
    Task(const Task&) = delete;
    Task& operator=(const Task&) = delete;
    ~Task() { reset(); }

    /// True when the task holds a coroutine.
    bool valid() const noexcept { return static_cast<bool>(h_); }
    /// True when the coroutine has run to its end (value or exception ready).
    bool done() const noexcept { return h_ && h_.done(); }

    /// Destroys the coroutine frame now (see the class comment).
    void reset() noexcept {
        if (h_) std::exchange(h_, {}).destroy();
    }

    /// Runs an outermost task until its first suspension; `fn(arg)` is called
    /// once when it completes, possibly before start() returns. `fn` may
    /// destroy the task; it reads the outcome with result().
    void start(detail::TaskDoneFn fn, void* arg) noexcept {
        assert(h_ && !h_.done());
        h_.promise().on_done_ = fn;
        h_.promise().on_done_arg_ = arg;
        h_.resume();
    }

    /// The value of a completed task, or its exception rethrown.
    T result() {
        assert(done());
        return h_.promise().take();
    }

    // Runs the task inline; when it completes without suspending, the awaiting
    // coroutine continues at once (await_suspend returns false). So a loop of
    // awaits that complete synchronously runs in constant stack at every
    // optimisation level, where symmetric transfer alone relies on the
    // compiler turning it into a tail call (GCC does not at -O0/-O1).
    // Nesting (a task awaiting a task awaiting ...) still takes stack per
    // level, like ordinary recursion.
    struct Awaiter {
        handle_type h;
        bool await_ready() const noexcept { return false; }
        bool await_suspend(std::coroutine_handle<> caller) noexcept {
            auto& p = h.promise();
            p.continuation_ = caller;
            p.inline_ = true;
            h.resume();
            if (h.done()) return false;
            p.inline_ = false;  // it suspended: its final_suspend resumes the caller
            return true;
        }
        T await_resume() { return h.promise().take(); }
    };
    Awaiter operator co_await() noexcept {
        assert(h_ && !h_.done());
        return Awaiter{h_};
    }

private:
    handle_type h_;
};

namespace detail {

template <typename T>
Task<T> TaskPromise<T>::get_return_object() noexcept {
    return Task<T>(std::coroutine_handle<TaskPromise<T>>::from_promise(*this));
}

inline Task<void> TaskPromise<void>::get_return_object() noexcept {
    return Task<void>(std::coroutine_handle<TaskPromise<void>>::from_promise(*this));
}

}  // namespace detail
}  // namespace quiver
