// SPDX-License-Identifier: MIT
// YAML output from the settings table: dump_config() and the annotated
// defaults. Written by hand (no yaml-cpp) so the text is stable and canonical.
#include "server/common/config/emit.hpp"

#include <algorithm>

#include "server/common/config/builder.hpp"
#include "server/common/config/load.hpp"
#include "server/common/config/values.hpp"

namespace quiver::config {

namespace {

constexpr size_t kWidth = 80;

std::string_view section_of(std::string_view name) {
    size_t dot = name.find('.');
    return dot == name.npos ? std::string_view{} : name.substr(0, dot);
}

std::string_view key_of(std::string_view name) {
    size_t dot = name.find('.');
    return dot == name.npos ? name : name.substr(dot + 1);
}

struct Writer {
    std::string out;
    Style style;
    bool commented = false;  // the annotated database section

    // One line at `indent`, commented out when the section is.
    void line(size_t indent, std::string_view text) {
        if (commented) out += "# ";
        out.append(indent, ' ');
        out += text;
        out += '\n';
    }
    void doc(size_t indent, std::string_view text) {
        out += wrap(text, std::string(indent, ' ') + "# ", kWidth);
    }
};

std::string scalar_text(const Setting& s, const Draft& d) {
    if (auto* f = std::get_if<FieldRef<std::string>>(&s.field)) {
        const std::string& v = f->cget(d);
        return s.type == Type::kEnum ? v : quoted(v);
    }
    if (auto* f = std::get_if<FieldRef<bool>>(&s.field)) return f->cget(d) ? "true" : "false";
    uint64_t v = 0;
    if (auto* fi = std::get_if<FieldRef<int>>(&s.field)) v = static_cast<uint64_t>(fi->cget(d));
    if (auto* f32 = std::get_if<FieldRef<uint32_t>>(&s.field)) v = f32->cget(d);
    if (auto* f64 = std::get_if<FieldRef<uint64_t>>(&s.field)) v = f64->cget(d);
    switch (s.type) {
    case Type::kSize: return format_size(v);
    case Type::kDuration: return format_duration(v);
    case Type::kAutoInt: return v == 0 ? "auto" : std::to_string(v);
    default: return std::to_string(v);
    }
}

void emit_listen(Writer& w, size_t indent, const std::vector<ListenSpec>& listen) {
    w.line(indent, "listen:");
    for (const ListenSpec& l : listen) {
        w.line(indent + 2, "- address: " + quoted(l.address));
        w.line(indent + 4, std::string("protocol: ") +
                               (l.protocol == Protocol::kUwsgi ? "uwsgi" : "http"));
        if (w.style == Style::kAnnotated) continue;  // the rest are the defaults
        w.line(indent + 4, "backlog: " + std::to_string(l.backlog));
        if (l.is_unix) w.line(indent + 4, "mode: " + quoted(format_mode(l.mode)));
        w.line(indent + 4, "name: " + quoted(l.name));
    }
}

void emit_apps(Writer& w, size_t indent, const std::vector<AppSpec>& apps) {
    if (apps.empty()) {
        w.line(indent, "apps: []");
        if (w.style != Style::kAnnotated) return;
        w.doc(indent, "For example:\n"
                      "apps:\n"
                      "  - name: hello\n"
                      "    plugin: hello.so   # relative to this file's folder\n"
                      "    mount: /\n"
                      "    settings: {greeting: \"Hello, World!\"}");
        return;
    }
    w.line(indent, "apps:");
    for (const AppSpec& a : apps) {
        w.line(indent + 2, "- name: " + quoted(a.name));
        w.line(indent + 4, "plugin: " + quoted(a.plugin));
        w.line(indent + 4, "mount: " + quoted(a.mount));
        // The loader's JSON is also valid YAML flow syntax, and reads back the same.
        w.line(indent + 4, "settings: " + a.settings_json);
    }
}

void emit_setting(Writer& w, const Setting& s, const Draft& d) {
    size_t indent = section_of(s.name).empty() ? 0 : 2;
    std::string key(key_of(s.name));
    if (w.style == Style::kAnnotated) {
        w.out += '\n';
        std::string flags = s.short_flag.empty() ? std::string(s.flag)
                                                 : std::string(s.short_flag) + ", " +
                                                       std::string(s.flag);
        std::string how = s.flag.empty() ? "File only."
                                         : "Flag " + flags + ", variable " + env_name(s) + ".";
        w.doc(indent, std::string(s.doc) + " " + how);
        if (!s.long_doc.empty()) w.doc(indent, s.long_doc);
    }
    switch (s.type) {
    case Type::kListenList:
        emit_listen(w, indent, std::get<FieldRef<std::vector<ListenSpec>>>(s.field).cget(d));
        return;
    case Type::kAppList:
        emit_apps(w, indent, std::get<FieldRef<std::vector<AppSpec>>>(s.field).cget(d));
        return;
    case Type::kStringList: {
        std::string list = "[";
        for (const std::string& v : std::get<FieldRef<std::vector<std::string>>>(s.field).cget(d))
            list += (list.size() > 1 ? ", " : "") + quoted(v);
        w.line(indent, key + ": " + list + "]");
        return;
    }
    default: w.line(indent, key + ": " + scalar_text(s, d));
    }
}

}  // namespace

std::string wrap(std::string_view text, std::string_view prefix, size_t width) {
    std::string out;
    size_t start = 0;
    while (start <= text.size()) {
        size_t nl = text.find('\n', start);
        std::string_view line = text.substr(start, nl == text.npos ? text.npos : nl - start);
        std::string_view lead = line.substr(0, line.find_first_not_of(' '));
        if (line.starts_with(std::string(lead) + "- ") || line.starts_with("- "))
            lead = line.substr(0, lead.size() + 2);
        std::string current = std::string(prefix) + std::string(line.substr(0, lead.size()));
        std::string cont = std::string(prefix) + std::string(lead.size(), ' ');
        size_t base = current.size();
        line.remove_prefix(lead.size());
        // Words never split; a word longer than the line stands alone.
        while (!line.empty()) {
            size_t sp = line.find(' ');
            std::string_view word = line.substr(0, sp);
            if (current.size() > base && current.size() + 1 + word.size() > width) {
                out += current + "\n";
                current = cont;
                base = current.size();
            }
            if (current.size() > base) current += ' ';
            current += word;
            line = sp == line.npos ? std::string_view{} : line.substr(sp + 1);
        }
        while (!current.empty() && current.back() == ' ') current.pop_back();
        out += current + "\n";
        if (nl == text.npos) break;
        start = nl + 1;
    }
    return out;
}

std::string emit_yaml(const Draft& draft, Style style) {
    Writer w{{}, style};
    if (style == Style::kResolved) {
        w.out += "# quiver: resolved configuration; every setting explicit, paths absolute.\n";
        if (!draft.config.source.empty())
            w.out += "# source: " + quoted(draft.config.source) + "\n";
    } else {
        w.doc(0, "quiver.yaml: every setting with its default value. It loads as it is; "
                 "uncomment and change what you need.");
        w.doc(0, "Generated from server/common/config/settings.cpp by conf/regenerate; do not "
                 "edit. The full reference is conf/settings.md (quiver --settings-reference).");
        w.doc(0, "Precedence: these defaults < this file < QUIVER_* variables < command-line "
                 "flags. Sizes are bytes or take a unit: 64KiB (or 64k), 1MiB (1m), 1GiB (1g). "
                 "Durations take a unit: 500ms, 10s, 2m, 1h, 1d, or combine them (1m30s); a "
                 "bare number is seconds.");
    }
    std::string_view section;
    for (const Setting& s : settings()) {
        if (style == Style::kResolved && !s.dumped) continue;
        std::string_view sec = section_of(s.name);
        if (sec != section) {
            w.commented = false;
            if (style == Style::kAnnotated && sec == "database") {
                w.out += '\n';
                w.doc(0, "The database section is commented out: its mere presence turns the "
                         "PostgreSQL pool on.");
                w.commented = true;
            }
            if (!sec.empty()) {
                if (style == Style::kAnnotated) w.out += '\n';
                w.line(0, std::string(sec) + ":");
            }
            section = sec;
        }
        emit_setting(w, s, draft);
    }
    return w.out;
}

}  // namespace quiver::config

namespace quiver {

std::string dump_config(const Config& c) {
    config::Draft draft;
    draft.config = c;
    return config::emit_yaml(draft, config::Style::kResolved);
}

}  // namespace quiver
