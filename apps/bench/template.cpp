// SPDX-License-Identifier: MIT
// Template compilation (see template.hpp).
#include "template.hpp"

#include <utility>

namespace bench {

namespace {

std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
    return s;
}

// Message pieces are appended one by one: operator+ on a string literal and a
// temporary trips GCC 12's -Wrestrict false positive (GCC bug 105329).
[[noreturn]] void fail(std::size_t offset, std::string_view why, std::string_view name = {},
                       std::string_view rest = {}, std::string_view name2 = {},
                       std::string_view rest2 = {}) {
    std::string msg = "template: offset ";
    msg.append(std::to_string(offset)).append(": ").append(why).append(name).append(rest);
    msg.append(name2).append(rest2);
    throw TemplateError(msg);
}

}  // namespace

Template Template::compile(std::string_view src, std::span<const std::string_view> fields) {
    Template t;
    struct Open {
        std::size_t op;
        std::string_view name;
        std::size_t offset;
    };
    std::vector<Open> open;
    auto field_of = [&](std::string_view name, std::size_t offset) -> std::uint32_t {
        if (name.empty()) fail(offset, "empty tag name");
        for (std::size_t i = 0; i < fields.size(); ++i) {
            if (fields[i] == name) return static_cast<std::uint32_t>(i);
        }
        fail(offset, "unknown name '", name, "'");
    };
    auto add_text = [&](std::string_view s) {
        if (s.empty()) return;
        t.ops_.push_back(Op{Op::kText, 0, t.text_.size(), s.size()});
        t.text_.append(s);
    };

    std::size_t pos = 0;
    while (pos < src.size()) {
        const std::size_t open_at = src.find("{{", pos);
        if (open_at == std::string_view::npos) {
            add_text(src.substr(pos));
            break;
        }
        add_text(src.substr(pos, open_at - pos));
        const bool triple = src.substr(open_at, 3) == "{{{";
        const std::string_view closer = triple ? "}}}" : "}}";
        const std::size_t inner = open_at + (triple ? 3 : 2);
        const std::size_t close_at = src.find(closer, inner);
        if (close_at == std::string_view::npos) fail(open_at, "unterminated tag");
        std::string_view tag = src.substr(inner, close_at - inner);
        pos = close_at + closer.size();

        if (triple) {
            t.ops_.push_back(Op{Op::kRaw, field_of(trim(tag), open_at), 0, 0});
            continue;
        }
        const char sigil = tag.empty() ? '\0' : tag.front();
        switch (sigil) {
            case '!':
                break;
            case '&':
                t.ops_.push_back(Op{Op::kRaw, field_of(trim(tag.substr(1)), open_at), 0, 0});
                break;
            case '#': {
                const std::string_view name = trim(tag.substr(1));
                if (open.size() == kMaxDepth) fail(open_at, "sections nested too deep");
                open.push_back(Open{t.ops_.size(), name, open_at});
                t.ops_.push_back(Op{Op::kSection, field_of(name, open_at), 0, 0});
                break;
            }
            case '/': {
                const std::string_view name = trim(tag.substr(1));
                if (open.empty()) fail(open_at, "'", name, "' closes no section");
                if (open.back().name != name) {
                    fail(open_at, "'", name, "' closes section '", open.back().name, "'");
                }
                t.ops_[open.back().op].b = t.ops_.size();
                t.ops_.push_back(Op{Op::kEnd, t.ops_[open.back().op].field, 0, 0});
                open.pop_back();
                break;
            }
            case '^':
            case '>':
            case '=':
                fail(open_at, "unsupported tag '{{", std::string_view(&sigil, 1), "'");
            default:
                t.ops_.push_back(Op{Op::kEscaped, field_of(trim(tag), open_at), 0, 0});
        }
    }
    if (!open.empty()) {
        fail(open.back().offset, "unclosed section '", open.back().name, "'");
    }
    return t;
}

}  // namespace bench
