// SPDX-License-Identifier: MIT
// The worker's entry point: the one thing server/ includes from workers/.
// The master execs its own binary as `quiver --worker --slot N --generation G
// --listen-fds L`; fds 3..3+L-1 are the listening sockets (in config order),
// then the control socket, the scoreboard memfd and the resolved config memfd.
#pragma once

namespace quiver::worker {

int run(int argc, char** argv);

}  // namespace quiver::worker
