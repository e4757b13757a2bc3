// SPDX-License-Identifier: MIT
// The request id: the client's (or proxy's) X-Request-Id when it is a sane
// token, else the trace id of a valid W3C traceparent, else one we make up
// ("<pid hex>-<counter hex>", unique on this host while the pid is).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace quiver::worker {

struct Request;

inline constexpr size_t kMaxRequestId = 64;

// 1..64 characters of A-Za-z0-9 . _ ~ : / + = @ -
bool valid_request_id(std::string_view v);
// The 32-hex trace-id of a traceparent (version 00 layout, any known-size
// version), or "" when it is not valid (W3C Trace Context §3.2).
std::string_view traceparent_trace_id(std::string_view v);

// Writes the id into out (NUL-terminated, out_size > kMaxRequestId) and
// returns its length.
size_t choose_request_id(const Request& req, uint32_t pid, uint64_t counter, char* out,
                         size_t out_size);

}  // namespace quiver::worker
