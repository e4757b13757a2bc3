#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""quiver behind a real Nginx: the same requests via uwsgi_pass (unix socket),
via proxy_pass (HTTP, upstream keepalive) and straight to quiver must reach
the echo app alike; malformed uwsgi packets are dropped without a reply and
without harm; the unix socket file is made, replaced and refused properly;
client addresses come only from trusted proxies (seen in the access log)."""
import json
import os
import re
import socket
import stat
import subprocess
import time

from harness import Reader, Server, check, connect, eq, free_port, main, plugin
from nginx_support import (NGINX, UWSGI_PARAMS, Nginx, uwsgi_packet, uwsgi_request_vars,
                           uwsgi_send, uwsgi_vars)

MIB = 1024 * 1024

# Headers that a proxy legitimately adds, drops or rewrites, so they are not
# compared between the three paths:
#  - hop-by-hop fields (RFC 9110 §7.6.1): Connection, Keep-Alive, TE. Over
#    uwsgi Nginx passes the client's Connection on as HTTP_CONNECTION; with
#    proxy_pass it sends `Connection: ""` (nothing) to keep the upstream alive.
#  - framing: Content-Length and Transfer-Encoding. Nginx de-chunks request
#    bodies (uwsgi has no chunked coding; proxy_request_buffering reads the
#    whole body first) and sends Content-Length; the body itself is compared.
#  - what proxy_pass blocks add (ours; X-Real-IP from Debian's proxy_params):
#    X-Forwarded-For, X-Forwarded-Proto, X-Real-IP.
# Host is compared: every path must deliver the client's host.
NOT_COMPARED = {"connection", "keep-alive", "te", "content-length", "transfer-encoding",
                "x-forwarded-for", "x-forwarded-proto", "x-real-ip"}


def nginx_version():
    out = subprocess.run([NGINX, "-v"], capture_output=True, text=True, timeout=10).stderr
    m = re.search(r"nginx/(\d+)\.(\d+)\.(\d+)", out)
    check(m, "nginx -v: %r" % out)
    return tuple(int(x) for x in m.groups())


class Stack:
    """quiver (uwsgi on a unix socket + HTTP on loopback) behind one Nginx
    with a uwsgi_pass server and a proxy_pass server."""

    def __init__(self, tmp, quiver_extra="", limits="body: 2MiB", nginx_workers=1):
        self.tmp = tmp
        self.sock = os.path.join(tmp, "q.sock")
        self.access = os.path.join(tmp, "access.log")
        self.qport, self.uport, self.pport = free_port(), free_port(), free_port()
        self.srv = Server(tmp, f"""
            workers: 2
            listen:
              - address: 127.0.0.1:{self.qport}
              - {{address: "unix:{self.sock}", protocol: uwsgi, mode: "0660"}}
            limits: {{{limits}}}
            log: {{access: {self.access}}}
            apps:
              - name: echo
                plugin: {plugin('echo')}
                mount: /
              - name: slow
                plugin: {plugin('slow')}
                mount: /t
            {quiver_extra}
            """, port=self.qport)
        try:
            self.nginx = Nginx(tmp, f"""
    upstream quiver_uwsgi {{ server unix:{self.sock}; }}
    upstream quiver_http {{ server 127.0.0.1:{self.qport}; keepalive 16; }}
    server {{
        listen 127.0.0.1:{self.uport};
        client_max_body_size 2m;
        location / {{
            include {UWSGI_PARAMS};
            uwsgi_pass quiver_uwsgi;
        }}
    }}
    server {{
        listen 127.0.0.1:{self.pport};
        client_max_body_size 2m;
        location / {{
            proxy_pass http://quiver_http;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
        }}
    }}
""", workers=nginx_workers, wait_ports=(self.uport, self.pport))
        except BaseException:
            self.srv.kill()
            raise
        self.paths = {"uwsgi": self.uport, "proxy": self.pport, "direct": self.qport}

    def close(self):
        try:
            self.nginx.kill()
        finally:
            self.srv.stop()


def http(port, raw, head=False, source=None, timeout=10.0):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout,
                                 source_address=(source, 0) if source else None)
    try:
        s.sendall(raw)
        return Reader(s).read(head=head)
    finally:
        s.close()


def echo(r, what):
    eq(r.status, 200, "status via %s" % what)
    return json.loads(r.body)


def header_map(e):
    """Echoed headers as {lowercase name: combined value}. Repeated field
    lines are one list (RFC 9110 §5.3): joined with ", ", Cookie with "; "
    (RFC 6265 §5.4), which is how Nginx >= 1.23 merges them for uwsgi."""
    lists = {}
    for name, value in e["headers"]:
        lists.setdefault(name.lower(), []).append(value)
    return {k: ("; " if k == "cookie" else ", ").join(v) for k, v in lists.items()}


def comparable(e):
    h = {k: v for k, v in header_map(e).items() if k not in NOT_COMPARED}
    return {"method": e["method"], "path": e["path"], "query": e["query"],
            "version": e["version"], "headers": h, "body": e["body"]}


def same_three_ways(stack, raw, what):
    """Sends `raw` on each path; returns {path: echo} after checking that
    method, path, query, version, the compared headers and body agree."""
    seen = {name: echo(http(port, raw), "%s (%s)" % (name, what))
            for name, port in stack.paths.items()}
    ref = comparable(seen["direct"])
    for name in ("uwsgi", "proxy"):
        eq(comparable(seen[name]), ref, "%s: %s answer vs direct" % (what, name))
    return seen


CASES = {
    "query and percent-encoded path": (
        b"GET /a%20b/%C3%A9t%C3%A9/c%2Fd;p=1?x=1&y=%2F&z=a+b&e= HTTP/1.1\r\nHost: example.test\r\n"
        b"X-Custom: hello\r\nX-MiXeD-CaSe: Value With  Spaces\r\nAccept: */*\r\n"
        b"Connection: close\r\n\r\n"),
    "repeated fields": (
        b"GET /dup HTTP/1.1\r\nHost: example.test\r\nX-Dup: a\r\nX-Custom: hello\r\nX-Dup: b\r\n"
        b"Cookie: a=1\r\nCookie: b=2\r\nConnection: close\r\n\r\n"),
}


def test_same_answer_three_ways(tmp):
    st = Stack(tmp)
    try:
        for what, raw in CASES.items():
            seen = same_three_ways(st, raw, what)
            for name, e in seen.items():
                eq(header_map(e).get("x-custom"), "hello", "X-Custom via %s" % name)
                eq(header_map(e).get("host"), "example.test", "Host via %s" % name)
        e = same_three_ways(st, CASES["query and percent-encoded path"], "again")["uwsgi"]
        eq(e["path"], "/a%20b/%C3%A9t%C3%A9/c%2Fd;p=1", "raw path over uwsgi (REQUEST_URI)")
        eq(e["query"], "x=1&y=%2F&z=a+b&e=", "raw query over uwsgi")
        eq(header_map(e)["x-mixed-case"], "Value With  Spaces", "value bytes kept")
        # Over uwsgi the name's case is gone (HTTP_X_MIXED_CASE): quiver gives
        # the canonical X-Mixed-Case; the other paths keep the client's case.
        check(["X-Mixed-Case", "Value With  Spaces"] in e["headers"], e["headers"])

        # Repeated fields: Nginx 1.23+ merges them into one uwsgi var;
        # 1.22 sends one var per line. quiver must keep both, in order.
        e = same_three_ways(st, CASES["repeated fields"], "repeated")["uwsgi"]
        dups = [v for n, v in e["headers"] if n.lower() == "x-dup"]
        cookies = [v for n, v in e["headers"] if n.lower() == "cookie"]
        if nginx_version() >= (1, 23, 0):
            eq(dups, ["a, b"], "X-Dup merged by nginx")
            eq(cookies, ["a=1; b=2"], "Cookie merged with '; ' by nginx")
        else:
            eq(dups, ["a", "b"], "X-Dup lines in order")
            eq(cookies, ["a=1", "b=2"], "Cookie lines in order")
        check(not st.nginx.alerts(), "nginx errors:\n" + "\n".join(st.nginx.alerts()))
    finally:
        st.close()


def test_bodies_three_ways(tmp):
    st = Stack(tmp)
    try:
        body = (b"0123456789abcdef" * (MIB // 16))
        raw = (b"POST /upload?big=1 HTTP/1.1\r\nHost: example.test\r\n"
               b"Content-Type: text/plain\r\nX-Custom: hello\r\nContent-Length: %d\r\n"
               b"Connection: close\r\n\r\n" % len(body)) + body
        seen = same_three_ways(st, raw, "1 MiB POST")
        for name, e in seen.items():
            eq(len(e["body"]), MIB, "1 MiB body via %s" % name)
            eq(header_map(e).get("content-length"), str(MIB), "Content-Length via %s" % name)
            eq(header_map(e).get("content-type"), "text/plain", "Content-Type via %s" % name)

        chunks = [b"x" * 1000, b"y" * 70000, b"z", b"w" * 33333]
        total = b"".join(chunks)
        raw = (b"POST /chunked HTTP/1.1\r\nHost: example.test\r\nTransfer-Encoding: chunked\r\n"
               b"X-Custom: hello\r\nConnection: close\r\n\r\n" +
               b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n\r\n")
        seen = same_three_ways(st, raw, "chunked POST")
        for name in ("uwsgi", "proxy"):
            h = header_map(seen[name])
            eq(h.get("content-length"), str(len(total)), "nginx de-chunked for %s" % name)
            check("transfer-encoding" not in h, "no Transfer-Encoding via %s: %r" % (name, h))
        eq(seen["uwsgi"]["body"], total.decode(), "chunked body via uwsgi")
        eq(header_map(seen["direct"]).get("transfer-encoding"), "chunked", "direct keeps chunked")
        check(not st.nginx.alerts(), "nginx errors:\n" + "\n".join(st.nginx.alerts()))

        # Over the limit: Nginx refuses first (client_max_body_size 2m).
        big = (b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
               % (3 * MIB))
        for name in ("uwsgi", "proxy"):
            eq(http(st.paths[name], big).status, 413, "413 from nginx via %s" % name)
    finally:
        st.close()


def test_head_three_ways(tmp):
    st = Stack(tmp)
    try:
        for name, port in st.paths.items():
            s = connect(port, timeout=10)
            rd = Reader(s)
            s.sendall(b"GET /h HTTP/1.1\r\nHost: example.test\r\n\r\n")
            g = rd.read()
            eq(g.status, 200, "GET via %s" % name)
            s.sendall(b"HEAD /h HTTP/1.1\r\nHost: example.test\r\n\r\n"
                      b"GET /after HTTP/1.1\r\nHost: example.test\r\nConnection: close\r\n\r\n")
            h = rd.read(head=True)
            eq(h.status, 200, "HEAD via %s" % name)
            # The echo of HEAD says "HEAD" where GET's says "GET".
            eq(int(h.header("Content-Length")), len(g.body) + 1,
               "HEAD Content-Length via %s" % name)
            eq(echo(rd.read(), name)["path"], "/after", "no body after HEAD via %s" % name)
            s.close()
    finally:
        st.close()


def test_streamed_response_through_nginx(tmp):
    # The slow test plugin streams three chunks. Over uwsgi the response is
    # delimited by the close (Nginx's uwsgi module reads no chunked coding
    # from its upstream), so the client must get the same bytes on every path.
    st = Stack(tmp)
    try:
        for name, port in st.paths.items():
            r = http(port, b"GET /t/stream HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            eq(r.status, 200, "stream via %s" % name)
            eq(r.body, b"chunk 1\nchunk 2\nchunk 3\n", "streamed body via %s" % name)
    finally:
        st.close()


def tcp_states(port):
    """Counts of TCP states (/proc/net/tcp hex codes) of sockets on `port`."""
    counts = {}
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            parts = line.split()
            local, remote, state = parts[1], parts[2], parts[3]
            if int(local.split(":")[1], 16) == port or int(remote.split(":")[1], 16) == port:
                counts[state] = counts.get(state, 0) + 1
    return counts


def test_many_sequential_requests(tmp):
    st = Stack(tmp)
    try:
        n = 200
        for name in ("uwsgi", "proxy"):
            before = tcp_states(st.qport).get("06", 0)  # TIME_WAIT
            s = connect(st.paths[name], timeout=10)
            rd = Reader(s)
            for i in range(n):
                s.sendall(b"GET /seq?i=%d HTTP/1.1\r\nHost: t\r\nX-Custom: hello\r\n\r\n" % i)
                e = echo(rd.read(), "%s #%d" % (name, i))
                eq(e["query"], "i=%d" % i, "%s answer %d in order" % (name, i))
            s.close()
            if name == "proxy":
                # Nginx's keepalive pool reused its connections to quiver:
                # 200 requests left (nearly) no closed connections behind.
                after = tcp_states(st.qport).get("06", 0)
                check(after - before < 10, "proxy_pass keepalive not reused: %d new TIME_WAIT"
                      % (after - before))
        # Log lines are written in batches once per loop turn: give the
        # last turn a moment.
        deadline = time.time() + 3
        while open(st.access).read().count("GET /seq?i=") < 2 * n and time.time() < deadline:
            time.sleep(0.05)
        lines = open(st.access).read().count("GET /seq?i=")
        eq(lines, 2 * n, "access log lines")
        check(not st.nginx.alerts(), "nginx errors:\n" + "\n".join(st.nginx.alerts()))
    finally:
        st.close()


def test_uwsgi_body_over_limit_is_413(tmp):
    # Over limits.body a uwsgi request gets 413, which Nginx passes on; a
    # reset instead would become Nginx's 502.
    st = Stack(tmp, limits="body: 2MiB, uwsgi_buffer: 4KiB")
    try:
        raw = uwsgi_packet(uwsgi_request_vars("POST", "/", content_length=str(3 * MIB)))
        reply = uwsgi_send(st.sock, raw, timeout=8)
        check(reply.startswith(b"HTTP/1.1 413 "), "413 over uwsgi: %r" % reply[:80])
        st.srv.wait_log("request body too large")
        check(uwsgi_send(st.sock, uwsgi_packet(uwsgi_request_vars(uri="/ok"))).startswith(b"HTTP/1.1 200 "),
              "the worker keeps serving")
    finally:
        st.close()


def test_malformed_uwsgi_dropped(tmp):
    st = Stack(tmp, limits="body: 2MiB, uwsgi_buffer: 4KiB")
    try:
        pids = st.srv.worker_pids()
        eq(len(pids), 2, "two workers")
        good = uwsgi_packet(uwsgi_request_vars(uri="/ok?a=1"))
        r = uwsgi_send(st.sock, good)
        check(r.startswith(b"HTTP/1.1 200 "), "a good packet is answered: %r" % r[:80])

        block = uwsgi_vars([("REQUEST_METHOD", "GET"), ("REQUEST_URI", "/x")])
        key_overrun = b"\x64\x00" + b"REQ"               # key size 100, 3 bytes left
        value_overrun = b"\x01\x00A" + b"\xff\x00" + b"v"  # value size 255, 1 byte left

        def head(n):
            return b"\x00" + n.to_bytes(2, "little") + b"\x00"

        cases = [
            # (what, bytes sent before our EOF, log text; None where the EOF
            # itself ends the request and there is nothing to report)
            ("short header", b"\x00\x10", None),
            ("vars shorter than datasize", head(len(block) + 50) + block, None),
            ("var key past the block", head(len(key_overrun)) + key_overrun,
             "uwsgi var key overruns the vars block"),
            ("var value past the block", head(len(value_overrun)) + value_overrun,
             "uwsgi var value overruns the vars block"),
            ("truncated key size", head(1) + b"\x05", "truncated uwsgi var key size"),
            ("datasize over uwsgi_buffer", uwsgi_packet([("K", "v" * 5000)]),
             "uwsgi vars block too large"),
            ("body shorter than CONTENT_LENGTH",
             uwsgi_packet(uwsgi_request_vars("POST", "/b", content_length="100"), b"x" * 10), None),
            ("modifier1 not 0", uwsgi_packet(uwsgi_request_vars(), modifier1=5),
             "unsupported uwsgi modifier1"),
            ("no REQUEST_METHOD", uwsgi_packet([("REQUEST_URI", "/")]), "missing REQUEST_METHOD"),
            ("CR LF in a header var", uwsgi_packet(uwsgi_request_vars(
                extra=[("HTTP_X_EVIL", "a\r\nSet-Cookie: x=1")])), "CR, LF or NUL in an HTTP_ var"),
            ("bad CONTENT_LENGTH", uwsgi_packet(uwsgi_request_vars(content_length="12x")),
             "invalid CONTENT_LENGTH"),
        ]
        for what, raw, log_text in cases:
            mark = len(st.srv.output())
            t0 = time.time()
            reply = uwsgi_send(st.sock, raw, timeout=8)
            eq(reply, b"", "%s: closed without a reply" % what)
            check(time.time() - t0 < 5, "%s: closed promptly" % what)
            if log_text:
                st.srv.wait_log(re.escape(log_text), timeout=5, start=mark)
            # The worker that dropped it serves the next request.
            r = uwsgi_send(st.sock, good)
            check(r.startswith(b"HTTP/1.1 200 "), "after %s: %r" % (what, r[:80]))
        eq(st.srv.worker_pids(), pids, "no worker died or was replaced")
        # Through Nginx everything still works.
        eq(echo(http(st.uport, b"GET /still HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"),
                "uwsgi")["path"], "/still")
    finally:
        st.close()


def test_socket_file_mode(tmp):
    st = Stack(tmp)
    try:
        m = os.stat(st.sock).st_mode
        check(stat.S_ISSOCK(m), "a socket file at %s" % st.sock)
        eq(stat.S_IMODE(m), 0o660, "mode of %s" % st.sock)
    finally:
        st.close()
    # Another mode than the default, to show the setting is applied.
    sock = os.path.join(tmp, "other.sock")
    srv = Server(tmp, f"""
        workers: 1
        listen:
          - {{address: "unix:{sock}", protocol: uwsgi, mode: "0600"}}
        apps:
          - {{name: echo, plugin: {plugin('echo')}, mount: /}}
        """)
    try:
        eq(stat.S_IMODE(os.stat(sock).st_mode), 0o600, "mode 0600")
        check(uwsgi_send(sock, uwsgi_packet(uwsgi_request_vars())).startswith(b"HTTP/1.1 200 "),
              "served on the 0600 socket")
    finally:
        srv.stop()


def test_stale_socket_replaced(tmp):
    sock = os.path.join(tmp, "q.sock")
    # A socket file nobody listens on any more (a crashed server's leftover).
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(sock)
    s.close()
    check(stat.S_ISSOCK(os.stat(sock).st_mode), "stale socket file made")
    st = Stack(tmp)
    try:
        check("replaced stale socket file " + sock in st.srv.output(), st.srv.output())
        eq(stat.S_IMODE(os.stat(sock).st_mode), 0o660, "the new file has the configured mode")
        e = echo(http(st.uport, b"GET /fresh HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"),
                 "uwsgi")
        eq(e["path"], "/fresh")
        # A live socket is another matter: a second quiver must not steal it.
        other = os.path.join(tmp, "second")
        os.mkdir(other)
        srv2 = Server(other, f"""
            workers: 1
            listen:
              - {{address: "unix:{sock}", protocol: uwsgi}}
            apps:
              - {{name: echo, plugin: {plugin('echo')}, mount: /}}
            """, wait=False)
        try:
            try:
                rc = srv2.proc.wait(10)
            except subprocess.TimeoutExpired:
                raise AssertionError("a second quiver took over a live socket:\n" + srv2.output())
            out = srv2.output()
        finally:
            srv2.kill()
            srv2.stop()
        check(rc != 0, "the second quiver fails")
        check(sock in out and "running server" in out, "its message names %s:\n%s" % (sock, out))
        e = echo(http(st.uport, b"GET /still HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"),
                 "uwsgi")
        eq(e["path"], "/still", "the first quiver still owns the socket")
    finally:
        st.close()
    check(not os.path.exists(sock), "the socket file is removed when quiver stops")


def test_regular_file_at_socket_path_refused(tmp):
    sock = os.path.join(tmp, "q.sock")
    with open(sock, "w") as f:
        f.write("precious data\n")
    srv = Server(tmp, f"""
        workers: 1
        listen:
          - {{address: "unix:{sock}", protocol: uwsgi}}
        apps:
          - {{name: echo, plugin: {plugin('echo')}, mount: /}}
        """, wait=False)
    try:
        try:
            rc = srv.proc.wait(10)
        except subprocess.TimeoutExpired:
            raise AssertionError("quiver started over a regular file:\n" + srv.output())
        check(rc != 0, "non-zero exit, got %s" % rc)
        check(sock in srv.output(), "the message names %s:\n%s" % (sock, srv.output()))
        with open(sock) as f:
            eq(f.read(), "precious data\n", "the file is left alone")
    finally:
        srv.kill()
        srv.stop()


SITE = os.path.join(os.environ.get("QUIVER_SOURCE_ROOT", "."), "packaging", "nginx", "quiver.conf")


def site_variant(sock, qport, port, proxy):
    """packaging/nginx/quiver.conf as shipped, pointed at this test's socket
    and ports; `proxy` swaps its uwsgi location for the commented
    proxy_pass one, exactly as its comments tell an operator to."""
    text = open(SITE).read()
    for old, new in (("unix:/run/quiver/quiver.sock", "unix:" + sock),
                     ("127.0.0.1:8000", "127.0.0.1:%d" % qport),
                     ("listen 80;", "listen 127.0.0.1:%d;" % port),
                     ("listen [::]:80;", ""),
                     ("include uwsgi_params;", "include %s;" % UWSGI_PARAMS)):
        check(old in text, "%r in %s" % (old, SITE))
        text = text.replace(old, new)
    if proxy:
        text = re.sub(r"(?ms)^\s*# BEGIN uwsgi_pass$.*?^\s*# END uwsgi_pass$", "", text)
        text = re.sub(r"(?m)^(\s*)#\| ?", r"\1", text)
        check("uwsgi_pass quiver_uwsgi" not in text, text)
        check("proxy_pass http://quiver_http;" in text, text)
    return text


def test_packaged_site_file(tmp):
    sock = os.path.join(tmp, "q.sock")
    access = os.path.join(tmp, "access.log")
    qport, uport, pport = free_port(), free_port(), free_port()
    # quiver's defaults (limits.body 1MiB, timeouts.keepalive 5s): the ones
    # the site file is written against.
    srv = Server(tmp, f"""
        workers: 2
        listen:
          - address: 127.0.0.1:{qport}
          - {{address: "unix:{sock}", protocol: uwsgi, mode: "0660"}}
        log: {{access: {access}}}
        apps:
          - {{name: echo, plugin: {plugin('echo')}, mount: /}}
        """, port=qport)
    nginxes = []
    try:
        nginxes.append(Nginx(tmp, site_variant(sock, qport, uport, False), name="site-uwsgi",
                             wait_ports=(uport,)))
        nginxes.append(Nginx(tmp, site_variant(sock, qport, pport, True), name="site-proxy",
                             wait_ports=(pport,)))
        paths = {"uwsgi": uport, "proxy": pport, "direct": qport}
        raw = CASES["query and percent-encoded path"]
        seen = {n: comparable(echo(http(p, raw), n)) for n, p in paths.items()}
        for n in ("uwsgi", "proxy"):
            eq(seen[n], seen["direct"], "site file, %s vs direct" % n)
        h = header_map(echo(http(pport, raw), "proxy"))
        eq(h.get("x-forwarded-for"), "127.0.0.1", "X-Forwarded-For from the site file")
        eq(h.get("x-forwarded-proto"), "http", "X-Forwarded-Proto from the site file")
        eq(h.get("connection"), None, "no Connection header upstream (keepalive)")

        # client_max_body_size 1m == limits.body 1MiB: the largest body
        # passes, one byte more is Nginx's 413.
        for n in ("uwsgi", "proxy"):
            for size, status in ((MIB, 200), (MIB + 1, 413)):
                body = b"b" * size
                r = http(paths[n], b"POST /max HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n"
                                   b"Connection: close\r\n\r\n%s" % (size, body))
                eq(r.status, status, "%d-byte body via %s" % (size, n))
                if status == 200:
                    eq(len(json.loads(r.body)["body"]), size)
                else:
                    check("nginx" in (r.header("Server") or ""), "413 from Nginx: %r" % r)

        # The keepalive pool: 100 requests, (nearly) no connection closed.
        before = tcp_states(qport).get("06", 0)
        s = connect(pport, timeout=10)
        rd = Reader(s)
        for i in range(100):
            s.sendall(b"POST /ka?i=%d HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nok" % i)
            eq(echo(rd.read(), "proxy #%d" % i)["query"], "i=%d" % i)
        s.close()
        after = tcp_states(qport).get("06", 0)
        check(after - before < 10, "keepalive pool not reused: %d new TIME_WAIT" % (after - before))
        for ng in nginxes:
            alerts = [a for a in ng.alerts() if "too large body" not in a]
            check(not alerts, "nginx errors:\n" + "\n".join(alerts))
    finally:
        for ng in nginxes:
            ng.kill()
        srv.stop()


def access_line(st, marker, timeout=5):
    deadline = time.time() + timeout
    while time.time() < deadline:
        with open(st.access) as f:
            for line in f:
                if marker in line:
                    return line
        time.sleep(0.02)
    raise AssertionError("no access log line for %s:\n%s" % (marker, open(st.access).read()))


def test_client_address_from_trusted_proxies_only(tmp):
    # Only 127.0.0.1 (Nginx) is trusted; the client connects from 127.0.0.2
    # and tries to pass itself off as 203.0.113.7.
    st = Stack(tmp, quiver_extra='forwarded_allow_ips: ["127.0.0.1"]')
    try:
        spoof = b"X-Forwarded-For: 203.0.113.7\r\nForwarded: for=203.0.113.8\r\n"
        for name in ("uwsgi", "proxy", "direct"):
            raw = (b"GET /who-%s HTTP/1.1\r\nHost: t\r\n%sConnection: close\r\n\r\n"
                   % (name.encode(), spoof))
            eq(http(st.paths[name], raw, source="127.0.0.2").status, 200)
            line = access_line(st, "/who-%s " % name)
            check(line.startswith("127.0.0.2 "), "%s: client address logged: %r" % (name, line))
        # A trusted peer (127.0.0.1) talking straight to quiver is believed.
        raw = b"GET /who-trusted HTTP/1.1\r\nHost: t\r\n%sConnection: close\r\n\r\n" % spoof
        eq(http(st.qport, raw).status, 200)
        line = access_line(st, "/who-trusted ")
        check(line.startswith("203.0.113.7 "), "trusted peer's X-Forwarded-For: %r" % line)
    finally:
        st.close()


def test_uwsgi_over_tcp_only_from_trusted_peers(tmp):
    # uwsgi states REMOTE_ADDR and HTTPS for the client: over TCP only a peer
    # in forwarded_allow_ips may speak it; anyone else is closed unanswered.
    port = free_port()
    srv = Server(tmp, f"""
        workers: 1
        listen:
          - address: 127.0.0.1:{port}
            protocol: uwsgi
        forwarded_allow_ips: ["127.0.0.2"]
        apps:
          - {{name: echo, plugin: {plugin('echo')}, mount: /}}
        """, port=port)

    def send_from(source):
        s = socket.socket()
        s.settimeout(5)
        s.bind((source, 0))
        s.connect(("127.0.0.1", port))
        try:
            s.sendall(uwsgi_packet(uwsgi_request_vars(uri="/t", extra=[("REMOTE_ADDR", "203.0.113.9")])))
            s.shutdown(socket.SHUT_WR)
            data = b""
            while True:
                try:
                    c = s.recv(65536)
                except ConnectionResetError:
                    break
                if not c:
                    break
                data += c
            return data
        finally:
            s.close()

    try:
        eq(send_from("127.0.0.1"), b"", "an untrusted peer is closed without a reply")
        srv.wait_log(r"uwsgi connection from 127\.0\.0\.1 refused: not in forwarded_allow_ips")
        reply = send_from("127.0.0.2")
        check(reply.startswith(b"HTTP/1.1 200 "), "a trusted peer is served: %r" % reply[:60])
    finally:
        srv.stop()


if __name__ == "__main__":
    main(globals())
