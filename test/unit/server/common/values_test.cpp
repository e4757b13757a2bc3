// SPDX-License-Identifier: MIT
// Setting text conversions: sizes, durations, booleans, modes, addresses,
// IPs, names, mounts, quoting; and that each format reads back as its value.
#include <doctest/doctest.h>

#include <cstdint>
#include <random>

#include "server/common/config/values.hpp"

namespace quiver::config {
namespace {

template <typename T>
std::string error_of(const Result<T>& r) {
    return r ? std::string("(no error)") : r.error().message();
}

TEST_SUITE("config.values") {

TEST_CASE("parse_uint") {
    CHECK(*parse_uint("0") == 0);
    CHECK(*parse_uint("18446744073709551615") == UINT64_MAX);
    CHECK(error_of(parse_uint("18446744073709551616")) == "\"18446744073709551616\" is too large");
    CHECK(error_of(parse_uint("")) == "expected a whole number, got \"\"");
    CHECK(error_of(parse_uint("-1")) == "expected a whole number, got \"-1\"");
    CHECK(error_of(parse_uint("+1")) == "expected a whole number, got \"+1\"");
    CHECK(error_of(parse_uint(" 1")) == "expected a whole number, got \" 1\"");
    CHECK(error_of(parse_uint("1 ")) == "expected a whole number, got \"1 \"");
    CHECK(error_of(parse_uint("0x10")) == "expected a whole number, got \"0x10\"");
}

TEST_CASE("parse_size: bytes and binary units") {
    CHECK(*parse_size("0") == 0);
    CHECK(*parse_size("8190") == 8190);
    CHECK(*parse_size("512B") == 512);
    CHECK(*parse_size("64k") == 65536);
    CHECK(*parse_size("64K") == 65536);
    CHECK(*parse_size("64KiB") == 65536);
    CHECK(*parse_size("64 KiB") == 65536);
    CHECK(*parse_size("1m") == 1u << 20);
    CHECK(*parse_size("1MiB") == 1u << 20);
    CHECK(*parse_size("3g") == 3ull << 30);
    CHECK(*parse_size("2GiB") == 2ull << 30);
    CHECK(*parse_size("1TiB") == 1ull << 40);
    CHECK(*parse_size("16777215T") == 16777215ull << 40);
    CHECK(error_of(parse_size("16777216T")) == "\"16777216T\" is too large");
    CHECK(error_of(parse_size("1MB")) ==
          "\"1MB\" is ambiguous (1000 or 1024?): write 1MiB or a number of bytes");
    CHECK(error_of(parse_size("4kb")) ==
          "\"4kb\" is ambiguous (1000 or 1024?): write 4KiB or a number of bytes");
    CHECK(error_of(parse_size("1 XB")) ==
          "unknown unit \"XB\" in \"1 XB\": use B, KiB, MiB, GiB, TiB (or k, m, g, t)");
    CHECK(error_of(parse_size("1mib")).starts_with("unknown unit \"mib\""));
    CHECK(error_of(parse_size("1.5MiB")) ==
          "expected a whole number of bytes or units, got \"1.5MiB\"");
    CHECK(error_of(parse_size("MiB")) ==
          "expected a size such as 8190, 64KiB or 1MiB, got \"MiB\"");
    CHECK(error_of(parse_size("")) == "expected a size such as 8190, 64KiB or 1MiB, got \"\"");
    CHECK(error_of(parse_size("10 ")).starts_with("unknown unit \"\""));
    CHECK(error_of(parse_size("-1k")).starts_with("expected a size"));
}

TEST_CASE("parse_duration: units, combinations, bare seconds") {
    CHECK(*parse_duration("0") == 0);
    CHECK(*parse_duration("30") == 30000);
    CHECK(*parse_duration("500ms") == 500);
    CHECK(*parse_duration("10s") == 10000);
    CHECK(*parse_duration("2m") == 120000);
    CHECK(*parse_duration("1h") == 3600000);
    CHECK(*parse_duration("1d") == 86400000);
    CHECK(*parse_duration("1m30s") == 90000);
    CHECK(*parse_duration("1h1m1s1ms") == 3661001);
    CHECK(error_of(parse_duration("1m30")) ==
          "expected a duration such as 500ms, 10s, 2m or 1h, got \"1m30\"");
    CHECK(error_of(parse_duration("10sec")) ==
          "unknown unit \"sec\" in \"10sec\": use ms, s, m, h or d");
    CHECK(error_of(parse_duration("5us")) ==
          "unknown unit \"us\" in \"5us\": use ms, s, m, h or d");
    CHECK(error_of(parse_duration("0.5s")) ==
          "fractions are not supported in \"0.5s\": use a smaller unit (1500ms, 90s)");
    CHECK(error_of(parse_duration("s")).starts_with("expected a duration"));
    CHECK(error_of(parse_duration("")).starts_with("expected a duration"));
    CHECK(error_of(parse_duration("1 s")).starts_with("expected a duration"));
    CHECK(error_of(parse_duration("-1s")).starts_with("expected a duration"));
    CHECK(error_of(parse_duration("18446744073709551615")) ==
          "\"18446744073709551615\" is too large");
    CHECK(*parse_duration("213503982334d") == 213503982334ull * 86400000);  // the largest
    CHECK(error_of(parse_duration("213503982335d")) == "\"213503982335d\" is too large");
    CHECK(error_of(parse_duration("106751991168d106751991168d")) ==
          "\"106751991168d106751991168d\" is too large");
}

TEST_CASE("format_size and format_duration read back to the same value") {
    CHECK(format_size(0) == "0");
    CHECK(format_size(8190) == "8190");
    CHECK(format_size(65536) == "64KiB");
    CHECK(format_size(1536 * 1024) == "1536KiB");
    CHECK(format_size(1u << 20) == "1MiB");
    CHECK(format_size(1ull << 40) == "1TiB");
    CHECK(format_duration(0) == "0s");
    CHECK(format_duration(1500) == "1500ms");
    CHECK(format_duration(90000) == "90s");
    CHECK(format_duration(120000) == "2m");
    CHECK(format_duration(7 * 86400000ull) == "7d");
    std::mt19937_64 rng(12345);
    for (int i = 0; i < 2000; ++i) {
        uint64_t v = rng() >> (rng() % 64);
        if (i % 3 == 0) v &= ~uint64_t{1023};
        CAPTURE(v);
        auto size = parse_size(format_size(v));
        REQUIRE(size);
        CHECK(*size == v);
        uint64_t ms = v / 1000 * (i % 2 ? 1000 : 1);  // some whole seconds
        auto d = parse_duration(format_duration(ms));
        REQUIRE(d);
        CHECK(*d == ms);
    }
}

TEST_CASE("parse_bool and parse_mode") {
    for (const char* t : {"true", "TRUE", "yes", "on", "1", "True"}) CHECK(*parse_bool(t));
    for (const char* f : {"false", "no", "off", "0", "False"}) CHECK_FALSE(*parse_bool(f));
    CHECK(error_of(parse_bool("")) == "expected true or false, got \"\"");
    CHECK(error_of(parse_bool("2")) == "expected true or false, got \"2\"");
    CHECK(*parse_mode("0660") == 0660);
    CHECK(*parse_mode("660") == 0660);
    CHECK(*parse_mode("0o600") == 0600);
    CHECK(*parse_mode("0") == 0);
    CHECK(*parse_mode("0777") == 0777);
    CHECK(error_of(parse_mode("1000")) == "permission bits \"1000\" are beyond 0777");
    CHECK(error_of(parse_mode("0668")) ==
          "expected octal permission bits such as 0660, got \"0668\"");
    CHECK(error_of(parse_mode("")) == "expected octal permission bits such as 0660, got \"\"");
    CHECK(error_of(parse_mode("rw-rw----")).starts_with("expected octal"));
    CHECK(format_mode(0660) == "0660");
    CHECK(format_mode(0) == "0000");
    for (uint32_t m = 0; m <= 0777; ++m) CHECK(*parse_mode(format_mode(m)) == m);
}

TEST_CASE("parse_address: TCP forms") {
    auto a = parse_address("127.0.0.1:8000", "/base");
    REQUIRE(a);
    CHECK(a->address == "127.0.0.1:8000");
    CHECK(a->host == "127.0.0.1");
    CHECK(a->port == 8000);
    CHECK_FALSE(a->is_unix);
    auto any = parse_address(":80", "/");
    REQUIRE(any);
    CHECK(any->host == "");
    CHECK(any->port == 80);
    auto star = parse_address("*:443", "/");
    REQUIRE(star);
    CHECK(star->host == "");
    CHECK(star->address == "*:443");
    auto v6 = parse_address("[::1]:8080", "/");
    REQUIRE(v6);
    CHECK(v6->host == "::1");
    CHECK(v6->port == 8080);
    auto zone = parse_address("[fe80::1%eth0]:80", "/");
    REQUIRE(zone);
    CHECK(zone->host == "fe80::1%eth0");
    auto name = parse_address("db-1.example.com:5000", "/");
    REQUIRE(name);
    CHECK(name->host == "db-1.example.com");
    CHECK(parse_address("localhost:65535", "/"));
    CHECK(error_of(parse_address("[::1]", "/")) == "expected :PORT after ']' in \"[::1]\"");
    CHECK(error_of(parse_address("[::1:80", "/")) == "missing ']' in \"[::1:80\"");
    CHECK(error_of(parse_address("[]:80", "/")) == "bad IPv6 address \"\" in \"[]:80\"");
    CHECK(error_of(parse_address("[fe80::1%]:80", "/")) ==
          "bad IPv6 address \"fe80::1%\" in \"[fe80::1%]:80\"");
    CHECK(error_of(parse_address("1.2.3:80", "/")) == "bad host \"1.2.3\" in \"1.2.3:80\"");
    CHECK(error_of(parse_address("01.2.3.4:80", "/")) ==
          "bad host \"01.2.3.4\" in \"01.2.3.4:80\"");
    CHECK(error_of(parse_address("-bad-.com:80", "/")) ==
          "bad host \"-bad-.com\" in \"-bad-.com:80\"");
    CHECK(error_of(parse_address("a..b:80", "/")) == "bad host \"a..b\" in \"a..b:80\"");
    CHECK(error_of(parse_address("host:", "/")) == "expected a port number after ':' in \"host:\"");
    CHECK(error_of(parse_address("host:http", "/")) ==
          "expected a port number after ':' in \"host:http\"");
    CHECK(error_of(parse_address("host:+80", "/")) ==
          "expected a port number after ':' in \"host:+80\"");
    CHECK(error_of(parse_address("host:99999999999999999999", "/")) ==
          "expected a port number after ':' in \"host:99999999999999999999\"");
    CHECK(error_of(parse_address("", "/")) ==
          "expected HOST:PORT, [IPv6]:PORT, :PORT (all interfaces) or unix:PATH, got \"\"");
}

TEST_CASE("parse_address: unix sockets resolve against the base folder") {
    auto rel = parse_address("unix:run/q.sock", "/etc/quiver");
    REQUIRE(rel);
    CHECK(rel->is_unix);
    CHECK(rel->path == "/etc/quiver/run/q.sock");
    CHECK(rel->address == "unix:/etc/quiver/run/q.sock");
    auto up = parse_address("unix:../q.sock", "/etc/quiver");
    REQUIRE(up);
    CHECK(up->path == "/etc/q.sock");
    auto abs = parse_address("unix:/run/quiver/quiver.sock", "/etc/quiver");
    REQUIRE(abs);
    CHECK(abs->path == "/run/quiver/quiver.sock");
    CHECK(error_of(parse_address("unix:@abstract", "/")) ==
          "abstract unix sockets are not supported");
    std::string longest = "/" + std::string(106, 'x');
    CHECK(parse_address("unix:" + longest, "/"));
    CHECK(error_of(parse_address("unix:" + longest + "y", "/")) ==
          "socket path \"/" + std::string(79, 'x') +
              "\"... is 108 bytes; a unix socket allows 107");
}

TEST_CASE("endpoint_key: equal for addresses that bind the same endpoint") {
    auto key = [](std::string_view a) { return endpoint_key(*parse_address(a, "/b")); };
    CHECK(key(":80") == key("0.0.0.0:80"));
    CHECK(key("*:80") == key(":80"));
    CHECK(key("[::1]:80") == key("[0:0:0:0:0:0:0:1]:80"));
    CHECK(key("LOCALHOST:80") == key("localhost:80"));
    CHECK(key("unix:q.sock") == key("unix:/b/./q.sock"));
    CHECK(key(":80") != key(":81"));
    CHECK(key("127.0.0.1:80") != key(":80"));
    CHECK(key("[::]:80") != key(":80"));
}

TEST_CASE("checks for IPs, header values, accounts, names and mounts") {
    for (const char* ok :
         {"*", "127.0.0.1", "10.0.0.0/8", "0.0.0.0/0", "::1", "fd00::/8", "::/128"})
        CHECK_MESSAGE(check_ip_or_cidr(ok), std::string(ok));
    for (const char* bad : {"", "10.0.0.0/", "10.0.0.0/x", "1.2.3.4/1234", "10.0.0", "::g", "*.*",
                            "localhost", "10.0.0.0/8 "})
        CHECK_MESSAGE(!check_ip_or_cidr(bad), std::string(bad));
    CHECK(error_of(check_ip_or_cidr("::/129")) == "prefix length /129 is too long for IPv6");

    CHECK(check_field_value(""));
    CHECK(check_field_value("quiver/0.1 (Debian)"));
    CHECK(error_of(check_field_value(" x")) == "must not start or end with whitespace");
    CHECK(error_of(check_field_value("a\nb")) ==
          "must be printable ASCII (an HTTP field value), got \"a\\nb\"");
    CHECK_FALSE(check_field_value("caf\xc3\xa9"));
    CHECK_FALSE(check_field_value(std::string(1025, 'a')));

    for (const char* ok : {"", "www-data", "_quiver", "svc.app", "1000", "machine$"})
        CHECK_MESSAGE(check_account(ok), std::string(ok));
    for (const char* bad : {"-x", "a b", "a:b", "ma$chine", "4294967295"})
        CHECK_MESSAGE(!check_account(bad), std::string(bad));
    CHECK(check_account(std::string(32, 'a')));
    CHECK_FALSE(check_account(std::string(33, 'a')));

    CHECK(check_app_name("hello-1.2_x"));
    for (const char* bad : {"", ".", "..", "a/b", "a b", "é"})
        CHECK_MESSAGE(!check_app_name(bad), std::string(bad));
    CHECK(check_listener_name("web"));
    CHECK(check_listener_name("127.0.0.1:8000"));
    CHECK_FALSE(check_listener_name(""));
    CHECK_FALSE(check_listener_name("a b"));

    for (const char* ok : {"/", "/api", "/api/v1", "/a%20b", "/~user", "/a:b@c"})
        CHECK_MESSAGE(check_mount(ok), std::string(ok));
    CHECK(error_of(check_mount("api")) == "must start with '/', got \"api\"");
    CHECK(error_of(check_mount("/api/")) == "must not end with '/': write \"/api\"");
    CHECK(error_of(check_mount("/a//b")) ==
          "empty, '.' and '..' segments are not allowed, in \"/a//b\"");
    CHECK(error_of(check_mount("/a/../b")) ==
          "empty, '.' and '..' segments are not allowed, in \"/a/../b\"");
    CHECK(error_of(check_mount("/a?b")) ==
          "character \"?\" is not allowed in a path (percent-encode it), in \"/a?b\"");
    CHECK(error_of(check_mount("/a b")).starts_with("character \" \" is not allowed"));
    CHECK(error_of(check_mount("/%zz")) == "bad percent-encoding in \"/%zz\"");
    CHECK(error_of(check_mount("/%2")) == "bad percent-encoding in \"/%2\"");
}

TEST_CASE("check_text and check_utf8") {
    CHECK(check_text("plain é 日本"));
    CHECK(error_of(check_text("a\tb")) == "contains control character 0x09");
    CHECK(error_of(check_text("a\x7f")) == "contains control character 0x7f");
    CHECK(error_of(check_text("\xff")) == "not valid UTF-8 (at byte 0)");
    CHECK_FALSE(check_utf8("\xc0\xaf"));          // overlong '/'
    CHECK_FALSE(check_utf8("\xed\xa0\x80"));      // surrogate
    CHECK_FALSE(check_utf8("\xf4\x90\x80\x80"));  // past U+10FFFF
    CHECK_FALSE(check_utf8("\xe6\x97"));          // cut short
    CHECK(check_utf8("\xf0\x9f\x98\x80"));
}

TEST_CASE("quoted: valid JSON and YAML, no surrogate escapes") {
    CHECK(quoted("") == "\"\"");
    CHECK(quoted("a\"b\\c") == "\"a\\\"b\\\\c\"");
    CHECK(quoted("\n\r\t\b\f") == "\"\\n\\r\\t\\b\\f\"");
    CHECK(quoted(std::string("\0\x1f\x7f", 3)) == "\"\\u0000\\u001f\\u007f\"");
    CHECK(quoted("\xc2\x85\xe2\x80\xa8\xef\xbb\xbf") == "\"\\u0085\\u2028\\ufeff\"");
    CHECK(quoted("\xf0\x9f\x98\x80 é") == "\"\xf0\x9f\x98\x80 é\"");
    CHECK(shown("\xff") == "\"\\ufffd\"");
    CHECK(shown(std::string(100, 'a')) == "\"" + std::string(80, 'a') + "\"...");
}

TEST_CASE("split_list, edit_distance, closest, first_duplicate") {
    CHECK(split_list("").empty());
    CHECK(split_list("  ").empty());
    CHECK(split_list("a") == std::vector<std::string>{"a"});
    CHECK(split_list(" a , b,c ") == std::vector<std::string>{"a", "b", "c"});
    CHECK(split_list("a,,b") == std::vector<std::string>{"a", "", "b"});
    CHECK(edit_distance("workers", "wokers") == 1);
    CHECK(edit_distance("", "abc") == 3);
    CHECK(edit_distance("kitten", "sitting") == 3);
    std::vector<std::string_view> names = {"workers", "listen", "backlog"};
    CHECK(closest("wokers", names) == "workers");
    CHECK(closest("lisen", names) == "listen");
    CHECK(closest("zzz", names) == "");
    auto dup = first_duplicate(4, [](size_t i) { return i % 3; });
    REQUIRE(dup);
    CHECK(dup->first == 0);
    CHECK(dup->second == 3);
    CHECK_FALSE(first_duplicate(3, [](size_t i) { return i; }));
}

}  // TEST_SUITE

}  // namespace
}  // namespace quiver::config
