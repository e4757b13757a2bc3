// SPDX-License-Identifier: MIT
// Router: picks the app for a request path by mount prefix (longest match
// wins, on path-segment boundaries: "/api" matches "/api" and "/api/x", not
// "/apix").
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <quiver/plugin.h>

namespace quiver::worker {

// One loaded application instance.
struct App {
    std::string name;
    std::string mount;           // normalised: "/" or "/prefix" without trailing '/'
    std::string plugin_path;     // as configured
    std::string version;         // the plugin's own version string
    const qv_plugin_t* plugin = nullptr;
    void* instance = nullptr;    // from create
    void* dl = nullptr;          // dlopen handle
    int memfd = -1;              // the private copy that was dlopened
    qv_host_t host{};            // the services table handed to this app
    void* owner = nullptr;       // the PluginHost
};

class Router {
public:
    void add(App* app);          // keeps the longest mounts first
    // The app whose mount covers `path`, or nullptr.
    App* match(std::string_view path) const;
    const std::vector<App*>& apps() const { return apps_; }

    static std::string normalise_mount(std::string_view m);
    static bool covers(std::string_view mount, std::string_view path);

private:
    std::vector<App*> apps_;
};

}  // namespace quiver::worker
