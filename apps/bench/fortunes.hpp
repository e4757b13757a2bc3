// SPDX-License-Identifier: MIT
// The /fortunes page: the rows plus the one added at request time, sorted by
// message, rendered through the page template (compiled once per app).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "template.hpp"

namespace bench {

struct Fortune {
    std::int32_t id;
    std::string_view message;  // borrowed: the caller keeps the bytes alive
};

/// The fortune TechEmpower's rules add before sorting.
inline constexpr Fortune kAddedFortune{0, "Additional fortune added at request time."};

/// Appends kAddedFortune and sorts by message, bytewise (UTF-8 text sorts by
/// code point that way).
void add_and_sort(std::vector<Fortune>& fortunes);

/// The page template; fortunes are HTML-escaped.
inline constexpr std::string_view kFortunesTemplate =
    "<!DOCTYPE html><html><head><title>Fortunes</title></head><body><table>"
    "<tr><th>id</th><th>message</th></tr>"
    "{{#fortunes}}<tr><td>{{id}}</td><td>{{message}}</td></tr>{{/fortunes}}"
    "</table></body></html>";

class FortunesPage {
public:
    /// Compiles `source` (kFortunesTemplate by default); its tags may use the
    /// section `fortunes` and, inside it, `id` and `message`. Throws
    /// TemplateError.
    explicit FortunesPage(std::string_view source = kFortunesTemplate);

    /// Appends the page for `fortunes`, in the order given.
    void render(std::string& out, std::span<const Fortune> fortunes) const;

private:
    Template template_;
};

}  // namespace bench
