// SPDX-License-Identifier: MIT
// PluginHost: the only code that dlopens plugins and speaks the qv_* ABI.
// It loads each app from a private copy of its file (so overwriting the file
// in place cannot crash a running worker), checks the ABI, calls create with
// the services table, and turns the plugin's calls back into Connection
// operations.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "server/common/config/config.hpp"
#include "server/common/result.hpp"
#include "workers/router.hpp"

namespace quiver::worker {

class Worker;
struct Exchange;
namespace pg {
class Pool;
}

class PluginHost {
public:
    explicit PluginHost(Worker* worker);
    ~PluginHost();
    PluginHost(const PluginHost&) = delete;
    PluginHost& operator=(const PluginHost&) = delete;

    // Makes the private copy of every plugin file (while the worker still has
    // the rights to read them; privileges are dropped after this).
    Result<void> copy_all(const std::vector<AppSpec>& specs);
    // Loads and creates one app. The error message names the file and why.
    Result<App*> load(const AppSpec& spec);
    // Hands a request to its app.
    void handle(App* app, Exchange* ex);
    // The connection of an unfinished exchange went away.
    void cancel(Exchange* ex);
    // Calls every app's destroy and unloads them (after requests are done).
    void unload_all();
    const std::vector<std::unique_ptr<App>>& apps() const { return apps_; }

    // The worker's database pool for the db_* services (nullptr: they
    // answer QV_ENOTSUP). Set before load() so apps may query in create.
    void set_pool(pg::Pool* pool);

private:
    Worker* worker_;
    std::vector<std::unique_ptr<App>> apps_;
    std::vector<std::pair<std::string, int>> copies_;   // plugin path -> private memfd
};

}  // namespace quiver::worker
