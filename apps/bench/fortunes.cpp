// SPDX-License-Identifier: MIT
// The /fortunes page (see fortunes.hpp).
#include "fortunes.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <quiver/text.hpp>

namespace bench {

namespace {

constexpr std::uint32_t kFieldFortunes = 0;
constexpr std::uint32_t kFieldId = 1;
constexpr std::uint32_t kFieldMessage = 2;
constexpr std::array<std::string_view, 3> kFields = {"fortunes", "id", "message"};

// The template's view of a list of fortunes.
struct Model {
    std::span<const Fortune> rows;

    std::size_t items(std::uint32_t field) const noexcept {
        return field == kFieldFortunes ? rows.size() : 0;
    }
    void write(std::uint32_t field, std::size_t item, bool escape, std::string& out) const {
        if (item >= rows.size()) return;  // a field used outside the section
        const Fortune& f = rows[item];
        if (field == kFieldId) {
            char buf[12];
            const auto r = std::to_chars(buf, buf + sizeof buf, f.id);
            out.append(buf, r.ptr);
        } else if (field == kFieldMessage) {
            if (escape) {
                quiver::html::escape(out, f.message);
            } else {
                out.append(f.message);
            }
        }
    }
};

}  // namespace

void add_and_sort(std::vector<Fortune>& fortunes) {
    fortunes.push_back(kAddedFortune);
    // string_view compares with char_traits<char>::compare, i.e. memcmp:
    // unsigned bytes.
    std::sort(fortunes.begin(), fortunes.end(),
              [](const Fortune& a, const Fortune& b) { return a.message < b.message; });
}

FortunesPage::FortunesPage(std::string_view source)
    : template_(Template::compile(source, kFields)) {}

void FortunesPage::render(std::string& out, std::span<const Fortune> fortunes) const {
    std::size_t bytes = 256;
    for (const Fortune& f : fortunes) bytes += 32 + f.message.size() + f.message.size() / 4;
    out.reserve(out.size() + bytes);
    template_.render(out, Model{fortunes});
}

}  // namespace bench
