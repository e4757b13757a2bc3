// SPDX-License-Identifier: MIT
// World rows: JSON, id drawing, update parameters (see world.hpp).
#include "world.hpp"

#include <algorithm>
#include <bitset>
#include <cassert>
#include <charconv>

namespace bench {

namespace {

void append_int(std::string& out, std::int32_t v) {
    char buf[12];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
}

}  // namespace

void append_world(std::string& out, World w) {
    out.append("{\"id\":");
    append_int(out, w.id);
    out.append(",\"randomNumber\":");
    append_int(out, w.random_number);
    out.push_back('}');
}

void append_worlds(std::string& out, std::span<const World> rows) {
    // 39 bytes fit the longest row and its comma.
    out.reserve(out.size() + 2 + rows.size() * 39);
    out.push_back('[');
    for (std::size_t i = 0; i < rows.size(); ++i) {
        if (i != 0) out.push_back(',');
        append_world(out, rows[i]);
    }
    out.push_back(']');
}

void draw_distinct_ids(Rng& rng, std::span<std::int32_t> ids) noexcept {
    assert(ids.size() <= static_cast<std::size_t>(kWorldRows));
    std::bitset<kWorldRows + 1> taken;
    for (std::int32_t& id : ids) {
        std::int32_t v;
        do {
            v = rng.between(1, kWorldRows);
        } while (taken.test(static_cast<std::size_t>(v)));
        taken.set(static_cast<std::size_t>(v));
        id = v;
    }
    std::sort(ids.begin(), ids.end());
}

std::int32_t draw_new_number(Rng& rng, std::int32_t old) noexcept {
    std::int32_t v;
    do {
        v = rng.between(1, kWorldRows);
    } while (v == old);
    return v;
}

void append_update_arrays(std::string& ids, std::string& numbers, std::span<const World> rows) {
    ids.reserve(ids.size() + 2 + rows.size() * 12);
    numbers.reserve(numbers.size() + 2 + rows.size() * 12);
    ids.push_back('{');
    numbers.push_back('{');
    for (std::size_t i = 0; i < rows.size(); ++i) {
        if (i != 0) {
            ids.push_back(',');
            numbers.push_back(',');
        }
        append_int(ids, rows[i].id);
        append_int(numbers, rows[i].random_number);
    }
    ids.push_back('}');
    numbers.push_back('}');
}

void append_id_array(std::string& out, std::span<const World> rows) {
    out.reserve(out.size() + 2 + rows.size() * 6);
    out.push_back('{');
    for (std::size_t i = 0; i < rows.size(); ++i) {
        if (i != 0) out.push_back(',');
        append_int(out, rows[i].id);
    }
    out.push_back('}');
}

bool parse_int32(std::string_view text, std::int32_t& out) noexcept {
    const char* end = text.data() + text.size();
    const auto r = std::from_chars(text.data(), end, out);
    return !text.empty() && r.ec == std::errc() && r.ptr == end;
}

}  // namespace bench
