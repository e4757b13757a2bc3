// SPDX-License-Identifier: MIT
// Test support for the codecs: feed an input in given pieces, as a
// connection would, and record what came out; check that every way of
// splitting the input gives the same result.
#pragma once

#include <doctest/doctest.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "workers/codec/codec.hpp"

namespace quiver::worker::test {

struct Message {
    std::string method, target, path, query;
    int major = 0, minor = 0;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    bool keep_alive = false, expect_continue = false, is_head = false;
    std::string remote_addr, scheme;
    bool operator==(const Message&) const = default;
};

struct Outcome {
    std::vector<Message> messages;
    int continues = 0;  // kContinue events
    bool error = false;
    int status = 0;
    std::string reason;
    bool in_message = false;  // codec.in_message() after the last byte
    bool operator==(const Outcome&) const = default;
};

// Every span of a delivered request lies within its arena.
inline bool spans_valid(const Request& r) {
    auto in = [&](Span s) { return uint64_t{s.off} + s.len <= r.data.size(); };
    if (!in(r.method) || !in(r.target) || !in(r.path) || !in(r.query)) return false;
    for (const HeaderSpan& h : r.headers)
        if (!in(h.name) || !in(h.value)) return false;
    return true;
}

inline Message capture(const Request& r) {
    REQUIRE(spans_valid(r));
    Message m;
    m.method = r.method_v();
    m.target = r.target_v();
    m.path = r.path_v();
    m.query = r.query_v();
    m.major = r.http_major;
    m.minor = r.http_minor;
    for (const HeaderSpan& h : r.headers) m.headers.emplace_back(r.view(h.name), r.view(h.value));
    m.body = r.body;
    m.keep_alive = r.keep_alive;
    m.expect_continue = r.expect_continue;
    m.is_head = r.is_head;
    m.remote_addr = r.remote_addr;
    m.scheme = r.scheme;
    return m;
}

// Feeds input cut at the given offsets (ascending, within the input). Checks
// the FeedResult invariants on the way.
inline Outcome drive(Codec& codec, std::string_view input, const std::vector<size_t>& cuts) {
    Outcome out;
    size_t start = 0;
    std::vector<size_t> ends = cuts;
    ends.push_back(input.size());
    for (size_t end : ends) {
        // Each piece lives in its own buffer so out-of-range reads show up
        // under ASan.
        std::string piece(input.substr(start, end - start));
        const char* p = piece.data();
        size_t n = piece.size();
        start = end;
        for (;;) {
            FeedResult r = codec.feed(p, n);
            REQUIRE(r.consumed <= n);
            switch (r.event) {
                case CodecEvent::kNeedMore:
                    REQUIRE(r.consumed == n);
                    n = 0;
                    break;
                case CodecEvent::kContinue:
                    ++out.continues;
                    CHECK(codec.in_body());
                    REQUIRE(spans_valid(codec.request()));
                    p += r.consumed;
                    n -= r.consumed;
                    if (n == 0) break;
                    continue;
                case CodecEvent::kMessage:
                    out.messages.push_back(capture(codec.request()));
                    CHECK(!codec.in_message());
                    p += r.consumed;
                    n -= r.consumed;
                    if (n == 0) break;
                    continue;
                case CodecEvent::kError:
                    out.error = true;
                    out.status = r.status;
                    out.reason = std::string(r.reason);
                    REQUIRE(!out.reason.empty());
                    return out;
            }
            break;
        }
    }
    out.in_message = codec.in_message();
    return out;
}

using CodecFactory = std::function<std::unique_ptr<Codec>()>;

inline Outcome drive_whole(const CodecFactory& make, std::string_view input) {
    auto c = make();
    return drive(*c, input, {});
}

// The outcome of feeding `input` whole, after checking that byte-at-a-time,
// every two-piece split (for short inputs) and random splits agree with it.
inline Outcome drive_all_splits(const CodecFactory& make, std::string_view input,
                                uint32_t seed = 1) {
    Outcome whole = drive_whole(make, input);
    {
        std::vector<size_t> cuts;
        for (size_t i = 1; i < input.size(); ++i) cuts.push_back(i);
        auto c = make();
        Outcome o = drive(*c, input, cuts);
        CHECK_MESSAGE(o == whole, "byte-at-a-time differs for input of ", input.size(), " bytes");
    }
    if (input.size() <= 4096) {
        for (size_t i = 1; i < input.size(); ++i) {
            auto c = make();
            Outcome o = drive(*c, input, {i});
            if (!(o == whole)) {
                FAIL_CHECK("split at ", i, " differs (error ", o.status, " ", o.reason, " vs ",
                           whole.status, " ", whole.reason, ")");
                break;
            }
        }
    }
    std::mt19937 rng(seed);
    for (int round = 0; round < 20 && input.size() > 1; ++round) {
        std::vector<size_t> cuts;
        std::uniform_int_distribution<size_t> step(1, 1 + input.size() / 3);
        for (size_t at = step(rng); at < input.size(); at += step(rng)) cuts.push_back(at);
        auto c = make();
        Outcome o = drive(*c, input, cuts);
        CHECK_MESSAGE(o == whole, "random split round ", round, " differs");
    }
    return whole;
}

}  // namespace quiver::worker::test
