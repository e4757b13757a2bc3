# SPDX-License-Identifier: MIT
"""Integration-test harness: starts the real quiver with an inline YAML
config, talks to it over real sockets, and stops it. Standard library only.

Each test file calls `main(globals())`, which runs every function named
test_* with a fresh temporary directory and prints one line per test.
Environment (set by meson): QUIVER_BIN, QUIVER_BUILD_ROOT, QUIVER_SOURCE_ROOT.
"""
import atexit
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import textwrap
import time
import traceback

BIN = os.environ.get("QUIVER_BIN", "build/server/quiver")
BUILD = os.environ.get("QUIVER_BUILD_ROOT", "build")
SOURCE = os.environ.get("QUIVER_SOURCE_ROOT", ".")


def plugin(name):
    """Path of an app (apps/NAME) or a test plugin (test/plugins/NAME)."""
    for sub in ("apps", "test/plugins"):
        p = os.path.join(BUILD, sub, name, name + ".so")
        if os.path.exists(p):
            return os.path.abspath(p)
    p = os.path.join(BUILD, "test", "plugins", name + ".so")
    if os.path.exists(p):
        return os.path.abspath(p)
    raise FileNotFoundError("plugin %s not built" % name)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# Servers started and not yet stopped: killed (with their workers) if the test
# process itself is stopped, e.g. by meson's timeout, so none outlives its test.
LIVE = set()


def kill_live_servers():
    for srv in list(LIVE):
        srv.kill()


class Server:
    """One quiver master with its workers."""

    def __init__(self, tmp, yaml_text, args=(), env=None, wait=True, port=None):
        self.tmp = tmp
        self.port = port
        self.config = os.path.join(tmp, "quiver.yaml")
        with open(self.config, "w") as f:
            f.write(textwrap.dedent(yaml_text))
        self.log_path = os.path.join(tmp, "server.log")
        self.log = open(self.log_path, "wb")
        e = dict(os.environ)
        e.pop("JOURNAL_STREAM", None)
        if env:
            e.update(env)
        self.proc = subprocess.Popen([BIN, "--config", self.config, *args], stdout=self.log,
                                     stderr=subprocess.STDOUT, env=e, start_new_session=True)
        LIVE.add(self)
        if wait:
            self.wait_ready()

    def output(self):
        self.log.flush()
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def wait_ready(self, timeout=15):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("quiver exited early (%s):\n%s" % (self.proc.returncode, self.output()))
            if "ready:" in self.output():
                return
            time.sleep(0.02)
        raise AssertionError("quiver not ready in %ss:\n%s" % (timeout, self.output()))

    def wait_log(self, pattern, timeout=10, start=0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            out = self.output()[start:]
            if re.search(pattern, out):
                return out
            time.sleep(0.02)
        raise AssertionError("log never matched %r:\n%s" % (pattern, self.output()))

    def send_signal(self, sig):
        self.proc.send_signal(sig)

    def worker_pids(self):
        """Pids of this master's live worker processes (from /proc; a
        killed worker not yet reaped is left out)."""
        pids = []
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % d) as f:
                    stat = f.read()
                fields = stat.rsplit(")", 1)[1].split()
                if int(fields[1]) == self.proc.pid and fields[0] not in ("Z", "X"):
                    pids.append(int(d))
            except (OSError, IndexError, ValueError):
                pass
        return sorted(pids)

    def stop(self, sig=signal.SIGTERM, timeout=20):
        LIVE.discard(self)
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
                raise AssertionError("quiver did not stop in %ss:\n%s" % (timeout, self.output()))
        self.log.close()
        return self.proc.returncode

    def kill(self):
        LIVE.discard(self)
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()


def connect(port, timeout=5.0, host="127.0.0.1"):
    s = socket.create_connection((host, port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


class Response:
    def __init__(self, status, reason, headers, body, version):
        self.status = status
        self.reason = reason
        self.headers = headers          # list of (name, value)
        self.body = body
        self.version = version

    def header(self, name, default=None):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return default

    def __repr__(self):
        return "<Response %d %r %r>" % (self.status, self.headers, self.body[:200])


class Reader:
    """Reads HTTP/1.1 responses from a socket, keeping extra bytes."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError("connection closed by server")
        self.buf += chunk

    def _line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exact(self, n):
        while len(self.buf) < n:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def read(self, head=False):
        status_line = self._line().decode("latin-1")
        version, status, reason = (status_line.split(" ", 2) + [""])[:3]
        headers = []
        while True:
            line = self._line()
            if not line:
                break
            k, v = line.decode("latin-1").split(":", 1)
            headers.append((k, v.strip()))
        r = Response(int(status), reason, headers, b"", version)
        if head or r.status in (204, 304) or 100 <= r.status < 200:
            return r
        te = r.header("Transfer-Encoding")
        cl = r.header("Content-Length")
        if te and "chunked" in te.lower():
            body = b""
            while True:
                size = int(self._line().split(b";")[0], 16)
                if size == 0:
                    while self._line():
                        pass
                    break
                body += self._exact(size)
                assert self._exact(2) == b"\r\n"
            r.body = body
        elif cl is not None:
            r.body = self._exact(int(cl))
        else:
            try:
                while True:
                    self._fill()
            except EOFError:
                pass
            r.body, self.buf = self.buf, b""
        return r

    def closed(self, timeout=3.0):
        """True when the server closes the connection (EOF or reset) within timeout."""
        self.sock.settimeout(timeout)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
                self.buf += chunk
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False


def request(port, raw, timeout=5.0, head=False):
    """Sends raw bytes on a new connection and returns the first response."""
    s = connect(port, timeout)
    try:
        s.sendall(raw)
        return Reader(s).read(head=head)
    finally:
        s.close()


def get(port, path, headers=(), timeout=5.0):
    h = "".join("%s: %s\r\n" % kv for kv in headers)
    raw = ("GET %s HTTP/1.1\r\nHost: t\r\n%sConnection: close\r\n\r\n" % (path, h)).encode()
    return request(port, raw, timeout)


class Load:
    """Keep-alive HTTP clients in threads, counting answers and failures."""

    def __init__(self, port, path="/plaintext", clients=8):
        self.port, self.path = port, path
        self.ok = 0
        self.fail = 0
        self.statuses = {}
        self.last_body = b""
        self.stop = False
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run, daemon=True) for _ in range(clients)]
        for t in self.threads:
            t.start()

    def run(self):
        s = None
        while not self.stop:
            try:
                if s is None:
                    s = connect(self.port, 2)
                    rd = Reader(s)
                s.sendall(b"GET %s HTTP/1.1\r\nHost: t\r\n\r\n" % self.path.encode())
                r = rd.read()
                with self.lock:
                    self.statuses[r.status] = self.statuses.get(r.status, 0) + 1
                    self.last_body = r.body
                    if r.status == 200:
                        self.ok += 1
                    else:
                        self.fail += 1
                if r.header("Connection", "").lower() == "close":
                    s.close()
                    s = None
            except (OSError, EOFError):
                with self.lock:
                    self.fail += 1
                if s:
                    s.close()
                s = None
                time.sleep(0.01)

    def finish(self):
        self.stop = True
        for t in self.threads:
            t.join(5)



WRK_REPORT = """
done = function(summary, latency, requests)
  io.write(string.format("JSON {\\"requests\\": %d, \\"non2xx\\": %d, \\"connect\\": %d, \\"read\\": %d, "
    .. "\\"write\\": %d, \\"timeout\\": %d}\\n", summary.requests, summary.errors.status,
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout))
end
"""


def wrk_start(tmp, url, connections=64, seconds=20, threads=1):
    """Starts wrk in the background; wrk_result() collects its counts."""
    import json as _json  # noqa: F401
    script = os.path.join(tmp, "report.lua")
    with open(script, "w") as f:
        f.write(WRK_REPORT)
    return subprocess.Popen(["wrk", "-t%d" % threads, "-c%d" % connections, "-d%ds" % seconds, "--timeout", "5s",
                             "-s", script, url], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wrk_result(proc, timeout=60):
    import json as _json
    out, _ = proc.communicate(timeout=timeout)
    m = re.search(r"^JSON (.*)$", out, re.M)
    if not m:
        raise AssertionError("wrk failed:\n" + out)
    return _json.loads(m.group(1))


def check(cond, msg="check failed"):
    if not cond:
        raise AssertionError(msg)


def eq(a, b, what=""):
    if a != b:
        raise AssertionError("%s: expected %r, got %r" % (what or "value", b, a))


def main(namespace):
    """Runs every test_* function in the module; prints one line each."""
    only = sys.argv[1:]
    atexit.register(kill_live_servers)

    def stopped(signum, _frame):
        kill_live_servers()
        print("stopped by signal %d: servers killed" % signum, flush=True)
        os._exit(1)

    signal.signal(signal.SIGTERM, stopped)
    signal.signal(signal.SIGINT, stopped)
    tests = [(n, f) for n, f in sorted(namespace.items()) if n.startswith("test_") and callable(f)]
    tests = [(n, f) for n, f in tests if not only or n in only]
    failed = 0
    for name, fn in tests:
        with tempfile.TemporaryDirectory(prefix="quiver-it-") as tmp:
            t0 = time.time()
            try:
                fn(tmp)
                print("ok   %-45s %.2fs" % (name, time.time() - t0), flush=True)
            except Exception:
                failed += 1
                print("FAIL %-45s %.2fs" % (name, time.time() - t0), flush=True)
                traceback.print_exc()
                sys.stdout.flush()
    print("%d passed, %d failed" % (len(tests) - failed, failed))
    sys.exit(1 if failed else 0)
