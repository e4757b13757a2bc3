// SPDX-License-Identifier: MIT
// echo: answers every method on every path under its mount with the request
// rendered as JSON (echo_json.hpp); used by the protocol tests.
#include <quiver/app.hpp>

#include "echo_json.hpp"

namespace {

class Echo {
public:
    explicit Echo(quiver::AppContext& ctx) { ctx.router.any("/{rest...}", &Echo::handle); }

    quiver::Response handle(quiver::Request& req) const {
        quiver::Response r(200);
        r.header_view("Content-Type", "application/json");
        echo::append_echo_json(r.body_buffer(), req);
        return r;
    }
};

}  // namespace

QUIVER_PLUGIN(Echo, "echo", "1.0.0")
