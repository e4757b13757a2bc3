// SPDX-License-Identifier: MIT
// WorldCache: a fixed-capacity in-memory cache of World rows (id -> number)
// with CLOCK replacement, for /cached-queries. One per worker; not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

namespace bench {

/// CLOCK (second chance): each entry has a reference bit, set on every hit.
/// When full, the hand sweeps the entries, clearing set bits, and evicts the
/// first entry whose bit is already clear. An open-addressing table (linear
/// probing, backward-shift deletion, at most half full) maps ids to entries.
/// Every operation is O(1) on average and allocates nothing after
/// construction.
class WorldCache {
public:
    struct Stats {
        std::uint64_t hits = 0;
        std::uint64_t misses = 0;
        std::uint64_t evictions = 0;
    };

    /// capacity >= 1 entries.
    explicit WorldCache(std::size_t capacity);

    /// The cached number for `id`, marking the entry recently used.
    std::optional<std::int32_t> get(std::int32_t id) noexcept;

    /// Inserts or replaces `id`, evicting one entry when full.
    void put(std::int32_t id, std::int32_t number) noexcept;

    /// True when `id` is cached (no effect on replacement, no stats).
    bool contains(std::int32_t id) const noexcept;

    std::size_t size() const noexcept { return size_; }
    std::size_t capacity() const noexcept { return entries_.size(); }
    const Stats& stats() const noexcept { return stats_; }

private:
    static constexpr std::uint32_t kEmpty = 0xFFFFFFFFu;

    struct Entry {
        std::int32_t id;
        std::int32_t number;
        bool referenced;
    };

    std::size_t home(std::int32_t id) const noexcept;
    // The table slot holding `id`, or the empty slot where it would go.
    std::size_t probe(std::int32_t id) const noexcept;
    void erase_slot(std::size_t slot) noexcept;
    std::uint32_t victim() noexcept;

    std::vector<Entry> entries_;        // [0, size_) in use
    std::vector<std::uint32_t> table_;  // entry index or kEmpty; size a power of two
    std::size_t mask_ = 0;
    int shift_ = 0;
    std::size_t size_ = 0;
    std::size_t hand_ = 0;
    Stats stats_;
};

}  // namespace bench
