// SPDX-License-Identifier: MIT
// Router's out-of-class definitions: pattern parsing, path matching and the
// specificity order. Included by router.hpp only.
#pragma once

#include <quiver/router.hpp>

namespace quiver {

inline std::vector<detail::Segment> Router::parse_pattern(std::string_view pattern) {
    using detail::Segment;
    const auto fail = [&](std::string_view why) {
        throw std::invalid_argument("route pattern \"" + std::string(pattern) + "\": " +
                                    std::string(why));
    };
    if (pattern.empty() || pattern.front() != '/') fail("must start with '/'");
    std::vector<Segment> segs;
    std::size_t params = 0;
    std::size_t pos = 1;
    for (;;) {
        std::size_t end = pattern.find('/', pos);
        if (end == std::string_view::npos) end = pattern.size();
        std::string_view s = pattern.substr(pos, end - pos);
        if (!segs.empty() && segs.back().kind == Segment::kTail) {
            fail("{name...} must be the last segment");
        }
        if (!s.empty() && s.front() == '{') {
            if (s.size() < 3 || s.back() != '}') fail("a parameter is a whole segment: {name}");
            std::string_view name = s.substr(1, s.size() - 2);
            Segment::Kind kind = Segment::kParam;
            if (name.size() > 3 && name.substr(name.size() - 3) == "...") {
                name.remove_suffix(3);
                kind = Segment::kTail;
            }
            for (char c : name) {
                const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                                (c >= '0' && c <= '9') || c == '_';
                if (!ok) fail("parameter names use letters, digits and '_'");
            }
            for (const Segment& prev : segs) {
                if (prev.kind != Segment::kLiteral && prev.text == name) {
                    fail("duplicate parameter name");
                }
            }
            if (++params > Params::kMax) fail("too many parameters");
            segs.push_back(Segment{kind, std::string(name)});
        } else {
            if (s.find_first_of("{}%?#") != std::string_view::npos) {
                fail("literal segments must not contain '{', '}', '%', '?' or '#'");
            }
            segs.push_back(Segment{Segment::kLiteral, std::string(s)});
        }
        if (end == pattern.size()) break;
        pos = end + 1;
    }
    return segs;
}

inline Router& Router::add(std::string_view method, std::string_view pattern,
                           std::unique_ptr<detail::HandlerBase> handler) {
    detail::Route r{std::string(method), std::string(pattern), parse_pattern(pattern),
                    std::move(handler)};
    for (const detail::Route& other : routes_) {
        if (other.method != r.method || other.segments.size() != r.segments.size()) continue;
        bool same = true;
        for (std::size_t i = 0; same && i < r.segments.size(); ++i) {
            const detail::Segment& a = r.segments[i];
            const detail::Segment& b = other.segments[i];
            same = a.kind == b.kind && (a.kind != detail::Segment::kLiteral || a.text == b.text);
        }
        if (same) {
            throw std::invalid_argument("duplicate route " +
                                        (r.method.empty() ? std::string("*") : r.method) + " " +
                                        r.pattern + " (same as " + other.pattern + ")");
        }
    }
    routes_.push_back(std::move(r));
    return *this;
}

inline bool Router::match_path(const detail::Route& r, std::string_view path,
                               Params& out) noexcept {
    using detail::Segment;
    if (path.empty() || path.front() != '/') return false;
    out.clear();
    std::size_t pos = 1;  // start of the current segment
    for (const Segment& seg : r.segments) {
        if (pos > path.size()) return false;  // the path has no segment left
        if (seg.kind == Segment::kTail) {
            out.push(seg.text, path.substr(pos));
            return true;
        }
        std::size_t end = pos;  // segments are short: a plain loop beats memchr
        while (end < path.size() && path[end] != '/') ++end;
        const std::string_view s = path.substr(pos, end - pos);
        if (seg.kind == Segment::kLiteral) {
            if (!decoded_equals(s, seg.text)) return false;
        } else {
            if (s.empty()) return false;
            out.push(seg.text, s);
        }
        pos = end + 1;
    }
    return pos == path.size() + 1;  // every segment of the path consumed
}

inline int Router::compare_specificity(const detail::Route& a,
                                       const detail::Route& b) noexcept {
    const std::size_t n = std::min(a.segments.size(), b.segments.size());
    for (std::size_t i = 0; i < n; ++i) {
        const int d = int(a.segments[i].kind) - int(b.segments[i].kind);
        if (d != 0) return d;
    }
    return 0;
}

inline Router::Match Router::match(std::string_view method, std::string_view path) const {
    // Method rank: 3 exact, 2 any(), 1 GET serving HEAD (RFC 9110 §9.3.2), 0 no.
    const auto rank_of = [&](const detail::Route& r) {
        if (r.method == method) return 3;
        if (r.method.empty()) return 2;
        if (method == "HEAD" && r.method == "GET") return 1;
        return 0;
    };
    Match best;
    int best_rank = 0;
    bool path_matched = false;
    Params params;
    for (const detail::Route& r : routes_) {
        const int rank = rank_of(r);
        if (rank == 0) {
            if (!path_matched && match_path(r, path, params)) path_matched = true;
            continue;
        }
        if (!match_path(r, path, params)) continue;
        path_matched = true;
        if (best.route != nullptr) {
            const int c = compare_specificity(r, *best.route);
            if (c < 0 || (c == 0 && rank <= best_rank)) continue;
        }
        best.route = &r;
        best.params = params;
        best_rank = rank;
    }
    if (best.route != nullptr) {
        best.status = MatchStatus::kFound;
        return best;
    }
    if (!path_matched) return best;  // kNotFound
    // 405: every method some route serves at this path (RFC 9110 §15.5.6).
    best.status = MatchStatus::kMethodNotAllowed;
    bool has_get = false;
    bool has_head = false;
    for (const detail::Route& r : routes_) {
        if (!match_path(r, path, params)) continue;
        bool seen = false;
        for (const detail::Route& q : routes_) {
            if (&q == &r) break;
            if (q.method == r.method && match_path(q, path, params)) seen = true;
        }
        if (seen) continue;
        if (!best.allow.empty()) best.allow.append(", ");
        best.allow.append(r.method);
        has_get = has_get || r.method == "GET";
        has_head = has_head || r.method == "HEAD";
    }
    if (has_get && !has_head) best.allow.append(", HEAD");
    return best;
}

}  // namespace quiver
