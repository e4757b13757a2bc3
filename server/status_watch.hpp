// SPDX-License-Identifier: MIT
// `quiver status --watch`: asks the master for its worker table (`top` on
// the control socket) every second and redraws it, like uwsgitop.
#pragma once

#include <string>

namespace quiver::server {

// Refreshes until interrupted, or `count` times when count > 0. Returns the
// process exit code (2 when the master cannot be reached).
int run_status_watch(const std::string& control_socket, int count);

}  // namespace quiver::server
