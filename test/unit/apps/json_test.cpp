// SPDX-License-Identifier: MIT
// quiver::json (writer, escaping, numbers, parse) and quiver::html::escape.
#include <quiver/json.hpp>
#include <quiver/text.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <cstdint>
#include <limits>
#include <string>

namespace {

std::string str(std::string_view s) {
    std::string out;
    quiver::json::write_string(out, s);
    return out;
}

// Checks that `json` is accepted by simdjson and decodes back to `expect`.
void round_trips(std::string_view json, std::string_view expect) {
    auto doc = quiver::json::parse(json);
    REQUIRE(doc.ok());
    std::string_view got;
    REQUIRE(doc.root().get_string().get(got) == simdjson::SUCCESS);
    CHECK(got == expect);
}

}  // namespace

TEST_SUITE("sdk.json") {
    TEST_CASE("escapes quotes, backslash and keeps '/' and DEL") {
        CHECK(str("a\"b\\c/d\x7f") == "\"a\\\"b\\\\c/d\x7f\"");
        CHECK(str("") == "\"\"");
    }

    TEST_CASE("escapes every control character U+0000..U+001F") {
        for (int c = 0; c < 0x20; ++c) {
            const std::string in(1, static_cast<char>(c));
            const std::string out = str(in);
            std::string expect;
            switch (c) {
                case '\b': expect = "\"\\b\""; break;
                case '\f': expect = "\"\\f\""; break;
                case '\n': expect = "\"\\n\""; break;
                case '\r': expect = "\"\\r\""; break;
                case '\t': expect = "\"\\t\""; break;
                default: {
                    char buf[16];
                    std::snprintf(buf, sizeof buf, "\"\\u%04x\"", c);
                    expect = buf;
                }
            }
            CAPTURE(c);
            CHECK(out == expect);
            round_trips(out, in);
        }
    }

    TEST_CASE("copies runs around escapes") {
        CHECK(str("ab\ncd\"ef") == "\"ab\\ncd\\\"ef\"");
        round_trips(str("x\x01y\x1fz"), "x\x01y\x1fz");
    }

    TEST_CASE("keeps well-formed UTF-8 of every length") {
        const std::string s = "\x24 \xC2\xA2 \xE2\x82\xAC \xED\x9F\xBF \xEE\x80\x80 \xF0\x90\x8D\x88 "
                              "\xF4\x8F\xBF\xBF";  // $ ¢ € U+D7FF U+E000 𐍈 U+10FFFF
        CHECK(str(s) == "\"" + s + "\"");
        round_trips(str(s), s);
    }

    TEST_CASE("replaces ill-formed UTF-8 with U+FFFD per maximal subpart") {
        const std::string R = "\xEF\xBF\xBD";
        CHECK(str("\x80") == "\"" + R + "\"");                      // lone continuation
        CHECK(str("\xC0\xAF") == "\"" + R + R + "\"");              // overlong lead C0
        CHECK(str("\xC1\xBF") == "\"" + R + R + "\"");
        CHECK(str("\xE0\x80\xAF") == "\"" + R + R + R + "\"");      // overlong 3-byte
        CHECK(str("\xED\xA0\x80") == "\"" + R + R + R + "\"");      // surrogate U+D800
        CHECK(str("\xF4\x90\x80\x80") == "\"" + R + R + R + R + "\"");  // > U+10FFFF
        CHECK(str("\xF5\x80") == "\"" + R + R + "\"");
        CHECK(str("\xFF") == "\"" + R + "\"");
        CHECK(str("a\xE2\x82") == "\"a" + R + "\"");                // truncated: one subpart
        CHECK(str("\xE2\x82z") == "\"" + R + "z\"");
        CHECK(str("\xF0\x9F\x98") == "\"" + R + "\"");
        CHECK(str("\xF0\x9F\x98\x80\x80") == "\"\xF0\x9F\x98\x80" + R + "\"");
        CHECK(str("\xC3") == "\"" + R + "\"");
        // The output is always valid UTF-8 JSON.
        round_trips(str("x\xC3(\xA0\xA1\xE2\x28\xA1"), "x" + R + "(" + R + R + R + "(" + R);
    }

    TEST_CASE("writes integers at their limits") {
        std::string out;
        quiver::json::Writer w(out);
        w.begin_array()
            .value(0)
            .value(-1)
            .value(std::numeric_limits<std::int64_t>::min())
            .value(std::numeric_limits<std::int64_t>::max())
            .value(std::numeric_limits<std::uint64_t>::max())
            .value(static_cast<short>(-7))
            .end_array();
        CHECK(out == "[0,-1,-9223372036854775808,9223372036854775807,18446744073709551615,-7]");
    }

    TEST_CASE("writes doubles shortest round-trip; NaN and infinities as null") {
        std::string out;
        quiver::json::Writer w(out);
        w.begin_array().value(0.1).value(1.5).value(-0.0).value(1e300).value(5.0).value(1e-7);
        w.value(std::nan("")).value(HUGE_VAL).value(-HUGE_VAL).end_array();
        CHECK(out == "[0.1,1.5,-0,1e+300,5,1e-07,null,null,null]");
        auto doc = quiver::json::parse(out);
        REQUIRE(doc.ok());
        simdjson::dom::array a;
        REQUIRE(doc.root().get_array().get(a) == simdjson::SUCCESS);
        double d = 0;
        REQUIRE(a.at(0).get_double().get(d) == simdjson::SUCCESS);
        CHECK(d == 0.1);
        REQUIRE(a.at(5).get_double().get(d) == simdjson::SUCCESS);
        CHECK(d == 1e-7);
    }

    TEST_CASE("writer places commas in nested structures") {
        std::string out;
        quiver::json::Writer w(out);
        w.begin_object()
            .member("a", 1)
            .key("b")
            .begin_array()
            .begin_object()
            .end_object()
            .begin_array()
            .end_array()
            .null()
            .value(true)
            .value("s")
            .end_array()
            .member("c", false)
            .key("d")
            .raw("{\"x\":[1]}")
            .member("e", nullptr)
            .end_object();
        CHECK(out == R"({"a":1,"b":[{},[],null,true,"s"],"c":false,"d":{"x":[1]},"e":null})");
        CHECK(quiver::json::parse(out).ok());
    }

    TEST_CASE("writer appends to existing text and escapes keys") {
        std::string out = "prefix:";
        quiver::json::Writer(out).begin_object().member("k\"\n", "v").end_object();
        CHECK(out == "prefix:{\"k\\\"\\n\":\"v\"}");
    }

    TEST_CASE("object() builds flat objects in order") {
        const std::string s = quiver::json::object(
            {{"message", "Hello, World!"}, {"n", 42}, {"u", 7u}, {"d", 2.5}, {"t", true},
             {"z", nullptr}, {"s", std::string("x")}});
        CHECK(s == R"({"message":"Hello, World!","n":42,"u":7,"d":2.5,"t":true,"z":null,"s":"x"})");
        CHECK(quiver::json::object({}) == "{}");
    }

    TEST_CASE("parse returns an error value for bad JSON") {
        auto bad = quiver::json::parse("{\"a\":");
        CHECK_FALSE(bad.ok());
        CHECK_FALSE(bad.error().empty());
        CHECK_FALSE(quiver::json::parse("").ok());
        CHECK_FALSE(quiver::json::parse("\"\xff\"").ok());  // invalid UTF-8
        auto good = quiver::json::parse(R"({"id": 12, "name": "q"})");
        REQUIRE(good.ok());
        CHECK(good.error().empty());
        std::int64_t id = 0;
        REQUIRE(good.root()["id"].get_int64().get(id) == simdjson::SUCCESS);
        CHECK(id == 12);
        auto moved = std::move(good);  // the document owns its parser
        std::string_view name;
        REQUIRE(moved.root()["name"].get_string().get(name) == simdjson::SUCCESS);
        CHECK(name == "q");
    }
}

TEST_SUITE("sdk.text") {
    TEST_CASE("html::escape replaces the five characters") {
        CHECK(quiver::html::escape("<a href=\"x\">Tom & Jerry's</a>") ==
              "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;");
        CHECK(quiver::html::escape("plain é") == "plain é");
        CHECK(quiver::html::escape("") == "");
        std::string out = "<p>";
        quiver::html::escape(out, "&&");
        CHECK(out == "<p>&amp;&amp;");
    }

    TEST_CASE("percent_decode follows the WHATWG rules") {
        CHECK(quiver::percent_decode("a%20b%2Fc") == "a b/c");
        CHECK(quiver::percent_decode("a+b") == "a+b");
        CHECK(quiver::percent_decode("a+b", true) == "a b");
        CHECK(quiver::percent_decode("%zz%4") == "%zz%4");  // malformed stays literal
        CHECK(quiver::percent_decode("%") == "%");
        CHECK(quiver::percent_decode("%00") == std::string(1, '\0'));
        CHECK(quiver::percent_decode("%e2%82%ac") == "\xE2\x82\xAC");
        CHECK(quiver::decoded_equals("a%62c", "abc"));
        CHECK_FALSE(quiver::decoded_equals("a%62c", "abcd"));
        CHECK_FALSE(quiver::decoded_equals("abc", "ab"));
        CHECK(quiver::iequals("Content-Type", "content-TYPE"));
        CHECK_FALSE(quiver::iequals("Content-Type", "Content-Typ"));
    }
}
