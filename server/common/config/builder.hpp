// SPDX-License-Identifier: MIT
// Builder: applies the layers (table defaults, file, QUIVER_* environment,
// command line) to a Draft through the settings table, then resolves what
// depends on several settings. Knows nothing of YAML (load.cpp feeds it).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "server/common/config/settings.hpp"

namespace quiver::config {

enum class Layer : uint8_t { kDefault, kFile, kEnv, kCli };

// Where a value came from, for messages and relative paths.
struct Origin {
    Layer layer = Layer::kDefault;
    std::string where;     // "quiver.yaml:3:7: limits.body", "QUIVER_WORKERS", "--workers"
    std::string base_dir;  // relative paths resolve against it

    // An Error{kInvalid} whose message() is "<where>: <what>".
    Unexpected<Error> error(std::string_view what) const;
};

// One list item with its own origin ("listen[1]").
template <typename T>
struct Item {
    T value;
    Origin origin;
};

class Builder {
public:
    Builder();  // the table's defaults

    // Sets s from text in the env/flag syntax (lists comma-separated).
    Result<void> set_text(const Setting& s, std::string_view text, const Origin& origin);
    // Sets a list setting from separate items (a YAML sequence).
    Result<void> set_items(const Setting& s, const std::vector<Item<std::string>>& items,
                           const Origin& list_origin);
    // Sets `listen` from parsed listeners (backlog 0 = take the top-level backlog);
    // fills default names and refuses duplicates.
    Result<void> set_listen(std::vector<Item<ListenSpec>> items, const Origin& list_origin);
    // Sets `apps` (validated by the caller, which knows each key's position).
    void set_apps(std::vector<AppSpec> apps, Layer layer);
    // A `database` section appeared in the file: the pool is wanted.
    void touch_database() { database_touched_ = true; }

    // QUIVER_* entries of "KEY=VALUE" strings; others are ignored, and so is a
    // QUIVER_* name that is not close to any setting's (a misspelling is an error).
    Result<void> apply_env(const std::vector<std::string>& env, const std::string& cwd);
    // (dotted name, value) pairs from the command line; repeated list flags add up.
    Result<void> apply_cli(const std::vector<std::pair<std::string, std::string>>& cli,
                           const std::string& cwd);

    // What is set so far (workers 0 = auto, listener backlog 0 = inherited).
    const Draft& draft() const { return draft_; }

    // Resolves auto workers, inherited backlogs and database.enabled.
    Config finish() &&;

private:
    void mark_given(const Setting& s, Layer layer);
    Result<void> store_number(const Setting& s, std::string_view text, const Origin& origin);
    Result<void> store_string(const Setting& s, std::string_view text, const Origin& origin);

    Draft draft_;
    std::vector<bool> given_;
    bool database_touched_ = false;
};

// CPUs this process may run on (affinity mask, else online CPUs), at least 1.
int available_cpus();

}  // namespace quiver::config
