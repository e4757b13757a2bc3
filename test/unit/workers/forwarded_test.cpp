// SPDX-License-Identifier: MIT
// forwarded_allow_ips (TrustedProxies) and apply_forwarded: only a trusted
// peer may name the client and the scheme; the hop walk never reaches past a
// hop it cannot read, so a client cannot smuggle an address in.
#include "workers/http/forwarded.hpp"

#include <doctest/doctest.h>

#include <string>
#include <utility>
#include <vector>

namespace quiver::worker::test {
namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;

Request make_request(const std::string& peer, const Headers& headers) {
    Request r;
    r.method = r.append("GET");
    r.target = r.append("/");
    r.path = r.target;
    for (const auto& [name, value] : headers)
        r.headers.push_back({r.append(name), r.append(value)});
    r.remote_addr = peer;
    return r;
}

TrustedProxies proxies(const std::vector<std::string>& entries) {
    TrustedProxies t;
    REQUIRE(t.set(entries) == "");
    return t;
}

struct Seen {
    std::string remote_addr;
    std::string scheme;
};

Seen forwarded(const std::vector<std::string>& trusted, const std::string& peer,
               const Headers& headers, bool peer_trusted = false) {
    Request r = make_request(peer, headers);
    apply_forwarded(r, proxies(trusted), peer_trusted);
    return {r.remote_addr, r.scheme};
}

const std::vector<std::string> kLocal = {"127.0.0.1", "::1"};  // the default

}  // namespace

TEST_SUITE("forwarded") {

TEST_CASE("parse_ip: forms, ports, canonical text") {
    std::string canon;
    CHECK(parse_ip("192.0.2.1", nullptr, &canon));
    CHECK(canon == "192.0.2.1");
    CHECK(parse_ip(" 192.0.2.1:8080 ", nullptr, &canon));
    CHECK(canon == "192.0.2.1");
    CHECK(parse_ip("2001:DB8:0:0::1", nullptr, &canon));
    CHECK(canon == "2001:db8::1");
    CHECK(parse_ip("[2001:db8::1]:4711", nullptr, &canon));
    CHECK(canon == "2001:db8::1");
    CHECK(parse_ip("[::1]", nullptr, &canon));
    CHECK(canon == "::1");
    CHECK(parse_ip("::ffff:192.0.2.7", nullptr, &canon));
    CHECK(canon == "192.0.2.7");

    std::array<uint8_t, 16> a{}, b{};
    REQUIRE(parse_ip("10.1.2.3", &a, nullptr));
    REQUIRE(parse_ip("::ffff:10.1.2.3", &b, nullptr));
    CHECK(a == b);  // IPv4 is kept as v4-mapped IPv6

    for (const char* bad : {"", "unknown", "_hidden", "256.0.0.1", "1.2.3", "2001:db8::g",
                            "[2001:db8::1", "[::1]x", "1.2.3.4.5", "example.com"}) {
        CAPTURE(bad);
        CHECK_FALSE(parse_ip(bad, nullptr, nullptr));
    }
    CHECK_FALSE(parse_ip(std::string(80, '1'), nullptr, nullptr));
}

TEST_CASE("TrustedProxies: addresses") {
    TrustedProxies t = proxies({"127.0.0.1", "::1", " 192.0.2.9 "});
    CHECK(t.contains("127.0.0.1"));
    CHECK(t.contains("::1"));
    CHECK(t.contains("192.0.2.9"));
    CHECK(t.contains("::ffff:127.0.0.1"));  // a dual-stack socket's view of 127.0.0.1
    CHECK_FALSE(t.contains("127.0.0.2"));
    CHECK_FALSE(t.contains("::2"));
    CHECK_FALSE(t.contains(""));
    CHECK_FALSE(t.contains("unix"));
    CHECK_FALSE(t.empty());
}

TEST_CASE("TrustedProxies: IPv4 CIDR blocks") {
    TrustedProxies t = proxies({"10.0.0.0/8", "192.168.0.0/23", "203.0.113.77/32"});
    CHECK(t.contains("10.0.0.0"));
    CHECK(t.contains("10.255.255.255"));
    CHECK_FALSE(t.contains("11.0.0.0"));
    CHECK_FALSE(t.contains("9.255.255.255"));
    CHECK(t.contains("192.168.0.1"));
    CHECK(t.contains("192.168.1.255"));  // /23: the bit past the prefix is free
    CHECK_FALSE(t.contains("192.168.2.0"));
    CHECK(t.contains("203.0.113.77"));
    CHECK_FALSE(t.contains("203.0.113.78"));
    CHECK_FALSE(t.contains("::a00:1"));  // ::10.0.0.1 (v4-compatible) is not 10.0.0.1

    TrustedProxies all_v4 = proxies({"0.0.0.0/0"});
    CHECK(all_v4.contains("198.51.100.1"));
    CHECK(all_v4.contains("::ffff:198.51.100.1"));
    CHECK_FALSE(all_v4.contains("2001:db8::1"));
}

TEST_CASE("TrustedProxies: IPv6 CIDR blocks") {
    TrustedProxies t = proxies({"2001:db8::/32", "fd00:1:2:3::/64", "fe80::/10"});
    CHECK(t.contains("2001:db8::1"));
    CHECK(t.contains("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"));
    CHECK_FALSE(t.contains("2001:db9::1"));
    CHECK(t.contains("fd00:1:2:3:abcd::1"));
    CHECK_FALSE(t.contains("fd00:1:2:4::1"));
    CHECK(t.contains("febf::1"));  // /10 covers fe80..febf
    CHECK_FALSE(t.contains("fec0::1"));
    CHECK_FALSE(t.contains("10.0.0.1"));

    TrustedProxies everything = proxies({"::/0"});
    CHECK(everything.contains("2001:db8::1"));
    CHECK(everything.contains("192.0.2.1"));  // v4-mapped lies inside ::/0
}

TEST_CASE("TrustedProxies: \"*\" trusts every peer, even one without an address") {
    TrustedProxies t = proxies({"*"});
    CHECK(t.contains("198.51.100.1"));
    CHECK(t.contains("2001:db8::1"));
    CHECK(t.contains("unix"));
    CHECK_FALSE(t.empty());
}

TEST_CASE("TrustedProxies: an empty list trusts no one") {
    TrustedProxies t = proxies({});
    CHECK(t.empty());
    CHECK_FALSE(t.contains("127.0.0.1"));
}

TEST_CASE("TrustedProxies: a bad entry is named") {
    for (const char* bad : {"bogus", "10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/8x",
                            "10.0.0.0/-1", "10.0.0.0/1234", "300.1.1.1", "2001:db8::/x",
                            "10.0.0.0/8/8", "localhost"}) {
        CAPTURE(bad);
        TrustedProxies t;
        CHECK(t.set({"127.0.0.1", bad, "::1"}) == bad);
    }
    // A later set() replaces the list; nothing of an earlier one lingers.
    TrustedProxies t;
    REQUIRE(t.set({"*"}) == "");
    REQUIRE(t.set({"10.0.0.0/8"}) == "");
    CHECK_FALSE(t.contains("192.0.2.1"));
    CHECK(t.contains("10.9.9.9"));
}

TEST_CASE("apply_forwarded: an untrusted peer's headers are ignored") {
    Seen s = forwarded(kLocal, "198.51.100.20",
                       {{"X-Forwarded-For", "203.0.113.7"}, {"X-Forwarded-Proto", "https"},
                        {"Forwarded", "for=192.0.2.1;proto=https"}});
    CHECK(s.remote_addr == "198.51.100.20");
    CHECK(s.scheme == "http");

    // An empty trust list: not even loopback is believed.
    s = forwarded({}, "127.0.0.1", {{"X-Forwarded-For", "203.0.113.7"}});
    CHECK(s.remote_addr == "127.0.0.1");
}

TEST_CASE("apply_forwarded: peer_trusted needs no list entry (HTTP over a unix socket)") {
    Seen s = forwarded({}, "unix", {{"X-Forwarded-For", "203.0.113.7"},
                                    {"X-Forwarded-Proto", "https"}},
                       /*peer_trusted=*/true);
    CHECK(s.remote_addr == "203.0.113.7");
    CHECK(s.scheme == "https");
}

TEST_CASE("apply_forwarded: X-Forwarded-For from a trusted peer") {
    SUBCASE("one address") {
        Seen s = forwarded(kLocal, "127.0.0.1", {{"x-forwarded-for", "203.0.113.7"}});
        CHECK(s.remote_addr == "203.0.113.7");
        CHECK(s.scheme == "http");
    }
    SUBCASE("the rightmost untrusted hop, trusted proxies skipped") {
        Seen s = forwarded({"127.0.0.1", "10.0.0.0/8"}, "127.0.0.1",
                           {{"X-Forwarded-For", "198.51.100.1, 203.0.113.7,10.1.1.1 , 10.0.0.2"}});
        CHECK(s.remote_addr == "203.0.113.7");
    }
    SUBCASE("a client's own X-Forwarded-For cannot win past an untrusted hop") {
        // Nginx appended the client's address (198.51.100.9) to what it sent.
        Seen s = forwarded(kLocal, "127.0.0.1", {{"X-Forwarded-For", "1.1.1.1, 198.51.100.9"}});
        CHECK(s.remote_addr == "198.51.100.9");
    }
    SUBCASE("every hop trusted: the leftmost one") {
        Seen s = forwarded({"10.0.0.0/8", "127.0.0.1"}, "127.0.0.1",
                           {{"X-Forwarded-For", "10.0.0.3, 10.0.0.2"}});
        CHECK(s.remote_addr == "10.0.0.3");
    }
    SUBCASE("IPv6 hops, bracketed or not, with ports; canonical form") {
        Seen s = forwarded(kLocal, "::1", {{"X-Forwarded-For", "2001:DB8:0::1"}});
        CHECK(s.remote_addr == "2001:db8::1");
        s = forwarded(kLocal, "::1", {{"X-Forwarded-For", "[2001:db8::2]:4711"}});
        CHECK(s.remote_addr == "2001:db8::2");
        s = forwarded({"::1", "2001:db8:ffff::/48"}, "::1",
                      {{"X-Forwarded-For", "2001:db8::3, [2001:db8:ffff::1]:80"}});
        CHECK(s.remote_addr == "2001:db8::3");
        s = forwarded(kLocal, "127.0.0.1", {{"X-Forwarded-For", "::ffff:192.0.2.44"}});
        CHECK(s.remote_addr == "192.0.2.44");
    }
    SUBCASE("IPv4 ports stripped") {
        Seen s = forwarded(kLocal, "127.0.0.1", {{"X-Forwarded-For", "192.0.2.60:51234"}});
        CHECK(s.remote_addr == "192.0.2.60");
    }
    SUBCASE("garbage is ignored: the peer stays") {
        for (const char* bad : {"unknown", "not an ip", "999.1.1.1", ", ,", "", "203.0.113.7 x"}) {
            CAPTURE(bad);
            Seen s = forwarded(kLocal, "127.0.0.1", {{"X-Forwarded-For", bad}});
            CHECK(s.remote_addr == "127.0.0.1");
        }
    }
    SUBCASE("garbage stops the walk: nothing left of it is believed") {
        Seen s = forwarded(kLocal, "127.0.0.1", {{"X-Forwarded-For", "203.0.113.7, garbage"}});
        CHECK(s.remote_addr == "127.0.0.1");
        s = forwarded({"127.0.0.1", "10.0.0.0/8"}, "127.0.0.1",
                      {{"X-Forwarded-For", "203.0.113.7, garbage, 10.0.0.2"}});
        CHECK(s.remote_addr != "203.0.113.7");
        CHECK((s.remote_addr == "127.0.0.1" || s.remote_addr == "10.0.0.2"));
    }
    SUBCASE("X-Forwarded-For wins over Forwarded") {
        Seen s = forwarded(kLocal, "127.0.0.1",
                           {{"Forwarded", "for=192.0.2.1"}, {"X-Forwarded-For", "203.0.113.7"}});
        CHECK(s.remote_addr == "203.0.113.7");
    }
}

TEST_CASE("apply_forwarded: X-Forwarded-For sent as several field lines") {
    // RFC 9110 §5.3: the lines are one comma list, in order. A proxy that
    // adds its own line (HAProxy's `option forwardfor`) after the client's
    // forged one must win; reading only the first line believes the forgery.
    Seen s = forwarded(kLocal, "127.0.0.1",
                       {{"X-Forwarded-For", "6.6.6.6"}, {"X-Forwarded-For", "203.0.113.7"}});
    CHECK(s.remote_addr == "203.0.113.7");
}

TEST_CASE("apply_forwarded: Forwarded (RFC 7239) from a trusted peer") {
    SUBCASE("for and proto of one element") {
        Seen s = forwarded(kLocal, "127.0.0.1",
                           {{"Forwarded", "for=192.0.2.60;proto=https;by=203.0.113.43"}});
        CHECK(s.remote_addr == "192.0.2.60");
        CHECK(s.scheme == "https");
    }
    SUBCASE("quoted IPv6 with a port") {
        Seen s = forwarded(kLocal, "127.0.0.1", {{"Forwarded", "for=\"[2001:db8::1]:4711\""}});
        CHECK(s.remote_addr == "2001:db8::1");
    }
    SUBCASE("parameter names are case-insensitive, spaces around ';' allowed") {
        Seen s = forwarded(kLocal, "127.0.0.1",
                           {{"Forwarded", "By=10.0.0.1 ; For=\"192.0.2.61\" ; Proto=HTTPS"}});
        CHECK(s.remote_addr == "192.0.2.61");
        CHECK(s.scheme == "https");
    }
    SUBCASE("several elements: the rightmost untrusted one") {
        Seen s = forwarded({"127.0.0.1", "10.0.0.0/8"}, "127.0.0.1",
                           {{"Forwarded", "for=192.0.2.43, for=198.51.100.17, for=10.0.0.5"}});
        CHECK(s.remote_addr == "198.51.100.17");
    }
    SUBCASE("obfuscated or unknown nodes are not addresses") {
        for (const char* v : {"for=unknown", "for=_hidden", "for=\"_gazonk\"", "proto=https",
                              "for=", "for=\"\""}) {
            CAPTURE(v);
            Seen s = forwarded(kLocal, "127.0.0.1", {{"Forwarded", v}});
            CHECK(s.remote_addr == "127.0.0.1");
        }
        Seen s = forwarded(kLocal, "127.0.0.1", {{"Forwarded", "for=192.0.2.1, for=unknown"}});
        CHECK(s.remote_addr == "127.0.0.1");
    }
    SUBCASE("X-Forwarded-Proto wins over Forwarded's proto") {
        Seen s = forwarded(kLocal, "127.0.0.1",
                           {{"Forwarded", "for=192.0.2.1;proto=https"},
                            {"X-Forwarded-Proto", "http"}});
        CHECK(s.remote_addr == "192.0.2.1");
        CHECK(s.scheme == "http");
    }
}

TEST_CASE("apply_forwarded: the scheme") {
    auto scheme_for = [](const char* proto, const char* start = "http") {
        Request r = make_request("127.0.0.1", {{"X-Forwarded-Proto", proto}});
        r.scheme = start;
        apply_forwarded(r, proxies(kLocal), false);
        return r.scheme;
    };
    CHECK(scheme_for("https") == "https");
    CHECK(scheme_for("HTTPS") == "https");
    CHECK(scheme_for("http", "https") == "http");  // e.g. uwsgi's HTTPS var, overridden
    for (const char* bad : {"ftp", "", "javascript", "https\r\nX: y", "httpsx"}) {
        CAPTURE(bad);
        CHECK(scheme_for(bad) == "http");
        CHECK(scheme_for(bad, "https") == "https");
    }
    // Only ever the two literal values: never the header's bytes.
    Request r = make_request("127.0.0.1", {{"X-Forwarded-Proto", "HtTpS"}});
    apply_forwarded(r, proxies(kLocal), false);
    CHECK(r.scheme == "https");
}

}  // TEST_SUITE

}  // namespace quiver::worker::test
