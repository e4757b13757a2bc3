#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Runs the RFC 9110/9112 cases of cases.py against one real quiver (echo app)
over real sockets; one line per case, `N passed, N failed` last."""
import json
import os
import socket
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, HERE)

from harness import Reader, Server, connect, free_port, plugin  # noqa: E402
import cases  # noqa: E402

CONFIG = """
workers: 1
listen:
  - address: 127.0.0.1:{port}
apps:
  - name: echo
    plugin: {echo}
    mount: /
limits: {{request_line: 8190, header_fields: 100, header_size: 8190, body: 64KiB}}
timeouts: {{header: 2s, body: 2s, keepalive: 5s, graceful: 5s}}
"""


class Mismatch(Exception):
    pass


def describe(exp):
    if isinstance(exp, dict):
        s = "/".join(str(c) for c in sorted(exp["status"]))
        if exp.get("echo"):
            s += " echo%s" % json.dumps(exp["echo"])[:80]
        return s
    if exp is cases.CLOSE:
        return "close"
    if exp is cases.OPEN:
        return "open"
    if exp[0] == "any":
        return " | ".join(describe(a) for a in exp[1])
    return exp[0]


def read_response(rd, exp):
    """The next response; interim 1xx skipped unless the case expects or forbids it."""
    while True:
        try:
            r = rd.read(head=bool(exp.get("head")) if isinstance(exp, dict) else False)
        except EOFError:
            raise Mismatch("connection closed, expected %s" % describe(exp))
        except (socket.timeout, TimeoutError):
            raise Mismatch("no response in time, expected %s" % describe(exp))
        except (ConnectionResetError, BrokenPipeError):
            raise Mismatch("connection reset, expected %s" % describe(exp))
        wants_1xx = isinstance(exp, dict) and any(100 <= c < 200 for c in exp["status"])
        if 100 <= r.status < 200 and not wants_1xx:
            if isinstance(exp, dict) and exp.get("no_interim"):
                raise Mismatch("got interim %d, which is forbidden here" % r.status)
            continue
        return r


def match(r, exp):
    """None when response r satisfies the expectation dict, else why not."""
    if r.status not in exp["status"]:
        return "status %d, expected %s (body %r)" % (r.status, describe(exp), r.body[:120])
    if exp.get("status_line") and r.version != exp["status_line"]:
        return "status-line version %r, expected %r" % (r.version, exp["status_line"])
    for name, want in exp.get("headers", {}).items():
        got = r.header(name)
        if want is True and got is None:
            return "header %s missing" % name
        if want is None and got is not None:
            return "header %s present (%r)" % (name, got)
        if isinstance(want, str) and (got or "").lower() != want.lower():
            return "header %s is %r, expected %r" % (name, got, want)
    echo = exp.get("echo")
    if echo:
        try:
            e = json.loads(r.body)
        except ValueError:
            return "body is not echo JSON: %r" % r.body[:120]
        for key, want in echo.items():
            if key == "header":
                if list(want) not in e["headers"]:
                    return "header %r not in echo headers %r" % (want, e["headers"][:8])
            elif key == "no_header":
                if any(h[0].lower() == want.lower() for h in e["headers"]):
                    return "header %s reached the app" % want
            elif e.get(key) != want:
                return "echo %s is %r, expected %r" % (key, str(e.get(key))[:120], want[:120])
    return None


def run_case(port, c):
    s = connect(port, timeout=5)
    try:
        raw = c["raw"]
        try:
            s.sendall(raw)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may refuse early; outcomes below still apply
        rd = Reader(s)
        prev = None
        for exp in c["expect"]:
            if exp is cases.CLOSE:
                if not rd.closed(3.0):
                    raise Mismatch("connection still open, expected close")
                if rd.buf:
                    raise Mismatch("bytes after the last response: %r" % rd.buf[:120])
            elif exp is cases.OPEN:
                if rd.closed(0.3):
                    raise Mismatch("connection closed, expected it to stay open")
                s.settimeout(5)
            elif isinstance(exp, tuple) and exp[0] == "send":
                s.sendall(exp[1])
            elif isinstance(exp, tuple) and exp[0] == "any":
                r = read_response(rd, exp[1][0])
                whys = [match(r, a) for a in exp[1]]
                if all(whys):
                    raise Mismatch(" / ".join(whys))
                prev = r
            else:
                r = read_response(rd, exp)
                why = match(r, exp)
                if why:
                    raise Mismatch(why)
                if exp.get("head_cl_vs_next"):
                    prev = dict(head_cl_vs_next=True, cl=int(r.header("Content-Length")))
                    continue
                if isinstance(prev, dict) and prev.get("head_cl_vs_next"):
                    # The echo of GET is one byte shorter than that of HEAD ("GET" vs "HEAD").
                    if prev["cl"] != len(r.body) + 1:
                        raise Mismatch("HEAD Content-Length %d, GET body %d (+1 expected)"
                                       % (prev["cl"], len(r.body)))
                prev = r
    finally:
        s.close()


def main():
    only = sys.argv[1:]
    selected = [c for c in cases.CASES if not only or c["id"] in only]
    t0 = time.time()
    with tempfile.TemporaryDirectory(prefix="quiver-conf-") as tmp:
        port = free_port()
        srv = Server(tmp, CONFIG.format(port=port, echo=plugin("echo")), port=port)
        failed = 0
        try:
            for c in selected:
                try:
                    run_case(port, c)
                    print("ok   %-28s %-22s %s" % (c["id"], "RFC " + c["section"], c["desc"]),
                          flush=True)
                except (Mismatch, OSError) as e:
                    failed += 1
                    print("FAIL %-28s %-22s %s\n       raw: %r\n       %s"
                          % (c["id"], "RFC " + c["section"], c["desc"], c["raw"][:200], e),
                          flush=True)
            alive = srv.proc.poll() is None
        finally:
            srv.stop()
        if not alive:
            print("FAIL quiver exited during the run:\n" + srv.output())
            failed += 1
    print("%.1fs" % (time.time() - t0))
    print("%d passed, %d failed" % (len(selected) - failed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
