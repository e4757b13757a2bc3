// SPDX-License-Identifier: MIT
// Response writer and DateCache: exact bytes, bodyless statuses, keep-alive
// announcements, header checks, and llhttp reading back what we wrote.
#include "workers/http/response.hpp"

#include <doctest/doctest.h>
#include <llhttp.h>

#include <string>
#include <vector>

#include "workers/http/date.hpp"

namespace quiver::worker::test {
namespace {

constexpr std::string_view kDate = "Sun, 06 Nov 1994 08:49:37 GMT";

ResponseHead head(int status = 200) {
    ResponseHead h;
    h.status = status;
    h.date = kDate;
    h.server = "quiver";
    return h;
}

// What an HTTP/1.1 client makes of a response (llhttp in response mode).
struct Parsed {
    int status = 0;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    bool head_request = false;  // the request was HEAD: no body follows
    bool complete = false;
    bool keep_alive = false;
    llhttp_errno_t err = HPE_OK;
};

Parsed read_back(const std::string& wire, bool head_request = false) {
    static llhttp_settings_t s = [] {
        llhttp_settings_t t;
        llhttp_settings_init(&t);
        t.on_header_field = [](llhttp_t* p, const char* at, size_t n) {
            static_cast<Parsed*>(p->data)->headers.emplace_back(std::string(at, n), "");
            return 0;
        };
        t.on_header_value = [](llhttp_t* p, const char* at, size_t n) {
            static_cast<Parsed*>(p->data)->headers.back().second.append(at, n);
            return 0;
        };
        t.on_headers_complete = [](llhttp_t* p) {
            auto* r = static_cast<Parsed*>(p->data);
            r->status = p->status_code;
            return r->head_request ? 1 : 0;
        };
        t.on_body = [](llhttp_t* p, const char* at, size_t n) {
            static_cast<Parsed*>(p->data)->body.append(at, n);
            return 0;
        };
        t.on_message_complete = [](llhttp_t* p) {
            auto* r = static_cast<Parsed*>(p->data);
            r->complete = true;
            r->keep_alive = llhttp_should_keep_alive(p) != 0;
            return 0;
        };
        return t;
    }();
    Parsed r;
    r.head_request = head_request;
    llhttp_t p;
    llhttp_init(&p, HTTP_RESPONSE, &s);
    p.data = &r;
    r.err = llhttp_execute(&p, wire.data(), wire.size());
    if (r.err == HPE_OK && !r.complete) r.err = llhttp_finish(&p);
    return r;
}

}  // namespace

TEST_SUITE("http.response") {
    TEST_CASE("a small response, byte for byte") {
        std::string out;
        OutHeader hs[] = {{"Content-Type", "text/plain"}};
        write_response(out, head(), hs, 1, "Hello, World!");
        CHECK(out ==
              "HTTP/1.1 200 OK\r\nServer: quiver\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
              "Content-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!");
        Parsed p = read_back(out);
        CHECK(p.err == HPE_OK);
        CHECK(p.complete);
        CHECK(p.keep_alive);
        CHECK(p.body == "Hello, World!");
    }

    TEST_CASE("no Server or Date when not given") {
        std::string out;
        ResponseHead h;
        write_response(out, h, nullptr, 0, "");
        CHECK(out == "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    }

    TEST_CASE("the app's Date and Server replace the server's") {
        std::string out;
        OutHeader hs[] = {{"server", "app/2"}, {"DATE", "Mon, 07 Nov 1994 00:00:00 GMT"}};
        write_response(out, head(), hs, 2, "");
        CHECK(out.find("Server: quiver") == std::string::npos);
        CHECK(out.find("Date: Sun") == std::string::npos);
        CHECK(out.find("server: app/2\r\n") != std::string::npos);
        CHECK(out.find("DATE: Mon, 07 Nov 1994 00:00:00 GMT\r\n") != std::string::npos);
    }

    TEST_CASE("keep-alive announcements") {
        SUBCASE("HTTP/1.1 close") {
            std::string out;
            ResponseHead h = head();
            h.keep_alive = false;
            write_response(out, h, nullptr, 0, "x");
            CHECK(out.find("Connection: close\r\n") != std::string::npos);
            CHECK(!read_back(out).keep_alive);
        }
        SUBCASE("HTTP/1.0 keep-alive") {
            std::string out;
            ResponseHead h = head();
            h.http_minor = 0;
            write_response(out, h, nullptr, 0, "x");
            CHECK(out.find("Connection: keep-alive\r\n") != std::string::npos);
            CHECK(out.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);  // RFC 9110 §6.2
        }
        SUBCASE("HTTP/1.1 keep-alive says nothing") {
            std::string out;
            write_response(out, head(), nullptr, 0, "x");
            CHECK(out.find("Connection:") == std::string::npos);
        }
    }

    TEST_CASE("bodyless statuses carry no framing headers") {
        for (int status : {100, 101, 103, 204, 304}) {
            CAPTURE(status);
            std::string out;
            write_response(out, head(status), nullptr, 0, "ignored");
            CHECK(out.find("Content-Length") == std::string::npos);
            CHECK(out.find("ignored") == std::string::npos);
            std::string chunked;
            ResponseHead h = head(status);
            h.mode = BodyMode::kChunked;
            write_head(chunked, h, nullptr, 0);
            CHECK(chunked.find("Transfer-Encoding") == std::string::npos);
        }
        std::string out;
        write_response(out, head(204), nullptr, 0, "");
        Parsed p = read_back(out);
        CHECK(p.err == HPE_OK);
        CHECK(p.status == 204);
        CHECK(p.complete);
    }

    TEST_CASE("HEAD: same head as GET, no body") {
        std::string get, head_out;
        write_response(get, head(), nullptr, 0, "twelve bytes");
        ResponseHead h = head();
        h.head_request = true;
        write_response(head_out, h, nullptr, 0, "twelve bytes");
        CHECK(get == head_out + "twelve bytes");
        CHECK(head_out.find("Content-Length: 12\r\n") != std::string::npos);
        Parsed p = read_back(head_out, true);
        CHECK(p.err == HPE_OK);
        CHECK(p.body.empty());
    }

    TEST_CASE("chunked streaming reads back") {
        std::string out;
        ResponseHead h = head();
        h.mode = BodyMode::kChunked;
        write_head(out, h, nullptr, 0);
        CHECK(out.find("Transfer-Encoding: chunked\r\n") != std::string::npos);
        CHECK(out.find("Content-Length") == std::string::npos);
        write_chunk(out, "hello ");
        write_chunk(out, "");  // nothing: an empty chunk would end the body
        write_chunk(out, std::string(300, 'x'));
        write_last_chunk(out);
        CHECK(out.find("12c\r\n") != std::string::npos);
        Parsed p = read_back(out);
        CHECK(p.err == HPE_OK);
        CHECK(p.complete);
        CHECK(p.body == "hello " + std::string(300, 'x'));
    }

    TEST_CASE("chunk framing bytes") {
        std::string out;
        write_chunk(out, "abc");
        write_chunk(out, std::string(16, 'z'));
        write_last_chunk(out);
        CHECK(out == "3\r\nabc\r\n10\r\n" + std::string(16, 'z') + "\r\n0\r\n\r\n");
    }

    TEST_CASE("100 Continue interim response") {
    std::string out;
    write_continue(out);
    CHECK(out == "HTTP/1.1 100 Continue\r\n\r\n");
}

TEST_CASE("close-delimited body") {
        std::string out;
        ResponseHead h = head();
        h.mode = BodyMode::kClose;
        write_head(out, h, nullptr, 0);
        CHECK(out.find("Content-Length") == std::string::npos);
        CHECK(out.find("Transfer-Encoding") == std::string::npos);
        CHECK(out.find("Connection: close\r\n") != std::string::npos);
        out += "streamed until EOF";
        Parsed p = read_back(out);
        CHECK(p.body == "streamed until EOF");
    }

    TEST_CASE("status reasons") {
        CHECK(status_reason(200) == "OK");
        CHECK(status_reason(413) == "Content Too Large");
        CHECK(status_reason(422) == "Unprocessable Content");
        CHECK(status_reason(431) == "Request Header Fields Too Large");
        CHECK(status_reason(505) == "HTTP Version Not Supported");
        CHECK(status_reason(299) == "Unknown");
        std::string out;
        write_response(out, head(299), nullptr, 0, "");
        CHECK(out.rfind("HTTP/1.1 299 Unknown\r\n", 0) == 0);
        out.clear();
        write_response(out, head(42), nullptr, 0, "");  // not a status: 500
        CHECK(out.rfind("HTTP/1.1 500 Internal Server Error\r\n", 0) == 0);
    }

    TEST_CASE("check_header refuses injection and reserved names") {
        CHECK(check_header("Content-Type", "text/html; charset=utf-8") == nullptr);
        CHECK(check_header("X-Tab", "a\tb") == nullptr);
        CHECK(check_header("X-Utf8", "caf\xc3\xa9") == nullptr);
        CHECK(check_header("Set-Cookie", "") == nullptr);
        CHECK(check_header("Date", "Mon, 07 Nov 1994 00:00:00 GMT") == nullptr);
        CHECK(check_header("Server", "app") == nullptr);
        CHECK(check_header("", "v") != nullptr);
        CHECK(check_header("X Y", "v") != nullptr);
        CHECK(check_header("X:Y", "v") != nullptr);
        CHECK(check_header("X\r\nY", "v") != nullptr);
        CHECK(check_header("X\xc3\xa9", "v") != nullptr);
        CHECK(check_header("X", "a\r\nSet-Cookie: evil") != nullptr);
        CHECK(check_header("X", "a\nb") != nullptr);
        CHECK(check_header("X", "a\rb") != nullptr);
        CHECK(check_header("X", std::string_view("a\0b", 3)) != nullptr);
        CHECK(check_header("X", "a\x01") != nullptr);
        CHECK(check_header("X", "a\x7f") != nullptr);
        CHECK(check_header("content-length", "5") != nullptr);
        CHECK(check_header("Transfer-Encoding", "chunked") != nullptr);
        CHECK(check_header("CONNECTION", "close") != nullptr);
    }

    TEST_CASE("error responses") {
        std::string out;
        write_error(out, 413, kDate, "quiver", false);
        CHECK(out ==
              "HTTP/1.1 413 Content Too Large\r\nServer: quiver\r\n"
              "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\nContent-Type: text/plain; charset=utf-8\r\n"
              "Content-Length: 22\r\nConnection: close\r\n\r\n413 Content Too Large\n");
        Parsed p = read_back(out);
        CHECK(p.status == 413);
        CHECK(!p.keep_alive);
        std::string h;
        write_error(h, 400, kDate, "", true);
        CHECK(h.find("Server:") == std::string::npos);
        CHECK(h.find("Content-Length: 16\r\n") != std::string::npos);
        CHECK(h.size() == h.find("\r\n\r\n") + 4);  // no body for HEAD
    }

    TEST_CASE("writing reuses the buffer's capacity") {
        std::string out;
        OutHeader hs[] = {{"Content-Type", "text/plain"}};
        write_response(out, head(), hs, 1, "Hello, World!");
        const char* buf = out.data();
        for (int i = 0; i < 100; ++i) {
            out.clear();
            write_response(out, head(), hs, 1, "Hello, World!");
        }
        CHECK(out.data() == buf);
    }

    TEST_CASE("DateCache formats IMF-fixdate once per second") {
        DateCache d;
        CHECK(d.get(784111777) == "Sun, 06 Nov 1994 08:49:37 GMT");
        std::string_view a = d.get(784111777);
        CHECK(d.get(784111777).data() == a.data());
        CHECK(d.get(784111778) == "Sun, 06 Nov 1994 08:49:38 GMT");
        CHECK(d.get(0) == "Thu, 01 Jan 1970 00:00:00 GMT");
        CHECK(d.get(951782400) == "Tue, 29 Feb 2000 00:00:00 GMT");
        CHECK(d.get(4102444800) == "Fri, 01 Jan 2100 00:00:00 GMT");
        char buf[32];
        CHECK(format_imf_fixdate(1700000000, buf) == 29);
        CHECK(std::string_view(buf, 29) == "Tue, 14 Nov 2023 22:13:20 GMT");
    }

}  // TEST_SUITE
}  // namespace quiver::worker::test
