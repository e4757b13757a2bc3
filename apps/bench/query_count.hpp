// SPDX-License-Identifier: MIT
// The TechEmpower "number of queries" rule: find a query-string parameter and
// clamp its value to 1..500 (missing, empty or not an integer counts as 1).
#pragma once

#include <optional>
#include <string_view>

namespace bench {

inline constexpr int kMinQueries = 1;
inline constexpr int kMaxQueries = 500;

/// The raw (still percent-encoded) value of the first parameter named `name`
/// in the raw query string `query` ("a=1&b=2"); names compare after
/// application/x-www-form-urlencoded decoding. A parameter without '=' has an
/// empty value. nullopt when absent.
std::optional<std::string_view> find_param(std::string_view query, std::string_view name) noexcept;

/// TechEmpower's clamp of one raw value: decoded (%XX, '+'), then an optional
/// sign and one or more ASCII digits, nothing else. Not an integer (empty,
/// "foo", "2x", " 2") or below 1: 1. Above 500 (however large): 500.
int clamp_count(std::string_view raw_value) noexcept;

/// clamp_count of parameter `name`, or 1 when it is absent.
int query_count(std::string_view query, std::string_view name) noexcept;

/// The same, looking for `first` and, only when it is absent, `second`
/// (/cached-queries takes `count=` and also `queries=`).
int query_count(std::string_view query, std::string_view first, std::string_view second) noexcept;

}  // namespace bench
