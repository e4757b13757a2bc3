#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Hostile (a): 2,000 slowloris connections sending their request head one byte
a second. quiver stays up, answers an ordinary client within 1 s throughout,
cuts them off at timeouts.header, and its memory returns near where it was."""
import time

from common import alive, check, nb_connect, peer_closed, probe, raise_nofile, rss_kib, run, start

N = 2000
HEAD = b"GET /slow HTTP/1.1\r\nHost: t\r\nX-Padding: " + b"p" * 64 + b"\r\n\r\n"


def test(tmp):
    raise_nofile(N + 500)
    srv, port = start(tmp, workers=2, extra="timeouts: {header: 5s, keepalive: 5s}")
    try:
        probe(port)
        before = rss_kib(srv)
        socks = [nb_connect(port) for _ in range(N)]
        t0 = time.time()
        peak, worst, sent = before, 0.0, 0
        for i in range(9):
            for s in socks:
                try:
                    s.send(HEAD[i:i + 1])
                    sent += 1
                except OSError:
                    pass  # not connected yet, or already cut off
            worst = max(worst, probe(port))
            peak = max(peak, rss_kib(srv))
            alive(srv)
            time.sleep(max(0.0, t0 + i + 1 - time.time()))
        # timeouts.header (5 s) has passed for every connection by now.
        deadline = time.time() + 4
        while time.time() < deadline:
            open_ = sum(1 for s in socks if not peer_closed(s))
            if open_ == 0:
                break
            time.sleep(0.25)
        check(open_ == 0, "%d of %d slowloris connections still open past timeouts.header"
              % (open_, N))
        for s in socks:
            s.close()
        time.sleep(0.5)
        probe(port)
        after = rss_kib(srv)
        print("  bytes sent %d, worst probe %.3fs, rss before %d KiB, peak %d KiB, after %d KiB"
              % (sent, worst, before, peak, after))
        check(after - before < 32 * 1024, "memory grew by %d KiB" % (after - before))
        check(peak - before < 128 * 1024, "peak memory grew by %d KiB" % (peak - before))
        alive(srv)
    finally:
        srv.stop()


run(test)
