// SPDX-License-Identifier: MIT
// Template: compilation errors and rendering against a small model.
#include "apps/bench/template.hpp"

#include <doctest/doctest.h>

#include <array>
#include <string>
#include <vector>

using bench::Template;
using bench::TemplateError;

namespace {

// Fields: 0 "title" (scalar), 1 "rows" (section), 2 "name" (per row),
// 3 "tags" (section nested in rows), 4 "tag" (per tag of the current row).
constexpr std::array<std::string_view, 5> kFields = {"title", "rows", "name", "tags", "tag"};

struct Model {
    std::string title;
    std::vector<std::string> names;
    mutable std::size_t current_row = 0;  // set when a row's tag count is asked
    std::vector<std::vector<std::string>> tags;

    std::size_t items(std::uint32_t f) const {
        if (f == 1) return names.size();
        if (f == 3) return tags.empty() ? 0 : tags[current_row].size();
        return 0;
    }
    void write(std::uint32_t f, std::size_t item, bool escape, std::string& out) const {
        std::string v;
        if (f == 0) v = title;
        if (f == 2) {
            current_row = item;
            v = names[item];
        }
        if (f == 4) v = tags[current_row][item];
        for (char c : v) {
            if (escape && c == '<') {
                out += "&lt;";
            } else {
                out += c;
            }
        }
    }
};

std::string render(std::string_view src, const Model& m) {
    std::string out;
    Template::compile(src, kFields).render(out, m);
    return out;
}

}  // namespace

TEST_SUITE("bench.template") {
    TEST_CASE("text, escaped and raw fields") {
        Model m;
        m.title = "<b>";
        CHECK(render("plain text", m) == "plain text");
        CHECK(render("", m).empty());
        CHECK(render("[{{title}}]", m) == "[&lt;b>]");
        CHECK(render("[{{{title}}}]", m) == "[<b>]");
        CHECK(render("[{{& title }}]", m) == "[<b>]");
        CHECK(render("[{{ title }}]", m) == "[&lt;b>]");
        CHECK(render("a{{! a comment }}b", m) == "ab");
        CHECK(render("{ {title} }", m) == "{ {title} }");
    }

    TEST_CASE("sections repeat once per item, and vanish when empty") {
        Model m;
        m.names = {"x", "<y>", "z"};
        CHECK(render("<ul>{{#rows}}<li>{{name}}</li>{{/rows}}</ul>", m) ==
              "<ul><li>x</li><li>&lt;y></li><li>z</li></ul>");
        m.names.clear();
        CHECK(render("<ul>{{#rows}}<li>{{name}}</li>{{/rows}}</ul>", m) == "<ul></ul>");
        CHECK(render("{{#rows}}{{/rows}}end", m) == "end");
    }

    TEST_CASE("nested sections see the innermost item") {
        Model m;
        m.names = {"a", "b"};
        m.tags = {{"1", "2"}, {"3"}};
        CHECK(render("{{#rows}}{{name}}:{{#tags}}{{tag}},{{/tags}};{{/rows}}", m) ==
              "a:1,2,;b:3,;");
    }

    TEST_CASE("a compiled template renders again and again the same way") {
        Model m;
        m.names = {"p", "q"};
        const Template t = Template::compile("{{#rows}}{{name}}{{/rows}}", kFields);
        CHECK(t.size() == 3);
        for (int i = 0; i < 3; ++i) {
            std::string out;
            t.render(out, m);
            CHECK(out == "pq");
        }
    }

    TEST_CASE("compile errors name the offset and the problem") {
        auto error_of = [](std::string_view src) -> std::string {
            try {
                (void)Template::compile(src, kFields);
            } catch (const TemplateError& e) {
                return e.what();
            }
            return "no error";
        };
        CHECK(error_of("ab{{nope}}") == "template: offset 2: unknown name 'nope'");
        CHECK(error_of("{{#rows}}x") == "template: offset 0: unclosed section 'rows'");
        CHECK(error_of("{{#rows}}{{/title}}") ==
              "template: offset 9: 'title' closes section 'rows'");
        CHECK(error_of("{{/rows}}") == "template: offset 0: 'rows' closes no section");
        CHECK(error_of("x{{title") == "template: offset 1: unterminated tag");
        CHECK(error_of("{{{title}}") == "template: offset 0: unterminated tag");
        CHECK(error_of("{{}}") == "template: offset 0: empty tag name");
        CHECK(error_of("{{^rows}}{{/rows}}") == "template: offset 0: unsupported tag '{{^'");
        CHECK(error_of("{{> partial}}") == "template: offset 0: unsupported tag '{{>'");
        std::string deep;
        for (int i = 0; i < 9; ++i) deep += "{{#rows}}";
        CHECK(error_of(deep) == "template: offset 72: sections nested too deep");
    }
}
