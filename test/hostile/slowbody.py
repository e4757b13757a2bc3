#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Hostile (b): 200 clients uploading a body at 1 byte a second. quiver answers
an ordinary client within 1 s throughout, ends each upload at timeouts.body
(408 or close), and its memory stays bounded."""
import time

from common import alive, check, nb_connect, peer_closed, probe, raise_nofile, rss_kib, run, start

N = 200


def test(tmp):
    raise_nofile(N + 500)
    srv, port = start(tmp, workers=1, extra="timeouts: {header: 5s, body: 4s, keepalive: 5s}")
    try:
        probe(port)
        before = rss_kib(srv)
        socks = [nb_connect(port) for _ in range(N)]
        time.sleep(0.3)
        for s in socks:
            s.send(b"POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n")
        t0 = time.time()
        worst = 0.0
        for i in range(7):
            for s in socks:
                try:
                    s.send(b"x")
                except OSError:
                    pass
            worst = max(worst, probe(port))
            alive(srv)
            time.sleep(max(0.0, t0 + i + 1 - time.time()))
        deadline = time.time() + 3
        while time.time() < deadline:
            open_ = sum(1 for s in socks if not peer_closed(s))
            if open_ == 0:
                break
            time.sleep(0.25)
        check(open_ == 0, "%d of %d slow uploads still open past timeouts.body" % (open_, N))
        for s in socks:
            s.close()
        probe(port)
        after = rss_kib(srv)
        print("  worst probe %.3fs, rss before %d KiB, after %d KiB" % (worst, before, after))
        check(after - before < 16 * 1024, "memory grew by %d KiB" % (after - before))
    finally:
        srv.stop()


run(test)
