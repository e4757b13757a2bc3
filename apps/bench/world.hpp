// SPDX-License-Identifier: MIT
// World rows: the TechEmpower JSON shape, the random ids the tests draw, and
// the PostgreSQL array literals of the one-statement /updates.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "rng.hpp"

namespace bench {

/// Rows of the World table: ids 1..kWorldRows, randomNumber in 1..kWorldRows.
inline constexpr std::int32_t kWorldRows = 10000;

struct World {
    std::int32_t id;
    std::int32_t random_number;
    bool operator==(const World&) const = default;
};

/// Appends {"id":3217,"randomNumber":2149}.
void append_world(std::string& out, World w);

/// Appends a JSON array of rows, in order ([] when empty).
void append_worlds(std::string& out, std::span<const World> rows);

/// Fills `ids` with distinct ids drawn uniformly from 1..kWorldRows, in
/// ascending order (a duplicate is drawn again). ids.size() <= kWorldRows.
void draw_distinct_ids(Rng& rng, std::span<std::int32_t> ids) noexcept;

/// A random number in 1..kWorldRows other than `old`, so that every updated
/// row really changes.
std::int32_t draw_new_number(Rng& rng, std::int32_t old) noexcept;

/// Appends the PostgreSQL array literals of the /updates statement's two
/// parameters: "{id,id,...}" to `ids` and "{n,n,...}" to `numbers`.
void append_update_arrays(std::string& ids, std::string& numbers, std::span<const World> rows);

/// Appends the PostgreSQL array literal of the rows' ids: "{id,id,...}".
void append_id_array(std::string& out, std::span<const World> rows);

/// Parses a whole decimal int32 (PostgreSQL's text form of an integer);
/// false for anything else.
bool parse_int32(std::string_view text, std::int32_t& out) noexcept;

}  // namespace bench
