// SPDX-License-Identifier: MIT
// Conversions between setting text and values: numbers with units, addresses,
// IPs, mount prefixes, paths, and quoting for JSON/YAML. No YAML parsing here.
// Every parser returns an Error whose detail says what is wrong, without a
// location; the caller prefixes "file:line:col: key" or the variable / flag.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "server/common/config/config.hpp"
#include "server/common/result.hpp"

namespace quiver::config {

// An Error{kInvalid} whose message() is exactly `detail`.
inline Unexpected<Error> invalid(std::string detail) {
    return unexpected(Errc::kInvalid, {}, std::move(detail));
}

// "1024". No sign, no spaces.
Result<uint64_t> parse_uint(std::string_view text);
// Bytes: "8190", "512B", "64k" / "64K" / "64KiB", "1m" / "1M" / "1MiB", g, t.
// Units are binary; "MB" and friends are refused as ambiguous.
Result<uint64_t> parse_size(std::string_view text);
// Milliseconds: "500ms", "10s", "2m", "1h", "1m30s"; a bare number is seconds.
Result<uint64_t> parse_duration(std::string_view text);
// true/false, yes/no, on/off, 1/0 (any case).
Result<bool> parse_bool(std::string_view text);
// Permission bits in octal, like chmod: "0660", "660", "0o660"; at most 0777.
Result<uint32_t> parse_mode(std::string_view text);

// Inverses that parse back to the same value: "1MiB", "8190", "10s", "0660".
std::string format_size(uint64_t bytes);
std::string format_duration(uint64_t ms);
std::string format_mode(uint32_t mode);

// A listen address: "host:port", "[v6]:port", ":port" / "*:port" (any),
// "unix:PATH" (relative PATH against base_dir). Fills address (normalised to
// "unix:/abs" for unix sockets), is_unix, host, port, path; leaves the rest.
Result<ListenSpec> parse_address(std::string_view text, const std::string& base_dir);
// A key equal for two listeners that would bind the same endpoint.
std::string endpoint_key(const ListenSpec& spec);

// Checks used by the settings table.
Result<void> check_text(std::string_view s);          // UTF-8, no control characters
Result<void> check_ip_or_cidr(std::string_view s);    // "10.0.0.0/8", "::1", "*"
Result<void> check_field_value(std::string_view s);   // an HTTP field value (RFC 9110 §5.5)
Result<void> check_account(std::string_view s);       // user / group name or numeric id
Result<void> check_app_name(std::string_view s);      // [A-Za-z0-9._-]{1,64}
Result<void> check_listener_name(std::string_view s); // printable ASCII, no spaces, <= 255
Result<void> check_mount(std::string_view s);         // "/", "/api": an absolute path prefix
Result<void> check_socket_path(std::string_view s);   // fits sockaddr_un (107 bytes); "" ok
Result<void> check_utf8(std::string_view s);

// Lexically normal absolute path: `path` itself when absolute, else base_dir/path.
std::string resolve_path(std::string_view path, const std::string& base_dir);
// The process's working directory, or the errno text.
Result<std::string> current_dir();

// Appends s as a double-quoted string that is both valid JSON and valid YAML:
// ", \ and control characters escaped, other UTF-8 kept (no surrogate pairs).
// s must be valid UTF-8.
void append_quoted(std::string& out, std::string_view s);
std::string quoted(std::string_view s);
// For messages: quoted, any bytes allowed (invalid UTF-8 shows as U+FFFD), long text cut.
std::string shown(std::string_view s);

// The closest of `candidates` within a small edit distance, or "".
template <typename Range>
std::string_view closest(std::string_view word, const Range& candidates);
size_t edit_distance(std::string_view a, std::string_view b);

// Splits "a, b ,c" on commas, trimming spaces; empty items are kept (and refused later).
std::vector<std::string> split_list(std::string_view text);

// The first pair i < j with key(i) == key(j), if any.
template <typename KeyFn>
std::optional<std::pair<size_t, size_t>> first_duplicate(size_t count, KeyFn key) {
    for (size_t j = 1; j < count; ++j)
        for (size_t i = 0; i < j; ++i)
            if (key(i) == key(j)) return std::pair{i, j};
    return std::nullopt;
}

template <typename Range>
std::string_view closest(std::string_view word, const Range& candidates) {
    std::string_view best;
    size_t best_distance = word.size() <= 4 ? 1 : 2;
    for (std::string_view c : candidates) {
        size_t d = edit_distance(word, c);
        if (d <= best_distance && (best.empty() || d < edit_distance(word, best))) best = c;
    }
    return best;
}

}  // namespace quiver::config
