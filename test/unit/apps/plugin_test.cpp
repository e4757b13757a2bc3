// SPDX-License-Identifier: MIT
// The SDK's plugin glue end to end: QUIVER_PLUGIN's table, create (settings,
// errors), handle (routing, sync and coroutine handlers, streams, failures,
// cancellation) and destroy, against the test host.
#include <quiver/app.hpp>

#include <doctest/doctest.h>

#include "test/unit/apps/test_host.hpp"

#include <chrono>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>

using quiver::Request;
using quiver::Response;
using quiver::Task;

namespace {

int apps_alive = 0;
int locals_alive = 0;

struct Local {
    Local() { ++locals_alive; }
    ~Local() { --locals_alive; }
    Local(const Local&) = delete;
    Local& operator=(const Local&) = delete;
};

class TestApp {
public:
    explicit TestApp(quiver::AppContext& ctx)
        : ctx_(ctx),
          limit_(ctx.settings.get_int("limit", 5, 1, 10)),
          name_(ctx.settings.get_string("name", "anon")) {
        ++apps_alive;
        auto& r = ctx.router;
        r.get("/hello", &TestApp::hello);
        r.get("/users/{id}", &TestApp::user);
        r.post("/users/{id}", [](Request& req) {
            return Response::text("posted " + std::string(req.param("id")) + " " +
                                  std::string(req.body()));
        });
        r.get("/sleep", &TestApp::sleep);
        r.get("/throw", [](Request&) -> Response { throw std::runtime_error("deliberate"); });
        r.get("/throw-int", [](Request&) -> Response { throw 42; });
        r.get("/throw-async", &TestApp::throw_async);
        r.get("/stream", &TestApp::stream);
        r.get("/stream-throw", &TestApp::stream_throw);
        r.get("/void", [](Request&) {});
        r.get("/bad-header", [](Request&) {
            return Response::text("x").header("X-Bad", "a\r\nInjected: 1");
        });
        r.get("/content-length", [](Request&) {
            return Response::text("x").header("Content-Length", "1");
        });
        r.get("/bad-status", [](Request&) { return Response(99); });
        r.get("/early", &TestApp::early);
        r.get("/settings", [this](Request&) {
            return Response::text(name_ + " " + std::to_string(limit_));
        });
    }
    ~TestApp() { --apps_alive; }

    Response hello(Request&) { return Response::text("Hello, World!"); }
    Response user(Request& req) const { return Response::text("user " + std::string(req.param("id"))); }

    Task<Response> sleep(Request& req) {
        Local local;
        const int ms = std::stoi(req.query_param("ms").value_or("0"));
        co_await quiver::sleep(ctx_, std::chrono::milliseconds(ms));
        co_return Response::text("slept " + std::to_string(ms) + " " + std::string(req.path()));
    }
    Task<Response> throw_async(Request&) {
        Local local;
        co_await quiver::sleep(ctx_, std::chrono::milliseconds(1));
        throw std::logic_error("async failure");
    }
    Task<void> stream(Request& req) {
        Local local;
        quiver::Stream s = req.stream(200, {{"Content-Type", "text/plain"}});
        REQUIRE(s.ok());
        for (int i = 1; i <= 3; ++i) {
            if (i > 1) co_await quiver::sleep(ctx_, std::chrono::milliseconds(10));
            CHECK(s.write("chunk " + std::to_string(i) + "\n") == QV_OK);
        }
        CHECK(s.end() == QV_OK);
        CHECK_FALSE(s.ok());
        CHECK(s.write("late") == QV_EALREADY);
    }
    Task<Response> stream_throw(Request& req) {
        quiver::Stream s = req.stream(Response(206).header("X-Part", "1"));
        s.write("part");
        co_await quiver::sleep(ctx_, std::chrono::milliseconds(1));
        throw std::runtime_error("mid-stream");
    }
    Task<Response> early(Request& req) {
        CHECK(req.respond(Response::text("early")) == QV_OK);
        co_await quiver::sleep(ctx_, std::chrono::milliseconds(5));
        co_return Response::text("ignored");
    }

private:
    quiver::AppContext& ctx_;
    std::int64_t limit_;
    std::string name_;
};

}  // namespace

QUIVER_PLUGIN(TestApp, "testapp", "9.9.9")

namespace {

// Creates, serves and destroys one TestApp instance.
struct Plugin {
    explicit Plugin(test::TestHost& h, std::string settings = "") : host(h) {
        table = quiver_plugin_v1();
        qv_error_t err{};
        rc = table->create(host.table(), settings.data(), settings.size(), &app, &err);
        error = err.message;
    }
    ~Plugin() {
        if (app != nullptr) table->destroy(app);
    }
    std::unique_ptr<qv_request> serve(std::unique_ptr<qv_request> r) {
        table->handle(app, r.get(), &r->info);
        return r;
    }
    std::unique_ptr<qv_request> get(std::string path, std::string query = "") {
        return serve(host.make_request("GET", std::move(path), std::move(query)));
    }

    test::TestHost& host;
    const qv_plugin_t* table = nullptr;
    void* app = nullptr;
    int rc = 0;
    std::string error;
};

bool logged(const test::TestHost& h, std::string_view a, std::string_view b = {}) {
    for (const std::string& l : h.logs) {
        if (l.find(a) != std::string::npos && l.find(b) != std::string::npos) return true;
    }
    return false;
}

}  // namespace

TEST_SUITE("sdk.plugin") {
    TEST_CASE("QUIVER_PLUGIN exports a v1 table") {
        const qv_plugin_t* p = quiver_plugin_v1();
        CHECK(p->abi_version == QV_ABI_VERSION);
        CHECK(p->struct_size == sizeof(qv_plugin_t));
        CHECK(std::string(p->name) == "testapp");
        CHECK(std::string(p->version) == "9.9.9");
        CHECK(p == quiver_plugin_v1());
    }

    TEST_CASE("create reads settings and destroy deletes the app") {
        test::TestHost host;
        {
            Plugin p(host, R"({"name": "q", "limit": 7, "extra": {"nested": true}})");
            REQUIRE(p.rc == QV_OK);
            CHECK(apps_alive == 1);
            auto r = p.get("/settings");
            CHECK(r->out == "q 7");
        }
        CHECK(apps_alive == 0);
        Plugin defaults(host, "  ");
        REQUIRE(defaults.rc == QV_OK);
        CHECK(defaults.get("/settings")->out == "anon 5");
        Plugin null_settings(host, "null");
        CHECK(null_settings.rc == QV_OK);
    }

    TEST_CASE("create refuses bad settings, naming the key") {
        test::TestHost host;
        const auto refused = [&](std::string settings) {
            Plugin p(host, std::move(settings));
            CHECK(p.rc == QV_EINVAL);
            CHECK(p.app == nullptr);
            return p.error;
        };
        CHECK(refused(R"({"limit": 50})") == "limit: must be between 1 and 10");
        CHECK(refused(R"({"limit": "5"})") == "limit: must be an integer");
        CHECK(refused(R"({"limit": 1.5})") == "limit: must be an integer");
        CHECK(refused(R"({"name": 3})") == "name: must be a string");
        CHECK(refused("[1]") == "settings: must be a JSON object");
        CHECK(refused("{").rfind("settings: invalid JSON: ", 0) == 0);
        CHECK(apps_alive == 0);
    }

    TEST_CASE("create refuses a host table of another ABI version") {
        test::TestHost host;
        host.mutable_table().abi_version = 2;
        Plugin p(host);
        CHECK(p.rc == QV_EINVAL);
        CHECK(p.error.find("ABI version 1") != std::string::npos);
    }

    TEST_CASE("sync handlers answer inside handle(), exactly once") {
        test::TestHost host;
        Plugin p(host);
        auto r = p.get("/hello");
        CHECK(r->finish_calls == 1);
        CHECK(r->status == 200);
        CHECK(r->out == "Hello, World!");
        CHECK(r->header("Content-Type") == "text/plain; charset=utf-8");
        CHECK((r->cancel_cb == nullptr));  // sync requests never register on_cancel
        CHECK(p.get("/users/42")->out == "user 42");
        auto post = p.serve(host.make_request("POST", "/users/7", "", "/", {}, "payload"));
        CHECK(post->out == "posted 7 payload");
    }

    TEST_CASE("routes match below the mount prefix") {
        test::TestHost host;
        Plugin p(host);
        auto r = p.serve(host.make_request("GET", "/app/users/5", "", "/app"));
        CHECK(r->out == "user 5");
        auto root = p.serve(host.make_request("GET", "/app/hello", "", "/app/"));
        CHECK(root->out == "Hello, World!");
    }

    TEST_CASE("404, 405 with Allow, HEAD served by GET") {
        test::TestHost host;
        Plugin p(host);
        auto nf = p.get("/nope");
        CHECK(nf->status == 404);
        CHECK(nf->out == "Not Found\n");
        auto na = p.serve(host.make_request("DELETE", "/users/1"));
        CHECK(na->status == 405);
        CHECK(na->header("Allow") == "GET, POST, HEAD");
        auto head = p.serve(host.make_request("HEAD", "/hello"));
        CHECK(head->status == 200);
        CHECK(head->finish_calls == 1);
    }

    TEST_CASE("handler exceptions become 500 and one log line with the request id") {
        test::TestHost host;
        Plugin p(host);
        auto r = p.get("/throw");
        CHECK(r->status == 500);
        CHECK(r->finish_calls == 1);
        CHECK(logged(host, r->id, "GET /throw: deliberate"));
        auto i = p.get("/throw-int");
        CHECK(i->status == 500);
        CHECK(logged(host, i->id, "non-standard exception"));
        auto a = p.get("/throw-async");
        CHECK_FALSE(a->finished);
        host.run();
        CHECK(a->status == 500);
        CHECK(a->finish_calls == 1);
        CHECK(logged(host, a->id, "async failure"));
        CHECK(locals_alive == 0);
    }

    TEST_CASE("responses the host would refuse become 500 with a log line") {
        test::TestHost host;
        Plugin p(host);
        auto bad = p.get("/bad-header");
        CHECK(bad->status == 500);
        CHECK(bad->header("X-Bad") == "<none>");
        CHECK(logged(host, bad->id, "X-Bad"));
        CHECK(p.get("/content-length")->status == 500);
        auto st = p.get("/bad-status");
        CHECK(st->status == 500);
        CHECK(logged(host, st->id, "invalid status 99"));
        auto v = p.get("/void");
        CHECK(v->status == 500);
        CHECK(logged(host, v->id, "without answering"));
    }

    TEST_CASE("coroutine handlers answer from a later loop turn, in timer order") {
        test::TestHost host;
        Plugin p(host);
        auto slow = p.get("/sleep", "ms=30");
        auto fast = p.get("/sleep", "ms=10");
        CHECK_FALSE(slow->finished);
        CHECK_FALSE(fast->finished);
        CHECK((slow->cancel_cb != nullptr));
        CHECK(locals_alive == 2);
        host.run();
        CHECK(fast->order < slow->order);
        CHECK(fast->out == "slept 10 /sleep");
        CHECK(slow->out == "slept 30 /sleep");
        CHECK(slow->finish_calls == 1);
        CHECK((slow->cancel_cb == nullptr));  // unregistered before finishing
        CHECK(locals_alive == 0);
    }

    TEST_CASE("a cancelled request stops its handler and is released once") {
        test::TestHost host;
        Plugin p(host);
        auto r = p.get("/sleep", "ms=1000");
        CHECK(locals_alive == 1);
        host.cancel(r.get());
        CHECK(locals_alive == 0);       // the frame was destroyed
        CHECK(host.timers_cancelled == 1);
        CHECK(host.pending_timers() == 0);
        CHECK(r->finish_calls == 1);    // still finished, to release it
        CHECK(host.run() == 0);
    }

    TEST_CASE("streams write chunks across timers and end once") {
        test::TestHost host;
        Plugin p(host);
        auto r = p.get("/stream");
        CHECK(r->streamed);
        CHECK(r->chunks.size() == 1);
        host.run();
        CHECK(r->chunks == std::vector<std::string>{"chunk 1\n", "chunk 2\n", "chunk 3\n"});
        CHECK(r->header("Content-Type") == "text/plain");
        CHECK(r->finish_calls == 1);
        CHECK(locals_alive == 0);
    }

    TEST_CASE("cancelling mid-stream ends the stream and stops the handler") {
        test::TestHost host;
        Plugin p(host);
        auto r = p.get("/stream");
        host.cancel(r.get());
        CHECK(r->finish_calls == 1);
        CHECK(r->chunks.size() == 1);
        CHECK(host.run() == 0);
        CHECK(locals_alive == 0);
    }

    TEST_CASE("a handler failing mid-stream gets its stream ended and logged") {
        test::TestHost host;
        Plugin p(host);
        auto r = p.get("/stream-throw");
        host.run();
        CHECK(r->status == 206);
        CHECK(r->header("X-Part") == "1");
        CHECK(r->out == "part");
        CHECK(r->finish_calls == 1);
        CHECK(logged(host, r->id, "mid-stream"));
    }

    TEST_CASE("a handler may answer early and keep running") {
        test::TestHost host;
        Plugin p(host);
        auto r = p.get("/early");
        CHECK(r->out == "early");
        CHECK(r->finish_calls == 1);
        host.run();
        CHECK(r->finish_calls == 1);  // the returned Response is not sent
        CHECK(r->out == "early");
    }

    TEST_CASE("destroy with requests still running drops them and warns") {
        test::TestHost host;
        auto p = std::make_unique<Plugin>(host);
        auto r = p->get("/sleep", "ms=1000");
        p.reset();
        CHECK(apps_alive == 0);
        CHECK(locals_alive == 0);
        CHECK(host.pending_timers() == 0);
        CHECK(logged(host, "destroy: requests were still running"));
        CHECK(r->finish_calls == 0);
    }
}
