// SPDX-License-Identifier: MIT
// Splitting a request-target into path and query (RFC 9112 §3.2), shared by
// the http1 and uwsgi codecs so both fill Request::path/query alike.
#pragma once

#include <cstddef>
#include <string_view>

namespace quiver::worker {

struct TargetParts {
    size_t path_off = 0;   // path within the target; path_len 0 = empty path
    size_t path_len = 0;   //   (absolute-form "http://h?q": the path is "/")
    size_t query_off = 0;  // after '?', up to '#' or the end
    size_t query_len = 0;
};

// Origin-form "/p?q#f" or absolute-form "scheme://authority/p?q#f". Returns
// false for anything else (empty, authority-form, "*", no "//" after the
// scheme); the caller handles asterisk-form.
inline bool split_target(std::string_view t, TargetParts& out) {
    size_t start = 0;
    if (t.empty()) return false;
    if (t[0] != '/') {
        size_t s = t.find("://");
        if (s == std::string_view::npos || s == 0) return false;
        start = t.find_first_of("/?#", s + 3);
        if (start == std::string_view::npos) start = t.size();
    }
    size_t q = t.find_first_of("?#", start);
    size_t path_end = q == std::string_view::npos ? t.size() : q;
    out.path_off = start;
    out.path_len = path_end - start;
    out.query_off = path_end;
    out.query_len = 0;
    if (q != std::string_view::npos && t[q] == '?') {
        size_t f = t.find('#', q + 1);
        out.query_off = q + 1;
        out.query_len = (f == std::string_view::npos ? t.size() : f) - q - 1;
    }
    return true;
}

}  // namespace quiver::worker
