// SPDX-License-Identifier: MIT
// Test plugin "version": GET / answers the "version" setting (default "v1"),
// so reload tests can tell generations apart.
#include <quiver/app.hpp>

#include <string>

namespace {

class Version {
public:
    explicit Version(quiver::AppContext& ctx) : version_(ctx.settings.get_string("version", "v1")) {
        ctx.router.get("/", &Version::get);
    }

    quiver::Response get(quiver::Request&) const {
        quiver::Response r(200);
        r.header_view("Content-Type", "text/plain; charset=utf-8").body_view(version_);
        return r;
    }

private:
    std::string version_;
};

}  // namespace

QUIVER_PLUGIN(Version, "version", "1.0.0")
