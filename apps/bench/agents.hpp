// SPDX-License-Identifier: MIT
// The /agents endpoint of the 2015 asyncio app-server benchmark: its one
// query, and its rows as a JSON array.
#pragma once

#include <quiver/plugin.h>

#include <string>
#include <string_view>

namespace bench {

/// The documented query (packaging/sql/schema.sql): 50 rows of six columns.
inline constexpr std::string_view kAgentsSql =
    "SELECT a.id, a.number, a.name, a.context, s.status, s.since "
    "FROM agentfeatures a LEFT JOIN agent_login_status s ON s.agent_id = a.id "
    "ORDER BY a.id";

/// Appends the rows of kAgentsSql as
///   [{"id":1,"number":"300","name":"Agent 300","context":"sales",
///     "status":"on_call","since":"2015-03-02T08:01:37+00:00"},...]
/// in result order; a NULL status or since (an agent never logged in) is
/// null; a `since` that append_iso8601 does not recognise is written as the
/// server gave it. Returns false, leaving `out` unspecified, when the result does not
/// have six columns or an id is not an integer.
bool append_agents(std::string& out, const qv_db_result_t& result);

/// Appends PostgreSQL's text form of a timestamptz in the ISO DateStyle
/// ("2015-03-02 08:01:37.5+00", "... +05:30") as ISO 8601 / RFC 3339
/// ("2015-03-02T08:01:37.5+00:00"). Returns false, appending nothing, for
/// text in any other shape (another DateStyle, an offset with seconds,
/// infinity), which the caller then writes as it came.
bool append_iso8601(std::string& out, std::string_view pg_timestamptz);

}  // namespace bench
