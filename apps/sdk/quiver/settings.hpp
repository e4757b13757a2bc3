// SPDX-License-Identifier: MIT
// Settings: the app's `settings` subtree from the configuration, handed to
// `create` as JSON, with typed getters that fail with a ConfigError naming the key.
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace quiver {

/// Thrown by an app's constructor to refuse its configuration. The SDK turns
/// it into create's error: the host refuses the plugin, naming the file and
/// this message, e.g. "pool_size: must be between 1 and 64".
class ConfigError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// The app's settings: a JSON object (empty when the configuration gives
/// none). Getters look up top-level keys; root() gives simdjson's DOM for
/// anything nested. Views returned stay valid while the Settings live.
class Settings {
public:
    /// No settings: every lookup falls back to its default.
    Settings() = default;

    /// Parses `json`; an empty text or `null` means no settings. Throws
    /// ConfigError when it is not a JSON object.
    explicit Settings(std::string_view json) {
        if (json.find_first_not_of(" \t\r\n") == std::string_view::npos) return;
        parser_ = std::make_unique<simdjson::dom::parser>();
        auto doc = parser_->parse(json.data(), json.size(), true);
        if (doc.error() != simdjson::SUCCESS) {
            throw ConfigError(std::string("settings: invalid JSON: ") +
                              simdjson::error_message(doc.error()));
        }
        root_ = doc.value_unsafe();
        if (root_.is_null()) return;
        if (root_.get_object().get(obj_) != simdjson::SUCCESS) {
            throw ConfigError("settings: must be a JSON object");
        }
        has_obj_ = true;
    }

    /// True when there are no settings.
    bool empty() const noexcept { return !has_obj_ || obj_.size() == 0; }
    bool has(std::string_view key) const noexcept { return find(key).has_value(); }

    std::string get_string(std::string_view key, std::string_view def) const {
        const auto e = find(key);
        return e ? std::string(string_of(key, *e)) : std::string(def);
    }
    /// Like get_string, but a missing key is an error: "missing setting 'key'".
    std::string require_string(std::string_view key) const {
        const auto e = find(key);
        if (!e) throw ConfigError("missing setting '" + std::string(key) + "'");
        return std::string(string_of(key, *e));
    }
    /// An integer in [min, max]; "key: must be an integer" or "key: must be
    /// between min and max" otherwise.
    std::int64_t get_int(std::string_view key, std::int64_t def,
                         std::int64_t min = std::numeric_limits<std::int64_t>::min(),
                         std::int64_t max = std::numeric_limits<std::int64_t>::max()) const {
        const auto e = find(key);
        if (!e) return def;
        std::int64_t v = 0;
        if (e->get_int64().get(v) != simdjson::SUCCESS) fail(key, "must be an integer");
        if (v < min || v > max) {
            fail(key, "must be between " + std::to_string(min) + " and " + std::to_string(max));
        }
        return v;
    }
    double get_double(std::string_view key, double def) const {
        const auto e = find(key);
        if (!e) return def;
        double v = 0;
        if (e->get_double().get(v) != simdjson::SUCCESS) fail(key, "must be a number");
        return v;
    }
    bool get_bool(std::string_view key, bool def) const {
        const auto e = find(key);
        if (!e) return def;
        bool v = false;
        if (e->get_bool().get(v) != simdjson::SUCCESS) fail(key, "must be true or false");
        return v;
    }

    /// The settings object, for nested values; a null element when empty.
    simdjson::dom::element root() const noexcept { return root_; }

    /// Throws ConfigError("key: why").
    [[noreturn]] static void fail(std::string_view key, const std::string& why) {
        throw ConfigError(std::string(key) + ": " + why);
    }

private:
    // A key whose value is null counts as absent.
    std::optional<simdjson::dom::element> find(std::string_view key) const noexcept {
        if (!has_obj_) return std::nullopt;
        simdjson::dom::element e;
        if (obj_.at_key(key).get(e) != simdjson::SUCCESS || e.is_null()) return std::nullopt;
        return e;
    }
    static std::string_view string_of(std::string_view key, simdjson::dom::element e) {
        std::string_view s;
        if (e.get_string().get(s) != simdjson::SUCCESS) fail(key, "must be a string");
        return s;
    }

    std::unique_ptr<simdjson::dom::parser> parser_;
    simdjson::dom::element root_;
    simdjson::dom::object obj_;
    bool has_obj_ = false;
};

}  // namespace quiver
