#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""quiver's systemd protocols without a systemd PID 1: sd_notify datagrams
caught on a test socket (path and abstract), the watchdog, socket activation
through systemd-socket-activate, privilege drop, the refusal to run app
code as root, and journal-style log lines. test/integration/60-systemd-box.sh
runs the packaged units under a real systemd."""
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import threading
import time

from harness import (BIN, Reader, Server, check, connect, eq, free_port, get, main, plugin)

ACTIVATE = shutil.which("systemd-socket-activate") or "/usr/bin/systemd-socket-activate"


class NotifySocket:
    """A stand-in for systemd's notify socket: collects every datagram with
    its arrival time and the sender's pid (SCM_CREDENTIALS)."""

    def __init__(self, tmp, abstract=False):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        if abstract:
            name = "quiver-test-notify-%d-%d" % (os.getpid(), time.monotonic_ns())
            self.sock.bind("\0" + name)
            self.env_value = "@" + name
        else:
            path = os.path.join(tmp, "notify.sock")
            self.sock.bind(path)
            self.env_value = path
        self.sock.settimeout(0.1)
        self.messages = []          # (monotonic time, sender pid, {key: value}, raw text)
        self.lock = threading.Lock()
        self.stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        cred_size = socket.CMSG_SPACE(struct.calcsize("3i"))
        while not self.stop:
            try:
                data, anc, _, _ = self.sock.recvmsg(4096, cred_size)
            except socket.timeout:
                continue
            except OSError:
                return
            pid = 0
            for level, kind, payload in anc:
                if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                    pid = struct.unpack("3i", payload[:12])[0]
            text = data.decode("utf-8", "replace")
            fields = {}
            for line in text.split("\n"):
                if "=" in line:
                    k, v = line.split("=", 1)
                    fields[k] = v
            with self.lock:
                self.messages.append((time.monotonic(), pid, fields, text))

    def snapshot(self):
        with self.lock:
            return list(self.messages)

    def wait_for(self, key, value=None, timeout=15, start=0):
        """The first message from index `start` on that has key (= value);
        returns (index, message)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msgs = self.snapshot()
            for i in range(start, len(msgs)):
                f = msgs[i][2]
                if key in f and (value is None or f[key] == value):
                    return i, msgs[i]
            time.sleep(0.01)
        raise AssertionError("no %s%s notification in %ss; got %r" %
                             (key, "" if value is None else "=" + value, timeout,
                              [m[3] for m in self.snapshot()]))

    def close(self):
        self.stop = True
        self.thread.join(2)
        self.sock.close()


def control(config, command, timeout=30):
    p = subprocess.run([BIN, command, "--config", config], capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout + p.stderr


def worker_states(config):
    """{pid: state} from `quiver status`."""
    rc, out = control(config, "status")
    eq(rc, 0, "quiver status: " + out)
    states = {}
    for line in out.splitlines():
        m = re.match(r"^\d+\s+(\d+)\s+\d+\s+(\w+)\s", line)
        if m:
            states[int(m.group(1))] = m.group(2)
    return states


def proc_status(pid):
    with open("/proc/%d/status" % pid) as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def hello_config(port, tmp, workers=2, extra=""):
    return f"""
workers: {workers}
listen:
  - address: 127.0.0.1:{port}
apps:
  - name: hello
    plugin: {plugin('hello')}
control_socket: {tmp}/control.sock
timeouts: {{graceful: 5s}}
{extra}
"""


def uwsgi_packet(path, host="t"):
    """A GET as Nginx's uwsgi_pass sends it: modifier1 0, the vars block
    size (little endian), modifier2 0, then each var as 2-byte length + bytes."""
    env = {"REQUEST_METHOD": "GET", "REQUEST_URI": path, "PATH_INFO": path, "QUERY_STRING": "",
           "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1", "HTTP_HOST": host}
    body = b""
    for k, v in env.items():
        kb, vb = k.encode(), v.encode()
        body += struct.pack("<H", len(kb)) + kb + struct.pack("<H", len(vb)) + vb
    return struct.pack("<BHB", 0, len(body), 0) + body


def uwsgi_get(path, sock_path, timeout=10):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(sock_path)
        s.sendall(uwsgi_packet(path))
        return Reader(s).read()
    finally:
        s.close()


def refused(port):
    try:
        connect(port, 1).close()
        return False
    except ConnectionRefusedError:
        return True


class Blackhole:
    """A TCP listener that never accepts: libpq connects (the kernel
    completes the handshake) and then waits for an answer that never comes,
    so a worker's pool start takes database.connect_timeout."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]

    def close(self):
        self.sock.close()


# ---- (a) sd_notify ----------------------------------------------------------

def test_notify_ready_only_after_workers_ready(tmp):
    # Each worker's pool waits 2 s for a database that never answers: READY=1
    # must wait for the workers, not for the master's own start.
    hole = Blackhole()
    ns = NotifySocket(tmp)
    port = free_port()
    extra = ("database: {url: 'host=127.0.0.1 port=%d user=q dbname=q', pool: 1, connect_timeout: 2s}"
             % hole.port)
    t0 = time.monotonic()
    srv = Server(tmp, hello_config(port, tmp, extra=extra), env={"NOTIFY_SOCKET": ns.env_value}, wait=False)
    try:
        time.sleep(1.0)
        check(not any("READY" in m[2] for m in ns.snapshot()), "READY=1 before the workers were ready: %r"
              % [m[3] for m in ns.snapshot()])
        states = worker_states(srv.config)
        eq(sorted(states.values()), ["starting", "starting"], "workers at 1 s")
        _, (t_ready, pid, fields, text) = ns.wait_for("READY", "1", timeout=15)
        # At once: every worker is up and has said so.
        states = worker_states(srv.config)
        eq(sorted(states.values()), ["ready", "ready"], "workers when READY=1 arrived")
        eq(sorted(states), srv.worker_pids(), "the ready workers are the master's children")
        check(t_ready - t0 >= 1.9, "READY=1 after %.2f s, before the pools' 2 s" % (t_ready - t0))
        eq(pid, srv.proc.pid, "READY=1 sender")
        check(fields.get("STATUS", "").startswith("2 workers, generation 1"), "STATUS with READY: %r" % text)
        eq(get(port, "/plaintext").status, 200)
    finally:
        srv.stop()
        ns.close()
        hole.close()


def test_notify_reload_status_stopping_abstract_socket(tmp):
    ns = NotifySocket(tmp, abstract=True)
    port = free_port()
    srv = Server(tmp, hello_config(port, tmp), env={"NOTIFY_SOCKET": ns.env_value}, wait=False)
    try:
        i, _ = ns.wait_for("READY", "1")
        old_workers = srv.worker_pids()
        # STATUS= alone every 2 s while serving.
        j, (_, _, fields, text) = ns.wait_for("STATUS", start=i + 1, timeout=4)
        check("READY" not in fields and "generation 1" in fields["STATUS"], text)

        srv.send_signal(signal.SIGHUP)
        k, (t_rel, _, fields, text) = ns.wait_for("RELOADING", "1", start=j + 1)
        usec = int(fields.get("MONOTONIC_USEC", "-1"))
        # Same clock as ours (CLOCK_MONOTONIC), taken when the reload began.
        check(abs(usec / 1e6 - t_rel) < 1.0, "MONOTONIC_USEC=%d vs now %.3f" % (usec, t_rel))
        k, (_, _, fields, text) = ns.wait_for("READY", "1", start=k + 1)
        check("generation 2" in fields.get("STATUS", ""), "STATUS after the reload: %r" % text)
        fresh = set(srv.worker_pids()) - set(old_workers)
        eq(len(fresh), 2, "new generation's workers running at READY=1")

        # A refused reload also ends with READY=1: the manager must leave
        # "reloading" while the old generation keeps serving.
        with open(srv.config, "a") as f:
            f.write("no_such_setting: 1\n")
        srv.send_signal(signal.SIGHUP)
        k, _ = ns.wait_for("RELOADING", "1", start=k + 1)
        k, (_, _, fields, text) = ns.wait_for("READY", "1", start=k + 1)
        check("refused" in fields.get("STATUS", ""), "STATUS after a refused reload: %r" % text)
        eq(get(port, "/plaintext").status, 200)

        srv.send_signal(signal.SIGTERM)
        ns.wait_for("STOPPING", "1", start=k + 1)
        eq(srv.stop(), 0, "exit status after TERM")
    finally:
        srv.kill()
        ns.close()


def test_watchdog_pings_from_the_master_loop(tmp):
    ns = NotifySocket(tmp)
    port = free_port()
    srv = Server(tmp, hello_config(port, tmp, workers=1),
                 env={"NOTIFY_SOCKET": ns.env_value, "WATCHDOG_USEC": "500000"}, wait=False)
    try:
        ns.wait_for("READY", "1")
        t0 = time.monotonic()
        time.sleep(2.0)
        pings = [m for m in ns.snapshot() if m[2].get("WATCHDOG") == "1" and m[0] >= t0]
        check(len(pings) >= 4, "%d WATCHDOG=1 in 2 s with WATCHDOG_USEC=500000" % len(pings))
        gaps = [b[0] - a[0] for a, b in zip(pings, pings[1:])]
        check(max(gaps) < 0.5, "gaps between pings: %r" % gaps)
        check(all(m[1] == srv.proc.pid for m in pings), "pings come from the master")
        # A master whose loop does not turn does not ping.
        srv.send_signal(signal.SIGSTOP)
        time.sleep(0.2)
        t1 = time.monotonic()
        time.sleep(1.0)
        eq(len([m for m in ns.snapshot() if m[2].get("WATCHDOG") and m[0] >= t1]), 0, "pings while stopped")
        srv.send_signal(signal.SIGCONT)
        ns.wait_for("WATCHDOG", "1", start=len(ns.snapshot()), timeout=2)
    finally:
        srv.kill()
        ns.close()


def test_watchdog_pid_names_another_process_no_pings(tmp):
    ns = NotifySocket(tmp)
    port = free_port()
    srv = Server(tmp, hello_config(port, tmp, workers=1),
                 env={"NOTIFY_SOCKET": ns.env_value, "WATCHDOG_USEC": "500000", "WATCHDOG_PID": "1"}, wait=False)
    try:
        ns.wait_for("READY", "1")
        time.sleep(1.5)
        eq([m[3] for m in ns.snapshot() if "WATCHDOG" in m[2]], [], "pings meant for pid 1")
    finally:
        srv.stop()
        ns.close()


def start_as_main_pid(tmp, yaml_text, env):
    """Starts quiver the way systemd does: WATCHDOG_PID is the pid that
    execs quiver."""
    config = os.path.join(tmp, "quiver.yaml")
    with open(config, "w") as f:
        f.write(yaml_text)
    e = dict(os.environ)
    e.pop("JOURNAL_STREAM", None)
    e.update(env)
    log = open(os.path.join(tmp, "server.log"), "wb")
    proc = subprocess.Popen(["/bin/sh", "-c", 'WATCHDOG_PID=$$ exec "$0" --config "$1"', BIN, config],
                            stdout=log, stderr=subprocess.STDOUT, env=e, start_new_session=True)
    return proc, config, log


def read_log(tmp):
    with open(os.path.join(tmp, "server.log"), "rb") as f:
        return f.read().decode("utf-8", "replace")


def test_usr2_new_master_takes_over_notify_and_watchdog(tmp):
    # After a binary upgrade the new master is systemd's main process: it
    # sends READY=1 with MAINPID=<itself>, and from then on it must ping the
    # watchdog (systemd gave WATCHDOG_PID=<old master> to the old one).
    ns = NotifySocket(tmp)
    port = free_port()
    proc, config, log = start_as_main_pid(tmp, hello_config(port, tmp, workers=1),
                                          {"NOTIFY_SOCKET": ns.env_value, "WATCHDOG_USEC": "500000"})
    new_pid = 0
    try:
        i, _ = ns.wait_for("READY", "1")
        ns.wait_for("WATCHDOG", "1", start=i)
        proc.send_signal(signal.SIGUSR2)
        i, (_, sender, fields, text) = ns.wait_for("MAINPID", start=i + 1)
        new_pid = int(fields["MAINPID"])
        eq(sender, new_pid, "MAINPID= comes from the new master")
        check(fields.get("READY") == "1", "MAINPID= with READY=1: %r" % text)
        check(new_pid != proc.pid, "a new master")
        proc.wait(15)                          # the old master retires
        eq(proc.returncode, 0, "old master's exit status")
        check(not any("STOPPING" in m[2] for m in ns.snapshot()), "the retiring master sent STOPPING=1")
        t0 = time.monotonic()
        time.sleep(1.5)
        pings = [m for m in ns.snapshot() if m[2].get("WATCHDOG") == "1" and m[0] >= t0]
        check(len(pings) >= 2 and all(m[1] == new_pid for m in pings),
              "WATCHDOG=1 from the new master (pid %d) after the upgrade: %r; systemd kills the service "
              "after WatchdogSec without them" % (new_pid, [(m[1], m[3]) for m in pings]))
        eq(get(port, "/plaintext").status, 200)
    finally:
        for pid in (new_pid, proc.pid):
            if pid and alive(pid):
                os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and new_pid and alive(new_pid):
            time.sleep(0.05)
        if proc.poll() is None:
            proc.kill()
        log.close()
        ns.close()


# ---- (b) socket activation --------------------------------------------------

def activate(tmp, listens, fdnames, yaml_text, env=None):
    """quiver under systemd-socket-activate, which binds `listens`, waits
    for the first connection and then execs quiver with them as fds 3..."""
    config = os.path.join(tmp, "quiver.yaml")
    with open(config, "w") as f:
        f.write(yaml_text)
    args = [ACTIVATE]
    for l in listens:
        args += ["-l", l]
    if fdnames:
        args.append("--fdname=" + ":".join(fdnames))
    for k, v in {"QUIVER_ALLOW_ROOT": "true", **(env or {})}.items():
        args += ["-E", "%s=%s" % (k, v)]
    args += [BIN, "--config", config]
    log = open(os.path.join(tmp, "server.log"), "wb")
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    return proc, log


def wait_listening(port, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            # The kernel completes the handshake before anyone accepts.
            s = socket.create_connection(("127.0.0.1", port), timeout=1)
            return s
        except ConnectionRefusedError:
            time.sleep(0.02)
    raise AssertionError("nothing listens on %d" % port)


def stop_activated(proc, log, timeout=15):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    log.close()
    return proc.returncode


def test_socket_activation_by_fdname(tmp):
    if not os.path.exists(ACTIVATE):
        raise AssertionError("systemd-socket-activate missing (Debian package systemd)")
    act_port, own_port = free_port(), free_port()
    act_sock, own_sock = os.path.join(tmp, "u.sock"), os.path.join(tmp, "own.sock")
    # The listeners' own addresses differ from the sockets systemd passes:
    # only a match by name answers on act_port and act_sock.
    yaml_text = f"""
workers: 2
listen:
  - {{name: http, address: "127.0.0.1:{own_port}"}}
  - {{name: uwsgi, address: "unix:{own_sock}", protocol: uwsgi}}
apps:
  - {{name: hello, plugin: {plugin('hello')}}}
"""
    proc, log = activate(tmp, ["127.0.0.1:%d" % act_port, act_sock], ["http", "uwsgi"], yaml_text)
    try:
        s = wait_listening(act_port)
        # The first connection is what starts quiver; it is answered.
        s.settimeout(15)
        s.sendall(b"GET /plaintext HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        r = Reader(s).read()
        s.close()
        eq((r.status, r.body), (200, b"Hello, World!"), "first request on the activated port")
        eq(get(act_port, "/json").status, 200)
        r = uwsgi_get("/plaintext", act_sock)
        eq((r.status, r.body), (200, b"Hello, World!"), "uwsgi request on the activated unix socket")
        check(refused(own_port), "quiver bound its own address %d as well" % own_port)
        check(not os.path.exists(own_sock), "quiver bound its own unix socket as well")
        out = read_log(tmp)
        eq(len(re.findall(r"listening on \S+ \((?:http|uwsgi), socket activation[;)]", out)), 2,
           "both listeners from systemd:\n" + out)
        eq(stop_activated(proc, log), 0, "exit status after TERM")
        # The socket file is systemd's: quiver leaves it.
        check(os.path.exists(act_sock), "quiver removed the activated socket's file")
    finally:
        stop_activated(proc, log)


def test_socket_activation_by_address_and_unmatched(tmp):
    act_port, extra_port = free_port(), free_port()
    act_sock = os.path.join(tmp, "u.sock")
    # No names: the sockets go to the listeners with the same address. If
    # quiver bound them itself it would fail (the port and the socket are
    # in use), so this start only works with the passed fds. The third
    # socket matches nothing and is closed.
    yaml_text = f"""
workers: 1
listen:
  - 127.0.0.1:{act_port}
  - {{address: "unix:{act_sock}", protocol: uwsgi}}
apps:
  - {{name: hello, plugin: {plugin('hello')}}}
"""
    proc, log = activate(tmp, ["127.0.0.1:%d" % act_port, act_sock, "127.0.0.1:%d" % extra_port], [], yaml_text)
    try:
        s = wait_listening(act_port)
        s.settimeout(15)
        s.sendall(b"GET /plaintext HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        eq(Reader(s).read().status, 200, "first request")
        s.close()
        eq(uwsgi_get("/plaintext", act_sock).status, 200, "uwsgi on the activated socket")
        out = read_log(tmp)
        check("matches no listener; closing it" in out, out)
        check(refused(extra_port), "the unmatched socket was closed")
        eq(stop_activated(proc, log), 0)
    finally:
        stop_activated(proc, log)


def test_socket_activation_usr2_then_stop_keeps_socket_file(tmp):
    # A binary upgrade hands systemd's sockets to the new master; when that
    # one stops, the unix socket's file still belongs to systemd (the
    # .socket unit keeps listening there for the next start).
    act_port = free_port()
    act_sock = os.path.join(tmp, "u.sock")
    yaml_text = f"""
workers: 1
listen:
  - {{name: http, address: "127.0.0.1:{act_port}"}}
  - {{name: uwsgi, address: "unix:{act_sock}", protocol: uwsgi}}
apps:
  - {{name: hello, plugin: {plugin('hello')}}}
timeouts: {{graceful: 5s}}
"""
    proc, log = activate(tmp, ["127.0.0.1:%d" % act_port, act_sock], ["http", "uwsgi"], yaml_text)
    new_pid = 0
    try:
        s = wait_listening(act_port)
        s.settimeout(15)
        s.sendall(b"GET /plaintext HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        eq(Reader(s).read().status, 200)
        s.close()
        proc.send_signal(signal.SIGUSR2)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not new_pid:
            m = re.search(r"USR2: started a new master from \S+ \(pid (\d+)\)", read_log(tmp))
            new_pid = int(m.group(1)) if m else 0
            time.sleep(0.05)
        check(new_pid, "new master started:\n" + read_log(tmp))
        proc.wait(15)
        eq(uwsgi_get("/plaintext", act_sock).status, 200, "the new master serves the uwsgi socket")
        os.kill(new_pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and alive(new_pid):
            time.sleep(0.05)
        check(not alive(new_pid), "new master stopped")
        check(os.path.exists(act_sock), "the new master removed %s, a socket file it got from systemd "
              "(after USR2 it takes the inherited sockets as its own)" % act_sock)
    finally:
        if new_pid and alive(new_pid):
            os.kill(new_pid, signal.SIGKILL)
        stop_activated(proc, log)


# ---- (c, d) privileges --------------------------------------------------------

def ids(line):
    return [int(x) for x in line.split()]


def test_workers_drop_to_nobody_master_stays_root(tmp):
    if os.geteuid() != 0:
        print("     skipped: needs root")
        return
    port = free_port()
    sock = os.path.join(tmp, "u.sock")
    text = hello_config(port, tmp) + "user: nobody\ngroup: nogroup\n"
    text = text.replace(f"  - address: 127.0.0.1:{port}\n",
                        f"  - address: 127.0.0.1:{port}\n  - {{address: \"unix:{sock}\", protocol: uwsgi}}\n")
    srv = Server(tmp, text, env={"QUIVER_ALLOW_ROOT": "false"})
    try:
        import grp
        import pwd
        nobody = pwd.getpwnam("nobody").pw_uid
        nogroup = grp.getgrnam("nogroup").gr_gid
        workers = srv.worker_pids()
        eq(len(workers), 2, "workers")
        for pid in workers:
            st = proc_status(pid)
            eq(ids(st["Uid"]), [nobody] * 4, "worker %d Uid (real, effective, saved, fs)" % pid)
            eq(ids(st["Gid"]), [nogroup] * 4, "worker %d Gid" % pid)
            eq(ids(st["Groups"]), [nogroup], "worker %d supplementary groups" % pid)
            # No capability left and no root id to return to: no way back.
            for cap in ("CapEff", "CapPrm", "CapAmb", "CapInh"):
                eq(int(st[cap], 16), 0, "worker %d %s" % (pid, cap))
        st = proc_status(srv.proc.pid)
        eq(ids(st["Uid"]), [0] * 4, "master Uid")
        # The unix socket quiver bound is given to the workers' user.
        info = os.stat(sock)
        eq((info.st_uid, info.st_gid, info.st_mode & 0o777), (nobody, nogroup, 0o660), "socket owner and mode")
        eq(get(port, "/plaintext").status, 200)
        eq(uwsgi_get("/plaintext", sock).status, 200)
    finally:
        srv.stop()


def test_root_without_user_refused(tmp):
    if os.geteuid() != 0:
        print("     skipped: needs root")
        return
    port = free_port()
    config = os.path.join(tmp, "quiver.yaml")
    with open(config, "w") as f:
        f.write(hello_config(port, tmp))
    env = dict(os.environ, QUIVER_ALLOW_ROOT="false")
    env.pop("JOURNAL_STREAM", None)
    p = subprocess.run([BIN, "--config", config], capture_output=True, text=True, timeout=15, env=env)
    out = p.stdout + p.stderr
    eq(p.returncode, 1, "exit status: " + out)
    check("refusing to run app code as root" in out, out)
    check("app hello loaded" not in out and "listening on" not in out, "nothing started: " + out)
    check(refused(port), "port left bound")


# ---- (e) journal ----------------------------------------------------------------

def test_journal_stream_lines_carry_priority_not_time(tmp):
    port = free_port()
    srv = Server(tmp, hello_config(port, tmp, workers=1), env={"JOURNAL_STREAM": "8:123456"})
    try:
        srv.send_signal(signal.SIGTTOU)          # a warning: keeps the last worker
        srv.wait_log(r"keeping the last worker")
        with open(srv.config, "a") as f:
            f.write("no_such_setting: 1\n")
        srv.send_signal(signal.SIGHUP)           # an error: the reload is refused
        srv.wait_log(r"reload refused")
    finally:
        srv.stop()
    with open(srv.log_path, "rb") as f:
        lines = [l for l in f.read().decode("utf-8", "replace").splitlines() if l]
    for l in lines:
        check(re.match(r"^<[0-7]>(master|worker \d+)\[\d+\]: ", l), "not a journal line: %r" % l)
        check(not re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d", l), "timestamp in %r" % l)
    check(any(re.match(r"^<6>master\[\d+\]: ready: ", l) for l in lines), "info as <6>")
    check(any(re.match(r"^<4>master\[\d+\]: TTOU: keeping the last worker", l) for l in lines), "warning as <4>")
    check(any(re.match(r"^<3>master\[\d+\]: reload refused", l) for l in lines), "error as <3>")
    check(any(re.match(r"^<6>worker 0\[\d+\]: ", l) for l in lines), "worker lines too")


def test_journal_stream_ignored_for_a_log_file(tmp):
    port = free_port()
    logfile = os.path.join(tmp, "error.log")
    srv = Server(tmp, hello_config(port, tmp, workers=1, extra="log: {error: %s}" % logfile),
                 env={"JOURNAL_STREAM": "8:123456"}, wait=False)
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if os.path.exists(logfile) and "ready:" in open(logfile).read():
                break
            time.sleep(0.05)
        text = open(logfile).read()
        check("ready:" in text, text)
        for l in text.splitlines():
            check(re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (info|warning|error|debug) ", l),
                  "a file keeps timestamps: %r" % l)
    finally:
        srv.stop()


if __name__ == "__main__":
    main(globals())
