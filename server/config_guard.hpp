// SPDX-License-Identifier: MIT
// Loads the configuration in a child process with a deadline. yaml-cpp 0.7
// loops forever on some inputs (a document starting with ","); a master that
// re-reads an edited file on HUP must not hang on one, and neither should
// `quiver --check-config`.
#pragma once

#include <cstdint>

#include "server/common/config/load.hpp"

namespace quiver::server {

Result<Config> load_config_guarded(const ConfigSources& src, uint64_t timeout_ms = 10000);

}  // namespace quiver::server
