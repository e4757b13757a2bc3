// SPDX-License-Identifier: MIT
// Command-line parsing: modes and commands here; setting flags come from the
// settings table, so a new setting gets its flag without touching this file.
#include "server/common/config/cli.hpp"

#include <optional>

#include "server/common/config/settings.hpp"
#include "server/common/config/values.hpp"

namespace quiver {

namespace {

using config::invalid;
using config::shown;

constexpr CliOption kOptions[] = {
    {"--config", "-c", "FILE", "YAML configuration file to load."},
    {"--check-config", "", "[FILE]", "Load and validate the configuration, then exit: 0 if valid."},
    {"--print-config", "", "", "Print the resolved configuration as YAML (database passwords masked), then exit."},
    {"--settings-reference", "", "", "Print the settings reference (Markdown), then exit."},
    {"--annotated-config", "", "", "Print a commented config file with every default, then exit."},
    {"--help", "-h", "", "Show this help, then exit."},
    {"--version", "-V", "", "Print the version, then exit."},
};

constexpr CliOption kCommands[] = {
    {"reload", "", "", "Ask the running master to reload its configuration and apps (HUP)."},
    {"status", "", "", "Show the running master's workers and counters; with --watch[=N], "
                       "a live view refreshed every second (N times; none = until ^C)."},
    {"stop", "", "", "Ask the running master to stop gracefully (TERM)."},
};

bool is_command(std::string_view arg) {
    for (const CliOption& c : kCommands)
        if (c.flag == arg) return true;
    return false;
}

struct Parser {
    int argc;
    char** argv;
    CommandLine cl;
    std::string mode_flag;  // the option that chose cl.mode
    bool help = false;
    bool version = false;

    Result<void> set_mode(Mode m, std::string_view flag) {
        if (!mode_flag.empty() && cl.mode != m)
            return invalid(std::string(flag) + ": cannot be combined with " + mode_flag);
        cl.mode = m;
        mode_flag = flag;
        return {};
    }

    Result<void> set_config(std::string_view flag, std::string path) {
        if (path.empty()) return invalid(std::string(flag) + ": empty file name");
        if (!cl.config_path.empty() && cl.config_path != path)
            return invalid(std::string(flag) + ": a configuration file is already given (" +
                           cl.config_path + ")");
        cl.config_path = std::move(path);
        return {};
    }

    Result<void> positional(std::string_view arg) {
        if (cl.mode == Mode::kControl) {
            cl.rest.emplace_back(arg);
            return {};
        }
        if (!is_command(arg))
            return invalid("unknown command " + shown(arg) +
                           " (commands are reload, status and stop; options start with -)");
        if (auto r = set_mode(Mode::kControl, arg); !r) return r;
        cl.rest.emplace_back(arg);
        return {};
    }

    Result<void> unknown(std::string_view name) {
        std::vector<std::string_view> flags;
        for (const CliOption& o : kOptions) flags.push_back(o.flag);
        for (const config::Setting& s : config::settings())
            if (!s.flag.empty()) flags.push_back(s.flag);
        std::string_view near = config::closest(name, flags);
        return invalid(std::string(name) + ": unknown option" +
                       (near.empty() ? "" : " (did you mean " + std::string(near) + "?)"));
    }

    Result<void> run() {
        bool positional_only = false;
        for (int i = 1; i < argc; ++i) {
            std::string_view arg = argv[i];
            if (positional_only || arg.size() < 2 || arg[0] != '-') {
                if (auto r = positional(arg); !r) return r;
                continue;
            }
            if (arg == "--") {
                positional_only = true;
                continue;
            }
            std::string_view name = arg;
            std::optional<std::string_view> inline_value;
            if (arg.starts_with("--")) {
                if (size_t eq = arg.find('='); eq != arg.npos) {
                    name = arg.substr(0, eq);
                    inline_value = arg.substr(eq + 1);
                }
            } else if (arg.size() > 2) {  // -w4, -cquiver.yaml
                name = arg.substr(0, 2);
                inline_value = arg.substr(2);
            }
            auto no_value = [&]() -> Result<void> {
                if (inline_value) return invalid(std::string(name) + ": takes no value");
                return {};
            };
            auto take_value = [&]() -> Result<std::string> {
                if (inline_value) return std::string(*inline_value);
                if (i + 1 >= argc) return invalid(std::string(name) + ": missing value");
                return std::string(argv[++i]);
            };
            Result<void> r;
            if (name == "--worker") {
                if (r = no_value(); r) r = set_mode(Mode::kWorker, name);
                if (!r) return r;
                for (int k = i + 1; k < argc; ++k) cl.rest.emplace_back(argv[k]);
                return {};
            } else if (name == "--config" || name == "-c") {
                auto v = take_value();
                r = v ? set_config(name, std::move(*v)) : unexpected(v.error());
            } else if (name == "--check-config") {
                r = set_mode(Mode::kCheckConfig, name);
                std::optional<std::string> file;
                if (inline_value)
                    file = std::string(*inline_value);
                else if (i + 1 < argc && argv[i + 1][0] != '-' && !is_command(argv[i + 1]))
                    file = argv[++i];
                if (r && file) r = set_config(name, std::move(*file));
            } else if (name == "--print-config") {
                if (r = no_value(); r) r = set_mode(Mode::kPrintConfig, name);
            } else if (name == "--settings-reference") {
                if (r = no_value(); r) r = set_mode(Mode::kSettingsReference, name);
            } else if (name == "--annotated-config") {
                if (r = no_value(); r) r = set_mode(Mode::kAnnotatedConfig, name);
            } else if (name == "--help" || name == "-h") {
                r = no_value();
                help = true;
            } else if (name == "--version" || name == "-V") {
                r = no_value();
                version = true;
            } else if (const config::Setting* s = config::find_flag(name)) {
                // A boolean flag alone means true; its value only follows '='.
                if (s->type == config::Type::kBool) {
                    cl.overrides.emplace_back(s->name, inline_value ? *inline_value : "true");
                } else {
                    auto v = take_value();
                    if (!v) return unexpected(v.error());
                    cl.overrides.emplace_back(s->name, std::move(*v));
                }
            } else {
                r = unknown(name);
            }
            if (!r) return r;
        }
        if (help || version) {
            cl.mode = help ? Mode::kHelp : Mode::kVersion;
        } else if (cl.mode == Mode::kCheckConfig && cl.config_path.empty()) {
            return invalid("--check-config: no configuration file (give --check-config FILE "
                           "or -c FILE)");
        }
        return {};
    }
};

}  // namespace

Result<CommandLine> parse_command_line(int argc, char** argv) {
    Parser p{argc, argv, {}, {}};
    if (auto r = p.run(); !r) return unexpected(r.error());
    return std::move(p.cl);
}

std::span<const CliOption> cli_options() { return kOptions; }
std::span<const CliOption> cli_commands() { return kCommands; }

}  // namespace quiver
