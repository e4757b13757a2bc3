// SPDX-License-Identifier: MIT
// The TechEmpower query-count rule (see query_count.hpp).
#include "query_count.hpp"

#include <cstddef>
#include <quiver/text.hpp>

namespace bench {

std::optional<std::string_view> find_param(std::string_view query, std::string_view name) noexcept {
    while (!query.empty()) {
        const std::size_t amp = query.find('&');
        const std::string_view pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
        const std::size_t eq = pair.find('=');
        if (!quiver::decoded_equals(pair.substr(0, eq), name, true)) continue;
        return eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    }
    return std::nullopt;
}

namespace {

int hex_digit(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// Decodes one byte of a form-urlencoded value at v[i] and advances i.
char next_byte(std::string_view v, std::size_t& i) noexcept {
    const char c = v[i];
    if (c == '%' && i + 2 < v.size()) {
        const int hi = hex_digit(v[i + 1]);
        const int lo = hex_digit(v[i + 2]);
        if (hi >= 0 && lo >= 0) {
            i += 3;
            return static_cast<char>(hi * 16 + lo);
        }
    }
    ++i;
    return c == '+' ? ' ' : c;
}

}  // namespace

int clamp_count(std::string_view raw) noexcept {
    std::size_t i = 0;
    if (i == raw.size()) return kMinQueries;
    char c = next_byte(raw, i);
    bool negative = false;
    if (c == '-' || c == '+') {
        negative = c == '-';
        if (i == raw.size()) return kMinQueries;
        c = next_byte(raw, i);
    }
    long value = 0;  // saturates just past kMaxQueries: the digits keep being checked
    for (;;) {
        if (c < '0' || c > '9') return kMinQueries;
        if (value <= kMaxQueries) value = value * 10 + (c - '0');
        if (i == raw.size()) break;
        c = next_byte(raw, i);
    }
    if (negative || value < kMinQueries) return kMinQueries;
    return value > kMaxQueries ? kMaxQueries : static_cast<int>(value);
}

int query_count(std::string_view query, std::string_view name) noexcept {
    const auto v = find_param(query, name);
    return v ? clamp_count(*v) : kMinQueries;
}

int query_count(std::string_view query, std::string_view first, std::string_view second) noexcept {
    auto v = find_param(query, first);
    if (!v) v = find_param(query, second);
    return v ? clamp_count(*v) : kMinQueries;
}

}  // namespace bench
