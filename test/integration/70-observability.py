# SPDX-License-Identifier: MIT
"""Observability: /metrics scraped by a real Prometheus (rate and
histogram_quantile match what the test sent), promtool accepts the
exposition, restart and reload counters, access log formats (JSON lines
parse, combined lines match Apache's format) with hostile bytes, request ids,
/status rendered by headless Chromium (screenshot kept under the build
folder), and `quiver status --watch`."""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (BIN, BUILD, Load, Reader, Server, check, connect, eq, free_port, get, main,  # noqa: E402
                     plugin, request)
from nginx_support import uwsgi_packet, uwsgi_request_vars, uwsgi_send  # noqa: E402

ARTEFACTS = os.path.join(os.path.abspath(BUILD), "test-artefacts", "observability")


def need(binary, package):
    path = shutil.which(binary)
    if not path:
        raise AssertionError("%s not found: install Debian's %s package (apt-get install -y %s); "
                             "packaging/dev installs it for CI" % (binary, package, package))
    return path


def config(tmp, port, mport, extra="", workers=2):
    return """
        workers: %d
        listen:
          - address: 127.0.0.1:%d
          - {address: "unix:%s/uwsgi.sock", protocol: uwsgi}
        apps:
          - {name: slow, plugin: %s, mount: /}
        metrics: {listen: 127.0.0.1:%d}
        control_socket: %s/control.sock
        %s
    """ % (workers, port, tmp, plugin("slow"), mport, tmp, extra)


def fetch(url, timeout=5.0):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, dict(r.headers), r.read().decode("utf-8")


def scrape(mport):
    status, headers, body = fetch("http://127.0.0.1:%d/metrics" % mport)
    eq(status, 200, "/metrics status")
    check(headers["Content-Type"].startswith("text/plain; version=0.0.4"), headers["Content-Type"])
    return body


def samples(text, name):
    """{labels-tuple: value} of one metric name in an exposition."""
    out = {}
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$', line)
        if not m or m.group(1) != name:
            continue
        labels = tuple(sorted(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(3) or "")))
        out[labels] = float(m.group(4))
    return out


def value(text, name, **labels):
    total = 0.0
    for k, v in samples(text, name).items():
        d = dict(k)
        if all(d.get(a) == b for a, b in labels.items()):
            total += v
    return total


def keepalive_gets(port, paths, threads=4):
    """Sends every path once over `threads` keep-alive connections; returns
    the statuses."""
    statuses = []
    lock = threading.Lock()
    chunks = [paths[i::threads] for i in range(threads)]

    def run(chunk):
        s = None
        for p in chunk:
            if s is None:
                s = connect(port, 10)
                rd = Reader(s)
            s.sendall(b"GET %s HTTP/1.1\r\nHost: t\r\n\r\n" % p.encode())
            r = rd.read()
            with lock:
                statuses.append(r.status)
            if r.header("Connection", "").lower() == "close":  # a retiring worker
                s.close()
                s = None
        if s:
            s.close()

    ts = [threading.Thread(target=run, args=(c,)) for c in chunks]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    return statuses


class Prometheus:
    def __init__(self, tmp, target):
        self.port = free_port()
        cfg = os.path.join(tmp, "prometheus.yml")
        with open(cfg, "w") as f:
            f.write("global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
                    "scrape_configs:\n"
                    "  - job_name: quiver\n"
                    "    scrape_interval: 1s\n"
                    "    static_configs: [{targets: ['%s']}]\n" % target)
        self.log = open(os.path.join(tmp, "prometheus.log"), "wb")
        self.proc = subprocess.Popen(
            [need("prometheus", "prometheus"), "--config.file=" + cfg,
             "--storage.tsdb.path=" + os.path.join(tmp, "prom-data"),
             "--web.listen-address=127.0.0.1:%d" % self.port, "--storage.tsdb.retention.time=1h"],
            stdout=self.log, stderr=subprocess.STDOUT)

    def api(self, path, **params):
        url = "http://127.0.0.1:%d/api/v1/%s?%s" % (self.port, path, urllib.parse.urlencode(params))
        _, _, body = fetch(url, 10)
        data = json.loads(body)
        eq(data["status"], "success", "prometheus answer")
        return data["data"]

    def wait_up(self, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                targets = self.api("targets")["activeTargets"]
                if targets and targets[0]["health"] == "up":
                    return
            except (OSError, ValueError):
                pass
            time.sleep(0.2)
        raise AssertionError("prometheus never scraped quiver")

    def query(self, expr, at):
        r = self.api("query", query=expr, time="%.3f" % at)["result"]
        check(len(r) == 1, "%s: expected one series, got %r" % (expr, r))
        return float(r[0]["value"][1])

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def test_prometheus_rate_and_quantile(tmp):
    """300 requests (200 fast, 100 sleeping 30 ms) between flat stretches:
    Prometheus' rate() over a window holding the burst gives 300/window (its
    extrapolation to the window's edges adds at most two scrape intervals),
    and histogram_quantile(0.9) lands where the buckets put it: 100 of 300
    observations in (25 ms, 50 ms], so 0.9 is 70% into that bucket = 42.5 ms."""
    need("prometheus", "prometheus")
    port, mport = free_port(), free_port()
    srv = Server(tmp, config(tmp, port, mport), port=port)
    prom = Prometheus(tmp, "127.0.0.1:%d" % mport)
    try:
        prom.wait_up()
        time.sleep(3)  # flat samples before the burst
        t0 = time.time() - 2
        paths = ["/fast"] * 200 + ["/slow?ms=30"] * 100
        statuses = keepalive_gets(port, paths)
        eq(sorted(set(statuses)), [200], "burst statuses")
        eq(len(statuses), 300, "answers")
        # Our own exposition agrees exactly.
        text = scrape(mport)
        eq(value(text, "quiver_requests_total", app="slow", method="GET", status_class="2xx"), 300.0, "scraped")
        time.sleep(4)  # flat samples after it
        t1 = time.time()
        window = int(t1 - t0) + 1
        sel = '{app="slow",method="GET",status_class="2xx"}'
        rate = prom.query("sum(rate(quiver_requests_total%s[%ds]))" % (sel, window), t1)
        got = rate * window
        # Samples are 1 s apart: the extrapolated increase is the true one
        # times at most window/(window - 2) (and never less).
        check(300 * 0.99 <= got <= 300 * window / (window - 2) + 1,
              "rate*window = %.1f for 300 requests (window %d s)" % (got, window))
        q90 = prom.query('histogram_quantile(0.9, sum by (le) (rate(quiver_request_duration_seconds_bucket'
                         '{app="slow"}[%ds])))' % window, t1)
        check(abs(q90 - 0.0425) < 0.0005, "p90 %.5f s, expected 0.0425 s" % q90)
        q50 = prom.query('histogram_quantile(0.5, sum by (le) (rate(quiver_request_duration_seconds_bucket'
                         '{app="slow"}[%ds])))' % window, t1)
        check(q50 <= 0.0025, "p50 %.5f s: the fast requests should take well under 2.5 ms" % q50)
        count = prom.query('sum(increase(quiver_request_duration_seconds_count{app="slow"}[%ds]))' % window, t1)
        check(300 * 0.99 <= count <= 300 * window / (window - 2) + 1, "histogram count %.1f" % count)
    finally:
        prom.stop()
        srv.stop()


def test_promtool_accepts_exposition(tmp):
    promtool = need("promtool", "prometheus")
    port, mport = free_port(), free_port()
    srv = Server(tmp, config(tmp, port, mport), port=port)
    try:
        keepalive_gets(port, ["/fast", "/slow?ms=1", "/missing"], threads=1)
        request(port, b"BREW /fast HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        request(port, b"DELETE /fast HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        uwsgi_send(os.path.join(tmp, "uwsgi.sock"), uwsgi_packet(uwsgi_request_vars(uri="/fast")))
        text = scrape(mport)
        r = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=30)
        eq(r.returncode, 0, "promtool check metrics:\n%s%s" % (r.stdout, r.stderr))
        for family in ["quiver_build_info", "quiver_requests_total", "quiver_request_duration_seconds",
                       "quiver_requests_in_flight", "quiver_connections", "quiver_received_bytes_total",
                       "quiver_sent_bytes_total", "quiver_workers", "quiver_worker_restarts_total",
                       "quiver_reloads_total", "quiver_pg_queries_total", "quiver_pg_query_duration_seconds",
                       "quiver_pg_connections", "quiver_listen_queue_length"]:
            check("# TYPE %s " % family in text, "no %s family" % family)
        check(value(text, "quiver_requests_total", method="other") >= 1, "BREW counts as method other")
        check(value(text, "quiver_requests_total", method="DELETE") >= 1, "DELETE row")
        eq(value(text, "quiver_workers", state="ready"), 2.0, "ready workers")
        listeners = {dict(k)["listener"] for k in samples(text, "quiver_listen_queue_limit")}
        eq(listeners, {"127.0.0.1:%d" % port, "unix:%s/uwsgi.sock" % tmp}, "listen queue listeners")
        check(value(text, "quiver_sent_bytes_total") > 0, "bytes out")
        names = set(re.findall(r'[{,](\w+)="', text))
        eq(names - {"app", "method", "status_class", "le", "protocol", "state", "generation", "reason",
                    "result", "listener", "version"}, set(), "bounded label names")
        try:
            fetch("http://127.0.0.1:%d/nope" % mport)
            raise AssertionError("/nope answered")
        except urllib.error.HTTPError as e:
            eq(e.code, 404, "unknown path")
    finally:
        srv.stop()


def test_listen_queue_reports_waiting_connections(tmp):
    """Connections the workers do not take (all busy) show in the queue."""
    port, mport = free_port(), free_port()
    srv = Server(tmp, config(tmp, port, mport, "max_connections: 1", workers=1), port=port)
    held = []
    try:
        held.append(connect(port))  # takes the only connection slot
        time.sleep(0.2)
        for _ in range(5):
            held.append(connect(port))
        time.sleep(0.3)
        text = scrape(mport)
        q = value(text, "quiver_listen_queue_length", listener="127.0.0.1:%d" % port)
        check(q >= 4, "listen queue %s with 5 connections waiting" % q)
    finally:
        for s in held:
            s.close()
        srv.stop()


def test_restart_and_reload_counters(tmp):
    port, mport = free_port(), free_port()
    srv = Server(tmp, config(tmp, port, mport, "max_requests: 20"), port=port)
    try:
        keepalive_gets(port, ["/fast"] * 10, threads=1)
        before = value(scrape(mport), "quiver_requests_total")
        os.kill(srv.worker_pids()[0], signal.SIGKILL)
        srv.wait_log(r"killed by SIGKILL")
        deadline = time.time() + 10
        while time.time() < deadline:
            text = scrape(mport)
            if value(text, "quiver_worker_restarts_total", reason="crash") == 1 and \
                    value(text, "quiver_workers", state="ready") == 2:
                break
            time.sleep(0.1)
        eq(value(text, "quiver_worker_restarts_total", reason="crash"), 1.0, "crash restarts")
        check(value(text, "quiver_requests_total") >= before, "totals survive a dead worker")
        srv.send_signal(signal.SIGHUP)
        srv.wait_log(r"reload complete")
        deadline = time.time() + 10
        while time.time() < deadline:
            text = scrape(mport)
            if value(text, "quiver_worker_restarts_total", reason="reload") == 2:
                break
            time.sleep(0.1)
        eq(value(text, "quiver_reloads_total", result="ok"), 1.0, "reloads ok")
        eq(value(text, "quiver_worker_restarts_total", reason="reload"), 2.0, "reload restarts")
        eq(value(text, "quiver_generation"), 2.0, "generation")
        check(value(text, "quiver_requests_total") >= before, "totals survive a reload")
        # max_requests: 20 (no jitter) recycles a worker after its 20th answer.
        keepalive_gets(port, ["/fast"] * 60, threads=2)
        deadline = time.time() + 10
        while time.time() < deadline:
            text = scrape(mport)
            if value(text, "quiver_worker_restarts_total", reason="max_requests") >= 1:
                break
            time.sleep(0.1)
        check(value(text, "quiver_worker_restarts_total", reason="max_requests") >= 1, "max_requests restarts")
        eq(value(text, "quiver_requests_total"), before + 60, "every request counted once")
    finally:
        srv.stop()


def test_pg_metrics(tmp):
    """Queries by result, their duration histogram and the pool's
    connections, from the slow app's /pgsleep (SELECT pg_sleep)."""
    url = os.environ.get("QUIVER_TEST_PG_URL")
    check(url, "QUIVER_TEST_PG_URL is set (packaging/dev test starts the database)")
    port, mport = free_port(), free_port()
    srv = Server(tmp, config(tmp, port, mport, "database: {url: '%s', pool: 2}" % url), port=port)
    try:
        statuses = keepalive_gets(port, ["/pgsleep?s=0.03"] * 20 + ["/pgsleep?s=x"] * 3, threads=2)
        eq(sorted(statuses), [200] * 20 + [503] * 3, "statuses")
        deadline = time.time() + 5  # the workers publish pool counters once a second
        while time.time() < deadline:
            text = scrape(mport)
            if value(text, "quiver_pg_queries_total") >= 23:
                break
            time.sleep(0.2)
        eq(value(text, "quiver_pg_queries_total", result="ok"), 20.0, "ok queries")
        eq(value(text, "quiver_pg_queries_total", result="error"), 3.0, "failed queries")
        eq(value(text, "quiver_pg_query_duration_seconds_count"), 23.0, "histogram count")
        # 20 of 23 slept 30 ms: at least those are above the 25 ms bucket.
        below = value(text, "quiver_pg_query_duration_seconds_bucket", le="0.025")
        check(below <= 3, "%s queries under 25 ms" % below)
        check(value(text, "quiver_pg_query_duration_seconds_sum") >= 20 * 0.03, "duration sum")
        eq(value(text, "quiver_pg_connections", state="idle"), 4.0, "2 workers x pool 2, idle")
    finally:
        srv.stop()


HOSTILE_UA = b'Mozilla "quoted" \\back\\slash \t tab \xff\xfe bad utf-8 \xc3\xa9 ok'


def hostile_requests(tmp, port):
    """HTTP requests with quotes, backslashes, tabs and invalid UTF-8 in the
    target and headers, and uwsgi requests whose vars hold control bytes
    (uwsgi allows every byte but CR, LF and NUL)."""
    sent = []
    raw = (b'GET /fast/%22q%22/"raw"/back\\slash/\xff\xfe?x="1"&y=\\ HTTP/1.1\r\nHost: t\r\n'
           b'User-Agent: ' + HOSTILE_UA + b'\r\nReferer: http://e/"x"\\y\xe9\r\n'
           b'X-Request-Id: req-"bad"\r\nConnection: close\r\n\r\n')
    r = request(port, raw)
    sent.append(("http", r))
    for ctl in [b"\x01\x1b[31m", b"\x7f\x08", b"\x1f\x0b\x0c"]:
        uri = b"/fast/ctl" + ctl + b"?q=" + ctl
        pairs = uwsgi_request_vars(uri=uri.decode("latin-1"),
                                   extra=[("HTTP_USER_AGENT", b"ua" + ctl + b'"\\'), ("HTTP_X_REQUEST_ID", "up-123")])
        pairs = [(k, v.encode("latin-1") if isinstance(v, str) else v) for k, v in pairs]
        out = uwsgi_send(os.path.join(tmp, "uwsgi.sock"), uwsgi_packet(pairs))
        # The app has no such route: its 404 (an answer, with the id).
        check(out.startswith(b"HTTP/1.1 404") and b"\r\nX-Request-Id: up-123\r\n" in out, "uwsgi answer %r" % out)
        sent.append(("uwsgi", out))
    return sent


def read_log(path, n, timeout=5):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if os.path.exists(path):
            with open(path, "rb") as f:
                lines = f.read().split(b"\n")
            if len(lines) > n:
                return lines[:-1]
        time.sleep(0.05)
    raise AssertionError("access log has fewer than %d lines" % n)


def test_access_log_json(tmp):
    port, mport = free_port(), free_port()
    log = os.path.join(tmp, "access.log")
    srv = Server(tmp, config(tmp, port, mport, "log: {access: %s, access_format: json}" % log), port=port)
    try:
        r = get(port, "/fast", headers=[("X-Request-Id", "abc-123"), ("User-Agent", "t")])
        eq(r.header("X-Request-Id"), "abc-123", "echoed request id")
        sent = hostile_requests(tmp, port)
        pids = set(srv.worker_pids())
        lines = read_log(log, 1 + len(sent))
        eq(len(lines), 1 + len(sent), "lines")
        entries = [json.loads(line.decode("utf-8")) for line in lines]  # every line parses
        for e in entries:
            for k in ["time", "remote_addr", "method", "path", "query", "status", "bytes", "duration_us",
                      "user_agent", "referer", "request_id", "pid", "app"]:
                check(k in e, "field %s missing in %r" % (k, e))
            check(e["pid"] in pids, "pid %r" % e["pid"])
            check(isinstance(e["duration_us"], int) and e["duration_us"] >= 0, "duration")
            eq(e["app"], "slow", "app")
        # Two workers flush their batches independently: order by what was sent.
        rank = {"abc-123": 0, "up-123": 2}
        entries.sort(key=lambda e: (rank.get(e["request_id"], 1), e["path"]))
        entries[2:] = sorted(entries[2:], key=lambda e: ["/fast/ctl\x01", "/fast/ctl\x7f", "/fast/ctl\x1f"].index(
            e["path"][:10]))
        eq([e["status"] for e in entries], [200] + [404] * len(sent), "statuses")
        first = entries[0]
        eq((first["method"], first["path"], first["request_id"], first["user_agent"]), ("GET", "/fast", "abc-123", "t"),
           "plain entry")
        e = entries[1]
        eq(e["user_agent"], 'Mozilla "quoted" \\back\\slash \t tab \ufffd\ufffd bad utf-8 \u00e9 ok', "hostile UA")
        eq(e["referer"], 'http://e/"x"\\y\ufffd', "hostile referer")
        eq(e["path"], '/fast/%22q%22/"raw"/back\\slash/\ufffd\ufffd', "hostile path")
        eq(e["query"], 'x="1"&y=\\', "hostile query")
        # An invalid X-Request-Id is replaced by a generated one, which the
        # response carries too.
        check(e["request_id"] != 'req-"bad"' and re.match(r"^[0-9a-f]+-[0-9a-f]+$", e["request_id"]), e["request_id"])
        eq(sent[0][1].header("X-Request-Id"), e["request_id"], "response id = logged id")
        for e, ctl in zip(entries[2:], [b"\x01\x1b[31m", b"\x7f\x08", b"\x1f\x0b\x0c"]):
            eq(e["path"], "/fast/ctl" + ctl.decode("latin-1"), "control bytes in path")
            eq(e["user_agent"], "ua" + ctl.decode("latin-1") + '"\\', "control bytes in UA")
            eq(e["request_id"], "up-123", "uwsgi request id")
        raw = b"\n".join(lines)
        check(not re.search(rb"[\x00-\x09\x0b-\x1f\x7f]", raw), "raw control bytes in the log")
    finally:
        srv.stop()


COMBINED = re.compile(r'^(\S+) (\S+) (\S+) \[(\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4})\] '
                      r'"((?:[^"\\]|\\.)*)" (\d{3}) (\d+|-) "((?:[^"\\]|\\.)*)" "((?:[^"\\]|\\.)*)"$')


def test_access_log_combined_and_format_string(tmp):
    port, mport = free_port(), free_port()
    log = os.path.join(tmp, "access.log")
    srv = Server(tmp, config(tmp, port, mport, "log: {access: %s}" % log), port=port)
    try:
        get(port, "/fast", headers=[("User-Agent", "curl/8"), ("Referer", "http://r/")])
        sent = hostile_requests(tmp, port)
        lines = read_log(log, 1 + len(sent))
        for line in lines:
            text = line.decode("ascii")  # escaping leaves only printable ASCII
            m = COMBINED.match(text)
            check(m, "not Apache combined: %r" % text)
        plain = [ln.decode() for ln in lines if b"curl/8" in ln]
        eq(len(plain), 1, "the plain request's line")
        m = COMBINED.match(plain[0])
        eq(m.group(1, 5, 6, 7, 8, 9), ("127.0.0.1", "GET /fast HTTP/1.1", "200", "4", "http://r/", "curl/8"), "fields")
        hostile = [ln.decode() for ln in lines if b"Mozilla" in ln]
        eq(len(hostile), 1, "the hostile request's line")
        check('\\x22quoted\\x22' in hostile[0] and "\\xFF\\xFE" in hostile[0], hostile[0])
    finally:
        srv.stop()
    # A format string of named fields.
    log2 = os.path.join(tmp, "access2.log")
    fmt = "$request_id|$status|$app|$method|$path|$query|$bytes|${duration_us}us|$$"
    srv = Server(tmp, config(tmp, port, mport, "log: {access: %s, access_format: '%s'}" % (log2, fmt)), port=port)
    try:
        r = get(port, "/fast?a=1", headers=[("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")])
        eq(r.header("X-Request-Id"), "4bf92f3577b34da6a3ce929d0e0e4736", "trace id as request id")
        line = read_log(log2, 1)[0].decode()
        check(re.match(r"^4bf92f3577b34da6a3ce929d0e0e4736\|200\|slow\|GET\|/fast\|a=1\|4\|\d+us\|\$$", line), line)
    finally:
        srv.stop()
    # A bad format is a config error that names the field.
    bad = os.path.join(tmp, "bad.yaml")
    with open(bad, "w") as f:
        f.write("log: {access_format: '$remote_addr $nope'}\n")
    r = subprocess.run([BIN, "--check-config", bad], capture_output=True, text=True, timeout=30)
    check(r.returncode != 0 and "$nope" in r.stderr and "log.access_format" in r.stderr, r.stderr)


def test_request_ids(tmp):
    port, mport = free_port(), free_port()
    srv = Server(tmp, config(tmp, port, mport), port=port)
    try:
        ids = {get(port, "/fast").header("X-Request-Id") for _ in range(20)}
        eq(len(ids), 20, "generated ids are unique")
        eq(get(port, "/fast", headers=[("X-Request-Id", "a" * 64)]).header("X-Request-Id"), "a" * 64, "64 chars")
        check(get(port, "/fast", headers=[("X-Request-Id", "a" * 65)]).header("X-Request-Id") != "a" * 65, "65 chars")
        check(get(port, "/fast", headers=[("X-Request-Id", "a b")]).header("X-Request-Id") != "a b", "space")
        zero = "00-00000000000000000000000000000000-00f067aa0ba902b7-01"
        check(get(port, "/fast", headers=[("traceparent", zero)]).header("X-Request-Id") != "0" * 32, "zero trace")
        r = get(port, "/missing-app-path-404")
        check(r.header("X-Request-Id"), "404 carries an id")
        r = request(port, b"GET /fast HTTP/1.1\r\nHost: t\r\nX-Request-Id: e1\r\nConnection: close\r\n"
                          b"Content-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n")
        eq(r.status, 400, "bad framing")
    finally:
        srv.stop()


def test_status_page_in_chromium(tmp):
    chromium = need("chromium", "chromium")
    port, mport = free_port(), free_port()
    srv = Server(tmp, config(tmp, port, mport), port=port)
    try:
        # A few seconds of traffic so the charts have points.
        for _ in range(4):
            keepalive_gets(port, ["/fast"] * 50 + ["/slow?ms=5"] * 10, threads=2)
            time.sleep(0.6)
        status, headers, html = fetch("http://127.0.0.1:%d/status" % mport)
        eq(status, 200, "/status")
        check("<script" not in html and "http://" not in html.replace("http://www.w3.org/2000/svg", ""),
              "no scripts or external resources")
        os.makedirs(ARTEFACTS, exist_ok=True)
        shot = os.path.join(ARTEFACTS, "status.png")
        if os.path.exists(shot):
            os.unlink(shot)
        common = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                  "--user-data-dir=" + os.path.join(tmp, "chromium"), "--window-size=1100,700"]
        url = "http://127.0.0.1:%d/status" % mport
        # Traffic while the picture is taken, so the table shows it.
        load = Load(port, path="/slow?ms=2", clients=4)
        time.sleep(2.5)
        try:
            r = subprocess.run(common + ["--screenshot=" + shot, url], capture_output=True, timeout=90)
        finally:
            load.finish()
        check(os.path.exists(shot) and os.path.getsize(shot) > 5000,
              "no screenshot: %s" % r.stderr.decode(errors="replace")[-2000:])
        with open(shot, "rb") as f:
            eq(f.read(8), b"\x89PNG\r\n\x1a\n", "PNG signature")
        r = subprocess.run(common + ["--dump-dom", url], capture_output=True, timeout=90)
        dom = r.stdout.decode("utf-8", "replace")
        rows = re.findall(r"<tr><td>(\d+)</td><td>(\d+)</td><td>(\w+)</td>", dom)
        pids = {str(p) for p in srv.worker_pids()}
        eq({pid for _, pid, _ in rows}, pids, "one table row per worker")
        eq(dom.count("<svg"), 2, "two charts")
        points = re.findall(r'<polyline[^>]*points="([^"]+)"', dom)
        eq(len(points), 2, "two lines")
        check(all(len(p.split()) >= 2 for p in points), "charts have points: %r" % points)
        check(max(float(p.split(",")[1]) for p in points[0].split()) > min(float(p.split(",")[1])
                                                                          for p in points[0].split()),
              "the req/s line is not flat")
    finally:
        srv.stop()


def test_status_watch(tmp):
    port, mport = free_port(), free_port()
    srv = Server(tmp, config(tmp, port, mport), port=port)
    try:
        load = Load(port, path="/fast", clients=2)
        time.sleep(1.5)  # the master samples once a second: rates need two samples under load
        try:
            r = subprocess.run([BIN, "status", "--watch=3", "-c", srv.config], capture_output=True, text=True,
                               timeout=30)
        finally:
            load.finish()
        check(load.ok > 0 and load.fail == 0, "load: %d ok, %d failed" % (load.ok, load.fail))
        eq(r.returncode, 0, "status --watch: " + r.stderr)
        tables = r.stdout.split("\nquiver ")
        eq(len(tables), 3, "three refreshes:\n" + r.stdout)
        for pid in srv.worker_pids():
            check(re.search(r"^\d+\s+%d\s+ready\s+1\s+\d+" % pid, r.stdout, re.M), "row for %d" % pid)
        check(re.search(r"^total\s+[1-9]\d*", tables[-1], re.M) or "total" in tables[-1], r.stdout)
        rates = [float(m) for m in re.findall(r"^total\s+(\d+)", r.stdout, re.M)]
        check(max(rates) > 0, "req/s shown under load: %r" % rates)
        r = subprocess.run([BIN, "reload", "--watch", "-c", srv.config], capture_output=True, text=True, timeout=30)
        check(r.returncode == 2 and "--watch" in r.stderr, r.stderr)
    finally:
        srv.stop()


if __name__ == "__main__":
    main(globals())
