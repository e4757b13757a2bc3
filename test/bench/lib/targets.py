# SPDX-License-Identifier: MIT
"""The servers the benchmark measures: how each is started (same number of
worker processes for all), where it listens, its processes (for RSS), its
version. Every process runs in its own session and is killed as a group."""
import os
import re
import signal
import socket
import subprocess
import time

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PEERS = os.path.join(HERE, "peers")
SYS_PY = "/usr/bin/python3"
NGINX = "/usr/sbin/nginx"
UWSGI_PARAMS = "/etc/nginx/uwsgi_params"
PG_BIN = "/usr/lib/postgresql/15/bin"

QUIVER_POOL = 2       # database connections per quiver worker (its default)
PEER_POOL = 4         # asyncpg pool per aiohttp process; threads per gthread worker
GTHREADS = 4


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("exited with status %s before listening" % proc.returncode)
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("nothing listening on port %d after %ds" % (port, timeout))


def wait_path(path, proc, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("exited with status %s before listening" % proc.returncode)
        if os.path.exists(path):
            return
        time.sleep(0.05)
    raise RuntimeError("no socket at %s after %ds" % (path, timeout))


def descendants(pid):
    """pid and every process below it."""
    children = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(d))
            except (OSError, ValueError, IndexError):
                pass
    out, stack = [], [pid]
    while stack:
        p = stack.pop()
        out.append(p)
        stack.extend(children.get(p, []))
    return out


def rss_kib(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            m = re.search(r"VmRSS:\s+(\d+)", f.read())
            return int(m.group(1)) if m else 0
    except OSError:
        return 0


def cpu_seconds(pids):
    """(user, system) CPU time of these processes, in seconds."""
    user = system = 0
    for pid in pids:
        try:
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            user += int(fields[11])
            system += int(fields[12])
        except (OSError, ValueError, IndexError):
            pass
    tick = os.sysconf("SC_CLK_TCK")
    return user / tick, system / tick


def run_out(argv):
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        return (p.stdout + p.stderr).strip().splitlines()[0] if (p.stdout + p.stderr).strip() else "?"
    except (OSError, subprocess.TimeoutExpired):
        return "?"


def pss_kib(pid):
    """Proportional set size: shared pages (binary, libraries) split among their users."""
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            m = re.search(r"^Pss:\s+(\d+)", f.read(), re.M)
            return int(m.group(1)) if m else 0
    except OSError:
        return 0


class Proc:
    """One server process tree with its output in a log file."""

    def __init__(self, argv, log, env=None, cwd=None):
        self.log_path = log
        self.log = open(log, "wb")
        self.argv = argv
        self.p = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT, env=env, cwd=cwd,
                                  start_new_session=True)

    def stop(self, sig=signal.SIGTERM, timeout=10):
        if self.p.poll() is None:
            try:
                self.p.send_signal(sig)
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.p.pid, signal.SIGKILL)  # stragglers (workers) too
        except ProcessLookupError:
            pass
        if self.p.poll() is None:
            self.p.wait(5)
        self.log.close()

    def tail(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read()[-2000:].decode("utf-8", "replace")
        except OSError:
            return ""


def nginx_conf(tmp, workers, port, body):
    """A private Nginx: own prefix under tmp, loopback only, in the foreground."""
    prefix = os.path.join(tmp, "nginx")
    os.makedirs(os.path.join(prefix, "temp"), exist_ok=True)
    user = "user root;\n" if os.geteuid() == 0 else ""
    conf = os.path.join(prefix, "nginx.conf")
    with open(conf, "w") as f:
        f.write("""%sdaemon off;
master_process on;
worker_processes %d;
pid %s/nginx.pid;
error_log %s/error.log warn;
events { worker_connections 8192; }
http {
    access_log off;
    keepalive_requests 100000000;
    client_body_temp_path %s/temp/client;
    proxy_temp_path %s/temp/proxy;
    fastcgi_temp_path %s/temp/fastcgi;
    uwsgi_temp_path %s/temp/uwsgi;
    scgi_temp_path %s/temp/scgi;
    server {
        listen 127.0.0.1:%d backlog=4096 reuseport;
%s
    }
}
""" % (user, workers, prefix, prefix, prefix, prefix, prefix, prefix, prefix, port, body))
    return prefix, conf


class Target:
    """Base: `procs` are the app server's processes (RSS); `front` the Nginx in front, if any."""
    name = "?"
    kind = "peer"            # quiver | peer | ceiling
    database = True          # serves the database tests
    describe = ""

    def __init__(self, ctx):
        self.ctx, self.workers, self.port = ctx, ctx["workers"], free_port()
        self.tmp = os.path.join(ctx["tmp"], self.name)
        os.makedirs(self.tmp, exist_ok=True)
        self.app = None
        self.front = None

    def env(self):
        e = dict(os.environ)
        e["DATABASE_URL"] = self.ctx["database_url"]
        return e

    def start_front(self, location):
        prefix, conf = nginx_conf(self.tmp, self.workers, self.port, location)
        self.front = Proc([NGINX, "-p", prefix + "/", "-c", conf, "-e", prefix + "/error.log"],
                          os.path.join(self.tmp, "nginx.log"))
        wait_port(self.port, self.front.p)

    def stop(self):
        if self.front:
            self.front.stop(signal.SIGQUIT)
        if self.app:
            self.app.stop(signal.SIGTERM if not isinstance(self, NginxCeiling) else signal.SIGQUIT)

    def rss(self):
        """(total RSS KiB of the app server's processes, largest worker's RSS KiB, process count,
        largest worker's PSS KiB)."""
        root = self.app.p.pid
        pids = descendants(root)
        sizes = {p: rss_kib(p) for p in pids}
        workers = [p for p in pids if p != root] or pids
        big = max(workers, key=lambda p: sizes[p])
        return sum(sizes.values()), sizes[big], len(pids), pss_kib(big)

    def cpu(self):
        """CPU seconds used so far: (app user, app system, Nginx in front user + system)."""
        front = sum(cpu_seconds(descendants(self.front.p.pid))) if self.front else 0.0
        return cpu_seconds(descendants(self.app.p.pid)) + (front,)

    def logs(self):
        return "\n".join(p.tail() for p in (self.app, self.front) if p)


class Quiver(Target):
    name, kind = "quiver", "quiver"
    describe = "quiver, HTTP/1.1 straight to its workers (bench app, pipelined libpq pool of %d)" % QUIVER_POOL
    listen, behind = "http", False

    def start(self):
        build = self.ctx["build"]
        cfg = os.path.join(self.tmp, "quiver.yaml")
        if self.listen == "http":
            self.qport = self.port if not self.behind else free_port()
            listener = "  - {address: '127.0.0.1:%d', protocol: http, backlog: 4096}\n" % self.qport
        else:
            self.sock = os.path.join(self.tmp, "quiver.sock")
            listener = "  - {address: 'unix:%s', protocol: uwsgi, mode: '0660', backlog: 4096}\n" % self.sock
        with open(cfg, "w") as f:
            f.write("workers: %d\nlisten:\n%sapps:\n  - name: bench\n    plugin: %s\n"
                    "log: {level: warning}\nallow_root: true\nmax_connections: 10000\n"
                    "database: {url: '%s', pool: %d}\n"
                    % (self.workers, listener, os.path.join(build, "apps/bench/bench.so"),
                       self.ctx["database_url"], QUIVER_POOL))
        self.app = Proc([os.path.join(build, "server/quiver"), "--config", cfg],
                        os.path.join(self.tmp, "quiver.log"))
        if self.listen == "http":
            wait_port(self.qport, self.app.p)
        else:
            wait_path(self.sock, self.app.p)
        if self.behind:
            self.start_front(self.location())

    def version(self):
        return run_out([os.path.join(self.ctx["build"], "server/quiver"), "--version"])


class QuiverNginxUwsgi(Quiver):
    name = "quiver-nginx-uwsgi"
    describe = "Nginx `uwsgi_pass` over a unix socket to quiver's uwsgi listener (stock uwsgi_params)"
    listen, behind = "uwsgi", True

    def location(self):
        return ("        location / { include %s; uwsgi_pass unix:%s; }" % (UWSGI_PARAMS, self.sock))

    def version(self):
        return Quiver.version(self) + " behind " + run_out([NGINX, "-v"])


class QuiverNginxHttp(Quiver):
    name = "quiver-nginx-http"
    describe = "Nginx `proxy_pass` HTTP/1.1 with an upstream keepalive pool to quiver"
    listen, behind = "http", True

    def location(self):
        return ("        location / { proxy_pass http://backend; proxy_http_version 1.1;\n"
                "            proxy_set_header Connection \"\"; proxy_set_header Host $host; }\n"
                "    }\n    upstream backend { server 127.0.0.1:%d; keepalive 256;"
                " keepalive_timeout 4s; keepalive_requests 100000;" % self.qport)

    def version(self):
        return Quiver.version(self) + " behind " + run_out([NGINX, "-v"])


class GunicornSync(Target):
    name = "gunicorn-sync"
    describe = "Gunicorn sync workers, WSGI app + psycopg2 (one request at a time per process)"
    worker_args = ["-k", "sync"]

    def start(self):
        self.app = Proc([SYS_PY, "-m", "gunicorn", "-w", str(self.workers)] + self.worker_args +
                        ["-b", "127.0.0.1:%d" % self.port, "--backlog", "4096", "--chdir", PEERS,
                         "wsgi_app:application"], os.path.join(self.tmp, "gunicorn.log"), env=self.env())
        wait_port(self.port, self.app.p)

    def version(self):
        return "gunicorn " + run_out([SYS_PY, "-c", "import gunicorn; print(gunicorn.__version__)"]) + \
            ", psycopg2 " + run_out([SYS_PY, "-c", "import psycopg2; print(psycopg2.__version__)"])


class GunicornGthread(GunicornSync):
    name = "gunicorn-gthread"
    describe = "Gunicorn gthread workers (%d threads, a psycopg2 connection per thread)" % GTHREADS
    worker_args = ["-k", "gthread", "--threads", str(GTHREADS)]


UWSGI_COMMON = ["--plugin", "python3", "--master", "--need-app", "--die-on-term", "--disable-logging",
                "--chdir", PEERS, "--wsgi-file", "wsgi_app.py", "--listen", "4096"]


class Uwsgi(Target):
    name = "uwsgi"
    describe = ("uWSGI (python3 plugin) direct on its `--http-socket`, which closes after each "
                "answer (sent with `Connection: close`); keep-alive (`--http11-socket`) lets one "
                "process serve one client at a time while the other connections starve")

    def start(self):
        self.app = Proc(["uwsgi", "--processes", str(self.workers), "--http-socket",
                         "127.0.0.1:%d" % self.port, "--add-header", "Connection: close"] + UWSGI_COMMON,
                        os.path.join(self.tmp, "uwsgi.log"), env=self.env())
        wait_port(self.port, self.app.p)

    def version(self):
        return "uWSGI " + run_out(["uwsgi", "--version"]) + ", psycopg2 " + \
            run_out([SYS_PY, "-c", "import psycopg2; print(psycopg2.__version__)"])


class UwsgiNginx(Uwsgi):
    name = "uwsgi-nginx"
    describe = "Nginx `uwsgi_pass` over a unix socket to uWSGI (python3 plugin), same Nginx site as quiver's"

    def start(self):
        self.sock = os.path.join(self.tmp, "uwsgi.sock")
        self.app = Proc(["uwsgi", "--processes", str(self.workers), "--uwsgi-socket", self.sock,
                         "--chmod-socket=660"] + UWSGI_COMMON,
                        os.path.join(self.tmp, "uwsgi.log"), env=self.env())
        wait_path(self.sock, self.app.p)
        self.start_front("        location / { include %s; uwsgi_pass unix:%s; }" % (UWSGI_PARAMS, self.sock))


class Aiohttp(Target):
    name = "aiohttp"
    describe = "aiohttp + asyncpg (pool of %d per process) + uvloop" % PEER_POOL

    def start(self):
        self.app = Proc([SYS_PY, os.path.join(PEERS, "aiohttp_app.py"), "--port", str(self.port),
                         "--workers", str(self.workers), "--pool", str(PEER_POOL)],
                        os.path.join(self.tmp, "aiohttp.log"), env=self.env())
        wait_port(self.port, self.app.p)

    def version(self):
        return run_out([SYS_PY, "-c", "import aiohttp, asyncpg, uvloop; print('aiohttp', aiohttp.__version__, "
                        "'asyncpg', asyncpg.__version__, 'uvloop', uvloop.__version__)"])


class NginxCeiling(Target):
    name, kind, database = "nginx", "ceiling", False
    describe = "Nginx `return 200` with the same bodies: the ceiling for plaintext and json"

    def start(self):
        prefix, conf = nginx_conf(self.tmp, self.workers, self.port,
                                  "        location = /plaintext { default_type text/plain; "
                                  "return 200 \"Hello, World!\"; }\n"
                                  "        location = /json { default_type application/json; "
                                  "return 200 '{\"message\":\"Hello, World!\"}'; }")
        self.app = Proc([NGINX, "-p", prefix + "/", "-c", conf, "-e", prefix + "/error.log"],
                        os.path.join(self.tmp, "nginx.log"))
        wait_port(self.port, self.app.p)

    def version(self):
        return run_out([NGINX, "-v"])


# pgbench is not a server: run by load.run_pgbench, listed here for --targets.
SERVERS = [Quiver, QuiverNginxUwsgi, QuiverNginxHttp, GunicornSync, GunicornGthread, Uwsgi, UwsgiNginx,
           Aiohttp, NginxCeiling]
BY_NAME = {t.name: t for t in SERVERS}
ALL = [t.name for t in SERVERS] + ["pgbench"]
PEER_NAMES = [t.name for t in SERVERS if t.kind == "peer"]
DESCRIBE = dict({t.name: t.describe for t in SERVERS},
                pgbench="pgbench, the same statements over workers x %d connections "
                        "(queries: 20 SELECTs in one pipeline): the ceiling for db and queries" % QUIVER_POOL)
