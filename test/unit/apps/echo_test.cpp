// SPDX-License-Identifier: MIT
// The echo app's document (apps/echo/echo_json.cpp).
#include "apps/echo/echo_json.hpp"

#include <doctest/doctest.h>

#include "test/unit/apps/test_host.hpp"

#include <quiver/json.hpp>

TEST_SUITE("apps.echo") {
    TEST_CASE("renders method, full path, raw query, version, headers, body in order") {
        test::TestHost host;
        auto r = host.make_request("POST", "/echo/a/b%20c", "x=1&y=2", "/echo",
                                   {{"Host", "example"}, {"X-A", "1"}}, "...");
        const quiver::Request req(r.get(), r->info);
        CHECK(echo::echo_json(req) ==
              R"({"method":"POST","path":"/echo/a/b%20c","query":"x=1&y=2","version":"1.1",)"
              R"("headers":[["Host","example"],["X-A","1"]],"body":"..."})");
    }

    TEST_CASE("HTTP/1.0, no query, no headers, empty body") {
        test::TestHost host;
        auto r = host.make_request("GET", "/", "", "/", {}, "", 10);
        const quiver::Request req(r.get(), r->info);
        CHECK(echo::echo_json(req) ==
              R"({"method":"GET","path":"/","query":"","version":"1.0","headers":[],"body":""})");
    }

    TEST_CASE("escapes header values and the body; keeps repeated headers and name case") {
        test::TestHost host;
        const std::string body = "line1\nq\"\\ \x01 \xE2\x82\xAC \xFF";
        auto r = host.make_request("PUT", "/p", "", "/",
                                   {{"x-Dup", "a"}, {"X-DUP", "b\tc"}, {"Quote", "\"v\""}}, body);
        const quiver::Request req(r.get(), r->info);
        const std::string json = echo::echo_json(req);
        CHECK(json ==
              "{\"method\":\"PUT\",\"path\":\"/p\",\"query\":\"\",\"version\":\"1.1\","
              "\"headers\":[[\"x-Dup\",\"a\"],[\"X-DUP\",\"b\\tc\"],[\"Quote\",\"\\\"v\\\"\"]],"
              "\"body\":\"line1\\nq\\\"\\\\ \\u0001 \xE2\x82\xAC \xEF\xBF\xBD\"}");
        auto doc = quiver::json::parse(json);
        REQUIRE(doc.ok());
        std::string_view b;
        REQUIRE(doc.root()["body"].get_string().get(b) == simdjson::SUCCESS);
        CHECK(b == "line1\nq\"\\ \x01 \xE2\x82\xAC \xEF\xBF\xBD");
    }

    TEST_CASE("append_echo_json appends") {
        test::TestHost host;
        auto r = host.make_request("GET", "/x");
        const quiver::Request req(r.get(), r->info);
        std::string out = "[";
        echo::append_echo_json(out, req);
        CHECK(out.rfind("[{\"method\":\"GET\"", 0) == 0);
    }
}
