#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Checks test/bench/openloop against a loopback HTTP/1.1 server written here:
the schedule is kept (request count, rate), a half-second stall of the server
shows in the latencies of every request scheduled during it (no coordinated
omission), non-2xx answers and connect failures are counted, chunked and
Connection: close answers are read. Usage: openloop_test.py PATH_TO_OPENLOOP.
Bounded: every openloop run is a few seconds, the whole test well under 60 s.
"""
import http.server
import json
import socket
import subprocess
import sys
import threading
import time

OPENLOOP = sys.argv[1]
STALL = threading.Lock()
state = {"stall_at": None}
passed = []


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are separate writes

    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path == "/stall":
            # The first request at least 1 s after the first one holds every handler 0.5 s.
            now = time.monotonic()
            if state["stall_at"] is None:
                state["stall_at"] = now + 1.0
            with STALL:
                if state["stall_at"] and now >= state["stall_at"]:
                    state["stall_at"] = 0
                    time.sleep(0.5)
        if self.path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.write(b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
            return
        status = 500 if self.path == "/error" else 200
        body = b"ok"
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        if self.path == "/close":
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(body)


def run(port, path, rate, conns, duration):
    out = subprocess.run([OPENLOOP, "--url", "http://127.0.0.1:%d%s" % (port, path), "--rate", str(rate),
                          "--connections", str(conns), "--duration", str(duration), "--timeout", "2"],
                         capture_output=True, text=True, timeout=duration + 20)
    return out.returncode, json.loads(out.stdout) if out.stdout.strip() else None, out.stderr


def check(cond, what, result=None):
    if not cond:
        print("FAIL: %s\n%s" % (what, json.dumps({k: v for k, v in (result or {}).items() if k != "histogram"})))
        sys.exit(1)
    passed.append(what)
    print("ok: %s" % what)


def main():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()

    rc, r, _ = run(port, "/ok", 200, 4, 2)
    check(rc == 0 and r["requests"] == r["scheduled"] == 400, "400 requests at 200/s for 2 s", r)
    check(r["errors"] == 0 and r["ok"] == 400 and r["non2xx"] == 0, "all 2xx, no errors", r)
    check(190 <= r["rps"] <= 201, "achieved rate ~200/s", r)

    rc, r, _ = run(port, "/stall", 200, 4, 3)
    slow = sum(n for upper, n in r["histogram"] if upper >= 100_000)
    # ~100 requests are scheduled during the 0.5 s stall; each waits for it to end. A tool that
    # timed from the actual send would charge only the 4 requests in flight.
    check(slow >= 50, "stall charged to the requests scheduled during it (%d >= 100 ms)" % slow, r)
    check(r["latency_us"]["max"] >= 400_000 and r["latency_us"]["p90"] >= 100_000, "p90/max show the stall", r)
    check(r["errors"] == 0 and r["requests"] == 600, "stall: all 600 answered", r)

    rc, r, _ = run(port, "/error", 50, 2, 1)
    check(r["non2xx"] == 50 and r["ok"] == 0 and r["errors"] == 0, "500s counted as non-2xx", r)

    rc, r, _ = run(port, "/chunked", 50, 2, 1)
    check(r["ok"] == 50 and r["errors"] == 0, "chunked answers read", r)

    rc, r, _ = run(port, "/close", 50, 2, 1)
    check(r["ok"] == 50 and r["errors"] == 0 and r["reconnects"] >= 49, "Connection: close -> reconnect", r)

    rc, r, _ = run(port, "/ok", 0, 4, 1)
    check(r["mode"] == "closed" and r["requests"] > 100 and r["errors"] == 0, "closed loop", r)

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    rc, r, _ = run(dead, "/", 20, 2, 1)
    check(rc != 0 and r["connect_errors"] > 0 and r["requests"] == 0 and r["unsent"] == 20,
          "refused connections counted, exit status 1", r)

    rc = subprocess.run([OPENLOOP, "--rate", "x", "--url", "http://127.0.0.1:1/"], capture_output=True,
                        text=True, timeout=10)
    check(rc.returncode == 2 and "--rate must be a number" in rc.stderr, "bad option refused with a message")
    server.shutdown()
    print("%d passed, 0 failed" % len(passed))


if __name__ == "__main__":
    main()
