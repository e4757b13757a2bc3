#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Hostile (d): a flood of connections past quiver's descriptor limit
(RLIMIT_NOFILE 256, 1,000 connections): quiver stays up, logs EMFILE a few
times rather than per attempt, and serves again once the flood ends."""
import re
import time

from common import alive, check, get, nb_connect, probe, raise_nofile, run, start

N = 1000


def test(tmp):
    raise_nofile(N + 500)
    srv, port = start(tmp, workers=1, nofile=256,
                      extra="timeouts: {header: 30s, keepalive: 30s}")
    try:
        probe(port)
        socks = [nb_connect(port) for _ in range(N)]
        t0 = time.time()
        while time.time() - t0 < 4:
            alive(srv)
            time.sleep(0.25)
        log = srv.output()
        emfile = len(re.findall(r"accept4?\(.*(Too many open files|EMFILE)", log))
        print("  EMFILE log lines during a 4 s flood: %d" % emfile)
        for s in socks:
            s.close()
        # Served again once the flood ends (the closed connections free descriptors).
        deadline = time.time() + 5
        while True:
            try:
                probe(port)
                break
            except (AssertionError, OSError, EOFError):
                if time.time() > deadline:
                    raise
                time.sleep(0.2)
        for _ in range(20):
            probe(port)
        alive(srv)
        check(emfile >= 1, "the descriptor exhaustion was not logged:\n" + log[-2000:])
        check(emfile <= 10, "EMFILE logged %d times in 4 s (a log flood):\n%s"
              % (emfile, log[-600:]))
    finally:
        srv.stop()


def test_max_connections(tmp):
    srv, port = start(tmp, workers=1, extra="max_connections: 50\n"
                      "timeouts: {header: 30s, keepalive: 30s}")
    try:
        held = []
        from common import Reader, connect
        for i in range(50):
            s = connect(port, timeout=2)
            s.sendall(b"GET /held%d HTTP/1.1\r\nHost: t\r\n\r\n" % i)
            check(Reader(s).read().status == 200, "held connection %d not served" % i)
            held.append(s)
        extra = connect(port, timeout=1.5)
        extra.sendall(b"GET /51st HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        rd = Reader(extra)
        try:
            rd.read()
            raise AssertionError("the 51st connection was served while 50 were held")
        except TimeoutError:
            pass  # waiting in the backlog, as it should
        except (EOFError, ConnectionResetError) as e:
            raise AssertionError("the 51st connection was closed/reset instead of waiting: %r" % e)
        held.pop().close()
        extra.settimeout(2)
        r = rd.read()
        check(r.status == 200, "51st got %d" % r.status)
        for s in held:
            s.close()
        alive(srv)
    finally:
        srv.stop()


def both(tmp):
    import os
    import traceback
    failed = []
    for fn in (test, test_max_connections):
        sub = os.path.join(tmp, fn.__name__)
        os.mkdir(sub)
        t0 = time.time()
        try:
            fn(sub)
            print("  ok   %s %.1fs" % (fn.__name__, time.time() - t0))
        except Exception:
            print("  FAIL %s %.1fs" % (fn.__name__, time.time() - t0))
            traceback.print_exc()
            failed.append(fn.__name__)
    check(not failed, "failed: %s" % ", ".join(failed))


run(both)
