// SPDX-License-Identifier: MIT
// Passwords out of libpq connection strings, for output meant for people
// (--print-config, logs). Both forms: URIs and keyword=value lists.
#pragma once

#include <string>
#include <string_view>

namespace quiver {

// The connection string with every password replaced by "***": the
// user:password of a postgres[ql]:// URI, its password= query parameter,
// and password=... (quoted or not) in keyword=value form. Anything else is
// returned unchanged.
std::string redact_conninfo(std::string_view conninfo);

}  // namespace quiver
