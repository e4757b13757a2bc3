// SPDX-License-Identifier: MIT
// parse_command_line(): modes, commands, setting flags in every form, and the
// errors for unknown options, missing values and conflicting modes.
#include <doctest/doctest.h>

#include <initializer_list>
#include <string>
#include <vector>

#include "server/common/config/cli.hpp"

namespace quiver {
namespace {

Result<CommandLine> parse(std::initializer_list<const char*> args) {
    std::vector<std::string> storage = {"quiver"};
    storage.insert(storage.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& s : storage) argv.push_back(s.data());
    argv.push_back(nullptr);
    return parse_command_line(static_cast<int>(storage.size()), argv.data());
}

std::string error_of(const Result<CommandLine>& r) {
    return r ? std::string("(no error)") : r.error().message();
}

using Overrides = std::vector<std::pair<std::string, std::string>>;

TEST_SUITE("config.cli") {

TEST_CASE("no arguments: run with no file") {
    auto r = parse({});
    REQUIRE(r);
    CHECK(r->mode == Mode::kRun);
    CHECK(r->config_path.empty());
    CHECK(r->overrides.empty());
    CHECK(r->rest.empty());
}

TEST_CASE("the config file: -c, --config, attached forms") {
    for (auto args : {std::initializer_list<const char*>{"-c", "q.yaml"},
                      {"--config", "q.yaml"}, {"--config=q.yaml"}, {"-cq.yaml"}}) {
        auto r = parse(args);
        REQUIRE_MESSAGE(r, error_of(r));
        CHECK(r->mode == Mode::kRun);
        CHECK(r->config_path == "q.yaml");
    }
    CHECK(error_of(parse({"-c"})) == "-c: missing value");
    CHECK(error_of(parse({"--config="})) == "--config: empty file name");
    CHECK(error_of(parse({"-c", "a.yaml", "-c", "b.yaml"})) ==
          "-c: a configuration file is already given (a.yaml)");
}

TEST_CASE("setting flags take --flag VALUE, --flag=VALUE, -f VALUE and -fVALUE") {
    auto r = parse({"-w", "4", "--workers=5", "-w6", "--bind", ":80", "-b", "unix:q.sock",
                    "--graceful-timeout", "10s", "--timeout=1m", "--keep-alive", "2",
                    "--limit-request-body", "1MiB", "--log-level", "debug", "--pid", "q.pid",
                    "--max-requests", "100", "--max-requests-jitter", "10", "--backlog", "64",
                    "--user", "nobody", "--group", "nogroup", "--access-log", "-",
                    "--error-log", "e.log", "--server-header=", "-t", "5s"});
    REQUIRE_MESSAGE(r, error_of(r));
    CHECK(r->mode == Mode::kRun);
    CHECK(r->overrides == Overrides{{"workers", "4"}, {"workers", "5"}, {"workers", "6"},
                                    {"listen", ":80"}, {"listen", "unix:q.sock"},
                                    {"timeouts.graceful", "10s"}, {"timeouts.worker", "1m"},
                                    {"timeouts.keepalive", "2"}, {"limits.body", "1MiB"},
                                    {"log.level", "debug"}, {"pidfile", "q.pid"},
                                    {"max_requests", "100"}, {"max_requests_jitter", "10"},
                                    {"backlog", "64"}, {"user", "nobody"}, {"group", "nogroup"},
                                    {"log.access", "-"}, {"log.error", "e.log"},
                                    {"server_header", ""}, {"timeouts.worker", "5s"}});
}

TEST_CASE("a value may start with a dash") {
    auto r = parse({"--server-header", "-x-"});
    REQUIRE(r);
    CHECK(r->overrides == Overrides{{"server_header", "-x-"}});
}

TEST_CASE("boolean flags: alone means true, =VALUE gives one") {
    auto r = parse({"--database", "--database=false", "reload"});
    REQUIRE_MESSAGE(r, error_of(r));
    CHECK(r->overrides == Overrides{{"database.enabled", "true"}, {"database.enabled", "false"}});
    CHECK(r->mode == Mode::kControl);  // "reload" was not taken as the flag's value
}

TEST_CASE("modes") {
    CHECK(parse({"--print-config"})->mode == Mode::kPrintConfig);
    CHECK(parse({"--settings-reference"})->mode == Mode::kSettingsReference);
    CHECK(parse({"--annotated-config"})->mode == Mode::kAnnotatedConfig);
    CHECK(parse({"--help"})->mode == Mode::kHelp);
    CHECK(parse({"-h"})->mode == Mode::kHelp);
    CHECK(parse({"--version"})->mode == Mode::kVersion);
    CHECK(parse({"-V"})->mode == Mode::kVersion);
    CHECK(parse({"--print-config", "--help"})->mode == Mode::kHelp);  // help wins
    CHECK(parse({"--print-config", "--print-config"})->mode == Mode::kPrintConfig);
    auto p = parse({"--print-config", "-c", "q.yaml", "-w", "2"});
    REQUIRE(p);
    CHECK(p->config_path == "q.yaml");
    CHECK(p->overrides == Overrides{{"workers", "2"}});
    CHECK(error_of(parse({"--print-config=yes"})) == "--print-config: takes no value");
    CHECK(error_of(parse({"--print-config", "--annotated-config"})) ==
          "--annotated-config: cannot be combined with --print-config");
    CHECK(error_of(parse({"--check-config", "q.yaml", "stop"})) ==
          "stop: cannot be combined with --check-config");
}

TEST_CASE("--check-config FILE, or with -c FILE") {
    for (auto args : {std::initializer_list<const char*>{"--check-config", "q.yaml"},
                      {"--check-config=q.yaml"},
                      {"--check-config", "-c", "q.yaml"},
                      {"-c", "q.yaml", "--check-config"},
                      {"--check-config", "q.yaml", "-c", "q.yaml"},
                      {"--check-config", "q.yaml", "-w", "3"}}) {
        auto r = parse(args);
        REQUIRE_MESSAGE(r, error_of(r));
        CHECK(r->mode == Mode::kCheckConfig);
        CHECK(r->config_path == "q.yaml");
    }
    CHECK(error_of(parse({"--check-config"})) ==
          "--check-config: no configuration file (give --check-config FILE or -c FILE)");
    CHECK(error_of(parse({"--check-config", "a.yaml", "-c", "b.yaml"})) ==
          "-c: a configuration file is already given (a.yaml)");
}

TEST_CASE("--worker: everything after it is the worker's") {
    auto r = parse({"-c", "q.yaml", "--worker", "--slot", "3", "-w", "9", "stop"});
    REQUIRE_MESSAGE(r, error_of(r));
    CHECK(r->mode == Mode::kWorker);
    CHECK(r->config_path == "q.yaml");
    CHECK(r->overrides.empty());
    CHECK(r->rest == std::vector<std::string>{"--slot", "3", "-w", "9", "stop"});
    auto bare = parse({"--worker"});
    REQUIRE(bare);
    CHECK(bare->mode == Mode::kWorker);
    CHECK(bare->rest.empty());
}

TEST_CASE("control commands: reload, status, stop") {
    for (const char* cmd : {"reload", "status", "stop"}) {
        auto r = parse({"-c", "/etc/quiver/quiver.yaml", cmd});
        REQUIRE(r);
        CHECK(r->mode == Mode::kControl);
        CHECK(r->rest == std::vector<std::string>{cmd});
        CHECK(r->config_path == "/etc/quiver/quiver.yaml");
    }
    auto extra = parse({"status", "--pid", "q.pid", "verbose"});
    REQUIRE(extra);
    CHECK(extra->rest == std::vector<std::string>{"status", "verbose"});
    CHECK(extra->overrides == Overrides{{"pidfile", "q.pid"}});
    CHECK(
        error_of(parse({"restart"})) ==
        "unknown command \"restart\" (commands are reload, status and stop; options start with -)");
    CHECK(error_of(parse({"-"})).starts_with("unknown command \"-\""));
}

TEST_CASE("-- ends the options") {
    auto r = parse({"--", "stop"});
    REQUIRE(r);
    CHECK(r->mode == Mode::kControl);
    CHECK(error_of(parse({"--", "--help"})).starts_with("unknown command \"--help\""));
}

TEST_CASE("unknown options and missing values are named") {
    CHECK(error_of(parse({"--wokers", "2"})) ==
          "--wokers: unknown option (did you mean --workers?)");
    CHECK(error_of(parse({"--print-confg"})) ==
          "--print-confg: unknown option (did you mean --print-config?)");
    CHECK(error_of(parse({"--frobnicate"})) == "--frobnicate: unknown option");
    CHECK(error_of(parse({"-z"})) == "-z: unknown option");
    CHECK(error_of(parse({"--workers"})) == "--workers: missing value");
    CHECK(error_of(parse({"-w"})) == "-w: missing value");
    CHECK(error_of(parse({"--apps", "x"})) == "--apps: unknown option");
}

}  // TEST_SUITE

}  // namespace
}  // namespace quiver
