// SPDX-License-Identifier: MIT
// SendHold: libpq 15 writes each query's Sync at once; the pool holds those
// writes for a loop turn so that a turn's queries leave in one send().
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "test/unit/workers/pg/pg_support.hpp"
#include "workers/pg/pipeline.hpp"

using namespace pgtest;
using quiver::worker::pg::kStatusOk;
using quiver::worker::pg::SendHold;

namespace {

// glibc's tcp_info stops at tcpi_total_retrans; the kernel's (linux/tcp.h,
// which clashes with glibc's header) appends, in this order, up to the count
// of data segments sent (Linux 4.6+).
struct TcpInfo {
    tcp_info base;
    uint64_t pacing_rate, max_pacing_rate, bytes_acked, bytes_received;
    uint32_t segs_out, segs_in, notsent_bytes, min_rtt, data_segs_in, data_segs_out;
};

// Data segments sent so far by every TCP socket of this process (the pool's).
// Returns -1 when there is none (the cluster is reached over a unix socket).
long long tcp_data_segments_out() {
    long long total = -1;
    for (int fd = 3; fd < 4096; ++fd) {
        int domain = 0;
        socklen_t len = sizeof domain;
        if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0) continue;
        if (domain != AF_INET && domain != AF_INET6) continue;
        TcpInfo info{};
        len = sizeof info;
        if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) continue;
        if (len < offsetof(TcpInfo, data_segs_out) + sizeof info.data_segs_out) return -1;
        total = (total < 0 ? 0 : total) + info.data_segs_out;
    }
    return total;
}

}  // namespace

TEST_CASE("SendHold: only the held socket, only on this thread, only while alive") {
    int a[2], b[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, a) == 0);
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, b) == 0);
    char buf[8];
    {
        const SendHold hold(a[0]);
        errno = 0;
        CHECK(send(a[0], "x", 1, 0) == -1);
        CHECK(errno == EAGAIN);
        CHECK(send(b[0], "y", 1, 0) == 1);  // another socket is untouched
        CHECK(recv(b[1], buf, sizeof buf, 0) == 1);
        REQUIRE(send(a[1], "z", 1, 0) == 1);
        errno = 0;
        CHECK(recv(a[0], buf, sizeof buf, 0) == -1);  // reads wait for the flush too
        CHECK(errno == EAGAIN);
        {
            const SendHold none(-1);  // nested: holds nothing, then restores
            CHECK(send(a[0], "w", 1, 0) == 1);
        }
        CHECK(send(a[0], "x", 1, 0) == -1);
    }
    CHECK(send(a[0], "v", 1, 0) == 1);
    CHECK(recv(a[0], buf, sizeof buf, 0) == 1);  // the "z" sent while held
    CHECK(buf[0] == 'z');
    CHECK(recv(a[1], buf, sizeof buf, 0) == 2);  // "w" and "v"
    for (int fd : {a[0], a[1], b[0], b[1]}) close(fd);
}

TEST_CASE("a turn's 200 queries leave in a few TCP segments, each with its own Sync") {
    Loop loop;
    Pool pool(loop.get(), settings(1));
    pool.set_logger(quiet_log, nullptr);
    pool.start();
    REQUIRE(loop.run_until([&] { return pool.stats().connections_up >= 1; }, 10000));
    // Prepare the statement first, so the batch below is only Bind/Execute/Sync.
    Res warm;
    run(pool, warm, "SELECT $1::int / $2::int", {"1", "1"});
    REQUIRE(loop.run_until([&] { return warm.done(); }, 5000));
    REQUIRE(warm.status == kStatusOk);

    const long long before = tcp_data_segments_out();
    std::vector<Res> rs(200);
    for (int i = 0; i < 200; ++i) {
        // Query 100 divides by zero: with a Sync each, only it fails.
        run(pool, rs[i], "SELECT $1::int / $2::int", {std::to_string(i), i == 100 ? "0" : "1"});
    }
    REQUIRE(loop.run_until([&] {
        for (const Res& r : rs) {
            if (!r.done()) return false;
        }
        return true;
    }, 10000));
    const long long after = tcp_data_segments_out();
    int ok = 0;
    for (int i = 0; i < 200; ++i) {
        if (i == 100) {
            CHECK(rs[i].sqlstate == "22012");
        } else if (rs[i].status == kStatusOk && rs[i].text() == std::to_string(i)) {
            ++ok;
        }
    }
    CHECK(ok == 199);
    if (before < 0) {
        MESSAGE("the cluster is reached over a unix socket: segment count not checked");
    } else {
        // One send() of about 10 KB; without the hold, 200 segments.
        CHECK(after - before <= 4);
    }
    REQUIRE(close_pool(loop, pool));
    CHECK(loop.close() == 0);
}
