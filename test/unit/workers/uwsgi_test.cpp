// SPDX-License-Identifier: MIT
// UwsgiCodec: the vars Nginx sends become the Request HTTP would give; every
// malformed packet is an error (status 0); random mutations never crash,
// never hang and never yield a request from a truncated packet.
#include "workers/codec/uwsgi.hpp"

#include <doctest/doctest.h>

#include <random>
#include <string>
#include <utility>
#include <vector>

#include "test/unit/workers/codec_driver.hpp"

namespace quiver::worker::test {
namespace {

using Vars = std::vector<std::pair<std::string, std::string>>;

void put16(std::string& out, size_t v) {
    out.push_back(static_cast<char>(v & 0xff));
    out.push_back(static_cast<char>((v >> 8) & 0xff));
}

std::string vars_block(const Vars& vars) {
    std::string b;
    for (auto& [k, v] : vars) {
        put16(b, k.size());
        b += k;
        put16(b, v.size());
        b += v;
    }
    return b;
}

std::string packet(const Vars& vars, std::string_view body = {}, uint8_t modifier1 = 0) {
    std::string block = vars_block(vars);
    std::string p;
    p.push_back(static_cast<char>(modifier1));
    put16(p, block.size());
    p.push_back('\0');
    return p + block + std::string(body);
}

// What Nginx's uwsgi_params plus two request headers look like.
Vars nginx_vars(std::string method = "POST", std::string uri = "/app/items?id=7&x=y",
                std::string length = "11") {
    return {
        {"QUERY_STRING", "id=7&x=y"},
        {"REQUEST_METHOD", method},
        {"CONTENT_TYPE", "application/json"},
        {"CONTENT_LENGTH", length},
        {"REQUEST_URI", uri},
        {"PATH_INFO", "/app/items"},
        {"DOCUMENT_ROOT", "/usr/share/nginx/html"},
        {"SERVER_PROTOCOL", "HTTP/1.1"},
        {"REQUEST_SCHEME", "http"},
        {"REMOTE_ADDR", "203.0.113.9"},
        {"REMOTE_PORT", "51234"},
        {"SERVER_PORT", "80"},
        {"SERVER_NAME", "example.com"},
        {"HTTP_HOST", "example.com"},
        {"HTTP_USER_AGENT", "curl/7.88.1"},
        {"HTTP_X_CUSTOM_HEADER", "v1"},
        {"HTTP_CONTENT_TYPE", "application/json"},
        {"HTTP_CONTENT_LENGTH", "11"},
    };
}

CodecFactory uwsgi(Http1Limits limits = {}) {
    return [limits] { return std::make_unique<UwsgiCodec>(limits); };
}

Message parse_one(std::string_view in, Http1Limits limits = {}) {
    Outcome o = drive_all_splits(uwsgi(limits), in);
    INFO("error: ", o.reason);
    REQUIRE(!o.error);
    REQUIRE(o.messages.size() == 1);
    CHECK(!o.in_message);
    return o.messages[0];
}

std::string expect_error(std::string_view in, Http1Limits limits = {}, int status = 0) {
    Outcome o = drive_all_splits(uwsgi(limits), in);
    CHECK(o.messages.empty());
    CHECK(o.error);
    CHECK(o.status == status);
    return o.reason;
}

}  // namespace

TEST_SUITE("codec.uwsgi") {
    TEST_CASE("Nginx's vars make the same Request HTTP would") {
        Message m = parse_one(packet(nginx_vars(), "{\"a\":true}\n"));
        CHECK(m.method == "POST");
        CHECK(m.target == "/app/items?id=7&x=y");
        CHECK(m.path == "/app/items");
        CHECK(m.query == "id=7&x=y");
        CHECK(m.major == 1);
        CHECK(m.minor == 1);
        CHECK(m.body == "{\"a\":true}\n");
        CHECK(m.remote_addr == "203.0.113.9");
        CHECK(m.scheme == "http");
        CHECK(!m.keep_alive);
        CHECK(!m.is_head);
        CHECK(!m.expect_continue);
        using H = std::pair<std::string, std::string>;
        std::vector<H> want = {
            {"Content-Type", "application/json"},
            {"Content-Length", "11"},
            {"Host", "example.com"},
            {"User-Agent", "curl/7.88.1"},
            {"X-Custom-Header", "v1"},
        };
        CHECK(m.headers == want);
    }

    TEST_CASE("keep_alive_possible is false and the codec says so") {
        UwsgiCodec c(Http1Limits{});
        CHECK(!c.keep_alive_possible());
        CHECK(!c.in_message());
    }

    TEST_CASE("query comes from QUERY_STRING, else from the URI") {
        Vars v = {
            {"REQUEST_METHOD", "GET"}, {"REQUEST_URI", "/p?from=uri"}, {"QUERY_STRING", "a=1"}};
        CHECK(parse_one(packet(v)).query == "a=1");
        Vars w = {{"REQUEST_METHOD", "GET"}, {"REQUEST_URI", "/p?from=uri#f"}};
        Message m = parse_one(packet(w));
        CHECK(m.query == "from=uri");
        CHECK(m.path == "/p");
    }

    TEST_CASE("without REQUEST_URI the target is SCRIPT_NAME + PATH_INFO") {
        Vars v = {{"REQUEST_METHOD", "GET"},
                  {"SCRIPT_NAME", "/app"},
                  {"PATH_INFO", "/x"},
                  {"QUERY_STRING", "q=1"}};
        Message m = parse_one(packet(v));
        CHECK(m.target == "/app/x?q=1");
        CHECK(m.path == "/app/x");
        CHECK(m.query == "q=1");
        Message root = parse_one(packet({{"REQUEST_METHOD", "GET"}}));
        CHECK(root.target == "/");
        CHECK(root.path == "/");
    }

    TEST_CASE("HTTPS and REQUEST_SCHEME set the scheme") {
        CHECK(parse_one(packet({{"REQUEST_METHOD", "GET"}, {"HTTPS", "on"}})).scheme == "https");
        CHECK(parse_one(packet({{"REQUEST_METHOD", "GET"}, {"HTTPS", "1"}})).scheme == "https");
        CHECK(parse_one(packet({{"REQUEST_METHOD", "GET"}, {"HTTPS", "off"}})).scheme == "http");
        CHECK(parse_one(packet({{"REQUEST_METHOD", "GET"}, {"REQUEST_SCHEME", "https"}})).scheme ==
              "https");
    }

    TEST_CASE("SERVER_PROTOCOL gives the version; HEAD is flagged") {
        Message m =
            parse_one(packet({{"REQUEST_METHOD", "HEAD"}, {"SERVER_PROTOCOL", "HTTP/1.0"}}));
        CHECK(m.is_head);
        CHECK(m.minor == 0);
        CHECK(!m.keep_alive);
    }

    TEST_CASE("title-casing of HTTP_ vars; Transfer-Encoding is dropped") {
        Message m = parse_one(packet({{"REQUEST_METHOD", "GET"},
                                      {"HTTP_ACCEPT_ENCODING", "gzip"},
                                      {"HTTP_X_A1_B2", "v"},
                                      {"HTTP_DNT", "1"},
                                      {"HTTP_TRANSFER_ENCODING", "chunked"}}));
        using H = std::pair<std::string, std::string>;
        std::vector<H> want = {{"Accept-Encoding", "gzip"}, {"X-A1-B2", "v"}, {"Dnt", "1"}};
        CHECK(m.headers == want);
    }

    TEST_CASE("a large body over many reads") {
        std::string body(100000, 'b');
        for (size_t i = 0; i < body.size(); i += 7) body[i] = static_cast<char>('a' + i % 26);
        std::string p = packet(nginx_vars("PUT", "/u", std::to_string(body.size())), body);
        UwsgiCodec c(Http1Limits{});
        size_t pos = 0;
        FeedResult r;
        while (pos < p.size()) {
            size_t n = std::min<size_t>(1000, p.size() - pos);
            r = c.feed(p.data() + pos, n);
            pos += r.consumed;
            if (r.event != CodecEvent::kNeedMore) break;
            CHECK(c.in_message());
        }
        REQUIRE(r.event == CodecEvent::kMessage);
        CHECK(pos == p.size());
        CHECK(c.request().body == body);
        CHECK(!c.in_message());
    }

    TEST_CASE("in_body while the body arrives") {
        UwsgiCodec c(Http1Limits{});
        std::string p = packet({{"REQUEST_METHOD", "POST"}, {"CONTENT_LENGTH", "4"}}, "ab");
        CHECK(c.feed(p.data(), p.size()).event == CodecEvent::kNeedMore);
        CHECK(c.in_body());
        CHECK(c.feed("cd", 2).event == CodecEvent::kMessage);
        CHECK(!c.in_body());
    }

    TEST_CASE("malformed packets") {
        SUBCASE("modifier1 other than 0") {
            expect_error(packet({{"REQUEST_METHOD", "GET"}}, {}, 5));
        }
        SUBCASE("vars block larger than uwsgi_buffer") {
            Http1Limits l;
            l.uwsgi_buffer = 64;
            Vars v = {{"REQUEST_METHOD", "GET"}, {"HTTP_X", std::string(64, 'x')}};
            expect_error(packet(v), l);
            CHECK(parse_one(packet({{"REQUEST_METHOD", "GET"}}), l).method == "GET");
        }
        SUBCASE("a key or value overrunning the block") {
            std::string block = vars_block({{"REQUEST_METHOD", "GET"}});
            std::string key_over = block;
            put16(key_over, 40);  // key size past the end
            key_over += "HTTP_X";
            std::string p;
            p.push_back('\0');
            put16(p, key_over.size());
            p.push_back('\0');
            expect_error(p + key_over);

            std::string value_over = block;
            put16(value_over, 6);
            value_over += "HTTP_X";
            put16(value_over, 100);
            value_over += "short";
            std::string q;
            q.push_back('\0');
            put16(q, value_over.size());
            q.push_back('\0');
            expect_error(q + value_over);

            std::string half = block + "\x05";  // one byte of a key size
            std::string h;
            h.push_back('\0');
            put16(h, half.size());
            h.push_back('\0');
            expect_error(h + half);
        }
        SUBCASE("missing or bad REQUEST_METHOD") {
            expect_error(packet({{"REQUEST_URI", "/"}}));
            expect_error(packet({}));
            expect_error(packet({{"REQUEST_METHOD", ""}}));
            expect_error(packet({{"REQUEST_METHOD", "G T"}}));
            expect_error(packet({{"REQUEST_METHOD", "GET"}, {"REQUEST_METHOD", "POST"}}));
        }
        SUBCASE("bad CONTENT_LENGTH") {
            for (const char* bad : {"abc", "-1", "+1", "1e3", " 1", "99999999999999999999"})
                expect_error(packet({{"REQUEST_METHOD", "POST"}, {"CONTENT_LENGTH", bad}}, "x"));
            expect_error(packet(
                {{"REQUEST_METHOD", "POST"}, {"CONTENT_LENGTH", "1"}, {"CONTENT_LENGTH", "1"}},
                "x"));
        }
        SUBCASE("body over the limit") {
            Http1Limits l;
            l.body = 10;
            // 413: Nginx passes it on (a reset would become its 502).
            expect_error(packet({{"REQUEST_METHOD", "POST"}, {"CONTENT_LENGTH", "11"}}, "x"), l, 413);
            CHECK(
                parse_one(
                    packet({{"REQUEST_METHOD", "POST"}, {"CONTENT_LENGTH", "10"}}, "0123456789"), l)
                    .body.size() == 10);
        }
        SUBCASE("injection through vars") {
            expect_error(packet({{"REQUEST_METHOD", "GET"}, {"HTTP_X", "a\r\nSet-Cookie: x"}}));
            expect_error(packet({{"REQUEST_METHOD", "GET"}, {"HTTP_X Y", "v"}}));
            expect_error(packet({{"REQUEST_METHOD", "GET"}, {"REQUEST_URI", "/a\nb"}}));
            expect_error(packet({{"REQUEST_METHOD", "GET"}, {"REQUEST_URI", "a"}}));
        }
        SUBCASE("bytes after the request") {
            std::string p = packet({{"REQUEST_METHOD", "GET"}}) + "extra";
            Outcome o = drive_whole(uwsgi(), p);
            REQUIRE(o.messages.size() == 1);
            CHECK(o.error);
            CHECK(o.status == 0);
        }
    }

    TEST_CASE("a truncated packet is incomplete, never a request") {
        std::string p = packet(nginx_vars(), "{\"a\":true}\n");
        for (size_t n = 1; n < p.size(); ++n) {
            Outcome o = drive_whole(uwsgi(), std::string_view(p).substr(0, n));
            CHECK(o.messages.empty());
            CHECK(!o.error);
            CHECK(o.in_message);
        }
    }

    TEST_CASE("random mutations never crash, hang or yield a bad request") {
        std::mt19937 rng(20240611);
        std::vector<std::string> seeds = {
            packet(nginx_vars(), "{\"a\":true}\n"),
            packet({{"REQUEST_METHOD", "GET"}, {"REQUEST_URI", "/"}}),
            packet({{"REQUEST_METHOD", "POST"}, {"CONTENT_LENGTH", "3"}, {"HTTP_A_B", "c"}}, "xyz"),
        };
        Http1Limits limits;
        limits.body = 4096;
        int messages = 0, errors = 0, incomplete = 0;
        for (int iter = 0; iter < 5000; ++iter) {
            std::string p = seeds[rng() % seeds.size()];
            int edits = 1 + static_cast<int>(rng() % 4);
            for (int e = 0; e < edits && !p.empty(); ++e) {
                size_t at = rng() % p.size();
                switch (rng() % 5) {
                    case 0:
                        p[at] = static_cast<char>(rng());
                        break;  // replace
                    case 1:
                        p[at] = static_cast<char>(p[at] ^ (1 << (rng() % 8)));
                        break;  // bit flip
                    case 2:
                        p.erase(at, 1 + rng() % 4);
                        break;  // delete
                    case 3:
                        p.insert(at, 1, static_cast<char>(rng()));
                        break;  // insert
                    case 4:
                        p.resize(at);
                        break;  // truncate
                }
            }
            // Whole, and in random pieces: the same outcome, within bounds.
            Outcome whole = drive_whole(uwsgi(limits), p);
            std::vector<size_t> cuts;
            for (size_t at = 1 + rng() % 8; at < p.size(); at += 1 + rng() % 16) cuts.push_back(at);
            auto c = uwsgi(limits)();
            Outcome split = drive(*c, p, cuts);
            REQUIRE(split == whole);
            if (whole.error) {
                ++errors;
                CHECK(whole.status == 0);
            } else if (!whole.messages.empty()) {
                ++messages;
                // A request only comes from a packet whose declared sizes all fit.
                REQUIRE(p.size() >= 4);
                size_t datasize = static_cast<unsigned char>(p[1]) |
                                  (static_cast<size_t>(static_cast<unsigned char>(p[2])) << 8);
                const Message& m = whole.messages[0];
                CHECK(p.size() >= 4 + datasize + m.body.size());
                CHECK(m.body.size() <= limits.body);
                CHECK(!m.method.empty());
            } else {
                ++incomplete;
            }
        }
        // The mutations exercise all three outcomes.
        CHECK(messages > 0);
        CHECK(errors > 0);
        CHECK(incomplete > 0);
    }

    TEST_CASE("a truncated block with a valid-looking prefix stays incomplete") {
        // datasize claims more than arrives: nothing is parsed early.
        Vars v = {{"REQUEST_METHOD", "GET"}};
        std::string block = vars_block(v);
        std::string p;
        p.push_back('\0');
        put16(p, block.size() + 10);
        p.push_back('\0');
        p += block;
        Outcome o = drive_all_splits(uwsgi(), p);
        CHECK(o.messages.empty());
        CHECK(!o.error);
        CHECK(o.in_message);
    }

}  // TEST_SUITE
}  // namespace quiver::worker::test
