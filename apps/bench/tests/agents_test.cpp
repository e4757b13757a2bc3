// SPDX-License-Identifier: MIT
// /agents: rows to JSON (NULLs, escaping) and PostgreSQL timestamps to ISO 8601.
#include "apps/bench/agents.hpp"

#include <doctest/doctest.h>

#include <optional>
#include <string>
#include <vector>

using bench::append_agents;
using bench::append_iso8601;

namespace {

std::string iso(std::string_view t) {
    std::string out = "<";
    const bool ok = append_iso8601(out, t);
    return ok ? out.substr(1) : "refused";
}

// A qv_db_result_t over owned cells.
struct Table {
    std::vector<std::optional<std::string>> cells;
    std::vector<qv_str_t> values;
    qv_db_result_t r{};
    Table(int ncols, std::vector<std::optional<std::string>> c) : cells(std::move(c)) {
        for (const auto& v : cells) {
            values.push_back(v ? qv_str_t{v->data(), v->size()} : qv_str_t{nullptr, 0});
        }
        r.ncols = ncols;
        r.nrows = static_cast<int>(cells.size()) / ncols;
        r.values = values.data();
    }
};

}  // namespace

TEST_SUITE("bench.agents") {
    TEST_CASE("PostgreSQL's ISO DateStyle becomes RFC 3339") {
        CHECK(iso("2015-03-02 08:01:37+00") == "2015-03-02T08:01:37+00:00");
        CHECK(iso("2015-03-02 08:01:37.25+00") == "2015-03-02T08:01:37.25+00:00");
        CHECK(iso("2015-03-02 08:01:37-05") == "2015-03-02T08:01:37-05:00");
        CHECK(iso("2015-03-02 08:01:37+05:30") == "2015-03-02T08:01:37+05:30");
        CHECK(iso("1883-11-18 12:00:00-04:56:02") == "refused");  // offset with seconds
        CHECK(iso("0044-03-15 12:00:00+00 BC") == "refused");
        CHECK(iso("infinity") == "refused");
        CHECK(iso("Mon Mar 02 08:01:37 2015 UTC") == "refused");  // DateStyle Postgres
        CHECK(iso("2015-03-02 08:01:37") == "refused");           // no zone
        CHECK(iso("") == "refused");
    }

    TEST_CASE("rows become objects in column order; NULL becomes null") {
        Table t(6, {"1", "300", "Agent 300", "sales", "on_call", "2015-03-02 08:01:37+00", "2",
                    "301", "Agent \"Q\"", "support", std::nullopt, std::nullopt});
        std::string out;
        REQUIRE(append_agents(out, t.r));
        CHECK(out ==
              R"([{"id":1,"number":"300","name":"Agent 300","context":"sales","status":"on_call",)"
              R"("since":"2015-03-02T08:01:37+00:00"},)"
              R"({"id":2,"number":"301","name":"Agent \"Q\"","context":"support","status":null,)"
              R"("since":null}])");
    }

    TEST_CASE("an unrecognised timestamp is written as the server sent it") {
        Table t(6, {"3", "302", "n", "c", "s", "Mon Mar 02 \"08\" 2015"});
        std::string out;
        REQUIRE(append_agents(out, t.r));
        CHECK(out.find(R"("since":"Mon Mar 02 \"08\" 2015"})") != std::string::npos);
    }

    TEST_CASE("no rows is an empty array; a wrong shape is refused") {
        Table empty(6, {});
        std::string out;
        REQUIRE(append_agents(out, empty.r));
        CHECK(out == "[]");
        Table narrow(2, {"1", "x"});
        CHECK_FALSE(append_agents(out, narrow.r));
        Table bad_id(6, {"x1", "300", "n", "c", "s", std::nullopt});
        CHECK_FALSE(append_agents(out, bad_id.r));
    }

    TEST_CASE("the schema's 50 agents make the documented 6,009 bytes") {
        // packaging/sql/schema.sql's rows, rebuilt here the way it builds them.
        const char* contexts[] = {"sales", "support", "billing", "escalation", "outbound"};
        const char* statuses[] = {"available", "on_call", "paused", "logged_out"};
        std::vector<std::optional<std::string>> cells;
        for (int n = 0; n < 50; ++n) {
            const int id = n + 1;
            const int secs = id * 97;
            char since[40];
            std::snprintf(since, sizeof since, "2015-03-02 %02d:%02d:%02d+00", 8 + secs / 3600,
                          secs / 60 % 60, secs % 60);
            cells.insert(cells.end(), {std::to_string(id), std::to_string(300 + n),
                                       "Agent " + std::to_string(300 + n), contexts[n % 5],
                                       statuses[id % 4], std::string(since)});
        }
        Table t(6, cells);
        std::string out;
        REQUIRE(append_agents(out, t.r));
        CHECK(out.size() == 6009);
    }
}
