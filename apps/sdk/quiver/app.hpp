// SPDX-License-Identifier: MIT
// The quiver C++ SDK: the one header an app includes. AppContext (host,
// settings, router, db) and QUIVER_PLUGIN, which exports an app class as a plugin.
//
//     #include <quiver/app.hpp>
//
//     class Hello {
//     public:
//         explicit Hello(quiver::AppContext& ctx) {
//             ctx.router.get("/plaintext", &Hello::plaintext);
//         }
//         quiver::Response plaintext(quiver::Request&) {
//             return quiver::Response::text("Hello, World!");
//         }
//     };
//     QUIVER_PLUGIN(Hello, "hello", "1.0.0")
//
// What the SDK guarantees around a handler (plugin.h has the C contract):
//   - every request is finished exactly once: with the Response the handler
//     returns, or its stream ended, or 404/405 from the router;
//   - an exception from a handler (plain or coroutine) becomes a 500 and one
//     log line naming the request id; nothing unwinds into the host;
//   - a coroutine handler whose request the host cancels (client gone,
//     deadline) is destroyed where it is suspended: destructors run and the
//     timer or query it waits on is cancelled; use a Transaction for work
//     that must be all-or-nothing;
//   - HEAD requests fall back to GET routes; the host sends no body for them.
// Build plugins with -fvisibility=hidden and the version script plugin.map
// (pkg-config --variable=plugin_map quiver) so only quiver_plugin_v1 is exported.
#pragma once

#include <quiver/db.hpp>
#include <quiver/host.hpp>
#include <quiver/json.hpp>
#include <quiver/plugin.h>
#include <quiver/request.hpp>
#include <quiver/response.hpp>
#include <quiver/router.hpp>
#include <quiver/settings.hpp>
#include <quiver/task.hpp>
#include <quiver/text.hpp>

#include <chrono>
#include <string_view>

namespace quiver {

/// What an app's constructor receives: the host's services, the app's
/// settings, the router to register routes on, and the database. It lives as
/// long as the app instance (created before it, destroyed after it), so an
/// app may keep a reference to it. One instance per worker; every call comes
/// from the worker's loop thread.
///
/// The app class has a constructor `App(quiver::AppContext&)` that reads its
/// settings, throws quiver::ConfigError("key: must be ...") to refuse them,
/// and registers its routes. Its destructor runs when the host unloads it,
/// after every request has finished.
class AppContext {
public:
    AppContext(const qv_host_t* host_table, std::string_view settings_json)
        : host(host_table), settings(settings_json), db(host) {}
    AppContext(const AppContext&) = delete;
    AppContext& operator=(const AppContext&) = delete;

    Host host;
    Settings settings;
    Router router;
    Db db;
};

/// quiver::sleep(ctx, d): see sleep(Host, d).
template <typename Rep, typename Period>
SleepAwaitable sleep(const AppContext& ctx, std::chrono::duration<Rep, Period> d) noexcept {
    return sleep(ctx.host, d);
}

}  // namespace quiver

#include <quiver/glue.hpp>

/// Exports `AppClass` as the plugin `name` (a short string literal, e.g.
/// "hello") with its own `version` string: defines the entry point
/// quiver_plugin_v1, the only symbol a plugin exports. Use once per plugin,
/// at namespace scope.
#define QUIVER_PLUGIN(AppClass, name, version)                                               \
    extern "C" __attribute__((visibility("default"))) const qv_plugin_t* quiver_plugin_v1( \
        void) {                                                                              \
        static constexpr qv_plugin_t kQuiverPlugin =                                         \
            ::quiver::detail::make_plugin<AppClass>(name, version);                          \
        return &kQuiverPlugin;                                                               \
    }
