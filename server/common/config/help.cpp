// SPDX-License-Identifier: MIT
// --help, the settings reference and the annotated defaults, all generated
// from the settings table so that they cannot drift from the code.
#include "server/common/config/help.hpp"

#include <string_view>

#include "server/common/config/builder.hpp"
#include "server/common/config/cli.hpp"
#include "server/common/config/emit.hpp"
#include "server/common/config/settings.hpp"

namespace quiver {

namespace {

using config::Setting;
using config::Type;

constexpr size_t kWidth = 80;
constexpr size_t kColumn = 32;  // where --help's descriptions start

constexpr std::string_view kIntro =
    "Every setting has a key in the YAML file, a QUIVER_* environment variable and a "
    "command-line flag (apps: the file only). Each source overrides the ones before it: the "
    "defaults, then the file, then the environment, then the flags. Unknown keys and bad "
    "values are errors that name the file, line and key.";

constexpr std::string_view kTypes =
    "- size: bytes, or a number with a binary unit: 64KiB (or 64k, 64K), 1MiB (1m), "
    "1GiB (1g), 1TiB (1t). MB and its kin are refused as ambiguous.\n"
    "- duration: a number with a unit: 500ms, 10s, 2m, 1h, 1d, or several (1m30s). A bare "
    "number is seconds.\n"
    "- boolean: true or false (also yes/no, on/off, 1/0).\n"
    "- list: a YAML sequence in the file; comma-separated in a variable or a flag, and a list "
    "flag may also repeat.\n"
    "- path: in the file, relative to the file's folder; in a variable or a flag, relative to "
    "the working directory.";

std::string display_default(const Setting& s) {
    if (s.type == Type::kAppList) return "none";
    return s.default_text.empty() ? "\"\"" : std::string(s.default_text);
}

std::string flag_usage(const Setting& s) {
    std::string out;
    if (!s.short_flag.empty()) out += std::string(s.short_flag) + ", ";
    out += s.flag;
    if (s.type == Type::kBool)
        out += "[=BOOL]";
    else if (!s.metavar.empty())
        out.append(" ").append(s.metavar);
    return out;
}

// "  left" padded to kColumn, then `text` wrapped under it.
std::string two_columns(std::string_view left, std::string_view text) {
    std::string pad(kColumn, ' ');
    std::string body = config::wrap(text, pad, kWidth);
    std::string head = "  " + std::string(left);
    if (head.size() + 1 < kColumn) return head + body.substr(head.size());
    return head + "\n" + body;
}

std::string md_code(std::string_view text) {
    std::string out = "`";
    for (char c : text) out += c == '|' ? std::string("\\|") : std::string(1, c);
    return out + "`";
}

}  // namespace

std::string help_text() {
    std::string out =
        "usage: quiver [-c FILE] [SETTINGS...]              run the server\n"
        "       quiver --check-config FILE [SETTINGS...]    validate a configuration\n"
        "       quiver --print-config [-c FILE] [SETTINGS...]\n"
        "       quiver reload|status|stop [-c FILE]         control a running server\n"
        "       quiver status --watch[=N] [-c FILE]         live view of the workers\n"
        "\n"
        "quiver serves C++ web application plugins: a master binds the sockets and\n"
        "supervises worker processes, each running one event loop.\n"
        "\nOptions:\n";
    for (const CliOption& o : cli_options()) {
        std::string left = o.short_flag.empty() ? std::string(o.flag)
                                                 : std::string(o.short_flag) + ", " +
                                                       std::string(o.flag);
        if (!o.metavar.empty()) left.append(" ").append(o.metavar);
        out += two_columns(left, o.doc);
    }
    out += "\nCommands:\n";
    for (const CliOption& c : cli_commands()) out += two_columns(c.flag, c.doc);
    out += "\nSettings:\n";
    out += config::wrap(kIntro, "  ", kWidth);
    out += config::wrap(kTypes, "  ", kWidth);
    out += config::wrap("Below, each flag is followed by its doc, then [its default], its YAML "
                        "key and its variable.", "  ", kWidth);
    std::string_view section;
    for (const Setting& s : config::settings()) {
        if (s.section != section) {
            out.append("\n").append(s.section).append(":\n");
            section = s.section;
        }
        std::string left = flag_usage(s);
        if (s.flag.empty()) left.assign(s.name).append(" (file only)");
        std::string where = "[";
        where.append(display_default(s)).append("] ").append(s.name);
        if (!s.flag.empty()) where += ", " + config::env_name(s);
        out += two_columns(left, std::string(s.doc) + "\n" + where);
    }
    out += "\nThe full reference: quiver --settings-reference.\n";
    return out;
}

std::string settings_reference_md() {
    std::string out =
        "# quiver settings reference\n\n"
        "<!-- Generated from server/common/config/settings.cpp by conf/regenerate "
        "(quiver --settings-reference). Do not edit. -->\n\n";
    out += std::string(kIntro) +
           " A dotted name is a key inside a section: `limits.body` is `body` under "
           "`limits:`. `conf/quiver.yaml` (quiver --annotated-config) lists every default as "
           "a loadable file; `quiver --print-config` shows the resolved configuration.\n\n";
    out += "Value types:\n\n" + std::string(kTypes) + "\n";
    std::string_view section;
    for (const Setting& s : config::settings()) {
        if (s.section != section) {
            out += "\n## " + std::string(s.section) + "\n";
            section = s.section;
        }
        out += "\n### `" + std::string(s.name) + "`\n\n" + std::string(s.doc) + "\n\n";
        out += "| | |\n|---|---|\n";
        out += "| Type | " + config::describe_type(s) + " |\n";
        out += "| Default | " + md_code(display_default(s)) + " |\n";
        if (s.flag.empty()) {
            out += "| Flag | none: file only |\n| Environment | none: file only |\n";
        } else {
            std::string flags = s.short_flag.empty() ? "" : md_code(s.short_flag) + ", ";
            out +=
                "| Flag | " + flags +
                md_code(flag_usage(s).substr(s.short_flag.empty() ? 0 : s.short_flag.size() + 2)) +
                " |\n";
            out += "| Environment | " + md_code(config::env_name(s)) + " |\n";
        }
        if (!s.long_doc.empty()) out += "\n" + std::string(s.long_doc) + "\n";
    }
    return out;
}

std::string annotated_yaml() {
    config::Builder defaults;
    return config::emit_yaml(defaults.draft(), config::Style::kAnnotated);
}

}  // namespace quiver
