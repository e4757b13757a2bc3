// SPDX-License-Identifier: MIT
// quiver::Db, DbResult, Rows and Transaction against the test host's manual
// database: parameters, result copying, errors, refusal at start, cancellation.
#include <quiver/db.hpp>

#include <doctest/doctest.h>

#include "test/unit/apps/test_host.hpp"

#include <optional>
#include <string>
#include <vector>

using quiver::DbResult;
using quiver::DbStatus;
using quiver::Task;

namespace {

struct Done {
    int calls = 0;
};
void on_done(void* arg) noexcept { ++static_cast<Done*>(arg)->calls; }

// Runs one query and keeps its result.
Task<DbResult> one_query(quiver::Db db, DbResult* out) {
    const std::optional<int> none;
    const std::string owned = "owned";
    DbResult r = co_await db.query("SELECT $1, $2", 42, -7LL, "lit", std::string_view("view"),
                                   owned, none, std::optional<long>(5), nullptr, true, 2.5,
                                   static_cast<const char*>(nullptr));
    *out = r;
    co_return r;
}

// Runs a batch of `ids.size()` statements and keeps the results.
Task<int> batch_query(quiver::Db db, std::vector<int> ids, std::vector<DbResult>* out) {
    quiver::Batch b;
    for (int id : ids) b.add("SELECT id FROM world WHERE id = $1", id);
    *out = co_await db.run(std::move(b));
    co_return static_cast<int>(out->size());
}

test::DbReply id_reply(const std::string& id) {
    test::DbReply r;
    r.columns = {"id"};
    r.values = {id};
    return r;
}

test::DbReply users_reply() {
    test::DbReply r;
    r.columns = {"id", "name", "score", "flag"};
    r.values = {"1", "ann", "1.5", "t", "2", std::nullopt, "-3", "f"};
    return r;
}

}  // namespace

TEST_SUITE("sdk.db") {
    TEST_CASE("query passes parameters as text and copies the result") {
        test::TestHost host;
        DbResult result;
        Done d;
        Task<DbResult> t = one_query(quiver::Db(quiver::Host(host.table())), &result);
        t.start(&on_done, &d);
        REQUIRE(host.queries.size() == 1);
        const qv_db_query* q = host.queries[0].get();
        CHECK(q->sql == "SELECT $1, $2");
        CHECK(q->session == nullptr);
        using P = std::optional<std::string>;
        CHECK(q->params == std::vector<P>{"42", "-7", "lit", "view", "owned", std::nullopt, "5",
                                          std::nullopt, "true", "2.5", std::nullopt});
        CHECK(d.calls == 0);
        host.complete(host.queries[0].get(), users_reply());
        REQUIRE(d.calls == 1);
        // The host poisoned its buffers after the callback: this is our copy.
        const DbResult& r = result;
        REQUIRE(r.ok());
        CHECK(r->size() == 2);
        CHECK(r->columns() == 4);
        CHECK(r->column_name(1) == "name");
        CHECK(r.rows()[0]["id"].as<int>() == 1);
        CHECK(r.rows()[0]["name"].as<std::string_view>() == "ann");
        CHECK(r.rows()[0]["name"].as<std::string>() == "ann");
        CHECK(r.rows()[0][2].as<double>() == 1.5);
        CHECK(r.rows()[0]["flag"].as<bool>());
        CHECK_FALSE(r.rows()[1]["flag"].as<bool>());
        CHECK(r.rows()[1]["name"].is_null());
        CHECK(r.rows()[1]["name"].as<std::optional<std::string>>() == std::nullopt);
        CHECK(r.rows()[1]["score"].as<std::optional<long>>() == -3);
        CHECK(r.rows()[1]["score"].as<std::int8_t>() == -3);
        CHECK_THROWS_AS(r.rows()[1]["score"].as<unsigned>(), quiver::DbError);
        CHECK_THROWS_WITH_AS(r.rows()[1]["name"].as<std::string_view>(),
                             "column \"name\" is NULL", quiver::DbError);
        CHECK_THROWS_AS(r.rows()[0]["name"].as<int>(), quiver::DbError);
        CHECK_THROWS_AS(r.rows()[0]["id"].as<bool>(), quiver::DbError);
        CHECK_THROWS_AS(r.rows()[0]["missing"], quiver::DbError);
        int ids = 0;
        for (const quiver::Row row : r.rows()) ids += row["id"].as<int>();
        CHECK(ids == 3);
        CHECK(t.result().ok());
    }

    TEST_CASE("a server error carries status, message and SQLSTATE") {
        test::TestHost host;
        DbResult result;
        Done d;
        Task<DbResult> t = one_query(quiver::Db(quiver::Host(host.table())), &result);
        t.start(&on_done, &d);
        test::DbReply reply;
        reply.status = QV_DB_ERROR;
        reply.error = "duplicate key value violates unique constraint";
        reply.sqlstate = "23505";
        host.complete(host.queries[0].get(), reply);
        CHECK_FALSE(result.ok());
        CHECK(result.status() == DbStatus::kError);
        CHECK(result.error() == "duplicate key value violates unique constraint");
        CHECK(result.sqlstate() == "23505");
        CHECK(result->empty());
    }

    TEST_CASE("QV_DB_* statuses map to DbStatus") {
        for (const auto& [code, status] : {std::pair{QV_DB_UNAVAILABLE, DbStatus::kUnavailable},
                                           std::pair{QV_DB_TIMEOUT, DbStatus::kTimeout},
                                           std::pair{QV_DB_CANCELED, DbStatus::kCanceled}}) {
            test::TestHost host;
            DbResult result;
            Done d;
            Task<DbResult> t = one_query(quiver::Db(quiver::Host(host.table())), &result);
            t.start(&on_done, &d);
            test::DbReply reply;
            reply.status = code;
            host.complete(host.queries[0].get(), reply);
            CHECK(result.status() == status);
            CHECK(result.error() == quiver::to_string(status));  // default message
        }
    }

    TEST_CASE("a refused start completes without suspending") {
        for (const auto& [rc, status] : {std::pair{QV_ENOTSUP, DbStatus::kNotSupported},
                                         std::pair{QV_EUNAVAIL, DbStatus::kUnavailable},
                                         std::pair{QV_EINVAL, DbStatus::kError}}) {
            test::TestHost host;
            host.db_start_rc = rc;
            DbResult result;
            Done d;
            Task<DbResult> t = one_query(quiver::Db(quiver::Host(host.table())), &result);
            t.start(&on_done, &d);
            CHECK(d.calls == 1);
            CHECK(result.status() == status);
            CHECK(result.error().rfind("db_query: ", 0) == 0);
        }
        test::TestHost host;
        host.mutable_table().db_query = nullptr;
        const quiver::Db db{quiver::Host(host.table())};
        CHECK_FALSE(db.available());
        DbResult result;
        Done d;
        Task<DbResult> t = one_query(db, &result);
        t.start(&on_done, &d);
        CHECK(d.calls == 1);
        CHECK(result.status() == DbStatus::kNotSupported);
    }

    TEST_CASE("destroying the waiting coroutine cancels the query; the late callback is absorbed") {
        test::TestHost host;
        DbResult result;
        Done d;
        {
            Task<DbResult> t = one_query(quiver::Db(quiver::Host(host.table())), &result);
            t.start(&on_done, &d);
        }
        CHECK(host.queries_cancelled == 1);
        CHECK(host.run() == 1);  // the host delivers QV_DB_CANCELED to the orphaned op
        CHECK(host.queries.empty());
        CHECK(d.calls == 0);
    }

    TEST_CASE("a transaction pins one session: BEGIN, statements, COMMIT, release") {
        test::TestHost host;
        const quiver::Db db{quiver::Host(host.table())};
        std::vector<std::string> steps;
        auto body = [&]() -> Task<void> {
            quiver::Transaction tx = co_await db.begin();
            REQUIRE(tx.ok());
            steps.push_back("begun");
            const DbResult u = co_await tx.query("UPDATE t SET n = n + $1", 1);
            steps.push_back("updated " + std::to_string(u.affected()));
            const DbResult c = co_await tx.commit();
            steps.push_back(c.ok() ? "committed" : "commit failed");
        };
        Done d;
        Task<void> t = body();
        t.start(&on_done, &d);
        REQUIRE(host.session_waiters.size() == 1);
        host.grant_session(0);
        REQUIRE(host.queries.size() == 1);
        CHECK(host.queries[0]->sql == "BEGIN");
        qv_db_session_t* s = host.queries[0]->session;
        CHECK(s != nullptr);
        host.complete(host.queries[0].get(), {});
        REQUIRE(host.queries.size() == 1);
        CHECK(host.queries[0]->sql == "UPDATE t SET n = n + $1");
        CHECK(host.queries[0]->session == s);
        test::DbReply updated;
        updated.affected = 3;
        host.complete(host.queries[0].get(), updated);
        CHECK(host.queries[0]->sql == "COMMIT");
        CHECK(host.sessions_ended == 0);
        host.complete(host.queries[0].get(), {});
        CHECK(d.calls == 1);
        CHECK(steps == std::vector<std::string>{"begun", "updated 3", "committed"});
        CHECK(host.sessions_ended == 1);
        t.result();
    }

    TEST_CASE("begin failures: no session, refused start, failing BEGIN") {
        test::TestHost host;
        const quiver::Db db{quiver::Host(host.table())};
        std::vector<quiver::Transaction> txs;
        auto begin = [&]() -> Task<void> { txs.push_back(co_await db.begin()); };
        Done d;
        Task<void> a = begin();
        a.start(&on_done, &d);
        host.grant_session(0, QV_DB_UNAVAILABLE);
        REQUIRE(txs.size() == 1);
        CHECK_FALSE(txs[0].ok());
        CHECK(txs[0].status() == DbStatus::kUnavailable);

        Task<void> b = begin();
        b.start(&on_done, &d);
        host.grant_session(0);
        test::DbReply refused;
        refused.status = QV_DB_ERROR;
        refused.error = "no BEGIN today";
        host.complete(host.queries[0].get(), refused);
        REQUIRE(txs.size() == 2);
        CHECK_FALSE(txs[1].ok());
        CHECK(txs[1].error() == "no BEGIN today");
        CHECK(host.sessions_ended == 1);  // the pinned session went back

        host.db_start_rc = QV_EUNAVAIL;
        Task<void> c = begin();
        c.start(&on_done, &d);
        REQUIRE(txs.size() == 3);
        CHECK(txs[2].status() == DbStatus::kUnavailable);

        // Queries on a failed transaction complete at once with its error.
        DbResult r;
        auto use = [&]() -> Task<void> { r = co_await txs[0].query("SELECT 1"); };
        Task<void> u = use();
        u.start(&on_done, &d);
        CHECK(r.status() == DbStatus::kUnavailable);
        CHECK(d.calls == 4);
    }

    TEST_CASE("a coroutine destroyed while waiting for a session releases it later") {
        test::TestHost host;
        const quiver::Db db{quiver::Host(host.table())};
        Done d;
        {
            auto begin = [&]() -> Task<void> { co_await db.begin(); };
            Task<void> t = begin();
            t.start(&on_done, &d);
        }
        REQUIRE(host.session_waiters.size() == 1);
        host.grant_session(0);  // goes to the orphaned op, which hands it back
        CHECK(host.sessions_ended == 1);
        CHECK(host.queries.empty());
        CHECK(d.calls == 0);
    }

    TEST_CASE("run sends one db_batch; results come back in statement order") {
        test::TestHost host;
        std::vector<DbResult> results;
        Done d;
        Task<int> t = batch_query(quiver::Db(quiver::Host(host.table())), {7, 8, 9}, &results);
        t.start(&on_done, &d);
        CHECK(host.batches == 1);
        REQUIRE(host.queries.size() == 3);
        for (std::size_t i = 0; i < 3; ++i) {
            CHECK(host.queries[i]->batch == 1);
            CHECK(host.queries[i]->sql == "SELECT id FROM world WHERE id = $1");
            CHECK(host.queries[i]->params ==
                  std::vector<std::optional<std::string>>{std::to_string(7 + i)});
        }
        // Completed out of order: each result lands in its statement's place,
        // and the coroutine resumes once, after the last one.
        host.complete(host.queries[1].get(), id_reply("8"));
        host.complete(host.queries[1].get(), id_reply("9"));
        CHECK(d.calls == 0);
        test::DbReply failed;
        failed.status = QV_DB_ERROR;
        failed.error = "not run: an earlier statement of its batch failed";
        host.complete(host.queries[0].get(), failed);
        REQUIRE(d.calls == 1);
        REQUIRE(results.size() == 3);
        CHECK(results[0].status() == DbStatus::kError);
        CHECK(results[0].error() == "not run: an earlier statement of its batch failed");
        CHECK(results[1].rows()[0]["id"].as<int>() == 8);
        CHECK(results[2].rows()[0]["id"].as<int>() == 9);
        CHECK(t.result() == 3);
    }

    TEST_CASE("run: an empty batch completes at once; a refused batch gives every result the status") {
        test::TestHost host;
        std::vector<DbResult> results;
        Done d;
        Task<int> t = batch_query(quiver::Db(quiver::Host(host.table())), {}, &results);
        t.start(&on_done, &d);
        CHECK(d.calls == 1);
        CHECK(results.empty());
        CHECK(host.batches == 0);

        host.db_start_rc = QV_EUNAVAIL;
        Done d2;
        Task<int> t2 = batch_query(quiver::Db(quiver::Host(host.table())), {1, 2}, &results);
        t2.start(&on_done, &d2);
        CHECK(d2.calls == 1);
        REQUIRE(results.size() == 2);
        for (const DbResult& r : results) {
            CHECK(r.status() == DbStatus::kUnavailable);
            CHECK(r.error().rfind("db_batch: ", 0) == 0);
        }
    }

    TEST_CASE("run on a host without db_batch falls back to one db_query per statement") {
        test::TestHost host;
        host.mutable_table().db_batch = nullptr;
        std::vector<DbResult> results;
        Done d;
        Task<int> t = batch_query(quiver::Db(quiver::Host(host.table())), {1, 2}, &results);
        t.start(&on_done, &d);
        REQUIRE(host.queries.size() == 2);
        CHECK(host.queries[0]->batch == 0);
        host.complete(host.queries[0].get(), id_reply("1"));
        CHECK(d.calls == 0);
        host.complete(host.queries[0].get(), id_reply("2"));
        REQUIRE(d.calls == 1);
        CHECK(results[0].rows()[0]["id"].as<int>() == 1);
        CHECK(results[1].rows()[0]["id"].as<int>() == 2);
    }

    TEST_CASE("destroying a coroutine waiting on a batch cancels what is pending") {
        test::TestHost host;
        std::vector<DbResult> results;
        Done d;
        {
            Task<int> t = batch_query(quiver::Db(quiver::Host(host.table())), {1, 2, 3}, &results);
            t.start(&on_done, &d);
            host.complete(host.queries[0].get(), id_reply("1"));
        }
        CHECK(host.queries_cancelled == 2);
        CHECK(host.run() == 2);  // QV_DB_CANCELED reaches the orphaned op, which frees itself
        CHECK(host.queries.empty());
        CHECK(d.calls == 0);
    }
}
