// SPDX-License-Identifier: MIT
// Loading the configuration: table defaults, then the YAML file, then QUIVER_*
// variables, then the command line; and the canonical YAML dump that carries
// a resolved Config from the master to its workers.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "server/common/config/config.hpp"
#include "server/common/result.hpp"

namespace quiver {

struct ConfigSources {
    std::string path;               // the YAML file; "" = none (defaults, env and flags only)
    // "KEY=VALUE" entries (pass environ). Only QUIVER_<SETTING> names are read; a
    // QUIVER_* name within a typo of one is an error, others are left to their owners.
    std::vector<std::string> env;
    std::vector<std::pair<std::string, std::string>> cli;  // (dotted setting name, value)
};

// Builds the resolved Config: each layer replaces what the ones before it set.
// Relative paths in the file resolve against the file's folder; in env and
// flags, against the working directory. `workers: auto` becomes the CPU count.
// Plugin files must exist. Never throws.
//
// On error, message() is one line that names the place and the setting:
//   "quiver.yaml:12:9: limits.body: expected a size such as 8190, 64KiB or 1MiB, got "1XB""
//   "QUIVER_WORKERS: must be in 1..1024, got 0"
//   "--bind: port 70000 is out of range 1..65535"
//   "/etc/quiver/quiver.yaml: No such file or directory"   (Errc::kNotFound / kSystem)
// A config error is Errc::kInvalid; a missing plugin file is Errc::kNotFound.
Result<Config> load_config(const ConfigSources& src);

// The control_socket a config file names (QUIVER_CONTROL_SOCKET first),
// read leniently: for `quiver reload|status|stop` when the file itself does
// not validate. "" when there is none.
std::string find_control_socket(const std::string& path);

// Defaults, then `yaml` alone (no env, no flags). Used by workers to read the
// master's dump. `source_name` names it in messages and becomes Config::source;
// relative paths resolve against `base_dir`.
Result<Config> load_config_text(std::string_view yaml, std::string_view source_name,
                                const std::string& base_dir);

// The resolved Config as canonical YAML: every setting explicit, absolute
// paths, the resolved worker count. load_config_text(dump_config(c), c.source,
// dir) gives back an equal Config. Used by --print-config and to hand the
// config to workers. Contains database.url as is (it may hold a password).
std::string dump_config(const Config& c);

}  // namespace quiver
