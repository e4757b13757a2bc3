// SPDX-License-Identifier: MIT
// Http1Codec: request fields, pipelining, 100-continue, limits and the
// RFC 9112 framing and syntax rules, each fed whole and split every way.
#include "workers/codec/http1.hpp"

#include <doctest/doctest.h>

#include <random>
#include <string>
#include <vector>

#include "test/unit/workers/codec_driver.hpp"

namespace quiver::worker::test {
namespace {

CodecFactory http1(Http1Limits limits = {}) {
    return [limits] { return std::make_unique<Http1Codec>(limits); };
}

Outcome parse(std::string_view in, Http1Limits limits = {}) {
    return drive_all_splits(http1(limits), in);
}

// The one message `in` must produce.
Message parse_one(std::string_view in, Http1Limits limits = {}) {
    Outcome o = parse(in, limits);
    INFO("error ", o.status, " ", o.reason);
    REQUIRE(!o.error);
    REQUIRE(o.messages.size() == 1);
    return o.messages[0];
}

void expect_status(std::string_view in, int status, Http1Limits limits = {}) {
    Outcome o = parse(in, limits);
    INFO("input: ", std::string(in));
    CHECK(o.messages.empty());
    CHECK(o.error);
    CHECK(o.status == status);
}

const char* header(const Message& m, std::string_view name) {
    for (auto& [n, v] : m.headers)
        if (iequals(n, name)) return v.c_str();
    return nullptr;
}

}  // namespace

TEST_SUITE("codec.http1") {
    TEST_CASE("simple GET fills every field") {
        Message m =
            parse_one("GET /a/b?x=1&y=2 HTTP/1.1\r\nHost: example.com\r\nX-Thing:  v  \r\n\r\n");
        CHECK(m.method == "GET");
        CHECK(m.target == "/a/b?x=1&y=2");
        CHECK(m.path == "/a/b");
        CHECK(m.query == "x=1&y=2");
        CHECK(m.major == 1);
        CHECK(m.minor == 1);
        REQUIRE(m.headers.size() == 2);
        CHECK(m.headers[0] == std::pair<std::string, std::string>("Host", "example.com"));
        CHECK(m.headers[1] == std::pair<std::string, std::string>("X-Thing", "v"));
        CHECK(m.keep_alive);
        CHECK(!m.is_head);
        CHECK(!m.expect_continue);
        CHECK(m.body.empty());
    }

    TEST_CASE("header names keep their case, values lose surrounding OWS") {
        Message m =
            parse_one("GET / HTTP/1.1\r\nhOsT: h\r\nX-Empty:\r\nX-Tabs:\t a \t b\t \r\n\r\n");
        REQUIRE(m.headers.size() == 3);
        CHECK(m.headers[0].first == "hOsT");
        CHECK(m.headers[1] == std::pair<std::string, std::string>("X-Empty", ""));
        CHECK(m.headers[2] == std::pair<std::string, std::string>("X-Tabs", "a \t b"));
    }

    TEST_CASE("request-target forms") {
        SUBCASE("absolute-form") {
            Message m =
                parse_one("GET http://example.com:8080/p/q?k=v HTTP/1.1\r\nHost: x\r\n\r\n");
            CHECK(m.target == "http://example.com:8080/p/q?k=v");
            CHECK(m.path == "/p/q");
            CHECK(m.query == "k=v");
        }
        SUBCASE("absolute-form without a path") {
            Message m = parse_one("GET http://example.com?k=v HTTP/1.1\r\nHost: x\r\n\r\n");
            CHECK(m.path == "/");
            CHECK(m.query == "k=v");
        }
        SUBCASE("asterisk-form for OPTIONS") {
            Message m = parse_one("OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n");
            CHECK(m.path == "*");
            CHECK(m.query.empty());
        }
        SUBCASE("asterisk-form for anything else") {
            expect_status("GET * HTTP/1.1\r\nHost: x\r\n\r\n", 400);
        }
        SUBCASE("a fragment is refused (RFC 9112 §3.2: not in request-target)") {
            expect_status("GET /p?q=1#frag HTTP/1.1\r\nHost: x\r\n\r\n", 400);
            expect_status("GET /p#f?x HTTP/1.1\r\nHost: x\r\n\r\n", 400);
        }
        SUBCASE("raw UTF-8 in the path is kept") {
            Message m = parse_one("GET /caf\xc3\xa9 HTTP/1.1\r\nHost: x\r\n\r\n");
            CHECK(m.path == "/caf\xc3\xa9");
        }
    }

    TEST_CASE("keep-alive per version and Connection") {
        CHECK(parse_one("GET / HTTP/1.1\r\nHost: h\r\n\r\n").keep_alive);
        CHECK(!parse_one("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n").keep_alive);
        CHECK(!parse_one("GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, Close\r\n\r\n")
                   .keep_alive);
        CHECK(!parse_one("GET / HTTP/1.0\r\n\r\n").keep_alive);
        CHECK(parse_one("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").keep_alive);
        CHECK(!parse_one("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n").keep_alive);
        Message m = parse_one("GET / HTTP/1.0\r\n\r\n");
        CHECK(m.minor == 0);
    }

    TEST_CASE("HEAD is flagged") { CHECK(parse_one("HEAD / HTTP/1.1\r\nHost: h\r\n\r\n").is_head); }

    TEST_CASE("Content-Length body") {
        Message m =
            parse_one("POST /f HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\nhello world");
        CHECK(m.body == "hello world");
        Message z = parse_one("POST /f HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n");
        CHECK(z.body.empty());
    }

    TEST_CASE("chunked body is decoded, extensions and trailers dropped") {
        Message m = parse_one(
            "POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
            "5;name=value;q=\"quoted\"\r\nhello\r\n"
            "1A\r\nabcdefghijklmnopqrstuvwxyz\r\n"
            "0\r\nX-Trailer: t\r\nX-Other: o\r\n\r\n");
        CHECK(m.body == "helloabcdefghijklmnopqrstuvwxyz");
        REQUIRE(m.headers.size() == 2);  // trailers are not headers
        CHECK(header(m, "X-Trailer") == nullptr);
    }

    TEST_CASE("pipelined requests come out one by one, in order") {
        std::string in =
            "GET /1 HTTP/1.1\r\nHost: h\r\n\r\n"
            "POST /2 HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"
            "POST /3 HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nxyz\r\n0\r\n\r\n"
            "\r\n"  // an extra empty line between requests is ignored (RFC 9112 §2.2)
            "HEAD /4 HTTP/1.1\r\nHost: h\r\n\r\n"
            "GET /5 HTTP/1.1\r\nHost: h\r\n";
        Outcome o = parse(in);
        CHECK(!o.error);
        REQUIRE(o.messages.size() == 4);
        CHECK(o.messages[0].path == "/1");
        CHECK(o.messages[0].body.empty());
        CHECK(o.messages[1].path == "/2");
        CHECK(o.messages[1].body == "abc");
        CHECK(o.messages[2].path == "/3");
        CHECK(o.messages[2].body == "xyz");
        CHECK(o.messages[3].path == "/4");
        CHECK(o.messages[3].is_head);
        CHECK(o.in_message);  // the fifth has begun
    }

    TEST_CASE("kMessage stops right after the message") {
        Http1Codec c(Http1Limits{});
        std::string in = "GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n";
        FeedResult r = c.feed(in.data(), in.size());
        REQUIRE(r.event == CodecEvent::kMessage);
        CHECK(r.consumed == in.size() / 2);
        CHECK(c.request().path_v() == "/a");
        r = c.feed(in.data() + r.consumed, in.size() - r.consumed);
        REQUIRE(r.event == CodecEvent::kMessage);
        CHECK(r.consumed == in.size() / 2);
        CHECK(c.request().path_v() == "/b");
        CHECK(c.request().headers.size() == 1);
    }

    TEST_CASE("steady state reuses the request's storage") {
        Http1Codec c(Http1Limits{});
        std::string one =
            "GET /plaintext HTTP/1.1\r\nHost: localhost\r\nAccept: text/plain\r\n"
            "Connection: keep-alive\r\n\r\n";
        std::string in;
        for (int i = 0; i < 64; ++i) in += one;
        const char* arena = nullptr;
        const HeaderSpan* headers = nullptr;
        size_t pos = 0;
        int count = 0;
        while (pos < in.size()) {
            FeedResult r = c.feed(in.data() + pos, in.size() - pos);
            REQUIRE(r.event == CodecEvent::kMessage);
            pos += r.consumed;
            ++count;
            if (count == 2) {
                arena = c.request().data.data();
                headers = c.request().headers.data();
            } else if (count > 2) {
                CHECK(c.request().data.data() == arena);
                CHECK(c.request().headers.data() == headers);
            }
        }
        CHECK(count == 64);
    }

    TEST_CASE("remote_addr and scheme persist across requests") {
        Http1Codec c(Http1Limits{});
        c.request().remote_addr = "192.0.2.7";
        std::string in = "GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n";
        FeedResult r = c.feed(in.data(), in.size());
        REQUIRE(r.event == CodecEvent::kMessage);
        r = c.feed(in.data() + r.consumed, in.size() - r.consumed);
        REQUIRE(r.event == CodecEvent::kMessage);
        CHECK(c.request().remote_addr == "192.0.2.7");
        CHECK(c.request().scheme == "http");
    }

    TEST_CASE("in_message and in_body follow the request") {
        Http1Codec c(Http1Limits{});
        CHECK(!c.in_message());
        std::string a = "\r\n";
        CHECK(c.feed(a.data(), a.size()).event == CodecEvent::kNeedMore);
        CHECK(!c.in_message());  // leading empty lines do not start a request
        std::string b = "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n";
        CHECK(c.feed(b.data(), b.size()).event == CodecEvent::kNeedMore);
        CHECK(c.in_message());
        CHECK(!c.in_body());
        std::string d = "\r\nab";
        CHECK(c.feed(d.data(), d.size()).event == CodecEvent::kNeedMore);
        CHECK(c.in_body());
        std::string e = "cd";
        CHECK(c.feed(e.data(), e.size()).event == CodecEvent::kMessage);
        CHECK(!c.in_message());
        CHECK(!c.in_body());
    }

    TEST_CASE("Expect: 100-continue") {
        SUBCASE("with a Content-Length body") {
            std::string head =
                "PUT /u HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\n"
                "Content-Length: 5\r\n\r\n";
            Http1Codec c(Http1Limits{});
            std::string in = head + "hello";
            FeedResult r = c.feed(in.data(), in.size());
            REQUIRE(r.event == CodecEvent::kContinue);
            CHECK(r.consumed == head.size());
            CHECK(c.request().expect_continue);
            CHECK(c.request().path_v() == "/u");
            CHECK(c.in_body());
            r = c.feed(in.data() + r.consumed, in.size() - r.consumed);
            REQUIRE(r.event == CodecEvent::kMessage);
            CHECK(c.request().body == "hello");

            Outcome o = parse(in);
            CHECK(o.continues == 1);
            REQUIRE(o.messages.size() == 1);
            CHECK(o.messages[0].expect_continue);
        }
        SUBCASE("with a chunked body") {
            Outcome o = parse(
                "POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n"
                "Transfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n");
            CHECK(o.continues == 1);
            REQUIRE(o.messages.size() == 1);
            CHECK(o.messages[0].body == "ok");
        }
        SUBCASE("without a body there is nothing to continue") {
            Outcome o = parse("GET / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n\r\n");
            CHECK(o.continues == 0);
            REQUIRE(o.messages.size() == 1);
            CHECK(o.messages[0].expect_continue);
        }
        SUBCASE("HTTP/1.0 expectations are ignored") {
            Outcome o =
                parse("POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx");
            CHECK(o.continues == 0);
            REQUIRE(o.messages.size() == 1);
            CHECK(!o.messages[0].expect_continue);
            CHECK(parse("POST / HTTP/1.0\r\nExpect: teapot\r\n\r\n").messages.size() == 1);
        }
        SUBCASE("an unknown expectation is 417") {
            expect_status(
                "POST / HTTP/1.1\r\nHost: h\r\nExpect: teapot\r\nContent-Length: 1\r\n\r\nx", 417);
        }
    }

    TEST_CASE("limits") {
        Http1Limits l;
        l.request_line = 64;
        l.header_fields = 4;
        l.header_size = 48;
        l.body = 16;

        SUBCASE("request line") {
            std::string ok = "GET /" + std::string(64 - 14, 'a') + " HTTP/1.1";
            REQUIRE(ok.size() == 64);
            CHECK(parse_one(ok + "\r\nHost: h\r\n\r\n", l).method == "GET");
            expect_status("GET /" + std::string(64 - 13, 'a') + " HTTP/1.1\r\nHost: h\r\n\r\n", 414,
                          l);
        }
        SUBCASE("an endless request line is stopped at the limit") {
            Http1Codec c(l);
            std::string start = "GET /";
            CHECK(c.feed(start.data(), start.size()).event == CodecEvent::kNeedMore);
            std::string more(16, 'x');
            FeedResult r;
            int feeds = 0;
            do {
                r = c.feed(more.data(), more.size());
                ++feeds;
            } while (r.event == CodecEvent::kNeedMore && feeds < 100);
            CHECK(r.event == CodecEvent::kError);
            CHECK(r.status == 414);
            CHECK(feeds == 4);  // 5 + 4 * 16 > 64, never waiting for a CRLF
        }
        SUBCASE("header field count") {
            std::string four = "GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\n";
            CHECK(parse_one(four + "\r\n", l).headers.size() == 4);
            expect_status(four + "D: 4\r\n\r\n", 431, l);
        }
        SUBCASE("one header field line") {
            std::string name_value = "X: " + std::string(48 - 3, 'v');
            CHECK(parse_one("GET / HTTP/1.1\r\nHost: h\r\n" + name_value + "\r\n\r\n", l)
                      .headers.size() == 2);
            expect_status("GET / HTTP/1.1\r\nHost: h\r\n" + name_value + "v\r\n\r\n", 431, l);
            expect_status("GET / HTTP/1.1\r\nHost: h\r\n" + std::string(49, 'N') + ": v\r\n\r\n",
                          431, l);
        }
        SUBCASE("an endless header is stopped at the limit") {
            Http1Codec c(l);
            std::string start = "GET / HTTP/1.1\r\nX: ";
            CHECK(c.feed(start.data(), start.size()).event == CodecEvent::kNeedMore);
            std::string more(10, 'v');
            FeedResult r;
            int feeds = 0;
            do {
                r = c.feed(more.data(), more.size());
                ++feeds;
            } while (r.event == CodecEvent::kNeedMore && feeds < 100);
            CHECK(r.status == 431);
            CHECK(feeds == 5);
        }
        SUBCASE("declared body is refused with the head") {
            CHECK(parse_one("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 16\r\n\r\n" +
                                std::string(16, 'b'),
                            l)
                      .body.size() == 16);
            Http1Codec c(l);
            std::string head = "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 17\r\n\r\n";
            FeedResult r = c.feed(head.data(), head.size());
            CHECK(r.event == CodecEvent::kError);
            CHECK(r.status == 413);
            expect_status("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999\r\n\r\n", 413,
                          l);
        }
        SUBCASE("chunked body over the limit") {
            std::string te = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n";
            CHECK(parse_one(te + "8\r\n12345678\r\n8\r\n12345678\r\n0\r\n\r\n", l).body.size() ==
                  16);
            expect_status(te + "8\r\n12345678\r\n9\r\n123456789\r\n0\r\n\r\n", 413, l);
            expect_status(te + "ffffffff\r\n", 413, l);  // refused at the chunk header
        }
        SUBCASE("trailer fields count against the limits too") {
            std::string te =
                "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n";
            CHECK(parse(te + "A: 1\r\nB: 2\r\n\r\n", l).messages.size() == 1);
            expect_status(te + "A: " + std::string(60, 'x') + "\r\n\r\n", 431, l);
            expect_status(te + "A: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\n\r\n", 431, l);
        }
        SUBCASE("empty lines before the request line") {
            CHECK(parse_one("\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", l).path == "/");
            std::string many;
            for (int i = 0; i < 40; ++i) many += "\r\n";
            expect_status(many + "GET / HTTP/1.1\r\nHost: h\r\n\r\n", 400, l);
        }
    }

    TEST_CASE("message framing (RFC 9112 §6)") {
        const std::string h = "POST / HTTP/1.1\r\nHost: h\r\n";
        SUBCASE("Content-Length with Transfer-Encoding") {
            expect_status(h + "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400);
            expect_status(h + "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", 400);
        }
        SUBCASE("repeated or listed Content-Length") {
            expect_status(h + "Content-Length: 3\r\nContent-Length: 3\r\n\r\nabc", 400);
            expect_status(h + "Content-Length: 3, 3\r\n\r\nabc", 400);
        }
        SUBCASE("malformed Content-Length") {
            expect_status(h + "Content-Length: -1\r\n\r\n", 400);
            expect_status(h + "Content-Length: +1\r\n\r\nx", 400);
            expect_status(h + "Content-Length: 1x\r\n\r\nx", 400);
            expect_status(h + "Content-Length: 0x10\r\n\r\n", 400);
            expect_status(h + "Content-Length: \r\n\r\n", 400);
            expect_status(h + "Content-Length: 123456789012345678901234567890\r\n\r\n", 400);
        }
        SUBCASE("transfer codings") {
            expect_status(h + "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501);
            expect_status(h + "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n", 501);
            // chunked not final: the length cannot be known (RFC 9112 §6.3)
            expect_status(h + "Transfer-Encoding: gzip\r\n\r\n", 400);
            expect_status(h + "Transfer-Encoding: identity\r\n\r\n", 400);
            expect_status(h + "Transfer-Encoding: chunked, gzip\r\n\r\n", 400);
            expect_status(h + "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n", 400);
            expect_status(h + "Transfer-Encoding: chunked, chunked\r\n\r\n", 400);
            Message m = parse_one(h + "Transfer-Encoding: CHUNKED\r\n\r\n1\r\nx\r\n0\r\n\r\n");
            CHECK(m.body == "x");
        }
        SUBCASE("Transfer-Encoding in HTTP/1.0") {
            expect_status("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400);
        }
        SUBCASE("chunk syntax") {
            const std::string te = h + "Transfer-Encoding: chunked\r\n\r\n";
            expect_status(te + "zz\r\nhello\r\n0\r\n\r\n", 400);
            expect_status(te + "0x5\r\nhello\r\n0\r\n\r\n", 400);
            expect_status(te + "5 \r\nhello\r\n0\r\n\r\n", 400);
            expect_status(te + "5\nhello\r\n0\r\n\r\n", 400);
            expect_status(te + "5;a b\r\nhello\r\n0\r\n\r\n", 400);
            expect_status(te + "5;\x01\r\nhello\r\n0\r\n\r\n", 400);
            // chunk data must end with CRLF, not any two bytes
            expect_status(te + "5\r\nhelloXX0\r\n\r\n", 400);
            expect_status(te + "5\r\nhello\r0\r\n\r\n", 400);
            expect_status(te + "5\r\nhello\n\r\n0\r\n\r\n", 400);
            expect_status(te + "5\r\nhello0\r\n\r\n", 400);
            expect_status(te + "5\r\nhelloX\n0\r\n\r\n", 400);
            expect_status(te + "5\r\nhello\rX0\r\n\r\n", 400);
            // a trailer section obeys the head's line rules
            expect_status(te + "0\r\nX: a\r\n b\r\n\r\n", 400);
            expect_status(te + "0\r\nX: a\n\r\n", 400);
            expect_status(te + "0\r\n\n", 400);
        }
    }

    TEST_CASE("request line syntax") {
        expect_status("GET / HTTP/1.1\nHost: h\r\n\r\n", 400);     // bare LF
        expect_status("GET / HTTP/1.1\rHost: h\r\n\r\n", 400);     // bare CR
        expect_status("GET  / HTTP/1.1\r\nHost: h\r\n\r\n", 400);  // two spaces
        expect_status("GET /  HTTP/1.1\r\nHost: h\r\n\r\n", 400);
        expect_status("GET\t/ HTTP/1.1\r\nHost: h\r\n\r\n", 400);  // HTAB separator
        expect_status("GET / HTTP/1.1 \r\nHost: h\r\n\r\n", 400);  // trailing space
        expect_status(" GET / HTTP/1.1\r\nHost: h\r\n\r\n", 400);  // leading space
        expect_status("GET /\r\nHost: h\r\n\r\n", 400);            // HTTP/0.9 simple request
        expect_status("GET / http/1.1\r\nHost: h\r\n\r\n", 400);
        expect_status("GET / HTTP/1.x\r\nHost: h\r\n\r\n", 400);
        expect_status("GET / HTTP/11\r\nHost: h\r\n\r\n", 400);
        expect_status("GET / RTSP/1.0\r\nHost: h\r\n\r\n", 400);
        expect_status("GET /a\x01 HTTP/1.1\r\nHost: h\r\n\r\n", 400);
        expect_status("GET /a\x7f HTTP/1.1\r\nHost: h\r\n\r\n", 400);
        expect_status("GET ?a HTTP/1.1\r\nHost: h\r\n\r\n", 400);
        expect_status("GET example.com HTTP/1.1\r\nHost: h\r\n\r\n", 400);
    }

    TEST_CASE("methods") {
        expect_status("G@T / HTTP/1.1\r\nHost: h\r\n\r\n", 400);
        expect_status("GET@ / HTTP/1.1\r\nHost: h\r\n\r\n", 400);
        expect_status("(GET) / HTTP/1.1\r\nHost: h\r\n\r\n", 400);
        // RFC 9110 §9.1: a well-formed method we do not know is 501
        expect_status("FOO / HTTP/1.1\r\nHost: h\r\n\r\n", 501);
        expect_status("GETX / HTTP/1.1\r\nHost: h\r\n\r\n", 501);
        expect_status("get / HTTP/1.1\r\nHost: h\r\n\r\n", 501);  // methods are case-sensitive
        expect_status("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", 501);
        for (const char* m : {"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE"})
            CHECK(parse_one(std::string(m) + " / HTTP/1.1\r\nHost: h\r\n\r\n").method == m);
    }

    TEST_CASE("HTTP versions") {
        expect_status("GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505);
        expect_status("GET / HTTP/0.9\r\nHost: h\r\n\r\n", 505);
        expect_status("GET / HTTP/3.0\r\nHost: h\r\n\r\n", 505);
        expect_status("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505);
        // RFC 9110 §6.2: a higher minor version is served as the highest we know
        Message m = parse_one("GET / HTTP/1.7\r\nHost: h\r\n\r\n");
        CHECK(m.minor == 1);
        CHECK(m.keep_alive);
    }

    TEST_CASE("header field syntax") {
        const std::string g = "GET / HTTP/1.1\r\nHost: h\r\n";
        expect_status(g + "X: a\r\n b\r\n\r\n", 400);  // obs-fold
        expect_status(g + "X: a\r\n\tb\r\n\r\n", 400);
        expect_status("GET / HTTP/1.1\r\n Host: h\r\n\r\n", 400);  // space after start line
        expect_status(g + "X : a\r\n\r\n", 400);                   // space before colon
        expect_status(g + "X\t: a\r\n\r\n", 400);
        expect_status(g + "X(y): a\r\n\r\n", 400);  // not a token
        expect_status(g + "X\x80: a\r\n\r\n", 400);
        expect_status(g + ": a\r\n\r\n", 400);  // empty name
        expect_status(g + "NoColon\r\n\r\n", 400);
        expect_status(g + std::string("X: a\0b\r\n\r\n", 11), 400);  // NUL
        expect_status(g + "X: a\rb\r\n\r\n", 400);                   // CR
        expect_status(g + "X: a\x01\r\n\r\n", 400);                  // other CTL
        expect_status(g + "X: a\nY: b\r\n\r\n", 400);                // bare LF
        expect_status(g + "X: a\r\n\n", 400);
        CHECK(std::string(header(parse_one(g + "X: caf\xc3\xa9\r\n\r\n"), "X")) == "caf\xc3\xa9");
    }

    TEST_CASE("Host (RFC 9112 §3.2)") {
        expect_status("GET / HTTP/1.1\r\n\r\n", 400);
        expect_status("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400);
        expect_status("GET / HTTP/1.0\r\nHost: a\r\nhost: b\r\n\r\n", 400);
        expect_status("GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400);
        expect_status("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400);
        expect_status("GET / HTTP/1.1\r\nHost: user@a\r\n\r\n", 400);
        expect_status("GET / HTTP/1.1\r\nHost: a:80x\r\n\r\n", 400);
        expect_status("GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", 400);
        for (const char* ok :
             {"example.com", "example.com:8080", "127.0.0.1", "[::1]:443", "", "a_b-c.d"})
            CHECK(parse_one(std::string("GET / HTTP/1.1\r\nHost: ") + ok + "\r\n\r\n").path == "/");
        CHECK(parse_one("GET / HTTP/1.0\r\n\r\n").headers.empty());
    }

    TEST_CASE("Upgrade is served as an ordinary request") {
        Outcome o = parse(
            "GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
            "GET /next HTTP/1.1\r\nHost: h\r\n\r\n");
        CHECK(!o.error);
        REQUIRE(o.messages.size() == 2);
        CHECK(o.messages[0].path == "/ws");
        CHECK(o.messages[1].path == "/next");
    }

    TEST_CASE("requests after Connection: close still parse (the connection stops feeding)") {
        Outcome o = parse(
            "GET /a HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"
            "GET /b HTTP/1.1\r\nHost: h\r\n\r\n");
        REQUIRE(o.messages.size() == 2);
        CHECK(!o.messages[0].keep_alive);
    }

    TEST_CASE("errors are sticky") {
        Http1Codec c(Http1Limits{});
        std::string bad = "GET / HTTP/1.1\r\nX : y\r\n\r\n";
        FeedResult r = c.feed(bad.data(), bad.size());
        REQUIRE(r.event == CodecEvent::kError);
        std::string good = "GET / HTTP/1.1\r\nHost: h\r\n\r\n";
        FeedResult again = c.feed(good.data(), good.size());
        CHECK(again.event == CodecEvent::kError);
        CHECK(again.status == r.status);
    }

    TEST_CASE("an error after valid requests keeps the valid ones") {
        Outcome o =
            parse("GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\nX : y\r\n\r\n");
        REQUIRE(o.messages.size() == 1);
        CHECK(o.error);
        CHECK(o.status == 400);
    }

    TEST_CASE("random mutations keep the invariants and split-independence") {
        std::mt19937 rng(7);
        const std::vector<std::string> seeds = {
            "GET /a?b=c HTTP/1.1\r\nHost: h\r\nX: y\r\n\r\n",
            "POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello"
            "GET / HTTP/1.1\r\nHost: h\r\n\r\n",
            "PUT / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue"
            "\r\n\r\n3;e=\"v\"\r\nabc\r\n0\r\nT: 1\r\n\r\n",
            "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
        };
        Http1Limits limits;
        limits.request_line = 128;
        limits.header_fields = 8;
        limits.header_size = 64;
        limits.body = 64;
        static constexpr char kAlphabet[] = "\r\n :;,\"\t0aF-/?#\x00\x80HTTP/1.1";
        int messages = 0, errors = 0;
        for (int iter = 0; iter < 3000; ++iter) {
            std::string p = seeds[rng() % seeds.size()];
            int edits = 1 + static_cast<int>(rng() % 3);
            for (int e = 0; e < edits && !p.empty(); ++e) {
                size_t at = rng() % p.size();
                char c = kAlphabet[rng() % (sizeof kAlphabet - 1)];
                switch (rng() % 4) {
                    case 0:
                        p[at] = c;
                        break;
                    case 1:
                        p.insert(at, 1, c);
                        break;
                    case 2:
                        p.erase(at, 1 + rng() % 3);
                        break;
                    case 3:
                        p.resize(at);
                        break;
                }
            }
            Outcome whole = drive_whole(http1(limits), p);
            std::vector<size_t> cuts;
            for (size_t at = 1 + rng() % 5; at < p.size(); at += 1 + rng() % 9) cuts.push_back(at);
            auto c = http1(limits)();
            Outcome split = drive(*c, p, cuts);
            INFO("input: ", p);
            REQUIRE(split == whole);
            if (whole.error) {
                ++errors;
                CHECK((whole.status == 400 || whole.status == 413 || whole.status == 414 ||
                       whole.status == 417 || whole.status == 431 || whole.status == 501 ||
                       whole.status == 505));
            }
            for (const Message& m : whole.messages) {
                ++messages;
                CHECK(m.body.size() <= limits.body);
                CHECK(m.headers.size() <= limits.header_fields);
                CHECK(m.major == 1);
            }
        }
        CHECK(messages > 0);
        CHECK(errors > 0);
    }

}  // TEST_SUITE
}  // namespace quiver::worker::test
