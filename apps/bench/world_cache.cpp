// SPDX-License-Identifier: MIT
// WorldCache: CLOCK replacement over an open-addressing table (see world_cache.hpp).
#include "world_cache.hpp"

#include <bit>
#include <cassert>
#include <stdexcept>

namespace bench {

WorldCache::WorldCache(std::size_t capacity) {
    if (capacity == 0 || capacity > (std::size_t{1} << 30)) {
        throw std::invalid_argument("cache capacity must be between 1 and 2^30");
    }
    entries_.resize(capacity);
    const std::size_t slots = std::bit_ceil(capacity * 2);
    table_.assign(slots, kEmpty);
    mask_ = slots - 1;
    shift_ = 64 - std::countr_zero(slots);
}

// Fibonacci hashing: the top bits of id * 2^64/phi.
std::size_t WorldCache::home(std::int32_t id) const noexcept {
    const std::uint64_t h =
        static_cast<std::uint64_t>(static_cast<std::uint32_t>(id)) * 0x9E3779B97F4A7C15ull;
    return shift_ == 64 ? 0 : static_cast<std::size_t>(h >> shift_);
}

std::size_t WorldCache::probe(std::int32_t id) const noexcept {
    std::size_t s = home(id);
    while (table_[s] != kEmpty && entries_[table_[s]].id != id) s = (s + 1) & mask_;
    return s;
}

bool WorldCache::contains(std::int32_t id) const noexcept { return table_[probe(id)] != kEmpty; }

std::optional<std::int32_t> WorldCache::get(std::int32_t id) noexcept {
    const std::uint32_t e = table_[probe(id)];
    if (e == kEmpty) {
        ++stats_.misses;
        return std::nullopt;
    }
    ++stats_.hits;
    entries_[e].referenced = true;
    return entries_[e].number;
}

// Backward-shift deletion: later members of the probe run move up into the
// hole when their home slot does not lie strictly between the hole and them.
void WorldCache::erase_slot(std::size_t hole) noexcept {
    std::size_t s = (hole + 1) & mask_;
    while (table_[s] != kEmpty) {
        const std::size_t h = home(entries_[table_[s]].id);
        // Distance from the home slot to s, and from the hole to s, cyclically.
        if (((s - h) & mask_) >= ((s - hole) & mask_)) {
            table_[hole] = table_[s];
            hole = s;
        }
        s = (s + 1) & mask_;
    }
    table_[hole] = kEmpty;
}

std::uint32_t WorldCache::victim() noexcept {
    for (;;) {
        Entry& e = entries_[hand_];
        const auto index = static_cast<std::uint32_t>(hand_);
        hand_ = hand_ + 1 == entries_.size() ? 0 : hand_ + 1;
        if (!e.referenced) return index;
        e.referenced = false;
    }
}

void WorldCache::put(std::int32_t id, std::int32_t number) noexcept {
    std::size_t slot = probe(id);
    if (table_[slot] != kEmpty) {
        Entry& e = entries_[table_[slot]];
        e.number = number;
        e.referenced = true;
        return;
    }
    std::uint32_t index;
    if (size_ < entries_.size()) {
        index = static_cast<std::uint32_t>(size_++);
    } else {
        index = victim();
        erase_slot(probe(entries_[index].id));
        ++stats_.evictions;
        slot = probe(id);  // the shift may have moved the empty slot
    }
    // A new entry starts unreferenced: one that is never hit again is the
    // first to go, and a scan of cold ids cannot flush the hot ones.
    entries_[index] = Entry{id, number, false};
    table_[slot] = index;
}

}  // namespace bench
