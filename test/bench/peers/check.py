#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Smoke test of the benchmark peers: starts quiver's bench app and each
installed peer (Gunicorn sync and gthread, uWSGI, aiohttp) against one
PostgreSQL and checks that every endpoint answers equivalently: status,
content type, Server and Date present, JSON shapes and row counts, the
fortunes page and the /agents body byte for byte, updates persisted.

    test/bench/peers/check.py [--build DIR] [--workers N]

Database: DATABASE_URL, else QUIVER_TEST_PG_URL, else a private cluster
started with packaging/pg-dev (own port and directory) and stopped at the
end. quiver: DIR/server/quiver and DIR/apps/bench/bench.so (default: the
build directory `build` at the repository root, or QUIVER_BUILD_ROOT).
Peers whose packages are missing are skipped and named with their Debian
packages. Exit status 0 when every peer that ran matched, 1 otherwise.
Standard library only; every step is bounded in time.
"""
import argparse
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
PG_DEV = os.path.join(ROOT, "packaging", "pg-dev")
PG_BIN = os.environ.get("PGDEV_BIN", "/usr/lib/postgresql/15/bin")
UWSGI_PLUGIN_DIR = "/usr/lib/uwsgi/plugins"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def imports(py, *modules):
    """True when interpreter `py` imports every module."""
    if not py or not os.access(py, os.X_OK):
        return False
    try:
        return subprocess.run([py, "-c", "import " + ", ".join(modules)], capture_output=True,
                              timeout=30).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def python_with(*modules):
    """An interpreter that imports every module (the Debian packages install
    for /usr/bin/python3, which may not be the python3 on PATH)."""
    for py in dict.fromkeys([sys.executable, "/usr/bin/python3"]):
        if imports(py, *modules):
            return py
    return None


# ---- processes ----------------------------------------------------------------------

class Proc:
    """A server in its own process group, with its output in a file."""

    def __init__(self, name, argv, env, cwd, tmp):
        self.name = name
        self.log_path = os.path.join(tmp, name + ".log")
        self.log = open(self.log_path, "wb")
        self.p = subprocess.Popen(argv, env=env, cwd=cwd, stdout=self.log,
                                  stderr=subprocess.STDOUT, start_new_session=True)

    def output(self):
        self.log.flush()
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def wait_http(self, port, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.p.poll() is not None:
                raise RuntimeError("%s exited (%s):\n%s" % (self.name, self.p.returncode,
                                                            self.output()[-3000:]))
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                c.request("GET", "/plaintext")
                if c.getresponse().status == 200:
                    c.close()
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError("%s not answering on %d in %ss:\n%s" % (self.name, port, timeout,
                                                                   self.output()[-3000:]))

    def stop(self, timeout=15):
        if self.p.poll() is None:
            try:
                os.killpg(self.p.pid, signal.SIGTERM)
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.p.pid, signal.SIGKILL)
                self.p.wait(5)
            except ProcessLookupError:
                pass
        self.log.close()


class Database:
    def __init__(self):
        self.url = os.environ.get("DATABASE_URL") or os.environ.get("QUIVER_TEST_PG_URL")
        self.env = None
        self.dir = None

    def __enter__(self):
        if not self.url:
            port = free_port()
            self.dir = "/tmp/quiver-peers-pg-%d-%d" % (os.getpid(), port)
            self.env = dict(os.environ, PGDEV_PORT=str(port), PGDEV_DIR=self.dir)
            r = subprocess.run([PG_DEV, "start"], env=self.env, capture_output=True, text=True,
                               timeout=180)
            if r.returncode != 0:
                raise RuntimeError("pg-dev start failed:\n" + r.stderr)
            self.url = r.stdout.strip().splitlines()[-1]
        return self

    def __exit__(self, *exc):
        if self.env is not None:
            subprocess.run([PG_DEV, "stop"], env=self.env, capture_output=True, timeout=120)
            shutil.rmtree(self.dir, ignore_errors=True)
            try:
                os.unlink(self.dir + ".lock")
            except OSError:
                pass

    def worlds(self, ids):
        psql = shutil.which("psql") or os.path.join(PG_BIN, "psql")
        sql = "SELECT id, randomnumber FROM world WHERE id IN (%s)" % ",".join(map(str, ids))
        r = subprocess.run([psql, self.url, "-XAtq", "-F", "\t", "-c", sql], capture_output=True,
                           text=True, timeout=30)
        if r.returncode != 0:
            raise RuntimeError("psql: " + r.stderr)
        return {int(a): int(b) for a, b in (line.split("\t") for line in r.stdout.splitlines())}


# ---- the peers -----------------------------------------------------------------------

def peers(workers):
    """(name, Debian packages, argv builder or None when missing)."""
    out = []
    gpy = python_with("gunicorn", "psycopg2")
    for kind, extra in (("sync", []), ("gthread", ["--threads", "4"])):
        argv = None
        if gpy:
            argv = lambda port, k=kind, e=extra: [
                gpy, "-m", "gunicorn", "-w", str(workers), "-k", k, *e,
                "-b", "127.0.0.1:%d" % port, "--chdir", HERE, "wsgi_app:application"]
        out.append(("gunicorn-" + kind, ["gunicorn", "python3-psycopg2"], argv))
    uwsgi = shutil.which("uwsgi")
    plugin = os.path.exists(os.path.join(UWSGI_PLUGIN_DIR, "python3_plugin.so"))
    argv = None
    # The python3 plugin embeds Debian's Python: psycopg2 must be its package.
    if uwsgi and plugin and imports("/usr/bin/python3", "psycopg2"):
        argv = lambda port: [
            uwsgi, "--plugin", "python3", "--http11-socket", "127.0.0.1:%d" % port,
            "--master", "--processes", str(workers), "--need-app", "--die-on-term",
            "--disable-logging", "--chdir", HERE, "--wsgi-file", "wsgi_app.py"]
    out.append(("uwsgi", ["uwsgi", "uwsgi-plugin-python3", "python3-psycopg2"], argv))
    apy = python_with("aiohttp", "asyncpg", "uvloop")
    argv = None
    if apy:
        argv = lambda port: [apy, os.path.join(HERE, "aiohttp_app.py"), "--port", str(port),
                             "--workers", str(workers)]
    out.append(("aiohttp", ["python3-aiohttp", "python3-asyncpg", "python3-uvloop"], argv))
    return out


# ---- comparing ---------------------------------------------------------------------

class Mismatch(Exception):
    pass


def fetch(conn, path):
    conn.request("GET", path)
    r = conn.getresponse()
    body = r.read()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, body


def expect(cond, what):
    if not cond:
        raise Mismatch(what)


def world_ok(o):
    return (isinstance(o, dict) and list(o) == ["id", "randomNumber"] and
            all(type(v) is int for v in o.values()) and 1 <= o["id"] <= 10000 and
            1 <= o["randomNumber"] <= 10000)


def compare(ref, peer, db):
    """Runs every check of one peer against quiver; returns the number of checks."""
    n = 0
    cases = ["/plaintext", "/json", "/db", "/fortunes", "/agents"]
    cases += ["/queries" + q for q in ("?queries=2", "?queries=0", "?queries=foo",
                                       "?queries=501", "?queries=", "", "?queries=20")]
    cases += ["/updates" + q for q in ("?queries=2", "?queries=foo", "?queries=20", "")]
    for path in cases:
        rs, rh, rb = fetch(ref, path)
        ps, ph, pb = fetch(peer, path)
        expect(rs == 200, "%s: quiver answered %d" % (path, rs))
        expect(ps == rs, "%s: status %d, quiver %d" % (path, ps, rs))
        expect(ph.get("content-type") == rh.get("content-type"),
               "%s: Content-Type %r, quiver %r" % (path, ph.get("content-type"),
                                                   rh.get("content-type")))
        expect("server" in ph and "date" in ph, "%s: Server and Date present" % path)
        if path in ("/plaintext", "/json", "/fortunes", "/agents"):
            if pb != rb:
                at = next((i for i, (a, b) in enumerate(zip(pb, rb)) if a != b),
                          min(len(pb), len(rb)))
                lo = max(0, at - 40)
                raise Mismatch("%s: body differs at byte %d:\n  peer   %r\n  quiver %r" % (
                    path, at, pb[lo:at + 60], rb[lo:at + 60]))
        else:
            rj, pj = json.loads(rb), json.loads(pb)
            if path == "/db":
                rj, pj = [rj], [pj]
            expect(isinstance(pj, list), "%s: not an array" % path)
            expect(len(pj) == len(rj), "%s: %d rows, quiver %d" % (path, len(pj), len(rj)))
            expect(all(world_ok(o) for o in pj), "%s: row shape %r" % (path, pj[:3]))
            if path.startswith("/updates"):
                expect(len({o["id"] for o in pj}) == len(pj), "%s: ids distinct" % path)
                stored = db.worlds([o["id"] for o in pj])
                expect(all(stored[o["id"]] == o["randomNumber"] for o in pj),
                       "%s: updates not persisted" % path)
            elif path != "/db":
                stored = db.worlds([o["id"] for o in pj])
                expect(all(stored[o["id"]] == o["randomNumber"] for o in pj),
                       "%s: rows do not match the database" % path)
        n += 1
    return n


def main():
    ap = argparse.ArgumentParser(description="benchmark peers smoke test")
    ap.add_argument("--build", default=os.environ.get("QUIVER_BUILD_ROOT",
                                                      os.path.join(ROOT, "build")))
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    args.build = os.path.abspath(args.build)
    quiver = os.path.join(args.build, "server", "quiver")
    bench = os.path.join(args.build, "apps", "bench", "bench.so")
    for f in (quiver, bench):
        if not os.path.exists(f):
            print("missing %s: build first (ninja -C %s)" % (f, args.build))
            return 1

    failed, skipped, ran = [], [], []
    with tempfile.TemporaryDirectory(prefix="quiver-peers-") as tmp, Database() as db:
        env = dict(os.environ, DATABASE_URL=db.url)
        qport = free_port()
        cfg = os.path.join(tmp, "quiver.yaml")
        with open(cfg, "w") as f:
            f.write("workers: %d\nlisten: ['127.0.0.1:%d']\n"
                    "apps: [{name: bench, plugin: '%s'}]\n"
                    "database: {url: '%s', pool: 2}\n"
                    # Root runs app code only when told to (a smoke test on loopback).
                    "allow_root: true\n" % (args.workers, qport, bench, db.url))
        q = Proc("quiver", [quiver, "--config", cfg], env, tmp, tmp)
        try:
            q.wait_http(qport)
            for name, packages, argv in peers(args.workers):
                if argv is None:
                    skipped.append((name, packages))
                    print("skip %-18s missing: apt-get install %s" % (name, " ".join(packages)),
                          flush=True)
                    continue
                port = free_port()
                p = Proc(name, argv(port), env, HERE, tmp)
                t0 = time.time()
                try:
                    p.wait_http(port)
                    ref = http.client.HTTPConnection("127.0.0.1", qport, timeout=30)
                    peer = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                    n = compare(ref, peer, db)
                    ref.close()
                    peer.close()
                    ran.append(name)
                    print("ok   %-18s %d endpoints match quiver's (%.1fs)" % (name, n,
                                                                            time.time() - t0),
                          flush=True)
                except (Mismatch, RuntimeError, OSError, ValueError, KeyError) as e:
                    failed.append(name)
                    print("FAIL %-18s %s" % (name, e), flush=True)
                finally:
                    p.stop()
        finally:
            q.stop()
    print("%d peers matched, %d failed, %d skipped%s" % (
        len(ran), len(failed), len(skipped),
        (" (install: %s)" % " ".join(sorted({p for _, ps in skipped for p in ps})))
        if skipped else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
