// SPDX-License-Identifier: MIT
// Request: one parsed request as a codec produces it and a plugin sees it.
// Protocol-neutral: the http1 and uwsgi codecs both fill it. Owns its bytes;
// every field is a span into `data` or `body`, so the object can be moved and
// reused (clear() keeps the capacity) without re-pointing anything.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace quiver::worker {

// An offset/length pair into Request::data.
struct Span {
    uint32_t off = 0;
    uint32_t len = 0;
};

struct HeaderSpan {
    Span name;
    Span value;
};

struct Request {
    std::string data;                 // arena for method, target, headers, ...
    std::string body;                 // the body, transfer coding removed
    Span method;
    Span target;                      // raw request-target
    Span path;                        // path part of target (no query, no fragment)
    Span query;                       // after '?', without it; len 0 when absent
    std::vector<HeaderSpan> headers;  // in received order, names as received
    uint8_t http_major = 1;
    uint8_t http_minor = 1;
    bool keep_alive = true;           // what the request asks (version + Connection)
    bool expect_continue = false;     // "Expect: 100-continue" was present
    bool is_head = false;             // method is HEAD (response has no body)
    std::string remote_addr;          // filled by the connection or uwsgi REMOTE_ADDR
    std::string scheme = "http";      // "https" when a trusted proxy says so

    std::string_view view(Span s) const { return std::string_view(data).substr(s.off, s.len); }
    std::string_view method_v() const { return view(method); }
    std::string_view target_v() const { return view(target); }
    std::string_view path_v() const { return view(path); }
    std::string_view query_v() const { return view(query); }

    // Appends bytes to the arena and returns their span.
    Span append(std::string_view s) {
        Span sp{static_cast<uint32_t>(data.size()), static_cast<uint32_t>(s.size())};
        data.append(s);
        return sp;
    }

    // First header whose name matches case-insensitively, or "" when absent.
    std::string_view header(std::string_view name) const;

    void clear() {
        data.clear();
        body.clear();
        headers.clear();
        method = target = path = query = Span{};
        http_major = http_minor = 1;
        keep_alive = true;
        expect_continue = false;
        is_head = false;
        remote_addr.clear();
        scheme = "http";
    }
};

// ASCII case-insensitive comparison (header names, tokens).
bool iequals(std::string_view a, std::string_view b);

}  // namespace quiver::worker
