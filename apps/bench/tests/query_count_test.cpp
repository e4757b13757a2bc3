// SPDX-License-Identifier: MIT
// The TechEmpower query-count rule: parameter lookup and clamping.
#include "apps/bench/query_count.hpp"

#include <doctest/doctest.h>

using bench::clamp_count;
using bench::find_param;
using bench::query_count;

TEST_SUITE("bench.query_count") {
    TEST_CASE("TechEmpower's cases: 2, 0, foo, 501, empty, missing") {
        CHECK(query_count("queries=2", "queries") == 2);
        CHECK(query_count("queries=0", "queries") == 1);
        CHECK(query_count("queries=foo", "queries") == 1);
        CHECK(query_count("queries=501", "queries") == 500);
        CHECK(query_count("queries=", "queries") == 1);
        CHECK(query_count("", "queries") == 1);
        CHECK(query_count("other=7", "queries") == 1);
        CHECK(query_count("queries=500", "queries") == 500);
        CHECK(query_count("queries=1", "queries") == 1);
        CHECK(query_count("queries=20", "queries") == 20);
    }

    TEST_CASE("only a whole integer counts") {
        CHECK(clamp_count("2x") == 1);
        CHECK(clamp_count("x2") == 1);
        CHECK(clamp_count(" 2") == 1);
        CHECK(clamp_count("2 ") == 1);
        CHECK(clamp_count("2.5") == 1);
        CHECK(clamp_count("+") == 1);
        CHECK(clamp_count("-") == 1);
        CHECK(clamp_count("--3") == 1);
        CHECK(clamp_count("0x10") == 1);
        CHECK(clamp_count("%2B7") == 7);  // an explicit plus sign
        CHECK(clamp_count("007") == 7);
    }

    TEST_CASE("negative counts are 1, huge counts are 500") {
        CHECK(clamp_count("-3") == 1);
        CHECK(clamp_count("-99999999999999999999999") == 1);
        CHECK(clamp_count("99999999999999999999999") == 500);
        CHECK(clamp_count("4294967297") == 500);  // would wrap a 32-bit parse to 1
        CHECK(clamp_count("99999999999999999999x") == 1);
    }

    TEST_CASE("values and names are form-urlencoded") {
        CHECK(clamp_count("%32%30") == 20);
        CHECK(clamp_count("%2B5") == 5);
        CHECK(clamp_count("+5") == 1);  // a raw '+' decodes to a space: " 5" is no integer
        CHECK(query_count("qu%65ries=4", "queries") == 4);
        CHECK(clamp_count("%3") == 1);
        CHECK(clamp_count("%zz") == 1);
    }

    TEST_CASE("the first parameter with the name wins; other parameters are skipped") {
        CHECK(query_count("queries=5&queries=9", "queries") == 5);
        CHECK(query_count("a=1&&queries=3&b", "queries") == 3);
        CHECK(query_count("queriesx=3", "queries") == 1);
        CHECK(query_count("xqueries=3", "queries") == 1);
        CHECK(query_count("queries", "queries") == 1);
        CHECK(find_param("a=1&queries&b=2", "queries") == std::string_view());
        CHECK(!find_param("a=1", "queries"));
        CHECK(find_param("a=1&b=x%20y", "b") == "x%20y");
    }

    TEST_CASE("count= first, then queries=") {
        CHECK(query_count("count=7&queries=3", "count", "queries") == 7);
        CHECK(query_count("queries=3&count=7", "count", "queries") == 7);
        CHECK(query_count("queries=3", "count", "queries") == 3);
        CHECK(query_count("count=&queries=3", "count", "queries") == 1);
        CHECK(query_count("", "count", "queries") == 1);
    }
}
