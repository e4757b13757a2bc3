// SPDX-License-Identifier: MIT
// WorldCache: hits, updates, CLOCK eviction, and a long random run checked
// against a plain reference implementation of the same policy.
#include "apps/bench/world_cache.hpp"

#include <doctest/doctest.h>

#include <optional>
#include <stdexcept>
#include <vector>

#include "apps/bench/rng.hpp"

using bench::WorldCache;

namespace {

// CLOCK with linear search: obviously right, slow.
class Reference {
public:
    explicit Reference(std::size_t cap) : cap_(cap) {}
    std::optional<std::int32_t> get(std::int32_t id) {
        for (Entry& e : entries_) {
            if (e.id == id) {
                e.ref = true;
                return e.number;
            }
        }
        return std::nullopt;
    }
    void put(std::int32_t id, std::int32_t number) {
        for (Entry& e : entries_) {
            if (e.id == id) {
                e.number = number;
                e.ref = true;
                return;
            }
        }
        if (entries_.size() < cap_) {
            entries_.push_back(Entry{id, number, false});
            return;
        }
        for (;;) {
            Entry& e = entries_[hand_];
            hand_ = (hand_ + 1) % cap_;
            if (!e.ref) {
                e = Entry{id, number, false};
                return;
            }
            e.ref = false;
        }
    }
    std::size_t size() const { return entries_.size(); }

private:
    struct Entry {
        std::int32_t id;
        std::int32_t number;
        bool ref;
    };
    std::size_t cap_;
    std::size_t hand_ = 0;
    std::vector<Entry> entries_;
};

}  // namespace

TEST_SUITE("bench.world_cache") {
    TEST_CASE("misses, then hits after put; put replaces") {
        WorldCache c(4);
        CHECK(!c.get(1));
        c.put(1, 100);
        CHECK(c.get(1) == 100);
        c.put(1, 200);
        CHECK(c.get(1) == 200);
        CHECK(c.size() == 1);
        CHECK(c.stats().hits == 2);
        CHECK(c.stats().misses == 1);
    }

    TEST_CASE("full: an entry hit since the last sweep survives, a cold one goes") {
        WorldCache c(3);
        c.put(1, 1);
        c.put(2, 2);
        c.put(3, 3);
        CHECK(c.get(1));  // 1 is referenced; 2 and 3 are not
        c.put(4, 4);      // the hand skips 1 (clearing its bit) and evicts 2
        CHECK(c.contains(1));
        CHECK(!c.contains(2));
        CHECK(c.contains(3));
        CHECK(c.contains(4));
        CHECK(c.size() == 3);
        CHECK(c.stats().evictions == 1);
        c.put(5, 5);  // next: 3 (cold)
        CHECK(!c.contains(3));
        CHECK(c.contains(1));
    }

    TEST_CASE("capacity one holds the last id") {
        WorldCache c(1);
        c.put(5, 50);
        c.put(6, 60);
        CHECK(!c.contains(5));
        CHECK(c.get(6) == 60);
    }

    TEST_CASE("a long random run matches the reference CLOCK exactly") {
        for (std::size_t cap :
             {std::size_t{1}, std::size_t{7}, std::size_t{64}, std::size_t{1000}}) {
            WorldCache c(cap);
            Reference ref(cap);
            bench::Rng rng(cap);
            for (int i = 0; i < 50000; ++i) {
                // Ids from a range a few times the capacity, with colliding
                // hash homes, negative ids included.
                const std::int32_t id = rng.between(-static_cast<std::int32_t>(cap),
                                                    static_cast<std::int32_t>(cap) * 3);
                if (rng.between(0, 2) == 0) {
                    const std::int32_t v = rng.between(1, 10000);
                    c.put(id, v);
                    ref.put(id, v);
                } else {
                    REQUIRE(c.get(id) == ref.get(id));
                }
                REQUIRE(c.size() == ref.size());
            }
        }
    }

    TEST_CASE("TechEmpower's shape: 10000 rows fit a 10000-entry cache") {
        WorldCache c(10000);
        for (std::int32_t id = 1; id <= 10000; ++id) c.put(id, id * 2);
        for (std::int32_t id = 1; id <= 10000; ++id) REQUIRE(c.get(id) == id * 2);
        CHECK(c.stats().evictions == 0);
    }

    TEST_CASE("capacity zero is refused") { CHECK_THROWS_AS(WorldCache(0), std::invalid_argument); }
}
