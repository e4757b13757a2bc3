// SPDX-License-Identifier: MIT
// The YAML side of the loader, and the only file that includes yaml-cpp:
// walks the document through const nodes, converts each value to the type the
// settings table declares, and turns app `settings` subtrees into JSON text.
#include "server/common/config/load.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>

#include "server/common/config/builder.hpp"
#include "server/common/config/json.hpp"
#include "server/common/config/values.hpp"

namespace quiver {

namespace {

using namespace config;

constexpr size_t kMaxFileSize = 16u << 20;
constexpr size_t kMaxJsonSize = 1u << 20;  // one app's settings, as JSON
constexpr int kMaxDepth = 64;

constexpr std::array<std::string_view, 5> kListenKeys = {"address", "protocol", "backlog",
                                                         "mode", "name"};
constexpr std::array<std::string_view, 4> kAppKeys = {"name", "plugin", "mount", "settings"};

std::string_view kind_of(const YAML::Node& n) {
    if (n.IsMap()) return "a mapping";
    if (n.IsSequence()) return "a list";
    if (n.IsNull()) return "nothing";
    return "a scalar";
}

std::string hint(std::string_view suggestion) {
    return suggestion.empty() ? "" : " (did you mean " + std::string(suggestion) + "?)";
}

// ---- the reader

class Reader {
public:
    Reader(Builder& builder, std::string file, std::string base_dir)
        : builder_(builder), file_(std::move(file)), base_(std::move(base_dir)) {}

    Result<void> read(std::string_view text);

private:
    std::string at(const YAML::Mark& m) const {
        if (m.is_null()) return file_;
        return file_ + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
    }
    Origin origin(const YAML::Mark& m, const std::string& path) const {
        return Origin{Layer::kFile, at(m) + ": " + path, base_};
    }
    Unexpected<Error> fail(const YAML::Mark& m, const std::string& path,
                           std::string_view what) const {
        return origin(m, path).error(what);
    }
    // A null value's mark may point past it; its key's mark does not.
    static YAML::Mark value_mark(const YAML::Node& value, const YAML::Node& key) {
        return value.IsNull() || value.Mark().is_null() ? key.Mark() : value.Mark();
    }

    template <typename Fn>
    Result<void> each_entry(const YAML::Node& map, const std::string& prefix, Fn&& fn);
    Result<std::string> scalar(const YAML::Node& value, const YAML::Node& key,
                               const std::string& path, std::string_view expected);

    Result<void> read_root(const YAML::Node& root);
    Result<void> read_section(const std::string& name, const YAML::Node& value);
    Result<void> read_setting(const Setting& s, const YAML::Node& key, const YAML::Node& value,
                              const std::string& path);
    Result<void> read_string_list(const Setting& s, const YAML::Node& key,
                                  const YAML::Node& value, const std::string& path);
    Result<void> read_listen(const Setting& s, const YAML::Node& key, const YAML::Node& value,
                             const std::string& path);
    Result<Item<ListenSpec>> read_listener(const YAML::Node& item, const std::string& path);
    Result<void> read_apps(const YAML::Node& key, const YAML::Node& value,
                           const std::string& path);
    Result<void> to_json(const YAML::Node& n, const std::string& path, int depth,
                         std::string& out);
    Result<void> scalar_json(const YAML::Node& n, const std::string& path, std::string& out);

    Builder& builder_;
    std::string file_;
    std::string base_;
};

Result<void> Reader::read(std::string_view text) {
    try {
        std::vector<YAML::Node> docs = YAML::LoadAll(std::string(text));
        if (docs.size() > 1)
            return invalid(at(docs[1].Mark()) + ": only one YAML document is allowed");
        if (docs.empty()) return {};
        return read_root(docs[0]);
    } catch (const YAML::Exception& e) {
        return invalid(at(e.mark) + ": " + e.msg);
    } catch (const std::exception& e) {
        return invalid(file_ + ": " + e.what());
    }
}

// Calls fn(name, key, value) for each entry of `map`; refuses keys that are not
// plain scalars and keys given twice (yaml-cpp keeps both).
template <typename Fn>
Result<void> Reader::each_entry(const YAML::Node& map, const std::string& prefix, Fn&& fn) {
    std::map<std::string, int> seen;  // key -> line
    for (auto it = map.begin(); it != map.end(); ++it) {
        // Copies: it-> points into a proxy that dies with the expression.
        const YAML::Node key = it->first;
        const YAML::Node value = it->second;
        if (!key.IsScalar())
            return fail(key.Mark(), prefix.empty() ? "(key)" : prefix.substr(0, prefix.size() - 1),
                        "keys must be names, got " + std::string(kind_of(key)));
        const std::string& name = key.Scalar();
        auto [pos, fresh] = seen.emplace(name, key.Mark().line + 1);
        if (!fresh)
            return fail(key.Mark(), prefix + name,
                        "duplicate key (first at line " + std::to_string(pos->second) + ")");
        if (auto r = fn(name, key, value); !r) return r;
    }
    return {};
}

Result<std::string> Reader::scalar(const YAML::Node& value, const YAML::Node& key,
                                   const std::string& path, std::string_view expected) {
    if (value.IsNull())
        return fail(key.Mark(), path, "missing value: expected " + std::string(expected));
    if (!value.IsScalar())
        return fail(value.Mark(), path, "expected " + std::string(expected) + ", got " +
                                            std::string(kind_of(value)));
    if (auto ok = check_text(value.Scalar()); !ok)
        return fail(value.Mark(), path, ok.error().message());
    return value.Scalar();
}

Result<void> Reader::read_root(const YAML::Node& root) {
    if (root.IsNull()) return {};  // only comments: all defaults
    if (!root.IsMap())
        return fail(root.Mark(), "(top level)",
                    "expected a mapping of settings, got " + std::string(kind_of(root)));
    return each_entry(root, "", [&](const std::string& name, const YAML::Node& key,
                                    const YAML::Node& value) -> Result<void> {
        const Setting* s = find_setting(name);
        if (s && name.find('.') == std::string::npos) return read_setting(*s, key, value, name);
        if (is_section(name)) return read_section(name, value);
        if (s) {
            size_t dot = name.find('.');
            return fail(key.Mark(), name, "unknown key; write " + name.substr(dot + 1) +
                                              " inside a " + name.substr(0, dot) + ": mapping");
        }
        // Hints: other servers' names, a key that belongs in a section, a typo.
        for (const Setting& t : settings())
            for (std::string_view alias : split_list(t.aliases))
                if (alias == name)
                    return fail(key.Mark(), name, "unknown key; quiver calls this " +
                                                      std::string(t.name));
        std::vector<std::string> names;
        for (const Setting& t : settings()) {
            std::string_view n = t.name;
            size_t dot = n.find('.');
            names.emplace_back(n.substr(0, dot));
            if (dot != n.npos && n.substr(dot + 1) == name)
                return fail(key.Mark(), name, "unknown key (did you mean " + std::string(n) + "?)");
        }
        return fail(key.Mark(), name, "unknown key" + hint(closest(name, names)));
    });
}

Result<void> Reader::read_section(const std::string& name, const YAML::Node& value) {
    if (name == "database") builder_.touch_database();
    if (value.IsNull()) return {};  // "database:" alone turns the pool on with defaults
    if (!value.IsMap())
        return fail(value.Mark(), name, "expected a mapping, got " + std::string(kind_of(value)));
    return each_entry(value, name + ".", [&](const std::string& sub, const YAML::Node& k,
                                             const YAML::Node& v) -> Result<void> {
        std::string path = name + "." + sub;
        if (const Setting* s = find_setting(path)) return read_setting(*s, k, v, path);
        std::vector<std::string_view> subs;
        for (const Setting& t : settings())
            if (t.name.starts_with(name + ".")) subs.push_back(t.name.substr(name.size() + 1));
        return fail(k.Mark(), path, "unknown key" + hint(closest(sub, subs)));
    });
}

Result<void> Reader::read_setting(const Setting& s, const YAML::Node& key, const YAML::Node& value,
                                  const std::string& path) {
    switch (s.type) {
    case Type::kListenList: return read_listen(s, key, value, path);
    case Type::kAppList: return read_apps(key, value, path);
    case Type::kStringList: return read_string_list(s, key, value, path);
    default: break;
    }
    if (value.IsNull()) {
        bool text = s.type == Type::kString || s.type == Type::kPath;
        return fail(key.Mark(), path, "missing value: expected " + describe_type(s) +
                                          (text ? " (write \"\" for an empty one)" : ""));
    }
    if (!value.IsScalar())
        return fail(value.Mark(), path, "expected " + describe_type(s) + ", got " +
                                            std::string(kind_of(value)));
    return builder_.set_text(s, value.Scalar(), origin(value.Mark(), path));
}

Result<void> Reader::read_string_list(const Setting& s, const YAML::Node& key,
                                      const YAML::Node& value, const std::string& path) {
    if (value.IsScalar()) return builder_.set_text(s, value.Scalar(), origin(value.Mark(), path));
    if (!value.IsSequence())
        return fail(value_mark(value, key), path,
                    "expected a list or a comma-separated string, got " +
                        std::string(kind_of(value)));
    std::vector<Item<std::string>> items;
    size_t i = 0;
    for (const YAML::Node& item : value) {
        std::string item_path = path + "[" + std::to_string(i++) + "]";
        auto text = scalar(item, key, item_path, "a string");
        if (!text) return unexpected(text.error());
        items.push_back({std::move(*text), origin(item.Mark(), item_path)});
    }
    return builder_.set_items(s, items, origin(value.Mark(), path));
}

Result<void> Reader::read_listen(const Setting& s, const YAML::Node& key, const YAML::Node& value,
                                 const std::string& path) {
    if (value.IsScalar()) return builder_.set_text(s, value.Scalar(), origin(value.Mark(), path));
    if (!value.IsSequence())
        return fail(value_mark(value, key), path,
                    "expected a list of listeners, got " + std::string(kind_of(value)));
    std::vector<Item<ListenSpec>> items;
    size_t i = 0;
    for (const YAML::Node& item : value) {
        auto listener = read_listener(item, path + "[" + std::to_string(i++) + "]");
        if (!listener) return unexpected(listener.error());
        items.push_back(std::move(*listener));
    }
    return builder_.set_listen(std::move(items), origin(value.Mark(), path));
}

Result<Item<ListenSpec>> Reader::read_listener(const YAML::Node& item, const std::string& path) {
    // Address errors point at the address; later ones (duplicates) at the item.
    auto address_at = [&](const YAML::Node& n, const std::string& p) -> Result<Item<ListenSpec>> {
        auto spec = parse_address(n.Scalar(), base_);
        if (!spec) return fail(n.Mark(), p, spec.error().message());
        spec->backlog = 0;  // the top-level backlog unless given
        return Item<ListenSpec>{std::move(*spec), origin(item.Mark(), path)};
    };
    if (item.IsScalar()) {
        if (auto ok = check_text(item.Scalar()); !ok)
            return fail(item.Mark(), path, ok.error().message());
        return address_at(item, path);
    }
    if (!item.IsMap())
        return fail(item.Mark(), path,
                    "expected an address or a mapping with one, got " + std::string(kind_of(item)));
    std::optional<Item<ListenSpec>> result;
    ListenSpec extra;
    bool has_mode = false;
    bool has_backlog = false;
    YAML::Mark mode_mark;
    const Setting& backlog = *find_setting("backlog");
    auto r = each_entry(item, path + ".", [&](const std::string& name, const YAML::Node& k,
                                              const YAML::Node& v) -> Result<void> {
        std::string p = path + "." + name;
        if (std::find(kListenKeys.begin(), kListenKeys.end(), name) == kListenKeys.end())
            return fail(k.Mark(), p, "unknown key" + hint(closest(name, kListenKeys)));
        auto text = scalar(v, k, p, name == "address" ? "an address" : "a value");
        if (!text) return unexpected(text.error());
        if (name == "address") {
            auto a = address_at(v, p);
            if (!a) return unexpected(a.error());
            result = std::move(*a);
        } else if (name == "protocol") {
            if (*text != "http" && *text != "uwsgi")
                return fail(v.Mark(), p, "expected http or uwsgi, got " + shown(*text));
            extra.protocol = *text == "http" ? Protocol::kHttp : Protocol::kUwsgi;
        } else if (name == "backlog") {
            auto n = parse_uint(*text);
            if (!n) return fail(v.Mark(), p, n.error().message());
            if (*n < backlog.min || *n > backlog.max)
                return fail(v.Mark(), p, "must be in " + std::to_string(backlog.min) + ".." +
                                             std::to_string(backlog.max) + ", got " + *text);
            extra.backlog = static_cast<int>(*n);
            has_backlog = true;
        } else if (name == "mode") {
            auto m = parse_mode(*text);
            if (!m) return fail(v.Mark(), p, m.error().message());
            extra.mode = *m;
            has_mode = true;
            mode_mark = v.Mark();
        } else {
            if (auto ok = check_listener_name(*text); !ok)
                return fail(v.Mark(), p, ok.error().message());
            extra.name = *text;
        }
        return {};
    });
    if (!r) return unexpected(r.error());
    if (!result) return fail(item.Mark(), path + ".address", "required key is missing");
    if (has_mode && !result->value.is_unix)
        return fail(mode_mark, path + ".mode", "only a unix socket has a mode");
    ListenSpec& spec = result->value;
    spec.protocol = extra.protocol;
    spec.backlog = has_backlog ? extra.backlog : 0;
    spec.mode = extra.mode;
    spec.name = extra.name;
    return std::move(*result);
}

Result<void> Reader::read_apps(const YAML::Node& key, const YAML::Node& value,
                               const std::string& path) {
    if (!value.IsSequence())
        return fail(value_mark(value, key), path, "expected a list of apps (write [] for none), "
                                                  "got " + std::string(kind_of(value)));
    struct Read {
        AppSpec spec;
        Origin name_at;
        Origin mount_at;
        bool named = false;
    };
    std::vector<Read> apps;
    size_t i = 0;
    for (const YAML::Node& item : value) {
        std::string p = path + "[" + std::to_string(i++) + "]";
        YAML::Mark item_mark = item.IsNull() ? value.Mark() : item.Mark();
        if (!item.IsMap())
            return fail(item_mark, p, "expected a mapping with a plugin, got " +
                                          std::string(kind_of(item)));
        Read app;
        app.mount_at = origin(item_mark, p + ".mount");
        std::optional<YAML::Mark> plugin_mark;
        auto r = each_entry(item, p + ".", [&](const std::string& name, const YAML::Node& k,
                                               const YAML::Node& v) -> Result<void> {
            std::string kp = p + "." + name;
            if (std::find(kAppKeys.begin(), kAppKeys.end(), name) == kAppKeys.end())
                return fail(k.Mark(), kp, "unknown key" + hint(closest(name, kAppKeys)));
            if (name == "settings") {
                if (!v.IsMap())
                    return fail(value_mark(v, k), kp,
                                "expected a mapping, got " + std::string(kind_of(v)));
                std::string json;
                if (auto j = to_json(v, kp, 0, json); !j) return j;
                app.spec.settings_json = std::move(json);
                return {};
            }
            auto text = scalar(v, k, kp, name == "plugin" ? "a file path" : "a string");
            if (!text) return unexpected(text.error());
            if (name == "plugin") {
                std::string file = resolve_path(*text, base_);
                struct stat st;
                if (stat(file.c_str(), &st) != 0) {
                    int err = errno;
                    return unexpected(err == ENOENT ? Errc::kNotFound : Errc::kSystem, {},
                                      at(v.Mark()) + ": " + kp + ": " + file + ": " +
                                          std::strerror(err));
                }
                if (!S_ISREG(st.st_mode))
                    return fail(v.Mark(), kp, file + ": not a regular file");
                app.spec.plugin = std::move(file);
                plugin_mark = v.Mark();
            } else if (name == "name") {
                if (auto ok = check_app_name(*text); !ok)
                    return fail(v.Mark(), kp, ok.error().message());
                app.spec.name = *text;
                app.name_at = origin(v.Mark(), kp);
                app.named = true;
            } else {
                if (auto ok = check_mount(*text); !ok)
                    return fail(v.Mark(), kp, ok.error().message());
                app.spec.mount = *text;
                app.mount_at = origin(v.Mark(), kp);
            }
            return {};
        });
        if (!r) return r;
        if (!plugin_mark) return fail(item_mark, p + ".plugin", "required key is missing");
        if (!app.named) {
            std::string file = std::filesystem::path(app.spec.plugin).filename().string();
            app.spec.name = file.substr(0, file.find('.'));
            app.name_at = origin(*plugin_mark, p + ".plugin");
            if (!check_app_name(app.spec.name))
                return app.name_at.error("cannot name the app after " + shown(file) +
                                         ": give it a name");
        }
        apps.push_back(std::move(app));
    }
    if (auto dup = first_duplicate(apps.size(), [&](size_t k) { return apps[k].spec.name; })) {
        const Read& later = apps[dup->second];
        std::string what = "app name " + shown(later.spec.name) + " is already used by " + path +
                           "[" + std::to_string(dup->first) + "]";
        if (!later.named) what += " (the name defaults to the plugin's file name: give one)";
        return later.name_at.error(what);
    }
    if (auto dup = first_duplicate(apps.size(), [&](size_t k) { return apps[k].spec.mount; }))
        return apps[dup->second].mount_at.error(
            "mount " + shown(apps[dup->second].spec.mount) + " is already used by app " +
            shown(apps[dup->first].spec.name));
    std::vector<AppSpec> specs;
    for (Read& app : apps) specs.push_back(std::move(app.spec));
    builder_.set_apps(std::move(specs), Layer::kFile);
    return {};
}

bool collection_tag_ok(const YAML::Node& n) {
    const std::string& tag = n.Tag();
    return tag.empty() || tag == "?" || tag == "!" ||
           tag == (n.IsMap() ? "tag:yaml.org,2002:map" : "tag:yaml.org,2002:seq");
}

Result<void> Reader::to_json(const YAML::Node& n, const std::string& path, int depth,
                             std::string& out) {
    if (depth > kMaxDepth) return fail(n.Mark(), path, "nested more than 64 levels deep");
    if (out.size() > kMaxJsonSize) return fail(n.Mark(), path, "larger than 1MiB as JSON");
    if (n.IsNull()) {
        out += n.Tag() == "tag:yaml.org,2002:str" ? "\"\"" : "null";
        return {};
    }
    if (n.IsScalar()) return scalar_json(n, path, out);
    if (!collection_tag_ok(n))
        return fail(n.Mark(), path, "unsupported tag " + shown(n.Tag()));
    if (n.IsSequence()) {
        out += '[';
        size_t i = 0;
        for (const YAML::Node& item : n) {
            if (i) out += ", ";
            if (auto r = to_json(item, path + "[" + std::to_string(i++) + "]", depth + 1, out); !r)
                return r;
        }
        out += ']';
        return {};
    }
    out += '{';
    bool first = true;
    auto r = each_entry(n, path + ".", [&](const std::string& name, const YAML::Node& k,
                                           const YAML::Node& v) -> Result<void> {
        if (auto ok = check_utf8(name); !ok)
            return fail(k.Mark(), path, "a key is " + ok.error().message());
        if (!first) out += ", ";
        first = false;
        append_quoted(out, name);
        out += ": ";
        return to_json(v, path + "." + name, depth + 1, out);
    });
    if (!r) return r;
    out += '}';
    return {};
}

Result<void> Reader::scalar_json(const YAML::Node& n, const std::string& path, std::string& out) {
    if (auto r = append_scalar_json(out, n.Tag(), n.Scalar()); !r)
        return fail(n.Mark(), path, r.error().message());
    return {};
}

Result<std::string> read_file(const std::string& path) {
    auto fail = [&](int err) {
        return unexpected(err == ENOENT ? Errc::kNotFound : Errc::kSystem, {},
                          path + ": " + std::strerror(err));
    };
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return fail(errno);
    struct stat st;
    if (fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) {
        int err = S_ISDIR(st.st_mode) ? EISDIR : errno;
        close(fd);
        return fail(err);
    }
    std::string text;
    char buf[65536];
    while (true) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            int err = errno;
            close(fd);
            return fail(err);
        }
        if (n == 0) break;
        text.append(buf, static_cast<size_t>(n));
        if (text.size() > kMaxFileSize) {
            close(fd);
            return invalid(path + ": larger than " + format_size(kMaxFileSize));
        }
    }
    close(fd);
    return text;
}

}  // namespace

Result<Config> load_config(const ConfigSources& src) try {
    auto cwd = current_dir();
    if (!cwd) return unexpected(cwd.error());
    Builder builder;
    std::string source;
    if (!src.path.empty()) {
        auto text = read_file(src.path);
        if (!text) return unexpected(text.error());
        source = resolve_path(src.path, *cwd);
        std::string base = std::filesystem::path(source).parent_path().string();
        Reader reader(builder, src.path, base);
        if (auto r = reader.read(*text); !r) return unexpected(r.error());
    }
    if (auto r = builder.apply_env(src.env, *cwd); !r) return unexpected(r.error());
    if (auto r = builder.apply_cli(src.cli, *cwd); !r) return unexpected(r.error());
    Config c = std::move(builder).finish();
    c.source = std::move(source);
    return c;
} catch (const std::exception& e) {  // bad_alloc: yaml-cpp's own are caught in Reader::read
    return unexpected(Errc::kSystem, {}, "loading the configuration: " + std::string(e.what()));
}

Result<Config> load_config_text(std::string_view yaml, std::string_view source_name,
                                const std::string& base_dir) try {
    std::string base = base_dir;
    if (std::filesystem::path(base).is_relative()) {
        auto cwd = current_dir();
        if (!cwd) return unexpected(cwd.error());
        base = resolve_path(base, *cwd);
    }
    Builder builder;
    Reader reader(builder, std::string(source_name), base);
    if (auto r = reader.read(yaml); !r) return unexpected(r.error());
    Config c = std::move(builder).finish();
    c.source = std::string(source_name);
    return c;
} catch (const std::exception& e) {
    return unexpected(Errc::kSystem, {}, "loading the configuration: " + std::string(e.what()));
}

}  // namespace quiver

namespace quiver {

// Lenient on purpose: `quiver reload` must reach the master even when the
// edited file does not validate, so that the master refuses it and says why.
std::string find_control_socket(const std::string& path) {
    if (const char* env = std::getenv("QUIVER_CONTROL_SOCKET"); env && *env) return env;
    if (path.empty()) return {};
    try {
        const YAML::Node root = YAML::LoadFile(path);
        if (!root.IsMap()) return {};
        const YAML::Node n = root["control_socket"];
        if (!n || !n.IsScalar()) return {};
        std::string p = n.Scalar();
        if (!p.empty() && p[0] != '/') {
            size_t slash = path.rfind('/');
            std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
            p = dir + "/" + p;
        }
        return p;
    } catch (const std::exception&) {
        return {};
    }
}

}  // namespace quiver
