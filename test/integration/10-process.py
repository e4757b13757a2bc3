#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The master and its workers as processes: config and plugin errors,
supervision (kill -9 under load), graceful TERM, TTIN/TTOU, USR1, HUP,
pidfile, bind errors."""
import os
import re
import signal
import socket
import subprocess
import threading
import time

from harness import (BIN, Load, Server, check, connect, eq, free_port, get, main, plugin, Reader)


def run_quiver(*args, timeout=15):
    p = subprocess.run([BIN, *args], capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout + p.stderr


def write(tmp, name, text):
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def hello_yaml(port, workers=2, extra=""):
    return f"""
workers: {workers}
listen:
  - address: 127.0.0.1:{port}
apps:
  - name: hello
    plugin: {plugin('hello')}
  - name: slow
    plugin: {plugin('slow')}
    mount: /t
timeouts: {{graceful: 10s, worker: 5s}}
{extra}
"""


def test_config_errors_name_file_line_key(tmp):
    cfg = write(tmp, "bad.yaml", "workers: 2\nlisten:\n  - address: 127.0.0.1:8080\n    colour: red\n")
    rc, out = run_quiver("--check-config", cfg)
    eq(rc, 1, "exit status")
    check(re.search(re.escape(cfg) + r":4:5: listen\[0\]\.colour: ", out), "unknown key message: %r" % out)

    cfg = write(tmp, "type.yaml", "workers: many\n")
    rc, out = run_quiver("--check-config", cfg)
    eq(rc, 1)
    check(re.search(re.escape(cfg) + r":1:10: workers: ", out), "wrong type message: %r" % out)

    cfg = write(tmp, "addr.yaml", "listen:\n  - address: 127.0.0.1:99999\n")
    rc, out = run_quiver("--check-config", cfg)
    eq(rc, 1)
    check(re.search(re.escape(cfg) + r":2:\d+: listen\[0\]\.address: ", out), "bad address: %r" % out)

    cfg = write(tmp, "missing.yaml", "apps:\n  - name: a\n    plugin: nowhere/a.so\n")
    rc, out = run_quiver("--check-config", cfg)
    eq(rc, 1)
    check(re.search(re.escape(cfg) + r":3:\d+: apps\[0\]\.plugin: ", out), "missing plugin: %r" % out)
    # Running (not only checking) a bad config fails the same way.
    rc, out2 = run_quiver("--config", cfg)
    eq(rc, 1)
    check("apps[0].plugin" in out2, out2)

    good = write(tmp, "good.yaml", hello_yaml(free_port()))
    rc, out = run_quiver("--check-config", good)
    eq(rc, 0, "good config: " + out)


def test_version_and_help(tmp):
    rc, out = run_quiver("--version")
    eq(rc, 0)
    check(out.startswith("quiver "), out)
    rc, out = run_quiver("--help")
    eq(rc, 0)
    for flag in ("--workers", "--bind", "--graceful-timeout", "QUIVER_WORKERS"):
        check(flag in out, "--help mentions " + flag)


def broken(tmp, name, expect):
    port = free_port()
    cfg = write(tmp, name + ".yaml", f"""
workers: 2
listen:
  - address: 127.0.0.1:{port}
apps:
  - name: broken
    plugin: {plugin(name)}
""")
    t0 = time.time()
    rc, out = run_quiver("--config", cfg, timeout=20)
    check(rc != 0, "a broken plugin stops the server (rc %d)" % rc)
    check(plugin(name) in out, "message names the file: %s" % out)
    check(expect in out, "message says why (%r): %s" % (expect, out))
    check(time.time() - t0 < 10, "fails fast, no respawn loop")


def test_broken_plugins_refused(tmp):
    broken(tmp, "badabi", "not binary compatible")
    broken(tmp, "failcreate", "missing setting 'x'")
    broken(tmp, "noentry", "quiver_plugin_v1")


def test_bind_in_use(tmp):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen()
    port = s.getsockname()[1]
    try:
        cfg = write(tmp, "q.yaml", hello_yaml(port))
        rc, out = run_quiver("--config", cfg)
        eq(rc, 1)
        check("bind(127.0.0.1:%d) failed: EADDRINUSE" % port in out, out)
    finally:
        s.close()


def test_pidfile_and_term(tmp):
    port = free_port()
    pidfile = os.path.join(tmp, "q.pid")
    srv = Server(tmp, hello_yaml(port, extra=f"pidfile: {pidfile}"), port=port)
    try:
        with open(pidfile) as f:
            eq(int(f.read()), srv.proc.pid, "pidfile holds the master pid")
        eq(get(port, "/plaintext").body, b"Hello, World!")
    finally:
        eq(srv.stop(), 0, "TERM exits 0")
    check(not os.path.exists(pidfile), "pidfile removed at exit")


def test_kill9_worker_replaced_under_load(tmp):
    port = free_port()
    srv = Server(tmp, hello_yaml(port), port=port)
    try:
        load = Load(port)
        time.sleep(0.5)
        before = srv.worker_pids()
        eq(len(before), 2, "two workers")
        victim = before[0]
        t0 = time.time()
        os.kill(victim, signal.SIGKILL)
        replaced = None
        while time.time() - t0 < 5:
            pids = srv.worker_pids()
            if len(pids) == 2 and victim not in pids:
                replaced = time.time() - t0
                break
            time.sleep(0.005)
        check(replaced is not None, "worker replaced")
        print("     worker replaced in %.0f ms" % (replaced * 1000))
        check(replaced < 1.0, "replaced at once (%.3fs)" % replaced)
        ok_before = load.ok
        time.sleep(1.0)
        load.finish()
        check(load.ok > ok_before + 50, "server keeps answering after the kill")
        # Only requests on the killed worker's connections can fail.
        check(load.fail <= 8, "failures limited to the victim's connections: %d" % load.fail)
        srv.wait_log(r"killed by SIGKILL")
    finally:
        srv.stop()


def test_term_finishes_inflight_request(tmp):
    port = free_port()
    srv = Server(tmp, hello_yaml(port, workers=1), port=port)
    result = {}

    def slow():
        try:
            s = connect(port, 10)
            s.sendall(b"GET /t/slow?ms=1500 HTTP/1.1\r\nHost: t\r\n\r\n")
            result["r"] = Reader(s).read()
        except Exception as e:  # noqa: BLE001
            result["e"] = e

    t = threading.Thread(target=slow)
    t.start()
    time.sleep(0.3)
    t0 = time.time()
    srv.send_signal(signal.SIGTERM)
    t.join(10)
    rc = srv.stop()
    check("r" in result, "in-flight request answered: %r" % result.get("e"))
    eq(result["r"].status, 200)
    eq(result["r"].body, b"slow 1500")
    eq(result["r"].header("Connection"), "close", "draining worker closes after answering")
    eq(rc, 0)
    check(time.time() - t0 >= 1.0, "master waited for the request")
    # New connections are refused once the listener is closed.
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        refused = False
    except OSError:
        refused = True
    check(refused, "nothing listens after exit")


def test_quick_stop(tmp):
    port = free_port()
    srv = Server(tmp, hello_yaml(port), port=port)
    t0 = time.time()
    eq(srv.stop(signal.SIGQUIT), 0)
    check(time.time() - t0 < 3, "QUIT stops quickly")


def test_repeated_term_during_stop(tmp):
    """Operators (and init systems) send TERM more than once. Repeats during the
    graceful stop, up to the very last teardown, change nothing: exit 0, files
    cleaned up."""
    port = free_port()
    pidfile = os.path.join(tmp, "q.pid")
    sock = os.path.join(tmp, "q.sock")
    srv = Server(tmp, hello_yaml(port, extra=f"pidfile: {pidfile}\ncontrol_socket: {sock}"), port=port)
    sent = 0
    while srv.proc.poll() is None and sent < 20000:
        try:
            os.kill(srv.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            break
        sent += 1
        time.sleep(0.0005 if sent > 3 else 0.05)
    eq(srv.stop(), 0, "exit status after %d TERMs" % sent)
    check(not os.path.exists(pidfile), "pidfile removed at exit")
    check(not os.path.exists(sock), "control socket removed at exit")


def test_ttin_ttou(tmp):
    port = free_port()
    srv = Server(tmp, hello_yaml(port), port=port)
    try:
        eq(len(srv.worker_pids()), 2)
        srv.send_signal(signal.SIGTTIN)
        deadline = time.time() + 5
        while len(srv.worker_pids()) != 3 and time.time() < deadline:
            time.sleep(0.05)
        eq(len(srv.worker_pids()), 3, "TTIN adds a worker")
        for want in (2, 1):
            # One at a time: two signals sent together may arrive as one.
            srv.send_signal(signal.SIGTTOU)
            deadline = time.time() + 5
            while len(srv.worker_pids()) != want and time.time() < deadline:
                time.sleep(0.05)
            eq(len(srv.worker_pids()), want, "TTOU retires one worker")
        eq(len(srv.worker_pids()), 1, "TTOU removes workers")
        eq(get(port, "/plaintext").status, 200)
    finally:
        srv.stop()


def test_usr1_reopens_logs(tmp):
    port = free_port()
    access = os.path.join(tmp, "access.log")
    srv = Server(tmp, hello_yaml(port, workers=1, extra=f"log: {{access: {access}}}"), port=port)
    try:
        get(port, "/plaintext")
        time.sleep(0.2)
        check(os.path.getsize(access) > 0, "access log written")
        os.rename(access, access + ".1")
        srv.send_signal(signal.SIGUSR1)
        time.sleep(0.5)
        get(port, "/json")
        time.sleep(0.3)
        with open(access) as f:
            text = f.read()
        check('"GET /json HTTP/1.1" 200' in text, "new file after USR1: %r" % text)
    finally:
        srv.stop()


def test_hup_reloads_config(tmp):
    port = free_port()
    text = f"""
workers: 2
listen:
  - address: 127.0.0.1:{port}
apps:
  - name: v
    plugin: {plugin('version')}
    settings: {{version: "%s"}}
"""
    srv = Server(tmp, text % "one", port=port)
    try:
        eq(get(port, "/").body, b"one")
        old = srv.worker_pids()
        with open(srv.config, "w") as f:
            f.write(text % "two")
        srv.send_signal(signal.SIGHUP)
        srv.wait_log(r"reload complete")
        eq(get(port, "/").body, b"two")
        deadline = time.time() + 10
        while any(p in srv.worker_pids() for p in old) and time.time() < deadline:
            time.sleep(0.05)
        check(not any(p in srv.worker_pids() for p in old), "old generation retired")
        # A broken config is refused and the running generation keeps serving.
        with open(srv.config, "w") as f:
            f.write(text % "three" + "bogus_key: 1\n")
        srv.send_signal(signal.SIGHUP)
        srv.wait_log(r"reload refused")
        eq(get(port, "/").body, b"two")
    finally:
        srv.stop()


if __name__ == "__main__":
    main(globals())
