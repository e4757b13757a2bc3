// SPDX-License-Identifier: MIT
// DbBatch over a scripted host: every query is sent before the coroutine
// waits, results arrive in any order, failures map to 503/500 outcomes, and
// a cancelled request cancels its queries and absorbs the late callbacks.
#include "apps/bench/db_batch.hpp"

#include <doctest/doctest.h>

#include <optional>
#include <quiver/task.hpp>
#include <string>
#include <vector>

#include "apps/bench/db_sinks.hpp"

using namespace bench;

namespace {
struct FakeDb;
}

// The test's own query handle.
struct qv_db_query {
    FakeDb* db;
    std::string sql;
    std::vector<std::string> params;
    qv_db_cb cb;
    void* arg;
    bool cancelled = false;
    bool done = false;
};

namespace {

struct FakeDb {
    std::vector<qv_db_query*> queries;  // in send order
    int refuse_with = QV_OK;
    bool cancel_runs_callback = false;  // db_cancel completes the query before returning
    int cancels = 0;
    std::vector<std::size_t> batch_sizes;  // one entry per db_batch call
    qv_host_t host{};

    FakeDb() {
        host.abi_version = QV_ABI_VERSION;
        host.struct_size = sizeof(qv_host_t);
        host.ctx = this;
        host.db_query = &FakeDb::query;
        host.db_cancel = &FakeDb::cancel;
        host.db_batch = &FakeDb::batch;
    }
    ~FakeDb() {
        for (qv_db_query* q : queries) delete q;
    }

    static int query(void* ctx, qv_db_session_t*, const char* sql, std::size_t len,
                     const qv_str_t* params, std::size_t n, qv_db_cb cb, void* arg,
                     qv_db_query_t** out) {
        auto* self = static_cast<FakeDb*>(ctx);
        if (self->refuse_with != QV_OK) return self->refuse_with;
        auto* q = new qv_db_query{self, std::string(sql, len), {}, cb, arg};
        for (std::size_t i = 0; i < n; ++i) q->params.emplace_back(params[i].ptr, params[i].len);
        self->queries.push_back(q);
        if (out != nullptr) *out = q;
        return QV_OK;
    }
    static int batch(void* ctx, const qv_db_stmt_t* stmts, std::size_t count, qv_db_cb cb,
                     void* const* args, qv_db_query_t** outs) {
        auto* self = static_cast<FakeDb*>(ctx);
        if (self->refuse_with != QV_OK) return self->refuse_with;
        self->batch_sizes.push_back(count);
        for (std::size_t i = 0; i < count; ++i) {
            query(ctx, nullptr, stmts[i].sql, stmts[i].sql_len, stmts[i].params,
                  stmts[i].param_count, cb, args[i], outs != nullptr ? &outs[i] : nullptr);
        }
        return QV_OK;
    }
    static void cancel(qv_db_query_t* q) {
        q->cancelled = true;
        ++q->db->cancels;
        if (q->db->cancel_runs_callback) {
            for (std::size_t i = 0; i < q->db->queries.size(); ++i) {
                if (q->db->queries[i] == q) q->db->reply(i, 0, {}, QV_DB_CANCELED, "canceled");
            }
        }
    }

    // Completes query i with rows of text cells (row-major), or a status.
    void reply(std::size_t i, int ncols, std::vector<std::optional<std::string>> cells,
               int status = QV_DB_OK, std::string error = {}, std::string sqlstate = {}) {
        qv_db_query* q = queries.at(i);
        REQUIRE(!q->done);
        q->done = true;
        std::vector<qv_str_t> values;
        for (const auto& c : cells) {
            values.push_back(c ? qv_str_t{c->data(), c->size()} : qv_str_t{nullptr, 0});
        }
        qv_db_result_t r{};
        r.status = status;
        r.ncols = ncols;
        r.nrows = ncols == 0 ? 0 : static_cast<int>(cells.size()) / ncols;
        r.values = values.data();
        r.error = {error.data(), error.size()};
        r.sqlstate = {sqlstate.data(), sqlstate.size()};
        q->cb(q->arg, &r);
    }
};

// Runs `n` world queries through a leased batch, like the app's /queries.
quiver::Task<int> world_queries(DbBatchPool& pool, std::size_t n, DbOutcome& outcome,
                                std::vector<World>& got, int& resumed) {
    auto b = pool.acquire();
    b->worlds.resize(n);
    b->start(n, &sink_world);
    for (std::size_t i = 0; i < n; ++i) {
        const std::string id = std::to_string(i + 1);
        const qv_str_t p{id.data(), id.size()};
        b->send(i, kWorldSql, &p, 1);
    }
    co_await b->wait();
    ++resumed;
    outcome = b->outcome();
    got = b->worlds;
    co_return 0;
}

// Like world_queries, through queue() and submit(); the parameter texts die
// before submit() (the batch must have copied them).
quiver::Task<int> queued_world_queries(DbBatchPool& pool, std::size_t n, DbOutcome& outcome,
                                       std::vector<World>& got) {
    auto b = pool.acquire();
    b->worlds.resize(n);
    b->start(n, &sink_world);
    for (std::size_t i = 0; i < n; ++i) {
        const std::string id = std::to_string(i + 1);
        const qv_str_t p{id.data(), id.size()};
        b->queue(i, kWorldSql, &p, 1);
    }
    b->submit();
    co_await b->wait();
    outcome = b->outcome();
    got = b->worlds;
    co_return 0;
}

void done_cb(void* arg) noexcept { *static_cast<bool*>(arg) = true; }

}  // namespace

TEST_SUITE("bench.db_batch") {
    TEST_CASE("all queries are sent before the first result; out-of-order results") {
        FakeDb db;
        DbBatchPool pool(&db.host);
        DbOutcome outcome = DbOutcome::kError;
        std::vector<World> got;
        int resumed = 0;
        bool done = false;
        auto task = world_queries(pool, 3, outcome, got, resumed);
        task.start(&done_cb, &done);
        REQUIRE(db.queries.size() == 3);
        CHECK(db.queries[0]->sql == kWorldSql);
        CHECK(db.queries[2]->params == std::vector<std::string>{"3"});
        CHECK(!done);
        db.reply(2, 2, {"3", "30"});
        db.reply(0, 2, {"1", "10"});
        CHECK(resumed == 0);
        db.reply(1, 2, {"2", "20"});
        CHECK(resumed == 1);
        CHECK(done);
        CHECK(outcome == DbOutcome::kOk);
        CHECK(got == std::vector<World>{{1, 10}, {2, 20}, {3, 30}});
        task.reset();
        CHECK(pool.idle() == 1);  // returned for the next request
    }

    TEST_CASE("a missing row or a malformed value is an error; unavailable wins nothing over it") {
        FakeDb db;
        DbBatchPool pool(&db.host);
        DbOutcome outcome = DbOutcome::kOk;
        std::vector<World> got;
        int resumed = 0;
        bool done = false;
        auto task = world_queries(pool, 2, outcome, got, resumed);
        task.start(&done_cb, &done);
        db.reply(0, 2, {});  // no such row
        db.reply(1, 0, {}, QV_DB_UNAVAILABLE, "down");
        CHECK(outcome == DbOutcome::kError);  // the first failure is kept
    }

    TEST_CASE("unavailable and timed-out queries give kUnavailable") {
        for (int status : {QV_DB_UNAVAILABLE, QV_DB_TIMEOUT}) {
            FakeDb db;
            DbBatchPool pool(&db.host);
            DbOutcome outcome = DbOutcome::kOk;
            std::vector<World> got;
            int resumed = 0;
            bool done = false;
            auto task = world_queries(pool, 1, outcome, got, resumed);
            task.start(&done_cb, &done);
            db.reply(0, 0, {}, status, "no connection");
            CHECK(outcome == DbOutcome::kUnavailable);
        }
    }

    TEST_CASE("a server error keeps its message and SQLSTATE") {
        FakeDb db;
        DbBatchPool pool(&db.host);
        auto b = pool.acquire();
        b->start(1, &sink_command);
        b->send(0, kUpdateSql, nullptr, 0);
        CHECK(b->pending() == 1);
        db.reply(0, 0, {}, QV_DB_ERROR, "deadlock detected", "40P01");
        CHECK(b->outcome() == DbOutcome::kError);
        CHECK(b->error() == "deadlock detected");
        CHECK(b->sqlstate() == "40P01");
        b->start(1, &sink_command);  // a retry starts clean
        CHECK(b->ok());
        CHECK(b->sqlstate().empty());
    }

    TEST_CASE("server errors that mean 'database unavailable' give kUnavailable") {
        CHECK(unavailable_sqlstate("57P01"));  // admin_shutdown: PostgreSQL is stopping
        CHECK(unavailable_sqlstate("57014"));  // query_canceled
        CHECK(unavailable_sqlstate("08006"));  // connection_failure
        CHECK(unavailable_sqlstate("53300"));  // too_many_connections
        CHECK_FALSE(unavailable_sqlstate("40P01"));
        CHECK_FALSE(unavailable_sqlstate("42P01"));
        CHECK_FALSE(unavailable_sqlstate(""));
        CHECK_FALSE(unavailable_sqlstate("57"));
        FakeDb db;
        DbBatchPool pool(&db.host);
        auto b = pool.acquire();
        b->start(1, &sink_command);
        b->send(0, kUpdateSql, nullptr, 0);
        db.reply(0, 0, {}, QV_DB_ERROR, "terminating connection due to administrator command",
                 "57P01");
        CHECK(b->outcome() == DbOutcome::kUnavailable);
        CHECK(b->sqlstate() == "57P01");
    }

    TEST_CASE("refused at once: no database, database down; no callback expected") {
        FakeDb db;
        DbBatchPool pool(&db.host);
        db.refuse_with = QV_ENOTSUP;
        DbOutcome outcome = DbOutcome::kOk;
        std::vector<World> got;
        int resumed = 0;
        bool done = false;
        auto task = world_queries(pool, 2, outcome, got, resumed);
        task.start(&done_cb, &done);
        CHECK(done);  // never suspended
        CHECK(outcome == DbOutcome::kUnavailable);
        db.refuse_with = QV_EINVAL;
        auto b = pool.acquire();
        b->start(1, &sink_command);
        b->send(0, "x", nullptr, 0);
        CHECK(b->outcome() == DbOutcome::kError);
        CHECK(b->pending() == 0);
    }

    TEST_CASE("a destroyed coroutine cancels its pending queries; late callbacks are absorbed") {
        FakeDb db;
        DbBatchPool pool(&db.host);
        DbOutcome outcome = DbOutcome::kOk;
        std::vector<World> got;
        int resumed = 0;
        bool done = false;
        auto task = world_queries(pool, 3, outcome, got, resumed);
        task.start(&done_cb, &done);
        db.reply(1, 2, {"2", "20"});
        task.reset();  // the host cancelled the request
        CHECK(db.cancels == 2);
        CHECK(db.queries[0]->cancelled);
        CHECK(!db.queries[1]->cancelled);
        CHECK(db.queries[2]->cancelled);
        CHECK(pool.idle() == 0);  // abandoned, not recycled
        db.reply(0, 0, {}, QV_DB_CANCELED, "canceled");
        db.reply(2, 0, {}, QV_DB_CANCELED, "canceled");  // the batch frees itself here
        CHECK(resumed == 0);
        CHECK(!done);
    }

    TEST_CASE("a cancel that completes the query at once does not free the batch early") {
        FakeDb db;
        db.cancel_runs_callback = true;
        DbBatchPool pool(&db.host);
        DbOutcome outcome = DbOutcome::kOk;
        std::vector<World> got;
        int resumed = 0;
        bool done = false;
        auto task = world_queries(pool, 2, outcome, got, resumed);
        task.start(&done_cb, &done);
        task.reset();  // both callbacks run inside db_cancel; the batch frees itself after
        CHECK(db.cancels == 2);
        CHECK(db.queries[0]->done);
        CHECK(db.queries[1]->done);
        CHECK(resumed == 0);
    }

    TEST_CASE("fortunes are copied out of the result; the views survive it") {
        FakeDb db;
        DbBatchPool pool(&db.host);
        auto b = pool.acquire();
        b->start(1, &sink_fortunes);
        b->send(0, kFortunesSql, nullptr, 0);
        { db.reply(0, 2, {"1", std::string("first"), "2", std::string("second <b>")}); }
        REQUIRE(b->ok());
        REQUIRE(b->fortunes.size() == 2);
        CHECK(b->fortunes[0].id == 1);
        CHECK(b->fortunes[1].message == "second <b>");
        CHECK(b->fortunes[1].message.data() >= b->text.data());
    }

    TEST_CASE("many-row world results and malformed rows") {
        FakeDb db;
        DbBatchPool pool(&db.host);
        auto b = pool.acquire();
        b->fetched.clear();
        b->start(1, &sink_worlds);
        b->send(0, kWorldsByIdsSql, nullptr, 0);
        db.reply(0, 2, {"5", "50", "6", "60"});
        CHECK(b->ok());
        CHECK(b->fetched == std::vector<World>{{5, 50}, {6, 60}});
        b->start(1, &sink_worlds);
        b->send(0, kWorldsByIdsSql, nullptr, 0);
        db.reply(1, 2, {"5", std::nullopt});
        CHECK(b->outcome() == DbOutcome::kError);
        b->start(1, &sink_world);
        b->worlds.resize(1);
        b->send(0, kWorldSql, nullptr, 0);
        db.reply(2, 3, {"1", "2", "3"});
        CHECK(b->outcome() == DbOutcome::kError);
        CHECK(b->error() == "result has an unexpected shape");
    }

    TEST_CASE("queue + submit: one db_batch when batching is on, db_query each when off") {
        for (const bool use_batch : {true, false}) {
            CAPTURE(use_batch);
            FakeDb db;
            DbBatchPool pool(&db.host, 256, use_batch);
            DbOutcome outcome = DbOutcome::kError;
            std::vector<World> got;
            bool done = false;
            auto task = queued_world_queries(pool, 3, outcome, got);
            task.start(&done_cb, &done);
            CHECK(db.batch_sizes == (use_batch ? std::vector<std::size_t>{3}
                                               : std::vector<std::size_t>{}));
            REQUIRE(db.queries.size() == 3);
            for (std::size_t i = 0; i < 3; ++i) {
                CHECK(db.queries[i]->sql == kWorldSql);
                CHECK(db.queries[i]->params == std::vector<std::string>{std::to_string(i + 1)});
            }
            db.reply(0, 2, {"1", "10"});
            db.reply(1, 2, {"2", "20"});
            CHECK(!done);
            db.reply(2, 2, {"3", "30"});
            CHECK(done);
            CHECK(outcome == DbOutcome::kOk);
            CHECK(got == std::vector<World>{{1, 10}, {2, 20}, {3, 30}});
        }
    }

    TEST_CASE("submit: a host without db_batch gets db_query; refusals; an aborted batch") {
        {
            FakeDb db;
            db.host.db_batch = nullptr;  // an older host
            DbBatchPool pool(&db.host);
            DbOutcome outcome = DbOutcome::kError;
            std::vector<World> got;
            bool done = false;
            auto task = queued_world_queries(pool, 2, outcome, got);
            task.start(&done_cb, &done);
            CHECK(db.queries.size() == 2);
            db.reply(0, 2, {"1", "10"});
            db.reply(1, 2, {"2", "20"});
            CHECK(outcome == DbOutcome::kOk);
        }
        {
            FakeDb db;
            db.refuse_with = QV_ENOTSUP;
            DbBatchPool pool(&db.host);
            DbOutcome outcome = DbOutcome::kOk;
            std::vector<World> got;
            bool done = false;
            auto task = queued_world_queries(pool, 2, outcome, got);
            task.start(&done_cb, &done);
            CHECK(done);  // never suspended
            CHECK(outcome == DbOutcome::kUnavailable);
        }
        {
            // Statement 2 fails, statement 3 was not run: the first error is kept.
            FakeDb db;
            DbBatchPool pool(&db.host);
            DbOutcome outcome = DbOutcome::kOk;
            std::vector<World> got;
            bool done = false;
            auto task = queued_world_queries(pool, 3, outcome, got);
            task.start(&done_cb, &done);
            db.reply(0, 2, {"1", "10"});
            db.reply(1, 0, {}, QV_DB_ERROR, "division by zero", "22012");
            db.reply(2, 0, {}, QV_DB_ERROR, "not run: an earlier statement of its batch failed");
            CHECK(done);
            CHECK(outcome == DbOutcome::kError);
        }
    }

    TEST_CASE("the pool keeps at most max_idle batches") {
        FakeDb db;
        DbBatchPool pool(&db.host, 2);
        {
            auto a = pool.acquire();
            auto b = pool.acquire();
            auto c = pool.acquire();
        }
        CHECK(pool.idle() == 2);
    }
}
