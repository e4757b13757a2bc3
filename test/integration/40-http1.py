#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""HTTP/1.1 over real sockets against the echo app and the slow test plugin:
keep-alive, pipelining order, limits, framing errors, timeouts, HEAD,
HTTP/1.0, chunked bodies, 100-continue, streaming, handler errors."""
import json
import re
import socket
import time

from harness import (Reader, Server, check, connect, eq, free_port, get, main, plugin,
                     request)


def start(tmp, extra=""):
    port = free_port()
    srv = Server(tmp, f"""
        workers: 1
        listen:
          - address: 127.0.0.1:{port}
        apps:
          - name: echo
            plugin: {plugin('echo')}
            mount: /
          - name: slow
            plugin: {plugin('slow')}
            mount: /t
          - name: throws
            plugin: {plugin('throws')}
            mount: /x
        timeouts: {{header: 2s, body: 2s, keepalive: 3s, graceful: 10s}}
        {extra}
        """, port=port)
    return srv, port


def echo_of(r):
    eq(r.status, 200, "status")
    eq(r.header("Content-Type"), "application/json", "content type")
    return json.loads(r.body)


def test_echo_shape_and_server_headers(tmp):
    srv, port = start(tmp)
    try:
        r = request(port, b"POST /a/b%20c?x=1&y=2 HTTP/1.1\r\nHost: example\r\nX-A: 1\r\n"
                          b"Content-Length: 5\r\nConnection: close\r\n\r\nhello")
        e = echo_of(r)
        eq(e["method"], "POST")
        eq(e["path"], "/a/b%20c")
        eq(e["query"], "x=1&y=2")
        eq(e["version"], "1.1")
        eq(e["headers"][:2], [["Host", "example"], ["X-A", "1"]])
        eq(e["body"], "hello")
        check(r.header("Server") == "quiver", "Server header")
        check(re.match(r"^[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT$", r.header("Date", "")),
              "Date is an IMF-fixdate: %r" % r.header("Date"))
        eq(r.header("Content-Length"), str(len(r.body)), "content length")
    finally:
        srv.stop()


def test_absolute_form_target(tmp):
    srv, port = start(tmp)
    try:
        e = echo_of(request(port, b"GET http://h.example/p/q?z=9 HTTP/1.1\r\nHost: h.example\r\n"
                                  b"Connection: close\r\n\r\n"))
        eq(e["path"], "/p/q")
        eq(e["query"], "z=9")
    finally:
        srv.stop()


def test_keep_alive(tmp):
    srv, port = start(tmp)
    try:
        s = connect(port)
        rd = Reader(s)
        for i in range(5):
            s.sendall(b"GET /k?i=%d HTTP/1.1\r\nHost: t\r\n\r\n" % i)
            e = echo_of(rd.read())
            eq(e["query"], "i=%d" % i)
        s.sendall(b"GET /last HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        r = rd.read()
        eq(r.header("Connection"), "close")
        check(rd.closed(), "closed after Connection: close")
    finally:
        srv.stop()


def test_pipelined_16_in_order_with_slow_first(tmp):
    srv, port = start(tmp)
    try:
        s = connect(port)
        reqs = [b"GET /t/slow?ms=300 HTTP/1.1\r\nHost: t\r\n\r\n"]
        reqs += [b"GET /p?i=%d HTTP/1.1\r\nHost: t\r\n\r\n" % i for i in range(1, 16)]
        t0 = time.time()
        s.sendall(b"".join(reqs))
        rd = Reader(s)
        first = rd.read()
        eq(first.status, 200)
        eq(first.body, b"slow 300")
        check(time.time() - t0 >= 0.28, "slow response really waited")
        for i in range(1, 16):
            e = echo_of(rd.read())
            eq(e["query"], "i=%d" % i, "response %d in request order" % i)
        s.close()
    finally:
        srv.stop()


def test_pipelined_post_bodies(tmp):
    srv, port = start(tmp)
    try:
        s = connect(port)
        s.sendall(b"POST /a HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc"
                  b"POST /b HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nde\r\n1\r\nf\r\n0\r\n\r\n"
                  b"GET /c HTTP/1.1\r\nHost: t\r\n\r\n")
        rd = Reader(s)
        eq(echo_of(rd.read())["body"], "abc")
        eq(echo_of(rd.read())["body"], "def")
        eq(echo_of(rd.read())["path"], "/c")
    finally:
        srv.stop()


def test_limits(tmp):
    srv, port = start(tmp)
    try:
        long_target = b"/" + b"a" * 9000
        eq(request(port, b"GET " + long_target + b" HTTP/1.1\r\nHost: t\r\n\r\n").status, 414, "long request line")
        many = b"".join(b"X-H%d: v\r\n" % i for i in range(120))
        eq(request(port, b"GET / HTTP/1.1\r\nHost: t\r\n" + many + b"\r\n").status, 431, "too many fields")
        big = b"X-Big: " + b"v" * 9000 + b"\r\n"
        eq(request(port, b"GET / HTTP/1.1\r\nHost: t\r\n" + big + b"\r\n").status, 431, "field too large")
        r = request(port, b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 2097152\r\n\r\n")
        eq(r.status, 413, "declared body over limits.body")
        eq(r.header("Connection"), "close")
        # A chunked body that grows past the limit is refused as it arrives.
        s = connect(port)
        s.sendall(b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n")
        chunk = b"%x\r\n" % 65536 + b"z" * 65536 + b"\r\n"
        try:
            for _ in range(20):
                s.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        eq(Reader(s).read().status, 413, "chunked body over the limit")
        s.close()
    finally:
        srv.stop()


def test_framing_errors(tmp):
    srv, port = start(tmp)
    try:
        cases = [
            (b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
            (b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc", 400),
            (b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400),
            (b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 3, 3\r\n\r\nabc", 400),
            (b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n", 400),
            # RFC 9112 §6.3: chunked not final -> 400; an unknown coding before it -> 501.
            (b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n", 400),
            (b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501),
            (b"GET / HTTP/1.1\r\nHost: t\r\nX-Fold: a\r\n  b\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nHost : t\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\n\r\n", 400),
        ]
        for raw, status in cases:
            r = request(port, raw)
            eq(r.status, status, "status for %r" % raw[:80])
            eq(r.header("Connection"), "close", "error closes: %r" % raw[:60])
        # A request that breaks a rule never reaches the app: no echo body.
        r = request(port, cases[0][0])
        check(b'"method"' not in r.body, "the app never saw the bad request")
    finally:
        srv.stop()


def test_slowloris_cut_off(tmp):
    srv, port = start(tmp)
    try:
        s = connect(port)
        t0 = time.time()
        closed_at = None
        for ch in b"GET / HTTP/1.1\r\nHost: t\r\nX-Slow: " + b"a" * 100:
            try:
                s.sendall(bytes([ch]))
                s.settimeout(0.25)
                data = s.recv(4096)
                if not data or b"408" in data:
                    closed_at = time.time()
                    break
            except socket.timeout:
                continue
            except (BrokenPipeError, ConnectionResetError):
                closed_at = time.time()
                break
        check(closed_at is not None, "slow client was never cut off")
        elapsed = closed_at - t0
        check(1.8 <= elapsed <= 4.0, "cut off after timeouts.header (2s), took %.2fs" % elapsed)
        # Meanwhile an ordinary client is served.
        eq(get(port, "/ok").status, 200)
    finally:
        srv.stop()


def test_idle_keepalive_closed(tmp):
    srv, port = start(tmp)
    try:
        s = connect(port)
        s.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        rd = Reader(s)
        rd.read()
        t0 = time.time()
        check(rd.closed(timeout=6), "idle connection closed")
        elapsed = time.time() - t0
        check(2.5 <= elapsed <= 5, "closed after timeouts.keepalive (3s): %.2fs" % elapsed)
    finally:
        srv.stop()


def test_head(tmp):
    srv, port = start(tmp)
    try:
        s = connect(port)
        rd = Reader(s)
        s.sendall(b"GET /h HTTP/1.1\r\nHost: t\r\n\r\n")
        g = rd.read()
        s.sendall(b"HEAD /h HTTP/1.1\r\nHost: t\r\n\r\nGET /after HTTP/1.1\r\nHost: t\r\n\r\n")
        h = rd.read(head=True)
        eq(h.status, 200)
        # The echo of HEAD says "HEAD" where GET's says "GET": one byte longer.
        eq(int(h.header("Content-Length")), len(g.body) + 1, "HEAD Content-Length as for the body")
        eq(echo_of(rd.read())["path"], "/after", "no body bytes after the HEAD response")
    finally:
        srv.stop()


def test_http10(tmp):
    srv, port = start(tmp)
    try:
        s = connect(port)
        s.sendall(b"GET /ten HTTP/1.0\r\n\r\n")
        rd = Reader(s)
        r = rd.read()
        eq(echo_of(r)["version"], "1.0")
        check(rd.closed(), "HTTP/1.0 without keep-alive closes")
        s = connect(port)
        rd = Reader(s)
        s.sendall(b"GET /ten HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        r = rd.read()
        eq(r.header("Connection", "").lower(), "keep-alive")
        s.sendall(b"GET /again HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        eq(echo_of(rd.read())["path"], "/again")
    finally:
        srv.stop()


def test_expect_100_continue(tmp):
    srv, port = start(tmp)
    try:
        s = connect(port)
        s.sendall(b"POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
        rd = Reader(s)
        interim = rd.read()
        eq(interim.status, 100)
        s.sendall(b"body")
        eq(echo_of(rd.read())["body"], "body")
        # Over the limit: a final status instead of 100, and the body is never read.
        r = request(port, b"POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: 99999999\r\n"
                          b"Expect: 100-continue\r\n\r\n")
        eq(r.status, 413)
    finally:
        srv.stop()


def test_streamed_response(tmp):
    srv, port = start(tmp)
    try:
        r = request(port, b"GET /t/stream HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        eq(r.status, 200)
        eq(r.header("Transfer-Encoding"), "chunked")
        check(r.header("Content-Length") is None, "no Content-Length with chunked")
        check(len(r.body) > 0, "streamed body arrived")
        r = request(port, b"GET /t/stream HTTP/1.0\r\n\r\n")
        eq(r.status, 200)
        check(r.header("Transfer-Encoding") is None, "HTTP/1.0 gets a close-delimited body")
    finally:
        srv.stop()


def test_handler_exception_is_500(tmp):
    srv, port = start(tmp)
    try:
        s = connect(port)
        rd = Reader(s)
        s.sendall(b"GET /x/throw HTTP/1.1\r\nHost: t\r\n\r\n")
        eq(rd.read().status, 500)
        s2 = connect(port)
        s2.sendall(b"GET /x/ok HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        eq(Reader(s2).read().status, 200, "the worker lives on")
        check("throw" in srv.output(), "a log line names the failing request")
    finally:
        srv.stop()


def test_client_gone_before_slow_response(tmp):
    srv, port = start(tmp)
    try:
        s = connect(port)
        s.sendall(b"GET /t/slow?ms=300 HTTP/1.1\r\nHost: t\r\n\r\n")
        time.sleep(0.05)
        s.close()
        time.sleep(0.5)
        eq(get(port, "/fine").status, 200, "worker survived the abandoned request")
    finally:
        srv.stop()


if __name__ == "__main__":
    main(globals())
