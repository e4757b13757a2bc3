// SPDX-License-Identifier: MIT
// Listening sockets: bound by the master (or inherited from systemd) and kept
// open for the master's whole life, so their accept queues survive any
// worker's exit or a reload.
#pragma once

#include <string>
#include <vector>

#include "server/common/config/config.hpp"
#include "server/common/result.hpp"

namespace quiver::server {

struct BoundListener {
    ListenSpec spec;
    int fd = -1;
    bool created_file = false;   // we created the unix socket file (unlink at exit)
};

// Binds one listener: TCP (SO_REUSEADDR, IPV6_V6ONLY for v6) or a unix
// socket (a stale socket file from a crashed run is replaced; anything else
// at the path, or a live server there, is an error). Non-blocking, CLOEXEC.
Result<BoundListener> bind_listener(const ListenSpec& spec, const std::string& user,
                                    const std::string& group);
// Closes the fd and unlinks a unix socket file that we created.
void close_listener(BoundListener& l);
// Same address and protocol (what decides reuse across a reload).
bool same_socket(const ListenSpec& a, const ListenSpec& b);

}  // namespace quiver::server
