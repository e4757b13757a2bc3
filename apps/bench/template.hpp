// SPDX-License-Identifier: MIT
// Template: a small Mustache-like page template, compiled once into a list of
// operations and rendered many times against a model without parsing again.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace bench {

/// Thrown by Template::compile: "template: offset 42: unclosed section 'rows'".
class TemplateError : public std::invalid_argument {
public:
    using std::invalid_argument::invalid_argument;
};

/// Tags, a subset of Mustache:
///   {{name}}              the field, HTML-escaped
///   {{{name}}}, {{&name}} the field, verbatim
///   {{#name}}...{{/name}} the enclosed part once per item of the list `name`
///                         (sections nest up to kMaxDepth deep)
///   {{!comment}}          nothing
/// Everything else is copied as is. Tag names may be padded with spaces.
/// Names are resolved when compiling, against the list of fields the model
/// offers, so a misspelt name is a compile error, not an empty string.
///
/// A model is any type with
///   std::size_t items(std::uint32_t field) const;   // a section's item count
///   void write(std::uint32_t field, std::size_t item, bool escape,
///              std::string& out) const;            // appends one field
/// where `field` is the name's index in the list given to compile() and `item`
/// the index of the innermost section's current item (0 outside sections).
class Template {
public:
    static constexpr std::size_t kMaxDepth = 8;

    Template() = default;

    /// Parses `source`; `fields` lists the names tags may use. Throws
    /// TemplateError naming the offset and the problem.
    static Template compile(std::string_view source, std::span<const std::string_view> fields);

    /// Appends the rendered page to `out`.
    template <typename Model>
    void render(std::string& out, const Model& model) const {
        struct Frame {
            std::size_t begin;  // the section op
            std::size_t item;
            std::size_t count;
        };
        Frame stack[kMaxDepth];
        std::size_t depth = 0;
        std::size_t pc = 0;
        while (pc < ops_.size()) {
            const Op& op = ops_[pc];
            switch (op.kind) {
                case Op::kText:
                    out.append(text_, op.a, op.b);
                    break;
                case Op::kEscaped:
                case Op::kRaw:
                    model.write(op.field, depth == 0 ? 0 : stack[depth - 1].item,
                                op.kind == Op::kEscaped, out);
                    break;
                case Op::kSection: {
                    const std::size_t n = model.items(op.field);
                    if (n == 0) {
                        pc = op.b;  // the matching end; skipped below
                        break;
                    }
                    stack[depth++] = Frame{pc, 0, n};
                    break;
                }
                case Op::kEnd: {
                    Frame& f = stack[depth - 1];
                    if (++f.item < f.count) {
                        pc = f.begin;  // the body starts after the section op
                    } else {
                        --depth;
                    }
                    break;
                }
            }
            ++pc;
        }
    }

    /// The number of operations (for tests).
    std::size_t size() const noexcept { return ops_.size(); }

private:
    struct Op {
        enum Kind : std::uint8_t { kText, kEscaped, kRaw, kSection, kEnd };
        Kind kind;
        std::uint32_t field;
        std::size_t a;  // text: offset in text_
        std::size_t b;  // text: length; section: index of its kEnd
    };

    std::string text_;  // the literal parts, concatenated
    std::vector<Op> ops_;
};

}  // namespace bench
