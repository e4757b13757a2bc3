// SPDX-License-Identifier: MIT
// Test plugin "failcreate": requires the setting "x", so with no settings its
// create fails with "missing setting 'x'" and the host refuses it.
#include <quiver/app.hpp>

namespace {

class FailCreate {
public:
    explicit FailCreate(quiver::AppContext& ctx) : x_(ctx.settings.require_string("x")) {
        ctx.router.get("/", [this](quiver::Request&) { return quiver::Response::text(x_); });
    }

private:
    std::string x_;
};

}  // namespace

QUIVER_PLUGIN(FailCreate, "failcreate", "1.0.0")
