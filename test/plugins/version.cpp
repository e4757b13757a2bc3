// SPDX-License-Identifier: MIT
// Test plugin "version": GET / answers the "version" setting (default: the
// build's QV_TEST_VERSION, "v1" unless built as version2), so reload tests
// can tell generations and builds apart. With the setting `create: crash` its
// create segfaults (a plugin that crashes while a new generation starts).
#include <quiver/app.hpp>

#include <string>

#ifndef QV_TEST_VERSION
#define QV_TEST_VERSION "v1"
#endif

namespace {

class Version {
public:
    explicit Version(quiver::AppContext& ctx)
        : version_(ctx.settings.get_string("version", QV_TEST_VERSION)) {
        if (ctx.settings.get_string("create", "") == "crash") {
            volatile int* p = nullptr;
            *p = 1;
        }
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

QUIVER_PLUGIN(Version, "version", QV_TEST_VERSION)
