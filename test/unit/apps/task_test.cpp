// SPDX-License-Identifier: MIT
// quiver::Task and quiver::sleep, driven by the test host's event queue:
// laziness, nested awaits, exceptions, completion order, frame destruction.
#include <quiver/host.hpp>
#include <quiver/task.hpp>

#include <doctest/doctest.h>

#include "test/unit/apps/test_host.hpp"

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

using quiver::Task;
using std::chrono::milliseconds;

namespace {

int live_frames = 0;  // coroutine bodies currently alive (see Live)

struct Live {
    Live() { ++live_frames; }
    ~Live() { --live_frames; }
    Live(const Live&) = delete;
    Live& operator=(const Live&) = delete;
};

using Log = std::vector<std::string>;

Task<int> leaf(quiver::Host h, Log& log, std::string name, int ms, int v) {
    Live live;
    log.push_back(name + " start");
    const int rc = co_await quiver::sleep(h, milliseconds(ms));
    log.push_back(name + " end " + std::to_string(rc));
    co_return v;
}

Task<int> sum(quiver::Host h, Log& log) {
    Live live;
    const int a = co_await leaf(h, log, "a", 10, 1);
    const int b = co_await leaf(h, log, "b", 5, 2);
    co_return a + b;
}

Task<int> fails_after(quiver::Host h, int ms) {
    Live live;
    co_await quiver::sleep(h, milliseconds(ms));
    throw std::runtime_error("leaf failed");
}

Task<int> passes_through(quiver::Host h) {
    Live live;
    const int v = co_await fails_after(h, 5);  // does not catch
    co_return v + 1;
}

Task<std::string> catches(quiver::Host h) {
    Live live;
    try {
        co_await passes_through(h);
    } catch (const std::runtime_error& e) {
        co_return std::string("caught: ") + e.what();
    }
    co_return "not reached";
}

Task<int> immediate(int v) { co_return v; }

Task<int> depth(int n) {
    if (n == 0) co_return 0;
    co_return 1 + co_await depth(n - 1);
}

Task<long> sum_immediates(int n) {
    long s = 0;
    for (int i = 0; i < n; ++i) s += co_await immediate(i);
    co_return s;
}

struct Done {
    int calls = 0;
    int order = 0;
};
int done_sequence = 0;
void on_done(void* arg) noexcept {
    auto* d = static_cast<Done*>(arg);
    ++d->calls;
    d->order = ++done_sequence;
}

}  // namespace

TEST_SUITE("sdk.task") {
    TEST_CASE("a task is lazy and runs to completion through nested awaits") {
        test::TestHost host;
        Log log;
        {
            Task<int> t = sum(quiver::Host(host.table()), log);
            CHECK(log.empty());
            CHECK(live_frames == 0);  // not started: the body has not run
            Done d;
            t.start(&on_done, &d);
            CHECK(log == Log{"a start"});
            CHECK(d.calls == 0);
            CHECK(host.run() == 2);
            CHECK(d.calls == 1);
            CHECK(t.done());
            CHECK(t.result() == 3);
            CHECK(host.now == 15);
            CHECK(log == Log{"a start", "a end 0", "b start", "b end 0"});
            CHECK(live_frames == 0);  // the inner frames are gone already
        }
        CHECK(live_frames == 0);
    }

    TEST_CASE("a task that never suspends completes inside start()") {
        Done d;
        Task<int> t = immediate(7);
        t.start(&on_done, &d);
        CHECK(d.calls == 1);
        CHECK(t.result() == 7);
    }

    TEST_CASE("a long loop of synchronously completing awaits runs in constant stack") {
        // Two million iterations would overflow the stack if each completion
        // resumed its awaiter by a nested call.
        Done d;
        Task<long> t = sum_immediates(2000000);
        t.start(&on_done, &d);
        REQUIRE(d.calls == 1);
        CHECK(t.result() == 1999999000000L);
    }

    TEST_CASE("nested awaits unwind in order") {
        Done d;
        Task<int> t = depth(2000);
        t.start(&on_done, &d);
        REQUIRE(d.calls == 1);
        CHECK(t.result() == 2000);
    }

    TEST_CASE("exceptions propagate through awaits and are caught where awaited") {
        test::TestHost host;
        Done d;
        Task<std::string> t = catches(quiver::Host(host.table()));
        t.start(&on_done, &d);
        host.run();
        REQUIRE(d.calls == 1);
        CHECK(t.result() == "caught: leaf failed");
        t.reset();
        CHECK(live_frames == 0);
    }

    TEST_CASE("an exception escaping the outermost task is rethrown by result()") {
        test::TestHost host;
        Done d;
        Task<int> t = passes_through(quiver::Host(host.table()));
        t.start(&on_done, &d);
        host.run();
        REQUIRE(d.calls == 1);
        CHECK_THROWS_WITH_AS(t.result(), "leaf failed", std::runtime_error);
    }

    TEST_CASE("concurrent tasks complete in timer order, not start order") {
        test::TestHost host;
        const quiver::Host h(host.table());
        Log log;
        Done slow, fast;
        done_sequence = 0;
        Task<int> a = leaf(h, log, "slow", 30, 1);
        Task<int> b = leaf(h, log, "fast", 10, 2);
        a.start(&on_done, &slow);
        b.start(&on_done, &fast);
        host.run();
        CHECK(fast.order == 1);
        CHECK(slow.order == 2);
        CHECK(log == Log{"slow start", "fast start", "fast end 0", "slow end 0"});
    }

    TEST_CASE("the completion callback may destroy the task") {
        test::TestHost host;
        Log log;
        struct Owner {
            std::unique_ptr<Task<int>> task;
            int value = 0;
        } owner;
        owner.task = std::make_unique<Task<int>>(leaf(quiver::Host(host.table()), log, "x", 1, 9));
        owner.task->start(
            [](void* arg) noexcept {
                auto* o = static_cast<Owner*>(arg);
                o->value = o->task->result();
                o->task.reset();  // destroys the frame from its final suspension
            },
            &owner);
        host.run();
        CHECK(owner.value == 9);
        CHECK(owner.task == nullptr);
        CHECK(live_frames == 0);
    }

    TEST_CASE("destroying a suspended task cancels its timer and runs destructors") {
        test::TestHost host;
        Log log;
        Done d;
        {
            Task<int> t = sum(quiver::Host(host.table()), log);
            t.start(&on_done, &d);
            CHECK(live_frames == 2);  // sum and leaf "a"
            CHECK(host.pending_timers() == 1);
        }
        CHECK(live_frames == 0);
        CHECK(host.pending_timers() == 0);
        CHECK(host.timers_cancelled == 1);
        CHECK(host.run() == 0);
        CHECK(d.calls == 0);
    }

    TEST_CASE("sleep completes at once with the error when no timer starts") {
        test::TestHost host;
        Log log;
        host.timer_start_rc = QV_ENOMEM;
        Done d;
        Task<int> t = leaf(quiver::Host(host.table()), log, "x", 10, 1);
        t.start(&on_done, &d);
        CHECK(d.calls == 1);  // never suspended
        CHECK(log == Log{"x start", "x end -12"});

        host.timer_start_rc = QV_OK;
        host.mutable_table().timer_start = nullptr;  // not offered
        Log log2;
        Task<int> u = leaf(quiver::Host(host.table()), log2, "y", 10, 1);
        u.start(&on_done, &d);
        CHECK(log2 == Log{"y start", "y end -95"});
    }

    TEST_CASE("sleep rounds up to whole milliseconds and treats negative as zero") {
        test::TestHost host;
        const quiver::Host h(host.table());
        Done d;
        auto body = [](quiver::Host hh) -> Task<void> {
            co_await quiver::sleep(hh, std::chrono::microseconds(1500));
            co_await quiver::sleep(hh, milliseconds(-5));
        };
        Task<void> t = body(h);
        t.start(&on_done, &d);
        CHECK(host.run() == 2);
        CHECK(host.now == 2);
        CHECK(d.calls == 1);
        t.result();
    }

    TEST_CASE("tasks carry move-only values and void") {
        auto make = []() -> Task<std::unique_ptr<int>> { co_return std::make_unique<int>(4); };
        auto outer = [make]() -> Task<int> {
            std::unique_ptr<int> p = co_await make();
            co_return *p;
        };
        Done d;
        Task<int> t = outer();
        Task<int> moved = std::move(t);
        CHECK_FALSE(t.valid());
        moved.start(&on_done, &d);
        CHECK(moved.result() == 4);
    }
}
