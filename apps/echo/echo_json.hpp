// SPDX-License-Identifier: MIT
// The echo app's logic, free of plugin plumbing so unit tests call it directly:
// one request rendered as a JSON document.
#pragma once

#include <quiver/request.hpp>

#include <string>

namespace echo {

/// Appends, in this key order,
/// {"method":"POST","path":"/a/b%20c","query":"x=1","version":"1.1",
///  "headers":[["Host","example"],["X-A","1"]],"body":"..."}
/// where path is the full path as received (mount prefix included, not
/// decoded), query the raw query ("" when absent), headers in received order
/// with names as received, and body a JSON string (invalid UTF-8 bytes become
/// U+FFFD, see quiver::json::write_string).
void append_echo_json(std::string& out, const quiver::Request& req);

/// The same document as a new string.
std::string echo_json(const quiver::Request& req);

}  // namespace echo
