// SPDX-License-Identifier: MIT
// Request ids (X-Request-Id, W3C Trace Context §3.2 traceparent) and access
// log lines (combined, JSON per RFC 8259, $field formats), checked against
// the standards: every JSON line is decoded by a strict parser written here.
#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <regex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "server/common/access_format.hpp"
#include "workers/access_log.hpp"
#include "workers/http/request.hpp"
#include "workers/request_id.hpp"

namespace quiver::worker::test {
namespace {

using Headers = std::vector<std::pair<std::string, std::string>>;

Request make_request(std::string_view method, std::string_view target, const Headers& headers,
                     std::string peer = "127.0.0.1", uint8_t minor = 1) {
    Request r;
    r.method = r.append(method);
    r.target = r.append(target);
    size_t q = target.find('?');
    r.path =
        Span{r.target.off, static_cast<uint32_t>(q == std::string_view::npos ? target.size() : q)};
    if (q != std::string_view::npos)
        r.query = Span{static_cast<uint32_t>(r.target.off + q + 1),
                       static_cast<uint32_t>(target.size() - q - 1)};
    for (const auto& [name, value] : headers)
        r.headers.push_back({r.append(name), r.append(value)});
    r.remote_addr = std::move(peer);
    r.http_minor = minor;
    return r;
}

// ---- strict UTF-8 and JSON decoding (RFC 3629, RFC 8259), for checking ----

void put_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
        out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
        out.push_back(static_cast<char>(0xc0 | (cp >> 6)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
        out.push_back(static_cast<char>(0xe0 | (cp >> 12)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else {
        out.push_back(static_cast<char>(0xf0 | (cp >> 18)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    }
}

// Decodes s strictly as UTF-8 (shortest form, no surrogates, <= U+10FFFF).
bool valid_utf8(std::string_view s) {
    size_t i = 0;
    while (i < s.size()) {
        auto c = static_cast<unsigned char>(s[i]);
        size_t n = c < 0x80             ? 1
                   : (c & 0xe0) == 0xc0 ? 2
                   : (c & 0xf0) == 0xe0 ? 3
                   : (c & 0xf8) == 0xf0 ? 4
                                        : 0;
        if (n == 0 || i + n > s.size()) return false;
        uint32_t cp = n == 1 ? c : n == 2 ? (c & 0x1fu) : n == 3 ? (c & 0x0fu) : (c & 0x07u);
        for (size_t k = 1; k < n; ++k) {
            auto d = static_cast<unsigned char>(s[i + k]);
            if ((d & 0xc0) != 0x80) return false;
            cp = (cp << 6) | (d & 0x3fu);
        }
        static const uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < kMin[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
        i += n;
    }
    return true;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// The inside of a JSON string (RFC 8259 §7) decoded to UTF-8; false when it
// is not a valid JSON string body (raw control byte, bad escape, bare quote,
// lone surrogate escape, invalid UTF-8).
bool json_unescape(std::string_view s, std::string& out) {
    if (!valid_utf8(s)) return false;
    size_t i = 0;
    auto u4 = [&](size_t at, uint32_t& v) {
        if (at + 4 > s.size()) return false;
        v = 0;
        for (size_t k = 0; k < 4; ++k) {
            int h = hex_value(s[at + k]);
            if (h < 0) return false;
            v = v * 16 + static_cast<uint32_t>(h);
        }
        return true;
    };
    while (i < s.size()) {
        auto c = static_cast<unsigned char>(s[i]);
        if (c < 0x20 || c == '"') return false;
        if (c != '\\') {
            out.push_back(static_cast<char>(c));
            ++i;
            continue;
        }
        if (i + 1 >= s.size()) return false;
        char e = s[i + 1];
        i += 2;
        switch (e) {
            case '"':
                out.push_back('"');
                break;
            case '\\':
                out.push_back('\\');
                break;
            case '/':
                out.push_back('/');
                break;
            case 'b':
                out.push_back('\b');
                break;
            case 'f':
                out.push_back('\f');
                break;
            case 'n':
                out.push_back('\n');
                break;
            case 'r':
                out.push_back('\r');
                break;
            case 't':
                out.push_back('\t');
                break;
            case 'u': {
                uint32_t v = 0;
                if (!u4(i, v)) return false;
                i += 4;
                if (v >= 0xdc00 && v <= 0xdfff) return false;
                if (v >= 0xd800 && v <= 0xdbff) {
                    uint32_t lo = 0;
                    if (i + 2 > s.size() || s[i] != '\\' || s[i + 1] != 'u' || !u4(i + 2, lo) ||
                        lo < 0xdc00 || lo > 0xdfff)
                        return false;
                    i += 6;
                    v = 0x10000 + ((v - 0xd800) << 10) + (lo - 0xdc00);
                }
                put_utf8(out, v);
                break;
            }
            default:
                return false;
        }
    }
    return true;
}

// escape_json(s) checked by decoding it back; returns the decoded text.
std::string json_round_trip(std::string_view s) {
    std::string esc;
    AccessLog::escape_json(esc, s);
    std::string back;
    INFO("escaped: ", esc);
    REQUIRE(json_unescape(esc, back));
    return back;
}

const std::string kFffd = "\xef\xbf\xbd";

std::string fffd(size_t n) {
    std::string s;
    for (size_t i = 0; i < n; ++i) s += kFffd;
    return s;
}

// A flat JSON object of string and unsigned integer members, strictly; the
// values come back decoded (numbers as their text). false when invalid.
bool parse_flat_object(std::string_view s, std::map<std::string, std::string>& out) {
    size_t i = 0;
    auto string_at = [&](std::string& v) {
        if (i >= s.size() || s[i] != '"') return false;
        size_t j = i + 1;
        while (j < s.size() && s[j] != '"') j += s[j] == '\\' ? 2 : 1;
        if (j >= s.size()) return false;
        v.clear();
        if (!json_unescape(s.substr(i + 1, j - i - 1), v)) return false;
        i = j + 1;
        return true;
    };
    if (s.empty() || s[i++] != '{') return false;
    for (bool first = true;; first = false) {
        if (i < s.size() && s[i] == '}' && first) return ++i == s.size();
        std::string key, value;
        if (!string_at(key) || i >= s.size() || s[i++] != ':') return false;
        if (i < s.size() && s[i] == '"') {
            if (!string_at(value)) return false;
        } else {
            size_t j = i;
            while (j < s.size() && s[j] >= '0' && s[j] <= '9') ++j;
            if (j == i || (s[i] == '0' && j - i > 1)) return false;
            value = std::string(s.substr(i, j - i));
            i = j;
        }
        if (!out.emplace(key, value).second) return false;  // duplicate member
        if (i >= s.size()) return false;
        if (s[i] == '}') return ++i == s.size();
        if (s[i++] != ',') return false;
    }
}

}  // namespace

// ---------------------------------------------------------------- request ids

TEST_CASE("X-Request-Id: 1..64 characters of the documented set") {
    CHECK(valid_request_id("a"));
    CHECK(valid_request_id("f81d4fae-7dec-11d0-a765-00a0c91e6bf6"));
    CHECK(valid_request_id("AZaz09._~:/+=@-"));
    CHECK(valid_request_id(std::string(kMaxRequestId, 'x')));
    CHECK_FALSE(valid_request_id(""));
    CHECK_FALSE(valid_request_id(std::string(kMaxRequestId + 1, 'x')));
    // Anything that could break a log line, a header or a JSON string.
    for (std::string_view bad : {"a b", "a\"b", "a\\b", "a,b", "a;b", "a\tb", "a\nb", "a\rb", "a%b",
                                 "a<b", "a'b", "a{b", "a\x7f", "caf\xc3\xa9"}) {
        INFO(bad);
        CHECK_FALSE(valid_request_id(bad));
    }
    CHECK_FALSE(valid_request_id(std::string_view("a\0b", 3)));
}

TEST_CASE("traceparent: W3C Trace Context §3.2") {
    const std::string trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    const std::string parent = "00f067aa0ba902b7";
    SUBCASE("the specification's example, sampled and not") {
        CHECK(traceparent_trace_id("00-" + trace + "-" + parent + "-01") == trace);
        CHECK(traceparent_trace_id("00-" + trace + "-" + parent + "-00") == trace);
        // Unknown flag bits are ignored, not an error (§3.2.2.5).
        CHECK(traceparent_trace_id("00-" + trace + "-" + parent + "-ff") == trace);
    }
    SUBCASE("only lowercase hex (HEXDIGLC) in every field") {
        CHECK(
            traceparent_trace_id("00-4BF92F3577B34DA6A3CE929D0E0E4736-" + parent + "-01").empty());
        CHECK(traceparent_trace_id("00-" + trace + "-00F067AA0BA902B7-01").empty());
        CHECK(traceparent_trace_id("00-" + trace + "-" + parent + "-0A").empty());
        CHECK(traceparent_trace_id("0A-" + trace + "-" + parent + "-01").empty());
        CHECK(traceparent_trace_id("00-" + trace + "-" + parent + "-0g").empty());
        CHECK(
            traceparent_trace_id("00-4bf92f3577b34da6a3ce929d0e0e473z-" + parent + "-01").empty());
        CHECK(traceparent_trace_id("0x-" + trace + "-" + parent + "-01").empty());
    }
    SUBCASE("all-zero trace-id or parent-id is invalid") {
        CHECK(traceparent_trace_id("00-" + std::string(32, '0') + "-" + parent + "-01").empty());
        CHECK(traceparent_trace_id("00-" + trace + "-" + std::string(16, '0') + "-01").empty());
        // One non-zero digit anywhere is enough.
        CHECK(traceparent_trace_id("00-" + std::string(31, '0') + "1-" + parent + "-01") ==
              std::string(31, '0') + "1");
    }
    SUBCASE("version ff is invalid") {
        CHECK(traceparent_trace_id("ff-" + trace + "-" + parent + "-01").empty());
        CHECK(traceparent_trace_id("ff-" + trace + "-" + parent + "-01-extra").empty());
    }
    SUBCASE("version 00 is exactly 55 characters") {
        CHECK(traceparent_trace_id("00-" + trace + "-" + parent + "-01-").empty());
        CHECK(traceparent_trace_id("00-" + trace + "-" + parent + "-01-what-the-future-will-be")
                  .empty());
        CHECK(traceparent_trace_id("00-" + trace + "-" + parent + "-010").empty());
    }
    SUBCASE("a future version: the first 55 characters, then the end or a dash") {
        CHECK(traceparent_trace_id("01-" + trace + "-" + parent + "-01") == trace);
        CHECK(traceparent_trace_id("cc-" + trace + "-" + parent +
                                   "-01-what-the-future-will-be-like") == trace);
        CHECK(traceparent_trace_id("fe-" + trace + "-" + parent + "-01-") == trace);
        CHECK(traceparent_trace_id("cc-" + trace + "-" + parent + "-01x").empty());
        CHECK(traceparent_trace_id("cc-" + trace + "-" + parent + "-0").empty());
        // Its fields must still be well formed.
        CHECK(traceparent_trace_id("cc-" + std::string(32, '0') + "-" + parent + "-01-x").empty());
        CHECK(traceparent_trace_id("cc-" + trace + "-" + parent + "-0G-x").empty());
    }
    SUBCASE("wrong layout") {
        CHECK(traceparent_trace_id("").empty());
        CHECK(traceparent_trace_id("00").empty());
        CHECK(traceparent_trace_id("00-" + trace + "-" + parent).empty());
        CHECK(traceparent_trace_id("00-" + trace.substr(1) + "-" + parent + "-01").empty());
        CHECK(traceparent_trace_id("00-" + trace + "0-" + parent.substr(1) + "-01").empty());
        CHECK(traceparent_trace_id("00_" + trace + "-" + parent + "-01").empty());
        CHECK(traceparent_trace_id("00-" + trace + "_" + parent + "-01").empty());
        CHECK(traceparent_trace_id("00-" + trace + "-" + parent + "_01").empty());
        CHECK(traceparent_trace_id("000-" + trace + "-" + parent + "-1").empty());
        CHECK(traceparent_trace_id(" 00-" + trace + "-" + parent + "-0").empty());
    }
}

TEST_CASE("choose_request_id: X-Request-Id, else traceparent, else <pid hex>-<counter hex>") {
    const std::string trace = "0af7651916cd43dd8448eb211c80319c";
    const std::string tp = "00-" + trace + "-b7ad6b7169203331-01";
    char out[kMaxRequestId + 1];
    auto choose = [&](const Request& r, uint32_t pid, uint64_t n) {
        size_t len = choose_request_id(r, pid, n, out, sizeof out);
        REQUIRE(len < sizeof out);
        CHECK(out[len] == '\0');
        return std::string(out, len);
    };
    CHECK(choose(make_request("GET", "/", {{"x-request-id", "abc-123"}, {"traceparent", tp}}), 1,
                 1) == "abc-123");
    std::string longest(kMaxRequestId, 'Z');
    CHECK(choose(make_request("GET", "/", {{"X-Request-Id", longest}}), 1, 1) == longest);
    CHECK(choose(make_request("GET", "/", {{"X-Request-Id", "has space"}, {"Traceparent", tp}}), 1,
                 1) == trace);
    CHECK(choose(make_request("GET", "/", {{"X-Request-Id", longest + "Z"}, {"traceparent", tp}}),
                 1, 1) == trace);
    CHECK(choose(make_request("GET", "/", {}), 0x1a2b, 0xff) == "1a2b-ff");
    CHECK(choose(make_request("GET", "/", {{"traceparent", "ff" + tp.substr(2)}}), 7, 0) == "7-0");
    CHECK(choose(make_request("GET", "/", {}), 0xffffffffu, UINT64_MAX) ==
          "ffffffff-ffffffffffffffff");
    // The generated id is itself a valid X-Request-Id (a proxy may pass it on).
    CHECK(valid_request_id(choose(make_request("GET", "/", {}), 4242, 99)));
}

// ---------------------------------------------------------------- JSON escaping

TEST_CASE("escape_json: RFC 8259 strings from arbitrary bytes") {
    SUBCASE("quotation mark and reverse solidus are escaped") {
        std::string esc;
        AccessLog::escape_json(esc, "say \"hi\" \\o/");
        CHECK(esc == "say \\\"hi\\\" \\\\o/");
        CHECK(json_round_trip("say \"hi\" \\o/") == "say \"hi\" \\o/");
    }
    SUBCASE("every control byte U+0000..U+001F is escaped, none is raw") {
        for (int c = 0; c < 0x20; ++c) {
            std::string in = "a";
            in.push_back(static_cast<char>(c));
            in.push_back('b');
            std::string esc;
            AccessLog::escape_json(esc, in);
            INFO("byte ", c, " -> ", esc);
            for (char e : esc) CHECK(static_cast<unsigned char>(e) >= 0x20);
            CHECK(json_round_trip(in) == in);
        }
        std::string esc;
        AccessLog::escape_json(esc, std::string_view("\0\x1f", 2));
        CHECK(esc == "\\u0000\\u001f");
    }
    SUBCASE("valid multi-byte UTF-8 is kept as is") {
        const std::string text =
            "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xed\x9f\xbf \xee\x80\x80 "
            "\xf4\x8f\xbf\xbf \xc2\x80 \xe0\xa0\x80 \xf0\x90\x80\x80";
        std::string esc;
        AccessLog::escape_json(esc, text);
        CHECK(esc == text);
    }
    SUBCASE("invalid UTF-8: each byte of a bad sequence becomes U+FFFD") {
        struct Case {
            std::string in, out;
        };
        const Case cases[] = {
            {"\xc0\xaf", fffd(2)},                  // overlong '/'
            {"\xc1\xbf", fffd(2)},                  // overlong
            {"\xe0\x80\xaf", fffd(3)},              // overlong 3-byte
            {"\xe0\x9f\xbf", fffd(3)},              // overlong U+07FF
            {"\xf0\x80\x80\xaf", fffd(4)},          // overlong 4-byte
            {"\xf0\x8f\xbf\xbf", fffd(4)},          // overlong U+FFFF
            {"\xed\xa0\x80", fffd(3)},              // U+D800
            {"\xed\xbf\xbf", fffd(3)},              // U+DFFF
            {"\xed\xa0\xbd\xed\xb8\x80", fffd(6)},  // CESU-8 surrogate pair
            {"\xf4\x90\x80\x80", fffd(4)},          // U+110000
            {"\xf5\x80\x80\x80", fffd(4)},          // lead byte past F4
            {"\xf7\xbf\xbf\xbf", fffd(4)},
            {"\xfe", fffd(1)},
            {"\xff", fffd(1)},
            {"\x80", fffd(1)},  // lone continuation
            {"\xbf", fffd(1)},
            {"a\xe2\x82", std::string("a").append(fffd(2))},  // truncated at the end
            {"\xe2\x82"
             "A",
             fffd(2) + "A"},  // truncated mid-string
            {"\xf0\x9f\x98", fffd(3)},
            {"\xc3", fffd(1)},
            {"\xc3"
             "\xc3\xa9",
             kFffd + "\xc3\xa9"},  // the next valid one survives
            {"\xe2\x82\xac\x80\"", "\xe2\x82\xac" + kFffd + "\""},
        };
        for (const Case& c : cases) {
            INFO("input bytes: ", c.in.size());
            std::string back = json_round_trip(c.in);
            CHECK(back == c.out);
            CHECK(valid_utf8(back));
        }
    }
    SUBCASE("appends, keeping what was there") {
        std::string esc = "x";
        AccessLog::escape_json(esc, "\"");
        CHECK(esc == "x\\\"");
    }
}

// ---------------------------------------------------------------- combined format

TEST_CASE("escape for quoted fields: \" \\ and non-printable bytes as \\xHH (nginx)") {
    std::string out;
    AccessLog::escape(out, "plain /a?b=c&d");
    CHECK(out == "plain /a?b=c&d");
    out.clear();
    AccessLog::escape(out, "a\"b\\c\nd\te\x7f\x01\xc3\xa9");
    CHECK(out == "a\\x22b\\x5Cc\\x0Ad\\x09e\\x7F\\x01\\xC3\\xA9");
    // A quoted field can never be closed early or split over lines.
    for (int c = 0; c < 256; ++c) {
        out.clear();
        AccessLog::escape(out, std::string(1, static_cast<char>(c)));
        INFO("byte ", c, " -> ", out);
        for (char e : out) {
            auto u = static_cast<unsigned char>(e);
            CHECK((u >= 0x20 && u < 0x7f && u != '"'));
        }
        if (c == '\\')
            CHECK(out == "\\x5C");
        else if (c >= 0x20 && c < 0x7f && c != '"')
            CHECK(out == std::string(1, static_cast<char>(c)));
    }
}

// %h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-agent}i"
const std::regex kCombined(
    R"re(^(\S+) - - \[(\d{2}/(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)/)re"
    R"re(\d{4}:\d{2}:\d{2}:\d{2} \+0000)\] )re"
    R"re("([^"]*)" (\d{3}) (-|[1-9]\d*) "([^"]*)" "([^"]*)"\n$)re");

TEST_CASE("combined: Apache's layout, - for what is absent") {
    AccessLog log;
    REQUIRE(log.open("", "combined"));
    CHECK_FALSE(log.enabled());
    std::string line;
    std::smatch m;
    SUBCASE("a full line") {
        Request r = make_request("GET", "/a/b?x=1&y=2",
                                 {{"Referer", "https://example.test/"}, {"user-agent", "curl/8.1"}},
                                 "192.0.2.7");
        log.format_line(line, r, AccessEntry{200, 1234, 55, "rid", "hello"});
        INFO(line);
        REQUIRE(std::regex_match(line, m, kCombined));
        CHECK(m[1] == "192.0.2.7");
        CHECK(m[4] == "GET /a/b?x=1&y=2 HTTP/1.1");
        CHECK(m[5] == "200");
        CHECK(m[6] == "1234");
        CHECK(m[7] == "https://example.test/");
        CHECK(m[8] == "curl/8.1");
    }
    SUBCASE("no body, no referer, no user agent, HTTP/1.0, no peer") {
        Request r = make_request("HEAD", "/", {}, "", 0);
        log.format_line(line, r, AccessEntry{304, 0, 1, "", ""});
        INFO(line);
        REQUIRE(std::regex_match(line, m, kCombined));
        CHECK(m[1] == "-");
        CHECK(m[4] == "HEAD / HTTP/1.0");
        CHECK(m[5] == "304");
        CHECK(m[6] == "-");
        CHECK(m[7] == "-");
        CHECK(m[8] == "-");
    }
    SUBCASE("hostile fields stay inside their quotes and on one line") {
        Request r = make_request(
            "GET", "/\"x\\",
            {{"Referer", "\" 200 1 \"-"}, {"User-Agent", "evil\n127.0.0.1 - - [x] \"GET"}},
            "10.0.0.1\n6.6.6.6\"");  // uwsgi REMOTE_ADDR is a string
        log.format_line(line, r, AccessEntry{404, 9, 1, "", ""});
        INFO(line);
        REQUIRE(std::regex_match(line, m, kCombined));
        CHECK(m[1] == "10.0.0.1\\x0A6.6.6.6\\x22");
        CHECK(m[4] == "GET /\\x22x\\x5C HTTP/1.1");
        CHECK(m[7] == "\\x22 200 1 \\x22-");
        CHECK(m[8] == "evil\\x0A127.0.0.1 - - [x] \\x22GET");
    }
    SUBCASE("lines append") {
        Request r = make_request("GET", "/", {});
        log.format_line(line, r, AccessEntry{200, 1, 1, "", ""});
        log.format_line(line, r, AccessEntry{500, 2, 1, "", ""});
        CHECK(std::count(line.begin(), line.end(), '\n') == 2);
    }
}

// ---------------------------------------------------------------- JSON lines

TEST_CASE("json: one RFC 8259 object per line, whatever the request holds") {
    AccessLog log;
    REQUIRE(log.open("", "json"));
    std::string line;
    Request r = make_request(
        "POST", "/p\"a\\th?q=\x01\xff&z",
        {{"User-Agent", "ua \xf0\x9f\x98\x80 \xed\xa0\x80\n"}, {"Referer", "r\"ef"}}, "::1", 0);
    log.format_line(line, r, AccessEntry{201, 42, 1500, "f81d4fae-7dec", "api\t1"});
    INFO(line);
    REQUIRE(line.size() > 1);
    CHECK(line.back() == '\n');
    std::string_view body(line.data(), line.size() - 1);
    CHECK(body.find('\n') == std::string_view::npos);
    std::map<std::string, std::string> o;
    REQUIRE(parse_flat_object(body, o));
    CHECK(std::regex_match(o["time"], std::regex(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z)")));
    CHECK(o["remote_addr"] == "::1");
    CHECK(o["method"] == "POST");
    CHECK(o["path"] == "/p\"a\\th");
    CHECK(o["query"] == "q=\x01" + kFffd + "&z");
    CHECK(o["protocol"] == "HTTP/1.0");
    CHECK(o["status"] == "201");
    CHECK(o["bytes"] == "42");
    CHECK(o["duration_us"] == "1500");
    CHECK(o["user_agent"] == "ua \xf0\x9f\x98\x80 " + fffd(3) + "\n");
    CHECK(o["referer"] == "r\"ef");
    CHECK(o["request_id"] == "f81d4fae-7dec");
    CHECK(o["pid"] == std::to_string(::getpid()));
    CHECK(o["app"] == "api\t1");
    CHECK(o.size() == 14);

    // Absent values are empty strings, numbers stay numbers.
    line.clear();
    log.format_line(line, make_request("GET", "/", {}, ""), AccessEntry{200, 0, 0, "", ""});
    std::map<std::string, std::string> e;
    REQUIRE(parse_flat_object(std::string_view(line).substr(0, line.size() - 1), e));
    CHECK(e["query"] == "");
    CHECK(e["user_agent"] == "");
    CHECK(e["bytes"] == "0");
    CHECK(e["protocol"] == "HTTP/1.1");
}

// ---------------------------------------------------------------- format strings

TEST_CASE("parse_access_format: fields, literals, $$ and ${name}") {
    auto p = parse_access_format("$remote_addr - [$time_local] \"$request\" $status");
    REQUIRE(p);
    REQUIRE(p->size() == 7);
    CHECK((*p)[0].field == AccessField::kRemoteAddr);
    CHECK((*p)[1].field == AccessField::kLiteral);
    CHECK((*p)[1].text == " - [");
    CHECK((*p)[2].field == AccessField::kTimeLocal);
    CHECK((*p)[3].text == "] \"");
    CHECK((*p)[4].field == AccessField::kRequest);
    CHECK((*p)[5].text == "\" ");
    CHECK((*p)[6].field == AccessField::kStatus);

    auto d = parse_access_format("cost $$5 ${duration_us}us$$");
    REQUIRE(d);
    REQUIRE(d->size() == 3);
    CHECK((*d)[0].text == "cost $5 ");  // adjacent literals merge
    CHECK((*d)[1].field == AccessField::kDurationUs);
    CHECK((*d)[2].text == "us$");

    // Every documented name parses to its own field.
    for (const AccessFieldName& n : kAccessFields) {
        std::string dollar = "$";
        auto one = parse_access_format(dollar.append(n.name));
        REQUIRE(one);
        REQUIRE(one->size() == 1);
        CHECK((*one)[0].field == n.field);
        auto braced = parse_access_format("${" + std::string(n.name) + "}x");
        REQUIRE(braced);
        REQUIRE(braced->size() == 2);
        CHECK((*braced)[0].field == n.field);
    }
    // A name ends at the first character that cannot be in one.
    auto stop = parse_access_format("$status-$bytes.");
    REQUIRE(stop);
    REQUIRE(stop->size() == 4);
    CHECK((*stop)[3].text == ".");
}

TEST_CASE("parse_access_format: errors say what is wrong") {
    auto message = [](std::string_view f) {
        auto r = parse_access_format(f);
        REQUIRE_FALSE(r);
        return r.error().message();
    };
    std::string m = message("$status $bogus");
    CHECK(m.find("$bogus") != std::string::npos);
    CHECK(m.find("remote_addr") != std::string::npos);  // the known names are listed
    CHECK(message("$statusx").find("$statusx") != std::string::npos);
    CHECK(message("${nope}").find("$nope") != std::string::npos);
    CHECK(message("$Status").find("$Status") != std::string::npos);  // case matters, said so
    CHECK(message("${status").find("unterminated") != std::string::npos);
    CHECK(message("price: $").find("$$") != std::string::npos);
    CHECK(message("$ x").find("$$") != std::string::npos);
    CHECK(message("${}").find("$$") != std::string::npos);

    CHECK(check_access_format("combined"));
    CHECK(check_access_format("json"));
    CHECK(check_access_format("$status"));
    CHECK_FALSE(check_access_format(""));
    CHECK_FALSE(check_access_format("common"));
    CHECK_FALSE(check_access_format("JSON"));
    CHECK_FALSE(check_access_format("$nope"));
}

TEST_CASE("format string lines: fields escaped, - for empty strings") {
    AccessLog log;
    REQUIRE(log.open("",
                     "$remote_addr|$method|$path|$query|$request|$protocol|$status|$bytes|"
                     "$duration_us|$user_agent|$referer|$request_id|$pid|$app|$host|$$"));
    std::string line;
    Request r = make_request("GET", "/x\"y?a=1", {{"Host", "example.test"}, {"User-Agent", "u\\a"}},
                             "203.0.113.9");
    log.format_line(line, r, AccessEntry{200, 0, 77, "rid-1", "hello"});
    CHECK(line ==
          "203.0.113.9|GET|/x\\x22y|a=1|GET /x\\x22y?a=1 HTTP/1.1|HTTP/1.1|200|0|77|"
          "u\\x5Ca|-|rid-1|" +
              std::to_string(::getpid()) + "|hello|example.test|$\n");
    line.clear();
    log.format_line(line, make_request("GET", "/", {}, ""), AccessEntry{404, 3, 1, "", ""});
    CHECK(line == "-|GET|/|-|GET / HTTP/1.1|HTTP/1.1|404|3|1|-|-|-|" + std::to_string(::getpid()) +
                      "|-|-|$\n");

    AccessLog times;
    REQUIRE(times.open("", "[$time_local] $time_iso8601"));
    line.clear();
    times.format_line(line, r, AccessEntry{});
    CHECK(std::regex_match(line,
                           std::regex(R"(\[\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} \+0000\] )"
                                      R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z\n)")));

    AccessLog bad;
    CHECK_FALSE(bad.open("", "$nope"));
}

}  // namespace quiver::worker::test
