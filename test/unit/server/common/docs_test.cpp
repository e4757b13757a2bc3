// SPDX-License-Identifier: MIT
// The checked-in conf/settings.md and conf/quiver.yaml equal what the table
// generates; the table itself is consistent; the annotated file loads.
#include <doctest/doctest.h>

#include <fstream>
#include <set>
#include <sstream>

#include "server/common/config/cli.hpp"
#include "server/common/config/help.hpp"
#include "server/common/config/load.hpp"
#include "server/common/config/settings.hpp"
#include "test/unit/server/common/config_fixture.hpp"

#ifndef QUIVER_SOURCE_ROOT
#error "QUIVER_SOURCE_ROOT must name the source tree (set by meson)"
#endif

namespace quiver {
namespace {

std::string read_source_file(const std::string& rel) {
    std::ifstream f(std::string(QUIVER_SOURCE_ROOT) + "/" + rel, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

// The first differing line, for a readable failure.
std::string first_difference(const std::string& a, const std::string& b) {
    std::istringstream sa(a), sb(b);
    std::string la, lb;
    for (int line = 1;; ++line) {
        bool ga = static_cast<bool>(std::getline(sa, la));
        bool gb = static_cast<bool>(std::getline(sb, lb));
        if (!ga && !gb) return "(same lines; different line endings?)";
        if (la != lb || ga != gb)
            return "line " + std::to_string(line) + ":\n  checked in: " + (ga ? la : "(end)") +
                   "\n  generated:  " + (gb ? lb : "(end)");
    }
}

const std::string kHowToFix =
    "conf/ is out of date with server/common/config/settings.cpp. Regenerate it from the "
    "source root with: conf/regenerate [BUILD_DIR]";

TEST_SUITE("config.docs") {

TEST_CASE("conf/settings.md is up to date") {
    std::string checked_in = read_source_file("conf/settings.md");
    std::string generated = settings_reference_md();
    bool up_to_date = checked_in == generated;  // a bool: the texts are too long to print
    CHECK_MESSAGE(up_to_date, kHowToFix, "\n", first_difference(checked_in, generated));
}

TEST_CASE("conf/quiver.yaml is up to date") {
    std::string checked_in = read_source_file("conf/quiver.yaml");
    std::string generated = annotated_yaml();
    bool up_to_date = checked_in == generated;  // a bool: the texts are too long to print
    CHECK_MESSAGE(up_to_date, kHowToFix, "\n", first_difference(checked_in, generated));
}

TEST_CASE("the annotated config loads as it is and gives the defaults") {
    auto annotated = load_config_text(annotated_yaml(), "quiver.yaml", "/etc/quiver");
    REQUIRE_MESSAGE(annotated, annotated.error().message());
    auto defaults = load_config({});
    REQUIRE(defaults);
    test::check_same(*annotated, *defaults, false);
}

TEST_CASE("the examples load once the apps are built (or name the missing plugin)") {
    for (const char* name : {"conf/examples/hello.yaml", "conf/examples/echo.yaml"}) {
        std::string file = name;
        CAPTURE(file);
        auto r = load_config({std::string(QUIVER_SOURCE_ROOT) + "/" + name, {}, {}});
        if (!r) {
            CHECK(r.error().code == Errc::kNotFound);
            CHECK(r.error().message().find("apps[0].plugin: ") != std::string::npos);
            continue;
        }
        REQUIRE(r->listen.size() == 1);
        CHECK(r->listen[0].address == "127.0.0.1:8080");
        CHECK_FALSE(r->apps.empty());
    }
}

TEST_CASE("the settings table is consistent") {
    std::set<std::string_view> names, flags;
    std::set<std::string> envs;
    for (const CliOption& o : cli_options()) {
        flags.insert(o.flag);
        if (!o.short_flag.empty()) flags.insert(o.short_flag);
    }
    std::string_view last_section_prefix;
    std::set<std::string_view> closed_prefixes;
    for (const config::Setting& s : config::settings()) {
        CAPTURE(s.name);
        CHECK(names.insert(s.name).second);
        CHECK(envs.insert(config::env_name(s)).second);
        CHECK_FALSE(s.doc.empty());
        CHECK(s.doc.find('\n') == std::string_view::npos);
        if (!s.flag.empty()) {
            CHECK(s.flag.starts_with("--"));
            CHECK(flags.insert(s.flag).second);
        }
        if (!s.short_flag.empty()) CHECK(flags.insert(s.short_flag).second);
        CHECK(config::find_setting(s.name) == &s);
        CHECK(config::find_env(config::env_name(s)) == &s);
        if (!s.flag.empty()) CHECK(config::find_flag(s.flag) == &s);
        if (s.type == config::Type::kEnum) CHECK_FALSE(s.choices.empty());
        CHECK(s.min <= s.max);
        // Settings of one section are contiguous, so the dump has one block each.
        size_t dot = s.name.find('.');
        std::string_view prefix = dot == s.name.npos ? "" : s.name.substr(0, dot);
        if (prefix != last_section_prefix) {
            CHECK(closed_prefixes.count(prefix) == 0);
            closed_prefixes.insert(last_section_prefix);
            last_section_prefix = prefix;
        }
    }
    CHECK(config::env_name(*config::find_setting("limits.body")) == "QUIVER_LIMITS_BODY");
    CHECK(config::find_flag("-w") == config::find_setting("workers"));
    CHECK(config::find_flag("--timeout") == config::find_setting("timeouts.worker"));
    CHECK(config::find_flag("--keep-alive") == config::find_setting("timeouts.keepalive"));
    CHECK(config::find_flag("-b") == config::find_setting("listen"));
    CHECK(config::is_section("limits"));
    CHECK(config::is_section("database"));
    CHECK_FALSE(config::is_section("workers"));
    CHECK_FALSE(config::is_section("limit"));
}

TEST_CASE("--help and the reference name every setting, flag and variable") {
    std::string help = help_text();
    std::string md = settings_reference_md();
    for (const config::Setting& s : config::settings()) {
        CAPTURE(s.name);
        CHECK(md.find("### `" + std::string(s.name) + "`") != std::string::npos);
        CHECK(help.find(std::string(s.name)) != std::string::npos);
        if (!s.flag.empty()) {
            CHECK(help.find(std::string(s.flag)) != std::string::npos);
            CHECK(help.find(config::env_name(s)) != std::string::npos);
            CHECK(md.find(config::env_name(s)) != std::string::npos);
        }
    }
    for (const CliOption& o : cli_options())
        CHECK(help.find(std::string(o.flag)) != std::string::npos);
    std::istringstream lines(help);
    for (std::string line; std::getline(lines, line);) {
        CAPTURE(line);
        CHECK(line.size() <= 80);
    }
}

}  // TEST_SUITE

}  // namespace
}  // namespace quiver
