#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Hostile (f): the access log's file system is full (a 64 KiB tmpfs). Every
request is still answered 200 and the error log says so once, not once per
request. Skips (77) where mounting a tmpfs is not permitted."""
import os
import re
import subprocess

from common import Reader, Skip, alive, check, connect, run, start


def test(tmp):
    mnt = os.path.join(tmp, "full")
    os.mkdir(mnt)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", mnt],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise Skip("cannot mount a tmpfs here: " + (r.stderr or r.stdout).strip())
    srv = None
    try:
        try:
            with open(os.path.join(mnt, "filler"), "wb") as f:
                while True:
                    f.write(b"\0" * 4096)
                    f.flush()
        except OSError:
            pass
        access = os.path.join(mnt, "access.log")
        srv, port = start(tmp, workers=1, extra=f"log: {{access: {access}, level: info}}")
        s = connect(port, timeout=3)
        rd = Reader(s)
        statuses = {}
        for i in range(500):
            s.sendall(b"GET /r%d HTTP/1.1\r\nHost: t\r\n\r\n" % i)
            st = rd.read().status
            statuses[st] = statuses.get(st, 0) + 1
        s.close()
        check(statuses == {200: 500}, "statuses %r" % statuses)
        alive(srv)
        srv.stop()
        with open(srv.log_path, "rb") as f:
            out = f.read().decode("utf-8", "replace")
        lines = [l for l in out.splitlines() if re.search(r"access log.*failed", l)]
        print("  'access log ... failed' lines: %d" % len(lines))
        check(len(lines) == 1, "expected one access-log failure line, got %d:\n%s"
              % (len(lines), "\n".join(lines[:5]) or out[-2000:]))
    finally:
        if srv:
            srv.kill()
        subprocess.run(["umount", "-l", mnt], capture_output=True)


run(test)
