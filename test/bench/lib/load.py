# SPDX-License-Identifier: MIT
"""The load runs: wrk for the TechEmpower tests, openloop (test/bench/openloop.cpp)
for the production rounds and the -openloop variants of plaintext and json,
pgbench for the database ceilings. Each run is bounded (its duration plus a
fixed grace, then killed) and returns one dict, with the CPU time the load
generator itself used (`cpu_gen_s`)."""
import json
import os
import re
import resource
import subprocess
import time

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SQL = os.path.join(HERE, "sql")
PGBENCH = "/usr/lib/postgresql/15/bin/pgbench"
GRACE = 30  # seconds past a run's duration before it is killed

# TechEmpower test types: path, pipelining depth, what a right answer contains.
TESTS = {
    "plaintext": {"path": "/plaintext", "pipeline": 1, "expect": b"Hello, World!"},
    "plaintext-pipelined": {"path": "/plaintext", "pipeline": 16, "expect": b"Hello, World!"},
    "json": {"path": "/json", "pipeline": 1, "expect": b'{"message":"Hello, World!"}'},
    # The same requests from openloop in closed loop. On a small machine wrk, which costs more
    # CPU per request than the servers it measures (an epoll_ctl pair per request), is the
    # bottleneck and every fast server looks alike; openloop costs less, so the server is.
    # Only quiver and its ceiling run them: the Python peers are their own bottleneck.
    "plaintext-openloop": {"path": "/plaintext", "tool": "openloop", "only": ("quiver", "nginx"),
                           "expect": b"Hello, World!"},
    "json-openloop": {"path": "/json", "tool": "openloop", "only": ("quiver", "nginx"),
                      "expect": b'{"message":"Hello, World!"}'},
    "db": {"path": "/db", "db": True, "expect": b'"randomNumber"', "pgbench": "db.sql"},
    "queries": {"path": "/queries?queries=20", "db": True, "expect": b'"randomNumber"',
                "pgbench": "queries20.sql"},
    "fortunes": {"path": "/fortunes", "db": True, "expect": b"Additional fortune added at request time."},
    "updates": {"path": "/updates?queries=20", "db": True, "expect": b'"randomNumber"'},
    "agents": {"path": "/agents", "db": True, "expect": b'"number"'},
}
# Production rounds on the database endpoint: open loop at a fixed rate (latency from the
# scheduled send time), or closed loop (rate 0) as fast as the connections allow.
ROUNDS = {
    "rate-4000": {"path": "/db", "rate": 4000, "connections": 64, "db": True,
                  "what": "constant 4,000 req/s on /db (open loop, 64 connections)"},
    "max-50": {"path": "/db", "rate": 0, "connections": 50, "db": True,
               "what": "50 connections as fast as possible on /db (closed loop)"},
    "rate-10": {"path": "/db", "rate": 10, "connections": 10, "db": True,
                "what": "constant 10 req/s on /db (open loop, 10 connections)"},
}
for _n, _t in list(TESTS.items()) + list(ROUNDS.items()):
    _t.setdefault("pipeline", 1)
    _t.setdefault("db", False)
    _t.setdefault("tool", "wrk")

# Pipelined runs build one request of `depth` requests; unpipelined runs define no request
# function, so wrk sends its static request without calling Lua per request.
PIPELINE_LUA = """
init = function(args)
  local depth = tonumber(args[1]) or 1
  local r = {}
  for i = 1, depth do r[i] = wrk.format() end
  req = table.concat(r)
end
request = function() return req end
"""
DONE_LUA = """
done = function(summary, latency, requests)
  io.write(string.format("JSON {\\"requests\\": %d, \\"non2xx\\": %d, \\"connect_errors\\": %d, "
    .. "\\"read_errors\\": %d, \\"write_errors\\": %d, \\"timeouts\\": %d, \\"duration_us\\": %d, "
    .. "\\"p50\\": %d, \\"p90\\": %d, \\"p99\\": %d, \\"p99.9\\": %d, \\"max\\": %d}\\n",
    summary.requests, summary.errors.status, summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.timeout, summary.duration,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max))
end
"""


class Sampler:
    """Largest RSS of a target seen while a load runs (sampled every 0.5 s)."""

    def __init__(self, target):
        self.target, self.peak, self.gen_cpu = target, (0, 0, 0, 0), 0.0

    def sample(self):
        if self.target is not None:
            r = self.target.rss()
            if r[0] > self.peak[0]:
                self.peak = r


def children_cpu():
    u = resource.getrusage(resource.RUSAGE_CHILDREN)
    return u.ru_utime + u.ru_stime


def bounded(cmd, duration, sampler):
    """Runs cmd, sampling RSS, killed after duration + GRACE. Returns (rc, stdout, stderr);
    the CPU time cmd used is left in sampler.gen_cpu."""
    before = children_cpu()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + duration + GRACE
    start = time.time()
    while p.poll() is None and time.time() < deadline:
        time.sleep(0.5)
        if time.time() - start > min(1.0, duration / 3):
            sampler.sample()
    if p.poll() is None:
        p.kill()
        out, err = p.communicate()
        sampler.gen_cpu = children_cpu() - before
        return -9, out, err + "\nkilled after %ds" % (duration + GRACE)
    out, err = p.communicate()
    sampler.gen_cpu = children_cpu() - before
    return p.returncode, out, err


WARM_UP = 2  # seconds of unmeasured load on each target before its first run


def warm_up(wrk, port, test, connections):
    cmd = [wrk, "-t1", "-c%d" % connections, "-d%ds" % WARM_UP, "--timeout", "5s",
           "http://127.0.0.1:%d%s" % (port, TESTS[test]["path"])]
    bounded(cmd, WARM_UP, Sampler(None))


def run_wrk(wrk, port, test, connections, threads, duration, tmp, sampler):
    spec = TESTS[test]
    script = os.path.join(tmp, "bench.lua")
    with open(script, "w") as f:
        f.write((PIPELINE_LUA if spec["pipeline"] > 1 else "") + DONE_LUA)
    cmd = [wrk, "-t%d" % threads, "-c%d" % connections, "-d%ds" % duration, "--timeout", "5s",
           "-H", "Connection: keep-alive", "-s", script, "http://127.0.0.1:%d%s" % (port, spec["path"]),
           "--", str(spec["pipeline"])]
    rc, out, err = bounded(cmd, duration, sampler)
    m = re.search(r"^JSON (.*)$", out, re.M)
    if not m:
        raise RuntimeError("wrk failed (%s): %s %s" % (rc, out[-500:], err[-500:]))
    r = json.loads(m.group(1))
    lat = {k: r.pop(k) for k in ("p50", "p90", "p99", "p99.9", "max")}
    r["rps"] = r["requests"] / (r.pop("duration_us") / 1e6)
    r["errors"] = r["connect_errors"] + r["read_errors"] + r["write_errors"] + r["timeouts"]
    r["latency_us"] = lat
    r["tool"] = "wrk"
    r["command"] = " ".join(cmd).replace(script, "bench.lua")
    r["cpu_gen_s"] = sampler.gen_cpu
    return r


def run_openloop_test(openloop, port, test, connections, duration, sampler):
    """A TechEmpower test from openloop in closed loop (each connection sends its next request
    when the answer is in), for the -openloop variants."""
    spec = TESTS[test]
    cmd = [openloop, "--url", "http://127.0.0.1:%d%s" % (port, spec["path"]), "--rate", "0",
           "--connections", str(connections), "--duration", str(duration), "--timeout", "5"]
    return _openloop(cmd, duration, sampler)


def run_openloop(openloop, port, name, duration, sampler):
    spec = ROUNDS[name]
    cmd = [openloop, "--url", "http://127.0.0.1:%d%s" % (port, spec["path"]), "--rate", str(spec["rate"]),
           "--connections", str(spec["connections"]), "--duration", str(duration), "--timeout", "5"]
    return _openloop(cmd, duration, sampler)


def _openloop(cmd, duration, sampler):
    rc, out, err = bounded(cmd, duration + 5, sampler)
    try:
        r = json.loads(out.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise RuntimeError("openloop failed (%s): %s %s" % (rc, out[-500:], err[-500:]))
    r["errors"] = r["connect_errors"] + r["read_errors"] + r["timeouts"] + r["unsent"]
    r["tool"] = "openloop"
    r["command"] = " ".join(cmd)
    r["cpu_gen_s"] = sampler.gen_cpu
    return r


def run_pgbench(url, test, connections, duration):
    """The database's ceiling: the test's statements straight from pgbench."""
    script = os.path.join(SQL, TESTS[test]["pgbench"])
    cmd = [PGBENCH, "-n", "-M", "prepared", "-f", script, "-c", str(connections),
           "-j", str(min(connections, 2)), "-T", str(duration), url]
    sampler = Sampler(None)
    rc, out, err = bounded(cmd, duration, sampler)
    m = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", out)
    if not m:
        raise RuntimeError("pgbench failed (%s): %s %s" % (rc, out[-500:], err[-500:]))
    lat = re.search(r"latency average = ([0-9.]+) ms", out)
    failed = re.search(r"number of failed transactions: (\d+)", out)
    done = re.search(r"number of transactions actually processed: (\d+)", out)
    return {"rps": float(m.group(1)), "requests": int(done.group(1)) if done else 0,
            "errors": int(failed.group(1)) if failed else 0, "non2xx": 0,
            "latency_us": {"mean": float(lat.group(1)) * 1000 if lat else 0},
            "cpu_gen_s": sampler.gen_cpu,
            "tool": "pgbench", "command": " ".join(cmd[:-1]).replace(HERE + "/", "test/bench/") + " $DATABASE_URL"}
