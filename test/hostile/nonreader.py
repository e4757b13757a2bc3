#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Hostile (c): clients that send a large request and never read the (6 MiB)
response, with a tiny receive window so quiver's socket buffer fills. quiver
answers an ordinary client within 1 s, drops them at timeouts.write and gives
the response memory back."""
import socket
import time

from common import ANSWER_LIMIT, alive, check, probe, rss_kib, run, start, worker_fds

N = 12
BODY = b"\x01" * (1024 * 1024)  # echoed as \u0001: a 6 MiB response


def test(tmp):
    srv, port = start(tmp, workers=1,
                      extra="limits: {body: 2MiB}\ntimeouts: {write: 4s, body: 10s}")
    try:
        probe(port)
        time.sleep(0.3)
        before, fds0 = rss_kib(srv), worker_fds(srv)
        socks = []
        for _ in range(N):
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.settimeout(5)
            s.connect(("127.0.0.1", port))
            s.sendall(b"POST /big HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n" % len(BODY)
                      + BODY)
            socks.append(s)
        t0 = time.time()
        # Let the worker read the bodies and build the responses (CPU work that any
        # client causes), then check that the stuck writes do not hold others up.
        time.sleep(1.0)
        worst, peak, times = 0.0, before, []
        while time.time() - t0 < 3.5:
            times.append(probe(port, limit=5))
            worst = max(worst, times[-1])
            peak = max(peak, rss_kib(srv))
            alive(srv)
            time.sleep(0.2)
        # timeouts.write (4 s) passes with nothing read: quiver must close them. Seen
        # from the worker's descriptors, since reading here would make progress.
        held = worker_fds(srv) - fds0
        deadline = t0 + 9
        while time.time() < deadline and worker_fds(srv) - fds0 > 0:
            time.sleep(0.25)
        left = worker_fds(srv) - fds0
        check(held >= N // 2, "only %d connections held during the test" % held)
        check(left <= 0, "%d of %d non-reading connections still open past timeouts.write"
              % (left, N))
        for s in socks:
            s.close()
        time.sleep(0.5)
        probe(port)
        after = rss_kib(srv)
        print("  probe times", " ".join("%.3f" % t for t in times))
        check(worst <= ANSWER_LIMIT, "an ordinary client waited %.2fs (limit %.1fs)" % (worst, ANSWER_LIMIT))
        print("  worst probe %.3fs, rss before %d KiB, peak %d KiB, after %d KiB"
              % (worst, before, peak, after))
        check(peak - before < 200 * 1024, "peak memory grew by %d KiB" % (peak - before))
        check(after - before < 48 * 1024, "memory not given back: +%d KiB" % (after - before))
    finally:
        srv.stop()


run(test)
