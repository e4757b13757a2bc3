// SPDX-License-Identifier: MIT
// Shared by the codec fuzzers: feed one input through a codec, whole or cut at
// points the data chooses, as a connection would (pipelined: after each
// message the rest is fed again), checking the FeedResult contract, and
// return a digest of what came out so two ways of cutting can be compared.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "workers/codec/codec.hpp"

namespace quiver::worker::fuzz {

[[noreturn]] inline void violated(const char* what) {
    std::fprintf(stderr, "codec invariant violated: %s\n", what);
    std::abort();
}

inline void check_spans(const Request& r) {
    auto in = [&](Span s) { return uint64_t{s.off} + s.len <= r.data.size(); };
    if (!in(r.method) || !in(r.target) || !in(r.path) || !in(r.query))
        violated("request-line span outside the arena");
    for (const HeaderSpan& h : r.headers)
        if (!in(h.name) || !in(h.value)) violated("header span outside the arena");
}

inline void digest_request(std::string& d, const Request& r) {
    d += "M[";
    d += r.method_v();
    d += ' ';
    d += r.target_v();
    d += ' ';
    d += r.path_v();
    d += '?';
    d += r.query_v();
    d += ' ';
    d += static_cast<char>('0' + r.http_minor);
    d += r.keep_alive ? 'k' : 'c';
    d += r.expect_continue ? 'e' : '-';
    for (const HeaderSpan& h : r.headers) {
        d += '|';
        d += r.view(h.name);
        d += ':';
        d += r.view(h.value);
    }
    d += "|B";
    d += std::to_string(r.body.size());
    d += ':';
    d += r.body;
    d += ']';
}

// Cut points chosen by the data itself, so corpus files seed the fuzzer as
// they are (no control prefix).
inline std::vector<size_t> data_cuts(std::string_view in) {
    std::vector<size_t> cuts;
    for (size_t i = 1; i < in.size(); ++i)
        if ((static_cast<unsigned char>(in[i - 1]) * 31u + i) % 7u == 0) cuts.push_back(i);
    return cuts;
}

inline std::vector<size_t> every_byte(std::string_view in) {
    std::vector<size_t> cuts;
    for (size_t i = 1; i < in.size(); ++i) cuts.push_back(i);
    return cuts;
}

template <typename Codec, typename Limits>
std::string run(const Limits& limits, std::string_view in, const std::vector<size_t>& cuts) {
    Codec codec(limits);
    std::string d;
    size_t start = 0;
    std::vector<size_t> ends = cuts;
    ends.push_back(in.size());
    for (size_t end : ends) {
        // Each piece in its own allocation: ASan sees any read past it.
        std::string piece(in.substr(start, end - start));
        start = end;
        const char* p = piece.data();
        size_t n = piece.size();
        for (int guard = 0;; ++guard) {
            if (guard > 1 << 20) violated("feed loop does not terminate");
            FeedResult r = codec.feed(p, n);
            if (r.consumed > n) violated("consumed more than given");
            switch (r.event) {
                case CodecEvent::kNeedMore:
                    if (r.consumed != n) violated("kNeedMore without consuming everything");
                    break;
                case CodecEvent::kContinue:
                    if (!codec.in_body()) violated("kContinue outside a body");
                    check_spans(codec.request());
                    d += "C;";
                    break;
                case CodecEvent::kMessage:
                    if (codec.in_message()) violated("kMessage while still in a message");
                    check_spans(codec.request());
                    digest_request(d, codec.request());
                    break;
                case CodecEvent::kError:
                    if (r.reason.empty()) violated("error without a reason");
                    d += "E" + std::to_string(r.status) + ";";
                    return d;
            }
            p += r.consumed;
            n -= r.consumed;
            if (n == 0) break;
        }
    }
    d += codec.in_message() ? "open" : "idle";
    return d;
}

}  // namespace quiver::worker::fuzz
