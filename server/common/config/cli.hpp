// SPDX-License-Identifier: MIT
// The quiver command line: what to do (run, check, print, control...) and the
// setting overrides, as (dotted name, value) pairs for load_config().
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "server/common/result.hpp"

namespace quiver {

enum class Mode {
    kRun,                // serve (the default)
    kCheckConfig,        // --check-config [FILE]: load, validate, exit 0 or 1
    kPrintConfig,        // --print-config: dump_config() of the resolved config
    kHelp,               // --help, -h (wins over every other mode)
    kVersion,            // --version, -V
    kSettingsReference,  // --settings-reference: the Markdown reference (conf/settings.md)
    kAnnotatedConfig,    // --annotated-config: the commented defaults (conf/quiver.yaml)
    kWorker,             // --worker ...: internal, the master execs workers with it
    kControl,            // reload | status | stop: talk to a running master
};

struct CommandLine {
    Mode mode = Mode::kRun;
    std::string config_path;  // -c / --config / --check-config FILE; "" = none given
    // Setting flags in order: ("workers", "4"), ("listen", "unix:/run/q.sock"), ...
    std::vector<std::pair<std::string, std::string>> overrides;
    // kWorker: every argument after --worker. kControl: the command word and
    // any positional arguments after it ("reload").
    std::vector<std::string> rest;
};

// Setting flags take "--flag VALUE", "--flag=VALUE", "-f VALUE" or "-fVALUE";
// a boolean flag alone means true. "--" ends the options. An unknown option,
// a missing value or two conflicting modes is an Error naming the option:
// "--wokers: unknown option (did you mean --workers?)".
Result<CommandLine> parse_command_line(int argc, char** argv);

// The options that are not settings, for --help.
struct CliOption {
    std::string_view flag;
    std::string_view short_flag;
    std::string_view metavar;
    std::string_view doc;
};
std::span<const CliOption> cli_options();

// The positional commands: reload, status, stop.
std::span<const CliOption> cli_commands();

}  // namespace quiver
