// SPDX-License-Identifier: MIT
// Test plugin "throws": GET /throw throws from the handler (the SDK must
// answer 500 and log it), GET /ok answers 200.
#include <quiver/app.hpp>

#include <stdexcept>

namespace {

class Throws {
public:
    explicit Throws(quiver::AppContext& ctx) {
        ctx.router.get("/throw", [](quiver::Request&) -> quiver::Response {
            throw std::runtime_error("deliberate failure from /throw");
        });
        ctx.router.get("/ok", [](quiver::Request&) { return quiver::Response::text("ok"); });
    }
};

}  // namespace

QUIVER_PLUGIN(Throws, "throws", "1.0.0")
