// SPDX-License-Identifier: MIT
// forwarded_allow_ips matching and the proxy-header walk.
#include "workers/http/forwarded.hpp"

#include <arpa/inet.h>

#include <cstring>

namespace quiver::worker {

namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

// Splits a comma list into trimmed items (empty items dropped).
std::vector<std::string_view> split_list(std::string_view s) {
    std::vector<std::string_view> out;
    size_t start = 0;
    for (size_t i = 0; i <= s.size(); ++i) {
        if (i == s.size() || s[i] == ',') {
            std::string_view item = trim(s.substr(start, i - start));
            if (!item.empty()) out.push_back(item);
            start = i + 1;
        }
    }
    return out;
}

// Forwarded: for=... of one element ("for=192.0.2.1;proto=https").
std::string_view param(std::string_view element, std::string_view name) {
    size_t pos = 0;
    while (pos <= element.size()) {
        size_t semi = element.find(';', pos);
        std::string_view pair = trim(element.substr(pos, semi == std::string_view::npos ? std::string_view::npos : semi - pos));
        size_t eq = pair.find('=');
        if (eq != std::string_view::npos && iequals(trim(pair.substr(0, eq)), name)) {
            std::string_view v = trim(pair.substr(eq + 1));
            if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
            return v;
        }
        if (semi == std::string_view::npos) break;
        pos = semi + 1;
    }
    return {};
}

}  // namespace

bool parse_ip(std::string_view s, std::array<uint8_t, 16>* out, std::string* canonical) {
    s = trim(s);
    if (s.empty() || s.size() > 64) return false;
    char buf[65];
    if (s.front() == '[') {
        size_t close = s.find(']');
        if (close == std::string_view::npos) return false;
        std::string_view rest = s.substr(close + 1);
        if (!rest.empty() && rest.front() != ':') return false;
        s = s.substr(1, close - 1);
    } else if (s.find(':') != std::string_view::npos && s.find('.') != std::string_view::npos &&
               s.find(':') == s.rfind(':') ) {
        s = s.substr(0, s.find(':'));  // IPv4 with a port
    }
    std::memcpy(buf, s.data(), s.size());
    buf[s.size()] = '\0';
    in_addr v4;
    in6_addr v6;
    std::array<uint8_t, 16> a{};
    if (inet_pton(AF_INET, buf, &v4) == 1) {
        a[10] = a[11] = 0xff;
        std::memcpy(&a[12], &v4, 4);
        if (canonical) {
            char t[INET_ADDRSTRLEN];
            inet_ntop(AF_INET, &v4, t, sizeof t);
            *canonical = t;
        }
    } else if (inet_pton(AF_INET6, buf, &v6) == 1) {
        std::memcpy(a.data(), &v6, 16);
        if (canonical) {
            char t[INET6_ADDRSTRLEN];
            if (IN6_IS_ADDR_V4MAPPED(&v6)) inet_ntop(AF_INET, &a[12], t, sizeof t);
            else inet_ntop(AF_INET6, &v6, t, sizeof t);
            *canonical = t;
        }
    } else {
        return false;
    }
    if (out) *out = a;
    return true;
}

std::string TrustedProxies::set(const std::vector<std::string>& entries) {
    nets_.clear();
    any_ = false;
    for (const std::string& e : entries) {
        std::string_view s = trim(e);
        if (s.empty()) return e.empty() ? std::string("(empty entry)") : e;
        if (s == "*") {
            any_ = true;
            continue;
        }
        Net n;
        size_t slash = s.find('/');
        std::string_view ip = s.substr(0, slash);
        if (!parse_ip(ip, &n.addr, nullptr)) return e;
        bool v4 = ip.find(':') == std::string_view::npos;
        n.prefix = 128;
        if (slash != std::string_view::npos) {
            std::string_view bits = s.substr(slash + 1);
            int p = 0;
            if (bits.empty() || bits.size() > 3) return e;
            for (char c : bits) {
                if (c < '0' || c > '9') return e;
                p = p * 10 + (c - '0');
            }
            if (p > (v4 ? 32 : 128)) return e;
            n.prefix = v4 ? 96 + p : p;
        }
        nets_.push_back(n);
    }
    return {};
}

bool TrustedProxies::contains(std::string_view ip) const {
    if (any_) return true;
    if (nets_.empty()) return false;
    std::array<uint8_t, 16> a;
    if (!parse_ip(ip, &a, nullptr)) return false;
    for (const Net& n : nets_) {
        int full = n.prefix / 8, rest = n.prefix % 8;
        if (std::memcmp(a.data(), n.addr.data(), static_cast<size_t>(full)) != 0) continue;
        if (rest && ((a[full] ^ n.addr[full]) & (0xff << (8 - rest)) & 0xff)) continue;
        return true;
    }
    return false;
}

// Every field line with this name, in order, as one list (RFC 9110 §5.3:
// repeated lines mean the same as one comma-joined line; a proxy may append
// its own line after the client's).
std::vector<std::string_view> all_items(const Request& req, std::string_view name) {
    std::vector<std::string_view> out;
    for (const HeaderSpan& h : req.headers)
        if (iequals(req.view(h.name), name))
            for (std::string_view item : split_list(req.view(h.value))) out.push_back(item);
    return out;
}

void apply_forwarded(Request& req, const TrustedProxies& trusted, bool peer_trusted) {
    if (!peer_trusted && !trusted.contains(req.remote_addr)) return;
    std::vector<std::string_view> hops = all_items(req, "X-Forwarded-For");
    std::vector<std::string_view> protos = all_items(req, "X-Forwarded-Proto");
    bool from_forwarded = false;
    std::vector<std::string_view> elements;
    if (hops.empty()) {
        elements = all_items(req, "Forwarded");
        for (std::string_view el : elements) hops.push_back(param(el, "for"));
        from_forwarded = !elements.empty();
    }
    // Walk from the nearest hop back: the first one that is not a trusted
    // proxy itself is the client (nginx's real_ip_recursive). The scheme is
    // the one the hop next to the client saw.
    std::string client;
    size_t client_index = hops.size();
    for (size_t i = hops.size(); i-- > 0;) {
        std::string canon;
        if (!parse_ip(hops[i], nullptr, &canon)) break;  // "unknown", "_hidden", garbage: stop
        client = canon;
        client_index = i;
        if (!trusted.contains(canon)) break;
    }
    if (!client.empty()) req.remote_addr = client;
    // X-Forwarded-Proto (one scheme per hop, nearest last: the first is what
    // the client used) wins; else the proto of Forwarded's client element.
    std::string_view proto;
    if (!protos.empty()) proto = protos.front();
    else if (from_forwarded && client_index < elements.size()) proto = param(elements[client_index], "proto");
    else if (from_forwarded && !elements.empty()) proto = param(elements.back(), "proto");
    if (!proto.empty()) {
        if (iequals(proto, "https")) req.scheme = "https";
        else if (iequals(proto, "http")) req.scheme = "http";
    }
}

}  // namespace quiver::worker
