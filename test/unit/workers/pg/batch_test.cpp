// SPDX-License-Identifier: MIT
// Pool::batch against a real PostgreSQL: N statements with one Sync (one
// transaction), results in order, an error aborting the rest, a failed or
// skipped Parse, cancel, timeout, waiting for a pinned pool, no server.
#include <doctest/doctest.h>

#include <set>
#include <string>
#include <vector>

#include "test/unit/workers/pg/pg_support.hpp"

using namespace pgtest;
using quiver::worker::pg::BatchStatement;
using quiver::worker::pg::kStatusCanceled;
using quiver::worker::pg::kStatusError;
using quiver::worker::pg::kStatusOk;
using quiver::worker::pg::kStatusTimeout;
using quiver::worker::pg::kStatusUnavailable;

namespace {

constexpr std::string_view kNotRun = "not run: an earlier statement of its batch failed";

// A started pool on its own loop, closed clean at the end.
struct Fixture {
    Loop loop;
    Pool pool;
    bool finished = false;

    explicit Fixture(const DatabaseSettings& s) : pool(loop.get(), s) {
        pool.set_logger(quiet_log, nullptr);
        pool.start();
    }
    ~Fixture() {
        if (!finished) finish();
    }
    bool finish() {
        finished = true;
        const bool closed = close_pool(loop, pool);
        return closed && loop.close() == 0;
    }
    bool wait_up(uint32_t n) {
        return loop.run_until([&] { return pool.stats().connections_up >= n; }, 10000);
    }
    bool wait_all(const std::vector<Res>& rs, uint64_t ms = 5000) {
        return loop.run_until([&] {
            for (const Res& r : rs) {
                if (!r.done()) return false;
            }
            return true;
        }, ms);
    }
    Res sql(std::string_view text) {
        Res r;
        run(pool, r, text);
        loop.run_until([&] { return r.done(); }, 5000);
        return r;
    }
};

// One statement: SQL and its parameters (nullopt = SQL NULL).
struct Stmt {
    std::string sql;
    std::vector<std::optional<std::string>> params;
};

// Results plus the order their callbacks ran in.
struct BatchRun {
    std::vector<Res> res;
    std::vector<Query*> handles;
    std::vector<size_t> order;
    struct Arg {
        BatchRun* run;
        size_t index;
    };
    std::vector<Arg> args;
    std::vector<void*> arg_ptrs;

    static void on_result(void* a, const ResultView& r) {
        auto* arg = static_cast<Arg*>(a);
        arg->run->order.push_back(arg->index);
        Res::on_result(&arg->run->res[arg->index], r);
    }
};

// Issues `stmts` as one batch; every buffer passed is gone when it returns
// (the pool must have copied them).
void run_batch(Pool& pool, BatchRun& out, const std::vector<Stmt>& stmts) {
    const size_t n = stmts.size();
    out.res.assign(n, Res{});
    out.handles.assign(n, nullptr);
    out.order.clear();
    out.args.clear();
    for (size_t i = 0; i < n; ++i) out.args.push_back({&out, i});
    out.arg_ptrs.clear();
    for (auto& a : out.args) out.arg_ptrs.push_back(&a);
    std::vector<std::vector<std::string_view>> views(n);
    std::vector<std::unique_ptr<bool[]>> nulls(n);
    std::vector<BatchStatement> bs(n);
    for (size_t i = 0; i < n; ++i) {
        nulls[i].reset(new bool[stmts[i].params.size() + 1]);
        for (size_t k = 0; k < stmts[i].params.size(); ++k) {
            const auto& p = stmts[i].params[k];
            views[i].emplace_back(p ? std::string_view(*p) : std::string_view());
            nulls[i][k] = !p.has_value();
        }
        bs[i] = BatchStatement{stmts[i].sql, views[i].data(), nulls[i].get(), views[i].size()};
    }
    pool.batch(bs.data(), n, BatchRun::on_result, out.arg_ptrs.data(), out.handles.data());
}

std::vector<Stmt> worlds(size_t n) {
    std::vector<Stmt> v;
    for (size_t i = 0; i < n; ++i) {
        v.push_back({"SELECT id, randomnumber FROM world WHERE id = $1", {std::to_string(i + 1)}});
    }
    return v;
}

bool in_order(const BatchRun& b) {
    for (size_t i = 0; i < b.order.size(); ++i) {
        if (b.order[i] != i) return false;
    }
    return b.order.size() == b.res.size();
}

}  // namespace

TEST_SUITE("workers.pg.batch") {

TEST_CASE("20 SELECTs: 20 results in order, one Sync, one transaction") {
    Fixture f(settings(2));
    REQUIRE(f.wait_up(2));
    REQUIRE(f.sql("SELECT 1").status == kStatusOk);  // statements prepared from here on

    BatchRun b;
    uint64_t syncs = f.pool.stats().syncs;
    run_batch(f.pool, b, worlds(20));
    CHECK(b.order.empty());  // never synchronous
    REQUIRE(f.wait_all(b.res));
    CHECK(f.pool.stats().syncs - syncs == 1);
    CHECK(in_order(b));
    for (size_t i = 0; i < 20; ++i) {
        CHECK(b.res[i].calls == 1);
        CHECK(b.res[i].status == kStatusOk);
        CHECK(b.res[i].text(0, 0) == std::to_string(i + 1));
    }

    // One implicit transaction: every statement sees the same transaction id;
    // twenty ordinary queries get twenty.
    std::vector<Stmt> xids(20, Stmt{"SELECT txid_current()", {}});
    syncs = f.pool.stats().syncs;
    run_batch(f.pool, b, xids);
    REQUIRE(f.wait_all(b.res));
    CHECK(f.pool.stats().syncs - syncs == 1);
    std::set<std::string> seen;
    for (const Res& r : b.res) {
        CHECK(r.status == kStatusOk);
        seen.insert(r.text());
    }
    CHECK(seen.size() == 1);

    std::vector<Res> single(20);
    syncs = f.pool.stats().syncs;
    for (Res& r : single) run(f.pool, r, "SELECT txid_current()");
    REQUIRE(f.wait_all(single));
    CHECK(f.pool.stats().syncs - syncs == 20);
    seen.clear();
    for (const Res& r : single) seen.insert(r.text());
    CHECK(seen.size() == 20);

    // A batch of one is an ordinary query.
    run_batch(f.pool, b, worlds(1));
    REQUIRE(f.wait_all(b.res));
    CHECK(b.res[0].text() == "1");
    CHECK(f.finish());
}

TEST_CASE("an error in statement 5: 1..4 succeed, 5 gets its error, 6..20 were not run") {
    Fixture f(settings(1));
    REQUIRE(f.wait_up(1));
    Res before = f.sql("SELECT randomnumber FROM world WHERE id = 7");
    REQUIRE(before.status == kStatusOk);
    const std::string v0 = before.text();
    const std::string v1 = std::to_string(std::stoi(v0) % 10000 + 1);

    std::vector<Stmt> stmts = worlds(20);
    stmts[0] = {"UPDATE world SET randomnumber = $1 WHERE id = 7", {v1}};
    stmts[4] = {"SELECT 1 / $1::int", {"0"}};
    BatchRun b;
    const uint64_t lost = f.pool.stats().connections_lost;
    run_batch(f.pool, b, stmts);
    REQUIRE(f.wait_all(b.res));
    CHECK(in_order(b));
    for (size_t i = 0; i < 4; ++i) CHECK(b.res[i].status == kStatusOk);
    CHECK(b.res[3].text(0, 0) == "4");
    CHECK(b.res[4].status == kStatusError);
    CHECK(b.res[4].sqlstate == "22012");
    CHECK(b.res[4].error == "division by zero");
    for (size_t i = 5; i < 20; ++i) {
        CHECK(b.res[i].calls == 1);
        CHECK(b.res[i].status == kStatusError);
        CHECK(b.res[i].error == kNotRun);
    }
    // One transaction: the UPDATE of statement 1 was rolled back with it.
    CHECK(f.sql("SELECT randomnumber FROM world WHERE id = 7").text() == v0);
    CHECK(f.pool.stats().connections_lost == lost);
    CHECK(f.sql("SELECT 42").text() == "42");
    CHECK(f.finish());
}

TEST_CASE("a failed Parse fails its statement and aborts the rest; skipped Parses redo") {
    Fixture f(settings(1));
    REQUIRE(f.wait_up(1));
    // Texts this connection has never prepared, unique per run.
    const std::string tag = std::to_string(now_ms());
    const std::string fresh = "SELECT 'fresh-" + tag + "'::text";
    const std::string bad = "SELEC 'bad-" + tag + "'";
    BatchRun b;
    run_batch(f.pool, b, {{"SELECT 1", {}}, {bad, {}}, {fresh, {}}, {"SELECT 2", {}}});
    REQUIRE(f.wait_all(b.res));
    CHECK(in_order(b));
    CHECK(b.res[0].text() == "1");
    CHECK(b.res[1].status == kStatusError);
    CHECK(b.res[1].sqlstate == "42601");
    CHECK(b.res[2].status == kStatusError);
    CHECK(b.res[2].error == kNotRun);
    CHECK(b.res[3].error == kNotRun);
    // The skipped Parse is sent again next time; the failed one fails again.
    CHECK(f.sql(fresh).text() == "fresh-" + tag);
    CHECK(f.sql(bad).sqlstate == "42601");
    CHECK(f.sql("SELECT 3").text() == "3");
    CHECK(f.finish());
}

TEST_CASE("invalid statement: nothing is sent, the others say why") {
    Fixture f(settings(1));
    REQUIRE(f.wait_up(1));
    BatchRun b;
    const uint64_t syncs = f.pool.stats().syncs;
    run_batch(f.pool, b,
              {{"SELECT 1", {}}, {"SELECT $1::text", {std::string("a\0b", 3)}}, {"SELECT 2", {}}});
    REQUIRE(f.wait_all(b.res));
    CHECK(b.res[1].sqlstate == "22021");
    CHECK(b.res[0].status == kStatusError);
    CHECK(b.res[0].error == "not run: another statement of its batch is invalid");
    CHECK(b.res[2].status == kStatusError);
    CHECK(f.pool.stats().syncs == syncs);
    CHECK(f.pool.stats().in_flight == 0);
    CHECK(f.finish());
}

TEST_CASE("cancel: an unsent member only loses its callback; a sent one aborts the rest") {
    Fixture f(settings(1, 10000));
    REQUIRE(f.wait_up(1));
    BatchRun b;
    run_batch(f.pool, b, worlds(3));
    f.pool.cancel(b.handles[1]);
    CHECK(b.order.empty());
    REQUIRE(f.wait_all(b.res));
    CHECK(b.res[0].text() == "1");
    CHECK(b.res[1].status == kStatusCanceled);
    CHECK(b.res[2].text() == "3");
    for (const Res& r : b.res) CHECK(r.calls == 1);
    f.loop.sleep(50);  // the cancelled member's discarded result arrives
    CHECK(f.pool.stats().in_flight == 0);

    run_batch(f.pool, b, {{"SELECT pg_sleep(5)", {}}, {"SELECT 5", {}}, {"SELECT 6", {}}});
    f.loop.sleep(200);  // sent and executing
    REQUIRE_FALSE(b.res[0].done());
    const uint64_t t0 = now_ms();
    const uint64_t lost = f.pool.stats().connections_lost;
    f.pool.cancel(b.handles[0]);
    REQUIRE(f.wait_all(b.res, 3000));
    CHECK(b.res[0].status == kStatusCanceled);
    CHECK(b.res[1].error == kNotRun);
    CHECK(b.res[2].error == kNotRun);
    Res after = f.sql("SELECT 7");
    CHECK(after.text() == "7");
    CHECK(after.at_ms - t0 < 2000);
    CHECK(f.pool.stats().connections_lost == lost);
    for (const Res& r : b.res) CHECK(r.calls == 1);
    CHECK(f.finish());
}

TEST_CASE("query_timeout: the batch times out as a whole; the connection is reused") {
    Fixture f(settings(1, 300));
    REQUIRE(f.wait_up(1));
    BatchRun b;
    run_batch(f.pool, b, {{"SELECT 1", {}}, {"SELECT pg_sleep(5)", {}}, {"SELECT 2", {}}});
    REQUIRE(f.wait_all(b.res, 2000));
    // The server flushes a batch's results at its Sync, so the first
    // statement's result was not back by the deadline either.
    CHECK(b.res[0].status == kStatusTimeout);
    CHECK(b.res[1].status == kStatusTimeout);
    CHECK(b.res[2].status == kStatusTimeout);
    CHECK(f.sql("SELECT 8").text() == "8");
    for (const Res& r : b.res) CHECK(r.calls == 1);
    CHECK(f.finish());
}

TEST_CASE("every connection pinned: the batch waits, then runs whole on one connection") {
    Fixture f(settings(1));
    REQUIRE(f.wait_up(1));
    Session* s = nullptr;
    f.pool.begin_session([](void* a, Session* got, int) { *static_cast<Session**>(a) = got; },
                         &s);
    REQUIRE(f.loop.run_until([&] { return s != nullptr; }, 5000));
    BatchRun b;
    std::vector<Stmt> xids(5, Stmt{"SELECT txid_current()", {}});
    run_batch(f.pool, b, xids);
    f.loop.sleep(100);
    CHECK(b.order.empty());  // waiting for the pinned connection
    const uint64_t syncs = f.pool.stats().syncs;
    f.pool.end_session(s);
    REQUIRE(f.wait_all(b.res));
    CHECK(in_order(b));
    CHECK(f.pool.stats().syncs - syncs == 1);
    std::set<std::string> seen;
    for (const Res& r : b.res) {
        CHECK(r.status == kStatusOk);
        seen.insert(r.text());
    }
    CHECK(seen.size() == 1);
    CHECK(f.finish());
}

TEST_CASE("a waiting batch with a cancelled member: closing calls each callback once") {
    Fixture f(settings(1));
    REQUIRE(f.wait_up(1));
    Session* s = nullptr;
    f.pool.begin_session([](void* a, Session* got, int) { *static_cast<Session**>(a) = got; },
                         &s);
    REQUIRE(f.loop.run_until([&] { return s != nullptr; }, 5000));
    BatchRun b;
    run_batch(f.pool, b, worlds(3));
    f.pool.cancel(b.handles[1]);
    bool closed = false;
    f.pool.close([](void* a) { *static_cast<bool*>(a) = true; }, &closed);
    f.finished = true;
    REQUIRE(f.loop.run_until([&] { return closed; }, 10000));
    for (const Res& r : b.res) {
        CHECK(r.calls == 1);
        CHECK(r.status == kStatusCanceled);
    }
    CHECK(f.pool.stats().in_flight == 0);
    CHECK(f.loop.close() == 0);
}

TEST_CASE("no server: every statement fails fast with kStatusUnavailable") {
    DatabaseSettings s = settings(1);
    s.url = "postgresql://benchmarkdbuser:benchmarkdbpass@127.0.0.1:1/hello_world";
    Fixture f(s);
    bool ready = false;
    f.pool.on_ready([](void* a) { *static_cast<bool*>(a) = true; }, &ready);
    REQUIRE(f.loop.run_until([&] { return ready; }, 3000));
    BatchRun b;
    run_batch(f.pool, b, worlds(4));
    CHECK(b.order.empty());
    REQUIRE(f.wait_all(b.res, 1000));
    CHECK(in_order(b));
    for (const Res& r : b.res) CHECK(r.status == kStatusUnavailable);
    CHECK(f.finish());
}

}  // TEST_SUITE
