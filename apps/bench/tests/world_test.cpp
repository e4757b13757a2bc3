// SPDX-License-Identifier: MIT
// World rows: JSON shape, id drawing, update arrays, integer parsing, Rng.
#include "apps/bench/world.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <set>
#include <string>
#include <vector>

#include "apps/bench/rng.hpp"

using namespace bench;

TEST_SUITE("bench.world") {
    TEST_CASE("one row and arrays of rows, TechEmpower's JSON shape") {
        std::string out;
        append_world(out, World{3217, 2149});
        CHECK(out == R"({"id":3217,"randomNumber":2149})");
        out.clear();
        append_worlds(out, {});
        CHECK(out == "[]");
        out.clear();
        const std::array<World, 2> rows{World{1, 10000}, World{10000, 1}};
        append_worlds(out, rows);
        CHECK(out == R"([{"id":1,"randomNumber":10000},{"id":10000,"randomNumber":1}])");
        std::string prefixed(1, 'x');  // appends after what is there
        append_world(prefixed, World{-5, 0});
        CHECK(prefixed == R"(x{"id":-5,"randomNumber":0})");
    }

    TEST_CASE("distinct ids: in range, ascending, no duplicates") {
        Rng rng(42);
        for (std::size_t n : {std::size_t{1}, std::size_t{20}, std::size_t{500}}) {
            std::vector<std::int32_t> ids(n);
            draw_distinct_ids(rng, ids);
            CHECK(std::is_sorted(ids.begin(), ids.end()));
            CHECK(std::adjacent_find(ids.begin(), ids.end()) == ids.end());
            CHECK(ids.front() >= 1);
            CHECK(ids.back() <= kWorldRows);
        }
    }

    TEST_CASE("drawing every id yields exactly 1..10000") {
        Rng rng(7);
        std::vector<std::int32_t> ids(kWorldRows);
        draw_distinct_ids(rng, ids);
        for (std::int32_t i = 0; i < kWorldRows; ++i)
            REQUIRE(ids[static_cast<std::size_t>(i)] == i + 1);
    }

    TEST_CASE("a new number always differs from the old one and stays in range") {
        Rng rng(1);
        for (int i = 0; i < 100000; ++i) {
            const std::int32_t old = 1 + i % kWorldRows;
            const std::int32_t v = draw_new_number(rng, old);
            REQUIRE(v != old);
            REQUIRE(v >= 1);
            REQUIRE(v <= kWorldRows);
        }
    }

    TEST_CASE("update parameters are PostgreSQL array literals in row order") {
        std::string ids, numbers;
        const std::array<World, 3> rows{World{4, 40}, World{17, 1}, World{9999, 10000}};
        append_update_arrays(ids, numbers, rows);
        CHECK(ids == "{4,17,9999}");
        CHECK(numbers == "{40,1,10000}");
        std::string only;
        append_id_array(only, rows);
        CHECK(only == "{4,17,9999}");
        only.clear();
        append_id_array(only, {});
        CHECK(only == "{}");
    }

    TEST_CASE("parse_int32 takes whole integers only") {
        std::int32_t v = 0;
        CHECK(parse_int32("123", v));
        CHECK(v == 123);
        CHECK(parse_int32("-7", v));
        CHECK(v == -7);
        CHECK(parse_int32("2147483647", v));
        CHECK_FALSE(parse_int32("2147483648", v));
        CHECK_FALSE(parse_int32("", v));
        CHECK_FALSE(parse_int32("12a", v));
        CHECK_FALSE(parse_int32(" 1", v));
        CHECK_FALSE(parse_int32("+1", v));
    }
}

TEST_SUITE("bench.rng") {
    TEST_CASE("the same seed gives the same sequence; another seed another") {
        Rng a(123), b(123), c(124);
        bool differs = false;
        for (int i = 0; i < 100; ++i) {
            const auto x = a.next();
            CHECK(x == b.next());
            differs = differs || x != c.next();
        }
        CHECK(differs);
    }

    TEST_CASE("between() covers its whole range evenly") {
        Rng rng(99);
        constexpr int kBuckets = 10;
        constexpr int kDraws = 200000;
        std::array<int, kBuckets> seen{};
        for (int i = 0; i < kDraws; ++i) {
            const std::int32_t v = rng.between(1, kBuckets);
            REQUIRE(v >= 1);
            REQUIRE(v <= kBuckets);
            ++seen[static_cast<std::size_t>(v - 1)];
        }
        // Chi-square with 9 degrees of freedom: 27.9 is the 0.1% tail.
        double chi = 0;
        const double expect = static_cast<double>(kDraws) / kBuckets;
        for (int s : seen) chi += (s - expect) * (s - expect) / expect;
        CHECK(chi < 27.9);
        CHECK(rng.between(5, 5) == 5);
        CHECK(rng.between(-3, -3) == -3);
        std::set<std::int32_t> wide;
        for (int i = 0; i < 16; ++i) wide.insert(rng.between(INT32_MIN, INT32_MAX));
        CHECK(wide.size() > 1);
    }

    TEST_CASE("entropy seeds differ between calls") {
        std::set<std::uint64_t> seeds;
        for (int i = 0; i < 8; ++i) seeds.insert(Rng::entropy_seed());
        CHECK(seeds.size() == 8);
    }
}
