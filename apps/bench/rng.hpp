// SPDX-License-Identifier: MIT
// Rng: a small, fast generator for the benchmark's random ids and numbers
// (xoshiro256**, seeded through splitmix64), one per worker. Not for secrets.
#pragma once

#include <cstdint>

namespace bench {

class Rng {
public:
    /// Seeds the state from one 64-bit value (any value, zero included).
    explicit Rng(std::uint64_t seed) noexcept {
        for (std::uint64_t& s : s_) s = splitmix64(seed);
    }

    /// A seed from the kernel's entropy pool (getrandom), mixed with the
    /// process id and the clock, so that workers forked alike still differ.
    static std::uint64_t entropy_seed() noexcept;

    std::uint64_t next() noexcept {
        const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
        const std::uint64_t t = s_[1] << 17;
        s_[2] ^= s_[0];
        s_[3] ^= s_[1];
        s_[1] ^= s_[2];
        s_[0] ^= s_[3];
        s_[2] ^= t;
        s_[3] = rotl(s_[3], 45);
        return result;
    }

    /// Uniform in [lo, hi] (lo <= hi), without modulo bias: Lemire's
    /// multiply-and-shift with rejection ("Fast Random Integer Generation in
    /// an Interval", 2019), which almost never loops.
    std::int32_t between(std::int32_t lo, std::int32_t hi) noexcept {
        const std::uint32_t range =
            static_cast<std::uint32_t>(hi) - static_cast<std::uint32_t>(lo) + 1u;
        if (range == 0) return static_cast<std::int32_t>(next32());  // the whole int32 range
        std::uint64_t m = static_cast<std::uint64_t>(next32()) * range;
        auto low = static_cast<std::uint32_t>(m);
        if (low < range) {
            const std::uint32_t threshold = (0u - range) % range;
            while (low < threshold) {
                m = static_cast<std::uint64_t>(next32()) * range;
                low = static_cast<std::uint32_t>(m);
            }
        }
        return static_cast<std::int32_t>(static_cast<std::uint32_t>(lo) +
                                         static_cast<std::uint32_t>(m >> 32));
    }

private:
    static std::uint64_t rotl(std::uint64_t x, int k) noexcept {
        return (x << k) | (x >> (64 - k));
    }
    static std::uint64_t splitmix64(std::uint64_t& x) noexcept {
        std::uint64_t z = (x += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }
    std::uint32_t next32() noexcept { return static_cast<std::uint32_t>(next() >> 32); }

    std::uint64_t s_[4];
};

}  // namespace bench
