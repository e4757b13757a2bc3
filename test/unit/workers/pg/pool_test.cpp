// SPDX-License-Identifier: MIT
// workers/pg/ against a real PostgreSQL (QUIVER_TEST_PG_URL, or a private
// cluster from packaging/pg-dev on port 55433): pipelining, prepared statements,
// per-query Sync, NULLs, sessions, timeouts, cancel, outages and clean shutdown.
#include <doctest/doctest.h>

#include <map>
#include <set>
#include <tuple>

#include "test/unit/workers/pg/pg_support.hpp"

using namespace pgtest;
using quiver::worker::pg::kStatusCanceled;
using quiver::worker::pg::kStatusError;
using quiver::worker::pg::kStatusOk;
using quiver::worker::pg::kStatusTimeout;
using quiver::worker::pg::kStatusUnavailable;

namespace {

// A started pool on its own loop. finish() closes both and reports whether
// the loop closed clean; the destructor does it if a failed check skipped it.
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
    bool wait_up(uint32_t n, uint64_t ms = 10000) {
        return loop.run_until([&] { return pool.stats().connections_up >= n; }, ms);
    }
    bool wait(const Res& r, uint64_t ms = 5000) {
        return loop.run_until([&] { return r.done(); }, ms);
    }
    bool wait_all(const std::vector<Res*>& rs, uint64_t ms = 5000) {
        return loop.run_until([&] {
            for (const Res* r : rs) {
                if (!r->done()) return false;
            }
            return true;
        }, ms);
    }
    // One query, waited for.
    Res sql(std::string_view text, const std::vector<std::optional<std::string>>& params = {},
            Session* s = nullptr) {
        Res r;
        run(pool, r, text, params, s);
        wait(r);
        return r;
    }
};

struct SessionRes {
    int calls = 0;
    int status = -1;
    Session* s = nullptr;
    static void on_session(void* arg, Session* s, int status) {
        auto* self = static_cast<SessionRes*>(arg);
        ++self->calls;
        self->status = status;
        self->s = s;
    }
};

Session* begin(Fixture& f, SessionRes& sr) {
    f.pool.begin_session(SessionRes::on_session, &sr);
    CHECK(sr.calls == 0);  // never synchronous
    f.loop.run_until([&] { return sr.calls > 0; }, 5000);
    return sr.s;
}

struct Proc {
    uv_process_t h{};
    bool exited = false;
    int64_t status = -1;
};

// Runs `packaging/pg-dev <cmd>` without blocking the loop.
bool spawn_pgdev(Loop& loop, Proc& p, const char* cmd) {
    std::string path = Cluster::get().pgdev();
    char* args[] = {path.data(), const_cast<char*>(cmd), nullptr};
    uv_stdio_container_t stdio[3];
    stdio[0].flags = UV_IGNORE;
    stdio[1].flags = UV_INHERIT_FD;
    stdio[1].data.fd = 2;
    stdio[2].flags = UV_INHERIT_FD;
    stdio[2].data.fd = 2;
    uv_process_options_t o{};
    o.file = path.c_str();
    o.args = args;
    o.stdio_count = 3;
    o.stdio = stdio;
    o.exit_cb = [](uv_process_t* h, int64_t st, int) {
        auto* self = static_cast<Proc*>(h->data);
        self->exited = true;
        self->status = st;
        uv_close(reinterpret_cast<uv_handle_t*>(h), nullptr);
    };
    p.h.data = &p;
    return uv_spawn(loop.get(), &p.h, &o) == 0;
}

}  // namespace

TEST_SUITE("workers.pg.pool") {

TEST_CASE("validate refuses a bad URL and pool size") {
    DatabaseSettings s;
    s.url = "postgresql://[::1";
    CHECK_FALSE(Pool::validate(s).has_value());
    s.url = "host=127.0.0.1 nonsense_keyword=1";
    CHECK_FALSE(Pool::validate(s).has_value());
    s.url = "postgresql://u:p@127.0.0.1:5433/db";
    CHECK(Pool::validate(s).has_value());
    s.pool = 0;
    CHECK_FALSE(Pool::validate(s).has_value());
}

TEST_CASE("connects, reports ready, answers, closes clean") {
    REQUIRE_MESSAGE(!Cluster::get().url().empty(), "no PostgreSQL: pg-dev start failed");
    Fixture f(settings(2));
    bool ready = false;
    f.pool.on_ready([](void* a) { *static_cast<bool*>(a) = true; }, &ready);
    CHECK_FALSE(ready);
    REQUIRE(f.loop.run_until([&] { return ready; }, 10000));
    CHECK(f.pool.ready());
    Res r;
    CHECK(run(f.pool, r, "SELECT 1 + $1::int", {"41"}) != nullptr);
    CHECK_FALSE(r.done());  // never synchronous
    REQUIRE(f.wait(r));
    CHECK(r.status == kStatusOk);
    CHECK(r.text() == "42");
    CHECK(r.calls == 1);
    REQUIRE(f.wait_up(2));
    CHECK(f.pool.stats().connects == 2);
    CHECK(f.finish());
}

TEST_CASE("1000 concurrent queries on 2 connections: all right, in order per connection") {
    Fixture f(settings(2));
    REQUIRE(f.wait_up(2));
    struct Got {
        int i, status, value;
        std::string pid;
    };
    struct Item {
        std::vector<Got>* out;
        int i;
    };
    std::vector<Got> got;
    std::vector<Item> items(1000);
    const std::string sql = "SELECT $1::int, pg_backend_pid()";
    auto on_item = [](void* arg, const ResultView& r) {
        auto* it = static_cast<Item*>(arg);
        Got g{it->i, r.status, -1, ""};
        if (r.status == kStatusOk && PQntuples(r.res) == 1) {
            g.value = std::atoi(PQgetvalue(r.res, 0, 0));
            g.pid = PQgetvalue(r.res, 0, 1);
        }
        it->out->push_back(g);
    };
    for (int i = 0; i < 1000; ++i) {
        items[i] = {&got, i};
        const std::string p = std::to_string(i);
        const std::string_view v = p;
        f.pool.query(nullptr, sql, &v, nullptr, 1, on_item, &items[i]);
    }
    CHECK(f.pool.stats().in_flight == 1000);
    REQUIRE(f.loop.run_until([&] { return got.size() >= 1000; }, 20000));
    f.loop.sleep(20);
    CHECK(got.size() == 1000);  // exactly once each

    std::map<std::string, std::vector<int>> by_pid;
    int wrong = 0;
    for (const Got& g : got) {
        if (g.status != kStatusOk || g.value != g.i) ++wrong;
        by_pid[g.pid].push_back(g.i);
    }
    CHECK(wrong == 0);
    REQUIRE(by_pid.size() == 2);  // both connections pipelined
    for (const auto& [pid, order] : by_pid) {
        CHECK(order.size() >= 300);  // least-loaded routing spreads the work
        bool increasing = true;
        for (size_t k = 1; k < order.size(); ++k) increasing &= order[k - 1] < order[k];
        CHECK_MESSAGE(increasing, "results out of order on backend " << pid);
    }
    CHECK(f.pool.stats().in_flight == 0);
    CHECK(f.pool.stats().queries_ok == 1000);

    // Prepared once per connection: one Parse each, and each server session
    // holds exactly one statement with that text.
    CHECK(f.pool.stats().prepares == 2);
    SessionRes s1, s2;
    f.pool.begin_session(SessionRes::on_session, &s1);
    f.pool.begin_session(SessionRes::on_session, &s2);
    REQUIRE(f.loop.run_until([&] { return s1.calls && s2.calls; }, 5000));
    REQUIRE(s1.status == kStatusOk);
    REQUIRE(s2.status == kStatusOk);
    CHECK(s1.s != s2.s);
    std::set<std::string> pids;
    for (Session* s : {s1.s, s2.s}) {
        Res r = f.sql("SELECT count(*), pg_backend_pid() FROM pg_prepared_statements "
                      "WHERE statement = $1", {sql}, s);
        CHECK(r.status == kStatusOk);
        CHECK(r.text(0, 0) == "1");
        pids.insert(r.text(0, 1));
        f.pool.end_session(s);
    }
    CHECK(pids.size() == 2);
    CHECK(f.finish());
}

TEST_CASE("one Sync per query: an error fails only its own query") {
    Fixture f(settings(1));
    REQUIRE(f.wait_up(1));
    Res before = f.sql("SELECT randomnumber FROM world WHERE id = 3");
    REQUIRE(before.status == kStatusOk);
    const std::string v0 = before.text();
    const std::string v1 = std::to_string(std::stoi(v0) % 10000 + 1);

    // Four queries in one pipeline on one connection.
    Res a, b, c, d;
    run(f.pool, a, "UPDATE world SET randomnumber = $1 WHERE id = 3", {v1});
    run(f.pool, b, "SELECT 1 / $1::int", {"0"});
    run(f.pool, c, "SELECT 1 / $1::int", {"1"});
    run(f.pool, d, "SELECT randomnumber FROM world WHERE id = 3");
    REQUIRE(f.wait_all({&a, &b, &c, &d}));
    CHECK(a.status == kStatusOk);
    CHECK(b.status == kStatusError);
    CHECK(b.sqlstate == "22012");
    CHECK(b.error == "division by zero");
    CHECK(c.status == kStatusOk);
    CHECK(c.text() == "1");
    CHECK(d.status == kStatusOk);
    CHECK(d.text() == v1);  // the UPDATE committed alone; b's error did not roll it back

    // A statement that fails to parse: its own error for it and for a query
    // pipelined behind its Parse; the neighbour in between is unaffected.
    Res e1, e2, e3;
    run(f.pool, e1, "SELEC 1");
    run(f.pool, e2, "SELECT 3");
    run(f.pool, e3, "SELEC 1");
    REQUIRE(f.wait_all({&e1, &e2, &e3}));
    CHECK(e1.status == kStatusError);
    CHECK(e1.sqlstate == "42601");
    CHECK(e1.error.find("syntax error") != std::string::npos);
    CHECK(e2.status == kStatusOk);
    CHECK(e2.text() == "3");
    CHECK(e3.status == kStatusError);
    CHECK(e3.sqlstate == "42601");
    Res again = f.sql("SELEC 1");  // parsed again, same error (not "already exists")
    CHECK(again.sqlstate == "42601");
    CHECK(f.sql("SELECT 4").text() == "4");

    CHECK(f.sql("UPDATE world SET randomnumber = $1 WHERE id = 3", {v0}).status == kStatusOk);
    CHECK(f.finish());
}

TEST_CASE("past 4096 distinct statements, new texts run unnamed") {
    Fixture f(settings(1));
    REQUIRE(f.wait_up(1));
    const int n = 4100;  // StatementRegistry::kMaxStatements + 4
    std::vector<Res> rs(n);
    for (int i = 0; i < n; ++i) {
        run(f.pool, rs[i], "SELECT $1::int + " + std::to_string(i), {"1"});
    }
    REQUIRE(f.loop.run_until([&] { return rs.back().done(); }, 30000));
    int ok = 0;
    for (int i = 0; i < n; ++i) {
        ok += rs[i].status == kStatusOk && rs[i].text() == std::to_string(i + 1);
    }
    CHECK(ok == n);
    CHECK(f.pool.stats().prepares == 4096);
    // An unnamed statement runs again without error (parsed each time).
    CHECK(f.sql("SELECT $1::int + 4099", {"1"}).text() == "4100");
    CHECK(f.sql("SELECT count(*) FROM pg_prepared_statements").text() == "4096");
    CHECK(f.finish());
}

TEST_CASE("NULL and empty parameters; a NUL byte is refused") {
    Fixture f(settings(1));
    REQUIRE(f.wait_up(1));
    Res r = f.sql("SELECT $1::text IS NULL, $1::text, $2::int + 1, $3::text = ''",
                  {std::nullopt, "41", ""});
    REQUIRE(r.status == kStatusOk);
    CHECK(r.text(0, 0) == "t");
    CHECK_FALSE(r.value(0, 1).has_value());
    CHECK(r.text(0, 2) == "42");
    CHECK(r.text(0, 3) == "t");

    Res bad;
    run(f.pool, bad, "SELECT $1::text", {std::string("a\0b", 3)});
    CHECK_FALSE(bad.done());
    REQUIRE(f.wait(bad));
    CHECK(bad.status == kStatusError);
    CHECK(bad.sqlstate == "22021");
    CHECK(bad.calls == 1);
    CHECK(f.sql("SELECT 'ok'").text() == "ok");
    CHECK(f.finish());
}

TEST_CASE("sessions: ROLLBACK leaves data unchanged, COMMIT persists") {
    Fixture f(settings(2));
    REQUIRE(f.wait_up(2));
    const std::string read = "SELECT randomnumber FROM world WHERE id = 7";
    const std::string write = "UPDATE world SET randomnumber = $1 WHERE id = 7";
    const std::string v0 = f.sql(read).text();
    const std::string v1 = std::to_string(std::stoi(v0) % 10000 + 1);

    SessionRes sr;
    Session* s = begin(f, sr);
    REQUIRE(sr.status == kStatusOk);
    REQUIRE(s != nullptr);
    CHECK(f.sql("BEGIN", {}, s).status == kStatusOk);
    CHECK(f.sql(write, {v1}, s).status == kStatusOk);
    CHECK(f.sql(read, {}, s).text() == v1);  // visible inside the transaction
    CHECK(f.sql(read).text() == v0);         // not outside (the other connection)
    CHECK(f.sql("ROLLBACK", {}, s).status == kStatusOk);
    f.pool.end_session(s);
    CHECK(f.sql(read).text() == v0);

    SessionRes sr2;
    Session* s2 = begin(f, sr2);
    REQUIRE(s2 != nullptr);
    CHECK(f.sql("BEGIN", {}, s2).status == kStatusOk);
    CHECK(f.sql(write, {v1}, s2).status == kStatusOk);
    CHECK(f.sql("COMMIT", {}, s2).status == kStatusOk);
    f.pool.end_session(s2);
    CHECK(f.sql(read).text() == v1);
    CHECK(f.sql(write, {v0}).status == kStatusOk);
    CHECK(f.finish());
}

TEST_CASE("end_session rolls back an open transaction before the pool reuses the connection") {
    Fixture f(settings(1));
    REQUIRE(f.wait_up(1));
    const std::string v0 = f.sql("SELECT randomnumber FROM world WHERE id = 8").text();
    const std::string v1 = std::to_string(std::stoi(v0) % 10000 + 1);
    SessionRes sr;
    Session* s = begin(f, sr);
    REQUIRE(s != nullptr);
    CHECK(f.sql("BEGIN", {}, s).status == kStatusOk);
    CHECK(f.sql("UPDATE world SET randomnumber = $1 WHERE id = 8", {v1}, s).status == kStatusOk);
    f.pool.end_session(s);  // no COMMIT, no ROLLBACK
    // The only connection: the pool's next query runs after the ROLLBACK, in a
    // fresh transaction with no transaction id, and sees the old value.
    Res r = f.sql("SELECT randomnumber, txid_current_if_assigned() FROM world WHERE id = 8");
    REQUIRE(r.status == kStatusOk);
    CHECK(r.text(0, 0) == v0);
    CHECK_FALSE(r.value(0, 1).has_value());
    CHECK(f.finish());
}

TEST_CASE("query_timeout: status 3 in time, cancelled server-side, connection reusable") {
    Fixture f(settings(1, 300));
    REQUIRE(f.wait_up(1));
    Res slow;
    const uint64_t t0 = now_ms();
    run(f.pool, slow, "SELECT pg_sleep(5)");
    REQUIRE(f.wait(slow, 3000));
    CHECK(slow.status == kStatusTimeout);
    MESSAGE("timeout reported after " << slow.at_ms - t0 << " ms (query_timeout 300)");
    CHECK(slow.at_ms - t0 >= 290);
    CHECK(slow.at_ms - t0 < 1000);
    // Without the server-side cancel the connection would be busy for 5 s.
    Res next = f.sql("SELECT count(*) FROM pg_stat_activity "
                     "WHERE query = 'SELECT pg_sleep(5)' AND state = 'active'");
    CHECK_MESSAGE(next.status == kStatusOk, next.sqlstate << " " << next.error);
    CHECK(next.text() == "0");
    CHECK(next.at_ms - t0 < 2000);
    CHECK(slow.calls == 1);
    CHECK(f.pool.stats().cancel_requests == 1);
    CHECK(f.pool.stats().queries_timeout == 1);
    CHECK(f.pool.stats().connections_lost == 0);

    // Every connection pinned: begin_session and pool queries wait, bounded.
    SessionRes sr;
    Session* s = begin(f, sr);
    REQUIRE(s != nullptr);
    SessionRes waiter;
    const uint64_t t1 = now_ms();
    f.pool.begin_session(SessionRes::on_session, &waiter);
    REQUIRE(f.loop.run_until([&] { return waiter.calls > 0; }, 3000));
    CHECK(waiter.status == kStatusTimeout);
    CHECK(now_ms() - t1 < 1000);
    Res queued;
    run(f.pool, queued, "SELECT 5");
    f.loop.sleep(100);
    CHECK_FALSE(queued.done());
    f.pool.end_session(s);  // the waiting query gets the connection
    REQUIRE(f.wait(queued));
    CHECK(queued.status == kStatusOk);
    CHECK(queued.text() == "5");
    CHECK(f.finish());
}

TEST_CASE("cancel: status 4 on the next turn, sent or not; the server stops the query") {
    Fixture f(settings(1, 10000));
    REQUIRE(f.wait_up(1));
    Res slow;
    Query* q = run(f.pool, slow, "SELECT pg_sleep(5)");
    f.loop.sleep(200);  // sent and executing
    REQUIRE_FALSE(slow.done());
    const uint64_t t0 = now_ms();
    f.pool.cancel(q);
    CHECK_FALSE(slow.done());
    REQUIRE(f.wait(slow, 1000));
    CHECK(slow.status == kStatusCanceled);
    Res after = f.sql("SELECT 7");
    CHECK(after.text() == "7");
    CHECK(after.at_ms - t0 < 2000);

    // Cancelled before it was sent; its neighbour runs.
    Res x, y;
    Query* qx = run(f.pool, x, "SELECT 8");
    run(f.pool, y, "SELECT 9");
    f.pool.cancel(qx);
    REQUIRE(f.wait_all({&x, &y}));
    CHECK(x.status == kStatusCanceled);
    CHECK(y.text() == "9");
    CHECK(x.calls == 1);
    CHECK(slow.calls == 1);
    CHECK(f.pool.stats().queries_canceled == 2);
    CHECK(f.finish());
}

TEST_CASE("database down: fail fast; back up: served again within about a second") {
    if (!Cluster::get().owned()) {
        MESSAGE("skipped: QUIVER_TEST_PG_URL names a cluster this test cannot stop");
        return;
    }
    Fixture f(settings(2, 2000, 2000));
    REQUIRE(f.wait_up(2));
    Proc stop;
    REQUIRE(spawn_pgdev(f.loop, stop, "stop"));
    REQUIRE(f.loop.run_until([&] { return stop.exited; }, 60000));
    REQUIRE(stop.status == 0);
    for (int k = 0; k < 10; ++k) {
        Res r;
        const uint64_t t = now_ms();
        run(f.pool, r, "SELECT 1");
        CHECK_FALSE(r.done());
        REQUIRE(f.wait(r, 2000));
        CHECK(r.status == kStatusUnavailable);
        CHECK(r.at_ms - t < 150);
        f.loop.sleep(30);
    }
    CHECK_FALSE(f.pool.ready());
    SessionRes sr;
    CHECK(begin(f, sr) == nullptr);
    CHECK(sr.status == kStatusUnavailable);

    Proc start;
    REQUIRE(spawn_pgdev(f.loop, start, "start"));
    REQUIRE(f.loop.run_until([&] { return start.exited; }, 120000));
    REQUIRE(start.status == 0);
    const uint64_t t0 = now_ms();  // the server accepts connections from here on
    bool ok = false;
    uint64_t ok_at = 0;
    while (!ok && now_ms() - t0 < 5000) {
        Res r;
        run(f.pool, r, "SELECT 1");
        REQUIRE(f.wait(r, 3000));
        if (r.status == kStatusOk) {
            ok = true;
            ok_at = r.at_ms;
        } else {
            f.loop.sleep(50);
        }
    }
    REQUIRE(ok);
    MESSAGE("served again " << ok_at - t0 << " ms after the server was ready");
    CHECK(ok_at - t0 <= 1500);
    CHECK(f.wait_up(2, 3000));
    CHECK(f.pool.stats().connections_lost >= 2);
    CHECK(f.finish());
}

TEST_CASE("no server: on_ready reports not ready, queries fail fast") {
    DatabaseSettings s = settings(2);
    s.url = "postgresql://benchmarkdbuser:benchmarkdbpass@127.0.0.1:1/hello_world";
    Fixture f(s);
    bool ready = false;
    f.pool.on_ready([](void* a) { *static_cast<bool*>(a) = true; }, &ready);
    REQUIRE(f.loop.run_until([&] { return ready; }, 3000));
    CHECK_FALSE(f.pool.ready());
    Res r;
    const uint64_t t = now_ms();
    run(f.pool, r, "SELECT 1");
    CHECK_FALSE(r.done());
    REQUIRE(f.wait(r, 1000));
    CHECK(r.status == kStatusUnavailable);
    CHECK(r.at_ms - t < 100);
    CHECK(f.pool.stats().connect_failures >= 2);
    CHECK(f.finish());
}

TEST_CASE("connect follows libpq to the next host when the first refuses (new socket)") {
    DatabaseSettings s = settings(2);
    // The cluster's own host and port, behind one that refuses.
    const std::string& url = Cluster::get().url();
    const size_t at = url.find('@');
    REQUIRE(at != std::string::npos);
    s.url = url.substr(0, at + 1) + "127.0.0.1:1," + url.substr(at + 1);
    Fixture f(s);
    REQUIRE(f.wait_up(2));
    CHECK(f.sql("SELECT inet_server_port() IS NOT NULL").text() == "t");
    CHECK(f.pool.stats().connect_failures == 0);
    CHECK(f.finish());
}

TEST_CASE("connect_timeout: a server that never answers") {
    Loop loop;
    uv_tcp_t server;
    uv_tcp_init(loop.get(), &server);
    sockaddr_in addr{};
    uv_ip4_addr("127.0.0.1", 0, &addr);
    REQUIRE(uv_tcp_bind(&server, reinterpret_cast<const sockaddr*>(&addr), 0) == 0);
    std::vector<std::unique_ptr<uv_tcp_t>> clients;
    server.data = &clients;
    REQUIRE(uv_listen(reinterpret_cast<uv_stream_t*>(&server), 16, [](uv_stream_t* srv, int) {
        auto* cs = static_cast<std::vector<std::unique_ptr<uv_tcp_t>>*>(srv->data);
        auto c = std::make_unique<uv_tcp_t>();
        uv_tcp_init(srv->loop, c.get());
        if (uv_accept(srv, reinterpret_cast<uv_stream_t*>(c.get())) == 0) {
            cs->push_back(std::move(c));  // accepted, never read: libpq waits
        } else {
            uv_close(reinterpret_cast<uv_handle_t*>(c.release()),
                     [](uv_handle_t* h) { delete reinterpret_cast<uv_tcp_t*>(h); });
        }
    }) == 0);
    sockaddr_storage bound{};
    int len = sizeof bound;
    uv_tcp_getsockname(&server, reinterpret_cast<sockaddr*>(&bound), &len);
    const int port = ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);

    DatabaseSettings s = settings(2, 1000, 300);
    s.url = "postgresql://u:p@127.0.0.1:" + std::to_string(port) + "/db?sslmode=disable";
    {
        Pool pool(loop.get(), s);
        pool.set_logger(quiet_log, nullptr);
        bool ready = false;
        const uint64_t t0 = now_ms();
        pool.start();
        pool.on_ready([](void* a) { *static_cast<bool*>(a) = true; }, &ready);
        REQUIRE(loop.run_until([&] { return ready; }, 3000));
        CHECK(now_ms() - t0 >= 290);
        CHECK(now_ms() - t0 < 1500);
        CHECK_FALSE(pool.ready());
        CHECK(pool.stats().connect_failures >= 2);
        CHECK(close_pool(loop, pool));
    }
    for (auto& c : clients) {
        uv_close(reinterpret_cast<uv_handle_t*>(c.get()), nullptr);
    }
    uv_close(reinterpret_cast<uv_handle_t*>(&server), nullptr);
    uv_run(loop.get(), UV_RUN_NOWAIT);
    CHECK(loop.close() == 0);
}

TEST_CASE("close() finishes queued queries, refuses new ones, closes clean") {
    Fixture f(settings(2));
    REQUIRE(f.wait_up(2));
    std::vector<Res> rs(50);
    for (int i = 0; i < 50; ++i) run(f.pool, rs[i], "SELECT $1::int", {std::to_string(i)});
    bool done = false;
    f.pool.close([](void* a) { *static_cast<bool*>(a) = true; }, &done);
    Res late;
    run(f.pool, late, "SELECT 1");
    SessionRes sr;
    f.pool.begin_session(SessionRes::on_session, &sr);
    REQUIRE(f.loop.run_until([&] { return done; }, 10000));
    f.finished = true;
    int ok = 0;
    for (int i = 0; i < 50; ++i) {
        CHECK(rs[i].calls == 1);
        ok += rs[i].status == kStatusOk && rs[i].text() == std::to_string(i);
    }
    CHECK(ok == 50);
    CHECK(late.calls == 1);
    CHECK(late.status == kStatusUnavailable);
    CHECK(sr.calls == 1);
    CHECK(sr.status == kStatusUnavailable);
    CHECK(f.pool.stats().connections_up == 0);
    CHECK(f.loop.close() == 0);
}

}  // TEST_SUITE
