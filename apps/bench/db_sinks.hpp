// SPDX-License-Identifier: MIT
// The bench app's SQL statements and the RowSinks that read their results
// into a DbBatch (run during the host's callback, so they copy what they keep).
#pragma once

#include <string_view>

#include "db_batch.hpp"

namespace bench {

/// One World row by id ($1).
inline constexpr std::string_view kWorldSql = "SELECT id, randomnumber FROM world WHERE id = $1";
/// World rows whose ids are in the array $1 ('{1,2,3}'), any order.
inline constexpr std::string_view kWorldsByIdsSql =
    "SELECT id, randomnumber FROM world WHERE id = ANY($1::int[])";
/// Every Fortune row.
inline constexpr std::string_view kFortunesSql = "SELECT id, message FROM fortune";
/// /updates' one statement: new numbers $2 for the ids $1 (arrays of equal
/// length, ids distinct and ascending so that concurrent requests lock rows
/// in the same order).
inline constexpr std::string_view kUpdateSql =
    "UPDATE world SET randomnumber = u.r "
    "FROM (SELECT unnest($1::int[]) AS id, unnest($2::int[]) AS r) AS u "
    "WHERE world.id = u.id";

/// kWorldSql's row -> batch.worlds[index]; no row is an error.
bool sink_world(DbBatch& b, std::size_t index, const qv_db_result_t& r, const char*& why);
/// Rows of (id, randomnumber) appended to batch.fetched.
bool sink_worlds(DbBatch& b, std::size_t index, const qv_db_result_t& r, const char*& why);
/// Rows of (id, message) -> batch.fortunes, the messages copied to batch.text.
bool sink_fortunes(DbBatch& b, std::size_t index, const qv_db_result_t& r, const char*& why);
/// kAgentsSql's rows rendered as JSON into batch.text.
bool sink_agents(DbBatch& b, std::size_t index, const qv_db_result_t& r, const char*& why);
/// A statement without rows (UPDATE): nothing to read.
bool sink_command(DbBatch& b, std::size_t index, const qv_db_result_t& r, const char*& why);

}  // namespace bench
