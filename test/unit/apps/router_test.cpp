// SPDX-License-Identifier: MIT
// quiver::Router matching and quiver::Request accessors (route path, query
// decoding, headers).
#include <quiver/app.hpp>

#include <doctest/doctest.h>

#include "test/unit/apps/test_host.hpp"

#include <stdexcept>
#include <string>

using quiver::Request;
using quiver::Response;
using quiver::Router;

namespace {

Response ok(Request&) { return Response::text("ok"); }

// The name of the route that matched, recovered by calling its handler.
std::string which(const Router& r, std::string_view method, std::string_view path) {
    const Router::Match m = r.match(method, path);
    if (m.status == Router::MatchStatus::kNotFound) return "404";
    if (m.status == Router::MatchStatus::kMethodNotAllowed) return "405 " + m.allow;
    qv_request_info_t info{};
    Request req(nullptr, info);
    req.set_params(m.params);
    const Response resp = m.route->handler->call(nullptr, req);
    return std::string(resp.find_header("X-Route").value_or("?"));
}

auto named(std::string name) {
    return [name](Request& req) {
        Response r = Response::text("");
        std::string v = name;
        for (std::size_t i = 0; i < req.params().size(); ++i) {
            v.append(" ").append(req.params()[i].name);
            v.append("=").append(req.params()[i].value);
        }
        r.header("X-Route", v);
        return r;
    };
}

}  // namespace

TEST_SUITE("sdk.router") {
    TEST_CASE("literal routes match exactly") {
        Router r;
        r.get("/", named("root")).get("/a", named("a")).get("/a/", named("a/")).get("/a/b", named("ab"));
        CHECK(which(r, "GET", "/") == "root");
        CHECK(which(r, "GET", "/a") == "a");
        CHECK(which(r, "GET", "/a/") == "a/");
        CHECK(which(r, "GET", "/a/b") == "ab");
        CHECK(which(r, "GET", "/A") == "404");
        CHECK(which(r, "GET", "/a/b/") == "404");
        CHECK(which(r, "GET", "//") == "404");
        CHECK(which(r, "GET", "") == "404");
        CHECK(which(r, "GET", "*") == "404");
    }

    TEST_CASE("literals compare percent-decoded") {
        Router r;
        r.get("/a b/c", named("space"));
        CHECK(which(r, "GET", "/a%20b/c") == "space");
        CHECK(which(r, "GET", "/%61%20b/c") == "space");
        CHECK(which(r, "GET", "/a+b/c") == "404");  // '+' is not a space in a path
        CHECK(which(r, "GET", "/a%20b%2Fc") == "404");  // %2F is not a separator
    }

    TEST_CASE("parameters capture one non-empty segment, raw") {
        Router r;
        r.get("/users/{id}", named("user")).get("/users/{id}/posts/{post}", named("post"));
        CHECK(which(r, "GET", "/users/42") == "user id=42");
        CHECK(which(r, "GET", "/users/a%20b") == "user id=a%20b");
        CHECK(which(r, "GET", "/users/") == "404");
        CHECK(which(r, "GET", "/users") == "404");
        CHECK(which(r, "GET", "/users/1/posts/x") == "post id=1 post=x");
        CHECK(which(r, "GET", "/users/1/posts/") == "404");
    }

    TEST_CASE("tail parameters match the rest, possibly empty") {
        Router r;
        r.get("/files/{rest...}", named("files"));
        CHECK(which(r, "GET", "/files/a/b/c.txt") == "files rest=a/b/c.txt");
        CHECK(which(r, "GET", "/files/") == "files rest=");
        CHECK(which(r, "GET", "/files") == "404");
        CHECK(which(r, "GET", "/filesx") == "404");
        Router all;
        all.any("/{path...}", named("all"));
        CHECK(which(all, "DELETE", "/") == "all path=");
        CHECK(which(all, "BREW", "/x/y") == "all path=x/y");
    }

    TEST_CASE("the most specific route wins whatever the registration order") {
        Router r;
        r.get("/{rest...}", named("tail"))
            .get("/files/{rest...}", named("files"))
            .get("/files/{name}", named("param"))
            .get("/files/special", named("literal"))
            .get("/{a}/special", named("a-special"));
        CHECK(which(r, "GET", "/files/special") == "literal");
        CHECK(which(r, "GET", "/files/other") == "param name=other");
        CHECK(which(r, "GET", "/files/x/y") == "files rest=x/y");
        CHECK(which(r, "GET", "/docs/special") == "a-special a=docs");
        CHECK(which(r, "GET", "/docs") == "tail rest=docs");
    }

    TEST_CASE("405 lists the allowed methods; HEAD falls back to GET") {
        Router r;
        r.get("/item", named("get")).post("/item", named("post")).put("/other", named("put"));
        CHECK(which(r, "GET", "/item") == "get");
        CHECK(which(r, "POST", "/item") == "post");
        CHECK(which(r, "HEAD", "/item") == "get");
        CHECK(which(r, "DELETE", "/item") == "405 GET, POST, HEAD");
        CHECK(which(r, "get", "/item") == "405 GET, POST, HEAD");  // methods are case-sensitive
        CHECK(which(r, "GET", "/other") == "405 PUT");
        CHECK(which(r, "GET", "/none") == "404");
        r.head("/item", named("head"));
        CHECK(which(r, "HEAD", "/item") == "head");
        CHECK(which(r, "DELETE", "/item") == "405 GET, POST, HEAD");
    }

    TEST_CASE("exact method beats any(), any() beats GET for HEAD") {
        Router r;
        r.any("/x", named("any")).get("/x", named("get"));
        CHECK(which(r, "GET", "/x") == "get");
        CHECK(which(r, "POST", "/x") == "any");
        CHECK(which(r, "HEAD", "/x") == "any");
        // A more specific path beats a better method match.
        Router s;
        s.any("/{p}", named("any")).get("/x", named("get"));
        CHECK(which(s, "HEAD", "/x") == "get");
        CHECK(which(s, "POST", "/x") == "any p=x");
    }

    TEST_CASE("a method-specific route does not hide a less specific match") {
        Router r;
        r.get("/{p}", named("get-param")).post("/x", named("post-x"));
        CHECK(which(r, "GET", "/x") == "get-param p=x");
        CHECK(which(r, "POST", "/x") == "post-x");
        CHECK(which(r, "PUT", "/x") == "405 GET, POST, HEAD");
    }

    TEST_CASE("bad patterns and duplicates are refused") {
        Router r;
        CHECK_THROWS_AS(r.get("", ok), std::invalid_argument);
        CHECK_THROWS_AS(r.get("a", ok), std::invalid_argument);
        CHECK_THROWS_AS(r.get("/{rest...}/x", ok), std::invalid_argument);
        CHECK_THROWS_AS(r.get("/{a", ok), std::invalid_argument);
        CHECK_THROWS_AS(r.get("/x{a}", ok), std::invalid_argument);
        CHECK_THROWS_AS(r.get("/{a-b}", ok), std::invalid_argument);
        CHECK_THROWS_AS(r.get("/{}", ok), std::invalid_argument);
        CHECK_THROWS_AS(r.get("/{a}/{a}", ok), std::invalid_argument);
        CHECK_THROWS_AS(r.get("/a%20b", ok), std::invalid_argument);
        CHECK_THROWS_AS(r.get("/a?b", ok), std::invalid_argument);
        CHECK_THROWS_AS(r.route("GE T", "/", ok), std::invalid_argument);
        CHECK_THROWS_AS(r.route("", "/", ok), std::invalid_argument);
        CHECK_THROWS_AS(r.get("/{a}/{b}/{c}/{d}/{e}/{f}/{g}/{h}/{i}", ok), std::invalid_argument);
        r.get("/{a}/{b}/{c}/{d}/{e}/{f}/{g}/{h}", ok);
        r.get("/u/{id}", ok);
        CHECK_THROWS_WITH_AS(r.get("/u/{other}", ok), doctest::Contains("duplicate route"),
                             std::invalid_argument);
        r.post("/u/{id}", ok);  // another method is not a duplicate
        r.any("/u/{id}", ok);
        CHECK_THROWS_AS(r.any("/u/{x}", ok), std::invalid_argument);
        CHECK(r.size() == 4);
    }

    TEST_CASE("member-function handlers need the app's router") {
        struct App {
            Response h(Request&) { return Response::text("m"); }
        };
        Router r;
        CHECK_THROWS_AS(r.get("/", &App::h), std::invalid_argument);
        r.bind_app_type<App>();
        r.get("/", &App::h);
        struct Other {
            Response h(Request&) { return Response::text("o"); }
        };
        CHECK_THROWS_AS(r.get("/o", &Other::h), std::invalid_argument);
    }
}

TEST_SUITE("sdk.request") {
    TEST_CASE("route_path strips the mount prefix and keeps a leading slash") {
        test::TestHost host;
        const auto rp = [&](std::string path, std::string mount) {
            auto r = host.make_request("GET", path, "", mount);
            return std::string(Request(r.get(), r->info).route_path());
        };
        CHECK(rp("/plaintext", "/") == "/plaintext");
        CHECK(rp("/", "/") == "/");
        CHECK(rp("/api/users", "/api") == "/users");
        CHECK(rp("/api/users", "/api/") == "/users");
        CHECK(rp("/api", "/api") == "/");
        CHECK(rp("/api/", "/api") == "/");
        CHECK(rp("/apix", "/api") == "/apix");  // not a segment boundary: left whole
        CHECK(rp("/other", "/api") == "/other");
        CHECK(rp("/x", "") == "/x");
    }

    TEST_CASE("query_param decodes form encoding, first occurrence wins") {
        test::TestHost host;
        auto r = host.make_request("GET", "/q", "a=1&b=x+y%21&a=2&empty=&flag&c%5B%5D=z&&d=%zz");
        Request req(r.get(), r->info);
        CHECK(req.query_param("a") == "1");
        CHECK(req.query_param("b") == "x y!");
        CHECK(req.query_param("empty") == "");
        CHECK(req.query_param("flag") == "");
        CHECK(req.query_param("c[]") == "z");
        CHECK(req.query_param("d") == "%zz");
        CHECK_FALSE(req.query_param("missing").has_value());
        CHECK_FALSE(req.query_param("A").has_value());
        auto none = host.make_request("GET", "/q");
        CHECK_FALSE(Request(none.get(), none->info).query_param("a").has_value());
    }

    TEST_CASE("headers: case-insensitive lookup, iteration in received order") {
        test::TestHost host;
        auto r = host.make_request("POST", "/h", "", "/",
                                   {{"Host", "example"}, {"X-A", "1"}, {"x-a", "2"}}, "body");
        Request req(r.get(), r->info, quiver::Host(host.table()));
        CHECK(req.header("host") == "example");
        CHECK(req.header("X-A") == "1");
        CHECK_FALSE(req.header("X-B").has_value());
        std::string seen;
        for (const quiver::Header h : req.headers()) {
            seen += std::string(h.name) + "=" + std::string(h.value) + ";";
        }
        CHECK(seen == "Host=example;X-A=1;x-a=2;");
        CHECK(req.headers().size() == 3);
        CHECK(req.method() == "POST");
        CHECK(req.body() == "body");
        CHECK(req.remote_addr() == "127.0.0.1");
        CHECK(req.scheme() == "http");
        CHECK(req.http_version() == 11);
        CHECK_FALSE(req.request_id().empty());
        CHECK(req.host().worker_id() == 3);
        CHECK(req.host().generation() == 7u);
    }

    TEST_CASE("Response keeps fields in order, copies or borrows") {
        Response r(201);
        std::string name = "X-Copied";
        r.header(name, std::string("value")).header_view("X-Borrowed", "static");
        name = "changed";
        for (int i = 0; i < 10; ++i) r.header("X-N", std::to_string(i));
        CHECK(r.header_count() == 12);
        CHECK(r.header_at(0).name == "X-Copied");
        CHECK(r.header_at(0).value == "value");
        CHECK(r.header_at(1).value == "static");
        CHECK(r.header_at(11).value == "9");
        CHECK(r.find_header("x-copied") == "value");
        r.set_header("x-n", "only");
        CHECK(r.header_count() == 3);
        CHECK(r.header_at(2).name == "x-n");
        CHECK(r.header_at(2).value == "only");
        Response copy = r;
        Response moved = std::move(r);
        CHECK(copy.header_at(0).value == "value");
        CHECK(moved.header_at(2).value == "only");
        CHECK(moved.status() == 201);
        CHECK(Response::json({{"a", 1}}).body() == R"({"a":1})");
        CHECK(Response::json({{"a", 1}}).find_header("Content-Type") == "application/json");
        CHECK(Response::html("<p>").find_header("content-type") == "text/html; charset=utf-8");
        Response b;
        b.body_view("view");
        CHECK(b.body() == "view");
        b.body_buffer().append("owned");
        CHECK(b.body() == "owned");
    }
}
