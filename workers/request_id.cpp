// SPDX-License-Identifier: MIT
// Request ids: validation of X-Request-Id and traceparent, generation.
#include "workers/request_id.hpp"

#include <charconv>
#include <cstring>

#include "workers/http/request.hpp"

namespace quiver::worker {

namespace {

bool id_char(unsigned char c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
    switch (c) {
        case '.': case '_': case '~': case ':': case '/': case '+': case '=': case '@': case '-':
            return true;
        default: return false;
    }
}

bool lower_hex(std::string_view s) {
    for (char c : s)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    return true;
}

bool all_zero(std::string_view s) { return s.find_first_not_of('0') == std::string_view::npos; }

}  // namespace

bool valid_request_id(std::string_view v) {
    if (v.empty() || v.size() > kMaxRequestId) return false;
    for (unsigned char c : v)
        if (!id_char(c)) return false;
    return true;
}

std::string_view traceparent_trace_id(std::string_view v) {
    // version "-" trace-id "-" parent-id "-" flags: 2+1+32+1+16+1+2 = 55.
    if (v.size() < 55) return {};
    std::string_view version = v.substr(0, 2), trace = v.substr(3, 32), parent = v.substr(36, 16),
                     flags = v.substr(53, 2);
    if (v[2] != '-' || v[35] != '-' || v[52] != '-') return {};
    if (!lower_hex(version) || version == "ff" || !lower_hex(trace) || !lower_hex(parent) ||
        !lower_hex(flags))
        return {};
    // Version 00 is exactly 55 characters; later versions may append "-...".
    if (version == "00" ? v.size() != 55 : (v.size() > 55 && v[55] != '-')) return {};
    if (all_zero(trace) || all_zero(parent)) return {};
    return trace;
}

size_t choose_request_id(const Request& req, uint32_t pid, uint64_t counter, char* out,
                         size_t out_size) {
    std::string_view given = req.header("X-Request-Id");
    if (!valid_request_id(given)) given = traceparent_trace_id(req.header("traceparent"));
    if (!given.empty() && given.size() < out_size) {
        std::memcpy(out, given.data(), given.size());
        out[given.size()] = '\0';
        return given.size();
    }
    char* end = out + out_size - 1;
    auto r = std::to_chars(out, end, pid, 16);
    *r.ptr++ = '-';
    r = std::to_chars(r.ptr, end, counter, 16);
    *r.ptr = '\0';
    return static_cast<size_t>(r.ptr - out);
}

}  // namespace quiver::worker
