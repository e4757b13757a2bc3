// SPDX-License-Identifier: MIT
// Character classes of RFC 9110 §5.6 (token, field-vchar) as constexpr tables,
// shared by the request codecs and the response writer.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace quiver::worker::chars {

namespace detail {

constexpr std::array<bool, 256> make_tchar() {
    std::array<bool, 256> t{};
    for (int c = '0'; c <= '9'; ++c) t[c] = true;
    for (int c = 'a'; c <= 'z'; ++c) t[c] = true;
    for (int c = 'A'; c <= 'Z'; ++c) t[c] = true;
    for (char c : std::string_view("!#$%&'*+-.^_`|~")) t[static_cast<unsigned char>(c)] = true;
    return t;
}

// field-value bytes: VCHAR, obs-text, SP and HTAB (RFC 9110 §5.5).
constexpr std::array<bool, 256> make_field_value() {
    std::array<bool, 256> t{};
    for (int c = 0x21; c <= 0x7e; ++c) t[c] = true;
    for (int c = 0x80; c <= 0xff; ++c) t[c] = true;
    t[' '] = true;
    t['\t'] = true;
    return t;
}

// request-target bytes: VCHAR and obs-text (no SP, no CTL). obs-text is not
// valid URI syntax, but raw UTF-8 paths are common and harmless here; the
// target is never re-emitted into a header.
constexpr std::array<bool, 256> make_target() {
    std::array<bool, 256> t{};
    for (int c = 0x21; c <= 0x7e; ++c) t[c] = true;
    for (int c = 0x80; c <= 0xff; ++c) t[c] = true;
    return t;
}

}  // namespace detail

inline constexpr std::array<bool, 256> kTchar = detail::make_tchar();
inline constexpr std::array<bool, 256> kFieldValue = detail::make_field_value();
inline constexpr std::array<bool, 256> kTarget = detail::make_target();

inline bool is_tchar(char c) { return kTchar[static_cast<unsigned char>(c)]; }
inline bool is_field_value(char c) { return kFieldValue[static_cast<unsigned char>(c)]; }

// A non-empty RFC 9110 token.
inline bool is_token(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s)
        if (!is_tchar(c)) return false;
    return true;
}

inline char to_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

}  // namespace quiver::worker::chars
