// SPDX-License-Identifier: MIT
// systemd integration, written against the documented protocols (not
// libsystemd): sd_notify datagrams on $NOTIFY_SOCKET (abstract names too),
// the watchdog interval from $WATCHDOG_USEC, and socket activation through
// $LISTEN_FDS / $LISTEN_PID / $LISTEN_FDNAMES.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace quiver::server::systemd {

// Sends one notification ("READY=1\nSTATUS=..."); false when not under a
// notify-aware manager or the send failed. Never blocks.
bool notify(std::string_view state);
bool notify_enabled();

// The watchdog interval asked by the manager (0 = none); only when
// $WATCHDOG_PID is unset or ours.
uint64_t watchdog_usec();

struct ActivatedSocket {
    int fd;
    std::string name;   // from LISTEN_FDNAMES ("" when not given)
};
// The sockets passed by the manager (fds 3..), when $LISTEN_PID is us.
// Clears the variables so that children do not take them too.
std::vector<ActivatedSocket> take_activated_sockets();

// CLOCK_MONOTONIC in microseconds, for RELOADING=1's MONOTONIC_USEC.
uint64_t monotonic_usec();

}  // namespace quiver::server::systemd
