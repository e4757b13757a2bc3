// SPDX-License-Identifier: MIT
// hello: GET /plaintext and GET /json, the two smallest responses, kept free of
// allocations for benchmarks: the JSON is serialised for every request (as
// TechEmpower's rules ask) into a buffer the app reuses, which the response
// borrows until the host copies it out at respond time.
#include <quiver/app.hpp>

#include <string>
#include <string_view>

namespace {

constexpr std::string_view kPlain = "Hello, World!";

class Hello {
public:
    explicit Hello(quiver::AppContext& ctx) {
        ctx.router.get("/plaintext", &Hello::plaintext);
        ctx.router.get("/json", &Hello::json);
    }

    quiver::Response plaintext(quiver::Request&) const {
        quiver::Response r(200);
        r.header_view("Content-Type", "text/plain").body_view(kPlain);
        return r;
    }

    quiver::Response json(quiver::Request&) {
        json_.clear();
        quiver::json::Writer(json_).begin_object().member("message", kPlain).end_object();
        quiver::Response r(200);
        r.header_view("Content-Type", "application/json").body_view(json_);
        return r;
    }

private:
    std::string json_;
};

}  // namespace

QUIVER_PLUGIN(Hello, "hello", "1.0.0")
