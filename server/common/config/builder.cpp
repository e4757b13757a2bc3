// SPDX-License-Identifier: MIT
// Builder: the settings table applied layer by layer (defaults, file, env,
// command line), each layer replacing what the ones before it set.
#include "server/common/config/builder.hpp"

#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "server/common/config/values.hpp"

namespace quiver::config {

namespace {

[[noreturn]] void table_bug(const Setting& s, std::string_view what) {
    std::fprintf(stderr, "quiver: settings table: %.*s: %.*s\n", static_cast<int>(s.name.size()),
                 s.name.data(), static_cast<int>(what.size()), what.data());
    std::abort();
}

std::string format_number(const Setting& s, uint64_t v) {
    switch (s.type) {
    case Type::kSize: return format_size(v);
    case Type::kDuration: return format_duration(v);
    default: return std::to_string(v);
    }
}

Result<uint64_t> parse_number(const Setting& s, std::string_view text) {
    switch (s.type) {
    case Type::kSize: return parse_size(text);
    case Type::kDuration: return parse_duration(text);
    case Type::kAutoInt: {
        auto v = parse_uint(text);
        if (!v) return invalid("expected auto or a whole number, got " + shown(text));
        return v;
    }
    default: return parse_uint(text);
    }
}

std::string flag_of(const Setting& s) {
    return s.flag.empty() ? "--" + std::string(s.name) : std::string(s.flag);
}

bool is_list(Type t) { return t == Type::kStringList || t == Type::kListenList; }

}  // namespace

Unexpected<Error> Origin::error(std::string_view what) const {
    return invalid(where + ": " + std::string(what));
}

Builder::Builder() : given_(settings().size(), false) {
    for (const Setting& s : settings()) {
        if (s.type == Type::kAppList) continue;  // no apps unless the file names some
        Origin origin{Layer::kDefault, "default", {}};
        auto r = set_text(s, s.default_text, origin);
        if (!r) table_bug(s, r.error().message());
    }
}

void Builder::mark_given(const Setting& s, Layer layer) {
    if (layer == Layer::kDefault) return;
    given_[index_of(s)] = true;
    if (s.name.starts_with("database.")) database_touched_ = true;
}

Result<void> Builder::set_text(const Setting& s, std::string_view text, const Origin& origin) {
    Result<void> r;
    switch (s.type) {
    case Type::kInt:
    case Type::kSize:
    case Type::kDuration:
    case Type::kAutoInt: r = store_number(s, text, origin); break;
    case Type::kString:
    case Type::kPath:
    case Type::kEnum: r = store_string(s, text, origin); break;
    case Type::kBool: {
        auto b = parse_bool(text);
        if (!b) return origin.error(b.error().message());
        auto* f = std::get_if<FieldRef<bool>>(&s.field);
        if (!f) table_bug(s, "a boolean needs a bool field");
        f->get(draft_) = *b;
        break;
    }
    case Type::kStringList:
    case Type::kListenList: {
        std::vector<Item<std::string>> items;
        for (std::string& v : split_list(text)) items.push_back({std::move(v), origin});
        return set_items(s, items, origin);
    }
    case Type::kAppList:
        return origin.error("apps can only be given in the configuration file");
    }
    if (!r) return r;
    mark_given(s, origin.layer);
    return {};
}

Result<void> Builder::store_number(const Setting& s, std::string_view text, const Origin& origin) {
    uint64_t v = 0;  // 0 stands for "auto" until finish()
    if (s.type != Type::kAutoInt || text != "auto") {
        auto parsed = parse_number(s, text);
        if (!parsed) return origin.error(parsed.error().message());
        v = *parsed;
        if (v < s.min || v > s.max)
            return origin.error("must be in " + format_number(s, s.min) + ".." +
                                format_number(s, s.max) + ", got " + format_number(s, v));
    }
    if (auto* f = std::get_if<FieldRef<int>>(&s.field))
        f->get(draft_) = static_cast<int>(v);
    else if (auto* f32 = std::get_if<FieldRef<uint32_t>>(&s.field))
        f32->get(draft_) = static_cast<uint32_t>(v);
    else if (auto* f64 = std::get_if<FieldRef<uint64_t>>(&s.field))
        f64->get(draft_) = v;
    else
        table_bug(s, "a number needs an integer field");
    return {};
}

Result<void> Builder::store_string(const Setting& s, std::string_view text, const Origin& origin) {
    if (auto ok = check_text(text); !ok) return origin.error(ok.error().message());
    if (s.type == Type::kEnum &&
        std::find(s.choices.begin(), s.choices.end(), text) == s.choices.end())
        return origin.error("expected " + describe_type(s) + ", got " + shown(text));
    bool resolve = s.type == Type::kPath && !text.empty() && text != "-";
    std::string value = resolve ? resolve_path(text, origin.base_dir) : std::string(text);
    if (s.check)  // a path is checked where it leads
        if (auto ok = s.check(value); !ok) return origin.error(ok.error().message());
    auto* f = std::get_if<FieldRef<std::string>>(&s.field);
    if (!f) table_bug(s, "a string needs a string field");
    f->get(draft_) = std::move(value);
    return {};
}

Result<void> Builder::set_items(const Setting& s, const std::vector<Item<std::string>>& items,
                                const Origin& list_origin) {
    if (s.type == Type::kListenList) {
        std::vector<Item<ListenSpec>> listeners;
        for (const auto& item : items) {
            if (auto ok = check_text(item.value); !ok)
                return item.origin.error(ok.error().message());
            auto spec = parse_address(item.value, item.origin.base_dir);
            if (!spec) return item.origin.error(spec.error().message());
            spec->backlog = 0;  // the top-level backlog, in finish()
            listeners.push_back({std::move(*spec), item.origin});
        }
        return set_listen(std::move(listeners), list_origin);
    }
    auto* f = std::get_if<FieldRef<std::vector<std::string>>>(&s.field);
    if (s.type != Type::kStringList || !f) table_bug(s, "a list needs a list field");
    std::vector<std::string> values;
    for (const auto& item : items) {
        if (item.value.empty()) return item.origin.error("empty list item");
        if (auto ok = check_text(item.value); !ok) return item.origin.error(ok.error().message());
        if (s.check)
            if (auto ok = s.check(item.value); !ok) return item.origin.error(ok.error().message());
        values.push_back(item.value);
    }
    f->get(draft_) = std::move(values);
    mark_given(s, list_origin.layer);
    return {};
}

Result<void> Builder::set_listen(std::vector<Item<ListenSpec>> items, const Origin& list_origin) {
    if (items.empty()) return list_origin.error("at least one listener is required");
    for (auto& item : items)
        if (item.value.name.empty()) item.value.name = item.value.address;
    auto endpoint = [&](size_t i) { return endpoint_key(items[i].value); };
    if (auto dup = first_duplicate(items.size(), endpoint)) {
        const ListenSpec& a = items[dup->first].value;
        const ListenSpec& b = items[dup->second].value;
        if (a.address == b.address)
            return items[dup->second].origin.error("duplicate listen address " + shown(a.address));
        return items[dup->second].origin.error("duplicate listen address: " + shown(b.address) +
                                               " is the same endpoint as " + shown(a.address));
    }
    auto name = [&](size_t i) { return items[i].value.name; };
    if (auto dup = first_duplicate(items.size(), name))
        return items[dup->second].origin.error("duplicate listener name " +
                                               shown(items[dup->second].value.name));
    std::vector<ListenSpec> specs;
    for (auto& item : items) specs.push_back(std::move(item.value));
    draft_.config.listen = std::move(specs);
    mark_given(*find_setting("listen"), list_origin.layer);
    return {};
}

void Builder::set_apps(std::vector<AppSpec> apps, Layer layer) {
    draft_.config.apps = std::move(apps);
    mark_given(*find_setting("apps"), layer);
}

Result<void> Builder::apply_env(const std::vector<std::string>& env, const std::string& cwd) {
    for (const std::string& entry : env) {
        size_t eq = entry.find('=');
        std::string_view key = std::string_view(entry).substr(0, eq);
        if (!key.starts_with("QUIVER_") || eq == std::string::npos) continue;
        std::string_view value = std::string_view(entry).substr(eq + 1);
        const Setting* s = find_env(key);
        if (!s) {
            // Tools may set their own QUIVER_* variables (QUIVER_BIN in the tests);
            // only one that looks like a misspelt setting is an error.
            std::vector<std::string> names;
            for (const Setting& t : settings()) names.push_back(env_name(t));
            std::string_view hint = closest(key, names);
            if (hint.empty()) continue;
            return invalid(std::string(key) + ": unknown setting (did you mean " +
                           std::string(hint) + "?)");
        }
        Origin origin{Layer::kEnv, std::string(key), cwd};
        if (auto r = set_text(*s, value, origin); !r) return r;
    }
    return {};
}

Result<void> Builder::apply_cli(const std::vector<std::pair<std::string, std::string>>& cli,
                                const std::string& cwd) {
    // A list flag given several times (-b a -b b) adds up; together they
    // replace the list from the lower layers.
    std::vector<std::vector<Item<std::string>>> lists(settings().size());
    std::vector<bool> has_list(settings().size(), false);
    for (const auto& [name, value] : cli) {
        const Setting* s = find_setting(name);
        if (!s) return invalid("--" + name + ": unknown setting");
        Origin origin{Layer::kCli, flag_of(*s), cwd};
        if (!is_list(s->type)) {
            if (auto r = set_text(*s, value, origin); !r) return r;
            continue;
        }
        has_list[index_of(*s)] = true;
        for (std::string& v : split_list(value))
            lists[index_of(*s)].push_back({std::move(v), origin});
    }
    for (const Setting& s : settings()) {
        if (!has_list[index_of(s)]) continue;
        Origin origin{Layer::kCli, flag_of(s), cwd};
        if (auto r = set_items(s, lists[index_of(s)], origin); !r) return r;
    }
    return {};
}

Config Builder::finish() && {
    Config& c = draft_.config;
    if (c.workers == 0) {
        const Setting& w = *find_setting("workers");
        c.workers = std::clamp(available_cpus(), static_cast<int>(w.min), static_cast<int>(w.max));
    }
    for (ListenSpec& l : c.listen)
        if (l.backlog == 0) l.backlog = draft_.backlog;
    if (!given_[index_of(*find_setting("database.enabled"))])
        c.database.enabled = database_touched_;
    return std::move(c);
}

int available_cpus() {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        int n = CPU_COUNT(&set);
        if (n > 0) return n;
    }
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    return online > 0 ? static_cast<int>(std::min<long>(online, 1 << 20)) : 1;
}

}  // namespace quiver::config
