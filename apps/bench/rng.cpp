// SPDX-License-Identifier: MIT
// Rng's seed from the kernel (see rng.hpp).
#include "rng.hpp"

#include <sys/random.h>
#include <unistd.h>

#include <chrono>

namespace bench {

std::uint64_t Rng::entropy_seed() noexcept {
    std::uint64_t seed = 0;
    if (::getrandom(&seed, sizeof seed, GRND_NONBLOCK) != static_cast<ssize_t>(sizeof seed)) {
        seed = 0;  // no entropy yet (early boot): the pid and the clock still differ per worker
    }
    const auto now = std::chrono::steady_clock::now().time_since_epoch().count();
    return seed ^ (static_cast<std::uint64_t>(::getpid()) << 32) ^ static_cast<std::uint64_t>(now);
}

}  // namespace bench
