// SPDX-License-Identifier: MIT
// Text helpers of the SDK: ASCII case-insensitive comparison, percent-decoding
// (RFC 3986 §2.1 and the WHATWG form-urlencoded rules) and HTML escaping.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace quiver {

/// Lower-cases one ASCII letter; every other byte is returned unchanged.
constexpr char ascii_lower(char c) noexcept {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + ('a' - 'A')) : c;
}

/// ASCII case-insensitive equality, as header field names compare (RFC 9110 §5.1).
constexpr bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
    }
    return true;
}

namespace detail {

constexpr int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// Decodes the byte at in[i] (a "%XX" escape, '+' when plus_as_space, or a plain
// byte) and advances i past it.
constexpr char decode_one(std::string_view in, std::size_t& i, bool plus_as_space) noexcept {
    const char c = in[i];
    if (c == '%' && i + 2 < in.size()) {
        const int hi = hex_value(in[i + 1]);
        const int lo = hex_value(in[i + 2]);
        if (hi >= 0 && lo >= 0) {
            i += 3;
            return static_cast<char>(hi * 16 + lo);
        }
    }
    ++i;
    return (plus_as_space && c == '+') ? ' ' : c;
}

}  // namespace detail

/// Appends the percent-decoded form of `in` to `out`. A '%' that is not followed
/// by two hex digits is kept as is (WHATWG URL standard, "percent-decode"); with
/// `plus_as_space`, '+' becomes ' ' (application/x-www-form-urlencoded). The
/// result may hold any byte, including NUL and invalid UTF-8.
inline void percent_decode(std::string& out, std::string_view in, bool plus_as_space = false) {
    out.reserve(out.size() + in.size());
    std::size_t i = 0;
    while (i < in.size()) out.push_back(detail::decode_one(in, i, plus_as_space));
}

/// Returns the percent-decoded form of `in` (see the overload above).
inline std::string percent_decode(std::string_view in, bool plus_as_space = false) {
    std::string out;
    percent_decode(out, in, plus_as_space);
    return out;
}

/// True when the percent-decoded form of `encoded` equals `plain`, computed
/// without allocating.
constexpr bool decoded_equals(std::string_view encoded, std::string_view plain,
                              bool plus_as_space = false) noexcept {
    // Decoding only shrinks a text ("%41" -> "A"), so an encoded text no
    // longer than `plain` matches only byte for byte (unless '+' decodes).
    if (!plus_as_space && encoded.size() <= plain.size()) return encoded == plain;
    std::size_t i = 0;
    std::size_t j = 0;
    while (i < encoded.size()) {
        if (j == plain.size() || detail::decode_one(encoded, i, plus_as_space) != plain[j]) {
            return false;
        }
        ++j;
    }
    return j == plain.size();
}

namespace html {

/// Appends `in` to `out` with the five characters that matter in HTML text and
/// quoted attribute values replaced: & < > " ' become &amp; &lt; &gt; &quot; &#39;.
/// Bytes are otherwise copied unchanged (no UTF-8 validation).
inline void escape(std::string& out, std::string_view in) {
    std::size_t run = 0;  // start of the pending run of bytes copied verbatim
    for (std::size_t i = 0; i < in.size(); ++i) {
        std::string_view rep;
        switch (in[i]) {
            case '&': rep = "&amp;"; break;
            case '<': rep = "&lt;"; break;
            case '>': rep = "&gt;"; break;
            case '"': rep = "&quot;"; break;
            case '\'': rep = "&#39;"; break;
            default: continue;
        }
        out.append(in.data() + run, i - run);
        out.append(rep);
        run = i + 1;
    }
    out.append(in.data() + run, in.size() - run);
}

/// Returns `in` HTML-escaped (see the overload above).
inline std::string escape(std::string_view in) {
    std::string out;
    out.reserve(in.size());
    escape(out, in);
    return out;
}

}  // namespace html
}  // namespace quiver
