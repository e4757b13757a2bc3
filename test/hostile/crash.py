#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Hostile (e): a plugin that segfaults on one path (slow.so GET /t/crash). Only
that request's connection fails; the worker is replaced; other clients keep
being served within 1 s."""
import time

from common import alive, check, connect, plugin, probe, run, start


def test(tmp):
    apps = f"""
          - name: echo
            plugin: {plugin('echo')}
            mount: /
          - name: slow
            plugin: {plugin('slow')}
            mount: /t"""
    srv, port = start(tmp, workers=2, apps=apps)
    try:
        probe(port)
        workers0 = srv.worker_pids()
        check(len(workers0) == 2, "expected 2 workers, got %r" % workers0)
        for round_ in range(3):
            before = set(srv.worker_pids())
            s = connect(port, timeout=3)
            s.sendall(b"GET /t/crash HTTP/1.1\r\nHost: t\r\n\r\n")
            try:
                data = s.recv(65536)
            except ConnectionResetError:
                data = b""
            check(data == b"" or data.startswith(b"HTTP/1.1 5"),
                  "crashing request answered with %r" % data[:80])
            s.close()
            # Others are served within 1 s right away (the surviving worker).
            t0 = time.time()
            for _ in range(10):
                probe(port)
            # The dead worker is replaced.
            deadline = time.time() + 5
            while time.time() < deadline:
                now = set(srv.worker_pids())
                if len(now) == 2 and now != before:
                    break
                time.sleep(0.05)
            now = set(srv.worker_pids())
            check(len(now) == 2 and now != before,
                  "round %d: workers %r -> %r (not replaced)" % (round_, before, now))
            print("  round %d: replaced %r in %.2fs" % (round_, sorted(before - now),
                                                        time.time() - t0))
            alive(srv)
        for _ in range(20):
            probe(port)
        out = srv.output()
        check("SIGSEGV" in out or "signal 11" in out or "Segmentation" in out,
              "the crash is not in the log:\n" + out[-2000:])
        rc = srv.stop(timeout=10)
        check(rc == 0, "quiver exited with %r after the crashes" % rc)
    finally:
        srv.kill()


run(test)
