# SPDX-License-Identifier: MIT
"""A private Nginx for the integration tests: its own prefix, config, pid,
logs and temp dirs under the test's tmp dir, loopback only, run in the
foreground (`daemon off`) in its own process group so a test can always kill
it. Also speaks raw uwsgi for tests that talk to quiver's uwsgi socket
directly. Standard library only.
"""
import os
import signal
import socket
import struct
import subprocess
import time

NGINX = os.environ.get("QUIVER_NGINX_BIN", "/usr/sbin/nginx")
# Debian's stock file, included by absolute path so the test checks the
# params a packaged Nginx really sends (REQUEST_URI, REMOTE_ADDR, HTTP_HOST...).
UWSGI_PARAMS = os.environ.get("QUIVER_NGINX_UWSGI_PARAMS", "/etc/nginx/uwsgi_params")


def require():
    """Raises with the install hint when Nginx or its uwsgi_params are missing."""
    for path in (NGINX, UWSGI_PARAMS):
        if not os.path.exists(path):
            raise AssertionError("%s not found: install Debian's nginx-light "
                                 "(packaging/dev deps installs it)" % path)


class Nginx:
    """One Nginx master (plus its workers) running `http_block` inside
    `http { }`. The config may use {tmp} for the test's directory."""

    def __init__(self, tmp, http_block, workers=1, wait_ports=(), timeout=10, name="nginx"):
        require()
        self.tmp = tmp
        self.prefix = os.path.join(tmp, name)
        for sub in ("", "logs", "temp"):
            os.makedirs(os.path.join(self.prefix, sub), exist_ok=True)
        self.conf = os.path.join(self.prefix, "nginx.conf")
        self.error_log = os.path.join(self.prefix, "logs", "error.log")
        self.access_log = os.path.join(self.prefix, "logs", "access.log")
        temp = os.path.join(self.prefix, "temp")
        # Workers run as the current user: `user` is only honoured (and only
        # needed) when the master is root, where it would otherwise switch
        # to nobody, who cannot reach the test's 0660 socket.
        user = "user root;\n" if os.geteuid() == 0 else ""
        text = f"""
{user}daemon off;
master_process on;
worker_processes {workers};
pid {self.prefix}/nginx.pid;
error_log {self.error_log} info;
events {{ worker_connections 1024; }}
http {{
    access_log {self.access_log};
    client_body_temp_path {temp}/client_body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
{http_block}
}}
"""
        with open(self.conf, "w") as f:
            f.write(text)
        self.log = open(os.path.join(self.prefix, "logs", "stderr.log"), "wb")
        # -e: the startup error log, before the config's error_log applies
        # (Debian's default /var/log/nginx/error.log may not be writable).
        self.proc = subprocess.Popen([NGINX, "-p", self.prefix + "/", "-c", self.conf,
                                      "-e", self.error_log],
                                     stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        try:
            self._wait_ports(wait_ports, timeout)
        except BaseException:
            self.kill()
            raise

    def _wait_ports(self, ports, timeout):
        deadline = time.time() + timeout
        pending = list(ports)
        while pending:
            if self.proc.poll() is not None:
                raise AssertionError("nginx exited (%s):\n%s"
                                     % (self.proc.returncode, self.errors()))
            if time.time() > deadline:
                raise AssertionError("nginx not listening in %ss:\n%s" % (timeout, self.errors()))
            try:
                socket.create_connection(("127.0.0.1", pending[0]), timeout=0.5).close()
                pending.pop(0)
            except OSError:
                time.sleep(0.02)

    def errors(self):
        out = []
        for path in (self.error_log, os.path.join(self.prefix, "logs", "stderr.log")):
            try:
                with open(path, "rb") as f:
                    out.append(f.read().decode("utf-8", "replace"))
            except OSError:
                pass
        return "\n".join(out)

    def alerts(self):
        """error.log lines at [error] or worse (upstream failures and the like)."""
        return [line for line in self.errors().splitlines()
                if any(" [%s] " % lvl in line for lvl in ("error", "crit", "alert", "emerg"))]

    def stop(self, timeout=10):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)  # graceful: finish requests
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                raise AssertionError("nginx did not stop in %ss" % timeout)
        self.log.close()

    def kill(self):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()
        if not self.log.closed:
            self.log.close()


# ---- raw uwsgi ---------------------------------------------------------------

def uwsgi_vars(pairs):
    """The vars block: {u16 LE key size, key, u16 LE value size, value}..."""
    out = b""
    for k, v in pairs:
        k = k.encode() if isinstance(k, str) else k
        v = v.encode() if isinstance(v, str) else v
        out += struct.pack("<H", len(k)) + k + struct.pack("<H", len(v)) + v
    return out


def uwsgi_packet(pairs, body=b"", datasize=None, modifier1=0):
    """A whole uwsgi request; `datasize` overrides the header's size field."""
    block = uwsgi_vars(pairs)
    size = len(block) if datasize is None else datasize
    return struct.pack("<BHB", modifier1, size, 0) + block + body


def uwsgi_request_vars(method="GET", uri="/", body=b"", extra=(), content_length=None):
    """What Nginx's stock uwsgi_params send for a simple request."""
    path, _, query = uri.partition("?")
    if content_length is None:
        content_length = str(len(body)) if body else ""
    pairs = [("QUERY_STRING", query), ("REQUEST_METHOD", method),
             ("CONTENT_TYPE", ""), ("CONTENT_LENGTH", content_length),
             ("REQUEST_URI", uri), ("PATH_INFO", path), ("SERVER_PROTOCOL", "HTTP/1.1"),
             ("REQUEST_SCHEME", "http"), ("REMOTE_ADDR", "127.0.0.1"), ("REMOTE_PORT", "40000"),
             ("SERVER_PORT", "80"), ("SERVER_NAME", "t"), ("HTTP_HOST", "t")]
    return pairs + list(extra)


def uwsgi_send(sock_path, raw, timeout=5.0, shut_write=True):
    """Sends `raw` to a unix uwsgi socket and returns everything the server
    wrote before it closed (b"" when it closed without a reply)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(sock_path)
        try:
            s.sendall(raw)
            if shut_write:
                s.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass  # closed before it read everything: what it wrote is still there
        data = b""
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            data += chunk
        return data
    finally:
        s.close()
