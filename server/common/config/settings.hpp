// SPDX-License-Identifier: MIT
// The settings table: every configuration setting declared once (name, type,
// default, range, flag, environment name, docs). The loader, the command line,
// --help, the settings reference and the annotated config all read this table.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "server/common/config/config.hpp"
#include "server/common/result.hpp"

namespace quiver::config {

// What the loader fills: the Config plus values that only steer resolution.
struct Draft {
    Config config;
    int backlog = 1024;  // for listeners that do not set their own
};

// How a setting's value is written and converted. Sizes are bytes, durations
// milliseconds, both with units (see values.hpp).
enum class Type : uint8_t {
    kInt,         // whole number
    kSize,        // bytes: 8190, 64KiB, 1MiB, 64k
    kDuration,    // milliseconds: 500ms, 10s, 2m, 1h; a bare number is seconds
    kString,
    kPath,        // a string resolved against the config file's folder ("-" and "" kept)
    kBool,
    kEnum,        // one of `choices`
    kAutoInt,     // "auto" or a whole number (workers)
    kListenList,  // listeners: addresses, or mappings in the file
    kAppList,     // apps: mappings, file only
    kStringList,  // comma-separated in env and flags, a sequence in the file
};

// Typed access to one field of a Draft (read and write).
template <typename T>
struct FieldRef {
    T& (*get)(Draft&);
    const T& (*cget)(const Draft&);
};

using Field = std::variant<FieldRef<int>, FieldRef<uint32_t>, FieldRef<uint64_t>,
                           FieldRef<std::string>, FieldRef<bool>,
                           FieldRef<std::vector<std::string>>, FieldRef<std::vector<ListenSpec>>,
                           FieldRef<std::vector<AppSpec>>>;

// field<&Draft::config, &Config::timeouts, &Timeouts::header>() reaches
// draft.config.timeouts.header; cfg<...>() starts at draft.config.
// clang-format off
template <auto... Members>
constexpr auto field() {
    // A left fold over .*: ((d .* M1) .* M2) .* M3.
    using T = std::remove_cvref_t<decltype((std::declval<Draft&>() .* ... .* Members))>;
    return FieldRef<T>{[](Draft& d) -> T& { return (d .* ... .* Members); },
                       [](const Draft& d) -> const T& { return (d .* ... .* Members); }};
}
// clang-format on
template <auto... Members>
constexpr auto cfg() {
    return field<&Draft::config, Members...>();
}

// Extra validation of one string value or list item. The error's detail says
// what is wrong, without a location.
using Check = Result<void> (*)(std::string_view value);

struct Setting {
    std::string_view name;     // dotted YAML path: "workers", "limits.body"
    std::string_view section;  // heading in --help and the reference
    Type type;
    Field field;
    std::string_view default_text;  // in the env/flag syntax ("1MiB", "auto", "a,b")
    uint64_t min = 0;               // numeric types, in bytes / milliseconds
    uint64_t max = 0;
    std::span<const std::string_view> choices = {};  // kEnum
    Check check = nullptr;          // strings and list items
    std::string_view flag = {};     // "--workers"; "" = file only
    std::string_view short_flag = {};  // "-w"
    std::string_view metavar = {};     // "INT" in --help
    std::string_view aliases = {};     // other servers' names, comma-separated: hints only
    std::string_view doc = {};         // one line
    std::string_view long_doc = {};    // paragraphs separated by blank lines
    bool dumped = true;                // written by dump_config
};

// Every setting in table order. Settings sharing a section prefix
// ("limits.") are contiguous.
std::span<const Setting> settings();

// nullptr when there is no such setting / flag / variable.
const Setting* find_setting(std::string_view dotted_name);
const Setting* find_flag(std::string_view flag);  // "--workers" or "-w"
const Setting* find_env(std::string_view env_name);

// QUIVER_ + the name upper-cased with dots as underscores: QUIVER_LIMITS_BODY.
std::string env_name(const Setting& s);

// The index of s in settings().
size_t index_of(const Setting& s);

// True when some setting is named "<key>.<something>": "limits", "database".
bool is_section(std::string_view key);

// "a size", "a duration", "one of error, warning, info, debug", ...
std::string describe_type(const Setting& s);

}  // namespace quiver::config
