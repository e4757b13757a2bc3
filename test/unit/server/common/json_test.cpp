// SPDX-License-Identifier: MIT
// An app's `settings` mapping becomes JSON text: YAML 1.2 core schema typing of
// unquoted scalars, strings escaped, and output that reads back the same.
#include <doctest/doctest.h>

#include "server/common/config/load.hpp"
#include "test/unit/server/common/config_fixture.hpp"

namespace quiver {
namespace {

using test::TempDir;

// The settings_json of one app whose settings are `block` (a YAML flow or
// block mapping written after "settings:"), or the error message.
std::string settings_json(const std::string& block) {
    TempDir dir;
    dir.write("app.so", "");
    auto r = test::load_yaml(dir, "apps:\n  - plugin: app.so\n    settings: " + block + "\n");
    if (!r) {
        std::string msg = r.error().message();
        if (msg.starts_with(dir.path() + "/")) msg.erase(0, dir.path().size() + 1);
        return "error: " + msg;
    }
    return r->apps.at(0).settings_json;
}

// The JSON of {v: <scalar>}, unwrapped to the value's text.
std::string value_json(const std::string& scalar) {
    std::string json = settings_json("{v: " + scalar + "}");
    if (json.starts_with("{\"v\": ") && json.ends_with("}")) return json.substr(6, json.size() - 7);
    return json;
}

TEST_SUITE("config.settings_json") {

TEST_CASE("unquoted scalars are typed by the YAML 1.2 core schema") {
    struct Case {
        const char* yaml;
        const char* json;
    };
    const Case cases[] = {
        {"1", "1"},           {"007", "7"},        {"+5", "5"},
        {"-0", "0"},          {"-12", "-12"},      {"0o17", "15"},
        {"0x1F", "31"},       {"0x1f", "31"},      {"0X1F", "\"0X1F\""},
        {"18446744073709551615", "18446744073709551615"},
        {"-9223372036854775808", "-9223372036854775808"},
        {"1.5", "1.5"},       {".5", "0.5"},       {"-.5", "-0.5"},
        {"1.", "1.0"},        {"1e3", "1e3"},      {"1.e3", "1.0e3"},
        {"+1.5", "1.5"},      {"01.5", "1.5"},     {"1E-7", "1E-7"},
        {"true", "true"},     {"True", "true"},    {"TRUE", "true"},
        {"false", "false"},   {"FALSE", "false"},
        {"yes", "\"yes\""},   {"no", "\"no\""},    {"on", "\"on\""},  // YAML 1.1 only
        {"y", "\"y\""},       {"tRUE", "\"tRUE\""},
        {"~", "null"},        {"null", "null"},    {"Null", "null"},  {"NULL", "null"},
        {"", "null"},         {"nUll", "\"nUll\""},
        {"0o8", "\"0o8\""},   {"1_000", "\"1_000\""}, {"0x", "\"0x\""},
        {"12abc", "\"12abc\""}, {".", "\".\""},    {"-", "\"-\""},   {"e3", "\"e3\""},
        {"1e", "\"1e\""},
        {"hello world", "\"hello world\""},
    };
    for (const Case& c : cases) {
        std::string yaml = c.yaml;
        CAPTURE(yaml);
        CHECK(value_json(c.yaml) == c.json);
    }
}

TEST_CASE("quoted and !!str scalars stay strings; core tags convert") {
    CHECK(value_json("\"1\"") == "\"1\"");
    CHECK(value_json("'true'") == "\"true\"");
    CHECK(value_json("\"null\"") == "\"null\"");
    CHECK(value_json("\"\"") == "\"\"");
    CHECK(value_json("!!str 5") == "\"5\"");
    CHECK(value_json("!!str true") == "\"true\"");
    CHECK(value_json("!!int \"7\"") == "7");
    CHECK(value_json("!!float \"1\"") == "1");
    CHECK(value_json("!!float .5") == "0.5");
    CHECK(value_json("!!bool \"false\"") == "false");
    CHECK(value_json("!!null ~") == "null");
    CHECK(settings_json("\n      v: |\n        two\n        lines\n      w: >-\n        folded\n"
                        "        text\n") == "{\"v\": \"two\\nlines\\n\", \"w\": \"folded text\"}");
}

TEST_CASE("values without a JSON form are errors that say how to pass a string") {
    CHECK(value_json(".inf") ==
          "error: quiver.yaml:3:19: apps[0].settings.v: \".inf\" has no JSON form (quote it to "
          "pass a string)");
    CHECK(value_json("-.Inf").find("has no JSON form") != std::string::npos);
    CHECK(value_json(".NaN").find("has no JSON form") != std::string::npos);
    CHECK(value_json("18446744073709551616") ==
          "error: quiver.yaml:3:19: apps[0].settings.v: \"18446744073709551616\" is out of range "
          "for a JSON number (quote it to pass a string)");
    CHECK(value_json("-9223372036854775809").find("out of range") != std::string::npos);
    CHECK(value_json("1e999").find("out of range") != std::string::npos);
    CHECK(value_json("!!int abc") ==
          "error: quiver.yaml:3:19: apps[0].settings.v: expected a number for the tag "
          "\"tag:yaml.org,2002:int\", got \"abc\"");
    CHECK(value_json("!!bool yes") ==
          "error: quiver.yaml:3:19: apps[0].settings.v: !!bool needs true or false, got \"yes\"");
    CHECK(value_json("!secret x") ==
          "error: quiver.yaml:3:19: apps[0].settings.v: unsupported tag \"!secret\" (quote the "
          "value to pass a string)");
}

TEST_CASE("strings are escaped for JSON and stay readable UTF-8") {
    // YAML escapes on the left; JSON on the right.
    CHECK(value_json(R"("say \"hi\"")") == R"("say \"hi\"")");
    CHECK(value_json(R"("back\\slash")") == R"("back\\slash")");
    CHECK(value_json(R"("a\tb\nc\rd\be\ff")") == R"("a\tb\nc\rd\be\ff")");
    CHECK(value_json(R"("\x01\x1f\x7f")") == R"("\u0001\u001f\u007f")");
    CHECK(value_json(R"("\0")") == R"("\u0000")");
    CHECK(value_json(R"("\x85 \u2028 \u2029 \ufeff")") == R"("\u0085 \u2028 \u2029 \ufeff")");
    CHECK(value_json(R"("é 日本 😀 /slash")") == "\"é 日本 😀 /slash\"");
    CHECK(value_json(R"("\U0001F600")") == "\"😀\"");
    CHECK(value_json("'single ''quoted'''") == R"("single 'quoted'")");
    CHECK(value_json("\"a\xff\"") ==
          "error: quiver.yaml:3:19: apps[0].settings.v: not valid UTF-8 (at byte 1)");
    CHECK(settings_json("{\"k\xc0\": 1}") ==
          "error: quiver.yaml:3:16: apps[0].settings: a key is not valid UTF-8 (at byte 1)");
}

TEST_CASE("mappings, lists, keys and anchors") {
    CHECK(settings_json("{}") == "{}");
    CHECK(settings_json("{a: [], b: {}}") == R"({"a": [], "b": {}})");
    CHECK(settings_json("{1: one, true: t, \"k\\\"ey\": x}") ==
          R"({"1": "one", "true": "t", "k\"ey": "x"})");
    CHECK(settings_json("\n      db: {pool: 2, hosts: [a, b]}\n      list:\n        - 1\n"
                        "        - {x: null}\n") ==
          R"({"db": {"pool": 2, "hosts": ["a", "b"]}, "list": [1, {"x": null}]})");
    CHECK(settings_json("{a: &x [1, two], b: *x}") == R"({"a": [1, "two"], "b": [1, "two"]})");
    CHECK(settings_json("{a: 1, a: 2}") ==
          "error: quiver.yaml:3:22: apps[0].settings.a: duplicate key (first at line 3)");
    CHECK(settings_json("{[1]: x}").find("keys must be names, got a list") != std::string::npos);
    CHECK(settings_json("~") ==
          "error: quiver.yaml:3:5: apps[0].settings: expected a mapping, got nothing");
    CHECK(settings_json("text") ==
          "error: quiver.yaml:3:15: apps[0].settings: expected a mapping, got a scalar");
}

TEST_CASE("deep nesting and alias bombs are refused, not expanded without bound") {
    std::string deep = "{v: " + std::string(70, '[') + std::string(70, ']') + "}";
    CHECK(settings_json(deep).find("nested more than 64 levels deep") != std::string::npos);
    std::string bomb =
        "\n      a: &a [\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\", \"xxxxxxxxxxxxxxxxxxxxxxx\"]\n";
    char prev = 'a';
    for (char c = 'b'; c <= 'v'; ++c, ++prev)
        bomb += std::string("      ") + c + ": &" + c + " [*" + prev + ", *" + prev + ", *" + prev +
                ", *" + prev + "]\n";
    CHECK(settings_json(bomb).find("larger than 1MiB as JSON") != std::string::npos);
}

TEST_CASE("the JSON reads back as YAML to the same JSON") {
    const char* blocks[] = {
        "{a: 1, b: -2.5e3, c: .5, d: [true, false, ~], e: \"q\\\"\\\\\\t\\u0001 é\"}",
        "{deep: {er: {still: [[1], [2, [3]]]}}, \"\": 0x10, n: -007}",
        "{s: \"\\x85\\u2028\\ufeff 😀\", k: !!str 10, f: 1.}",
    };
    for (const char* block : blocks) {
        std::string yaml = block;
        CAPTURE(yaml);
        std::string once = settings_json(block);
        REQUIRE_FALSE(once.starts_with("error"));
        CHECK(settings_json(once) == once);
    }
}

}  // TEST_SUITE

}  // namespace
}  // namespace quiver
