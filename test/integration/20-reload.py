#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Zero-downtime reloads and supervision that survives bad code: rolling
reloads under load, refused bad deploys, plugin-file watching, stuck and
crashing workers, max_requests, request deadlines, USR2 binary upgrade, and
the control socket (quiver reload|status|stop)."""
import os
import shutil
import signal
import subprocess
import time

from harness import (BIN, Load, Reader, Server, check, connect, eq, free_port, get, main, plugin,
                     request, wrk_result, wrk_start)


def app_copy(tmp, build="version"):
    """The app's plugin file lives in tmp; tests overwrite it in place."""
    path = os.path.join(tmp, "app.so")
    shutil.copyfile(plugin(build), path)
    return path


def config(tmp, port, workers=2, app_settings="{}", extra=""):
    ctl = os.path.join(tmp, "quiver.ctl")
    return ctl, f"""
workers: {workers}
listen:
  - address: 127.0.0.1:{port}
control_socket: {ctl}
apps:
  - name: v
    plugin: {os.path.join(tmp, 'app.so')}
    settings: {app_settings}
  - name: slow
    plugin: {plugin('slow')}
    mount: /t
timeouts: {{graceful: 10s, worker: 3s, keepalive: 10s}}
{extra}
"""


def quiver(*args, timeout=60):
    p = subprocess.run([BIN, *args], capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout + p.stderr


def reload_ten_times(srv, port, tmp):
    """Alternates the app between two builds, copied in place as `cp` does
    (running workers must not notice), with a reload after each copy; the
    answer on / must switch every time."""
    for i, build in enumerate(["version2", "version"] * 5):
        shutil.copyfile(plugin(build), os.path.join(tmp, "app.so"))
        rc, out = quiver("reload", "--config", srv.config)
        eq(rc, 0, "reload %d: %s" % (i, out))
        check("reload complete" in out, out)
        want = b"v2" if build == "version2" else b"v1"
        eq(get(port, "/").body, want, "answers switched after reload %d" % i)
        time.sleep(0.6)


def test_ten_reloads_under_load_no_errors(tmp):
    port = free_port()
    app_copy(tmp, "version")
    ctl, text = config(tmp, port)
    srv = Server(tmp, text, port=port)
    try:
        eq(get(port, "/").body, b"v1")
        wrk = wrk_start(tmp, "http://127.0.0.1:%d/" % port, connections=64, seconds=20)
        time.sleep(1)
        reload_ten_times(srv, port, tmp)
        r = wrk_result(wrk)
        print("     wrk during 10 reloads: %s" % r)
        check(r["requests"] > 1000, "load ran")
        eq(r["non2xx"], 0, "non-2xx during reloads")
        eq(r["connect"] + r["read"] + r["write"] + r["timeout"], 0, "socket errors during reloads")
        rc, out = quiver("status", "--config", srv.config)
        eq(rc, 0)
        check("generation 11" in out, "11th generation serving: " + out)
    finally:
        srv.stop()


def test_ten_reloads_under_db_load_no_errors(tmp):
    # The same rolling reloads with the load on /db: every generation's
    # workers connect their pools before they report ready, so no request
    # meets a worker without a database connection.
    url = os.environ.get("QUIVER_TEST_PG_URL")
    check(url, "QUIVER_TEST_PG_URL is set (packaging/dev test starts the database)")
    port = free_port()
    app_copy(tmp, "version")
    ctl, text = config(tmp, port, extra="database: {url: '%s', pool: 2}" % url)
    text = text.replace("  - name: slow\n", "  - name: bench\n    plugin: %s\n    mount: /b\n  - name: slow\n"
                        % plugin("bench"))
    srv = Server(tmp, text, port=port)
    try:
        eq(get(port, "/b/db").status, 200)
        wrk = wrk_start(tmp, "http://127.0.0.1:%d/b/db" % port, connections=64, seconds=20)
        time.sleep(1)
        reload_ten_times(srv, port, tmp)
        r = wrk_result(wrk)
        print("     wrk on /db during 10 reloads: %s" % r)
        check(r["requests"] > 500, "load ran")
        eq(r["non2xx"], 0, "non-2xx on /db during reloads")
        eq(r["connect"] + r["read"] + r["write"] + r["timeout"], 0, "socket errors during reloads")
    finally:
        srv.stop()


def test_bad_deploys_refused_old_generation_serves(tmp):
    port = free_port()
    app_copy(tmp, "version")
    ctl, good = config(tmp, port)
    srv = Server(tmp, good, port=port)
    load = Load(port, "/", clients=8)
    try:
        time.sleep(0.5)
        # 1. create crashes in the new generation.
        _, crash = config(tmp, port, app_settings="{create: crash}")
        with open(srv.config, "w") as f:
            f.write(crash)
        rc, out = quiver("reload", "--config", srv.config)
        eq(rc, 1, "a crashing create fails the reload: " + out)
        check("SIGSEGV" in out, out)
        # 2. wrong ABI version.
        with open(srv.config, "w") as f:
            f.write(good.replace(os.path.join(tmp, "app.so"), plugin("badabi")))
        rc, out = quiver("reload", "--config", srv.config)
        eq(rc, 1, out)
        check("not binary compatible" in out, out)
        # 3. a config error.
        with open(srv.config, "w") as f:
            f.write(good + "no_such_setting: 1\n")
        rc, out = quiver("reload", "--config", srv.config)
        eq(rc, 1, out)
        check("no_such_setting" in out, out)
        rc, status = quiver("status", "--config", srv.config)
        check("last reload: refused" in status and "no_such_setting" in status, status)
        eq(get(port, "/").body, b"v1", "the old version keeps answering")
        # A later good reload works.
        with open(srv.config, "w") as f:
            f.write(good.replace("settings: {}", "settings: {version: v9}"))
        rc, out = quiver("reload", "--config", srv.config)
        eq(rc, 0, out)
        eq(get(port, "/").body, b"v9")
        load.finish()
        check(load.ok > 100, "load ran: %d" % load.ok)
        eq(load.fail, 0, "no failed request during bad deploys (statuses %r)" % load.statuses)
    finally:
        load.finish()
        srv.stop()


def test_watch_reloads_on_plugin_change(tmp):
    port = free_port()
    app_copy(tmp, "version")
    ctl, text = config(tmp, port, extra="reload: {watch: true, debounce: 300ms}")
    srv = Server(tmp, text, port=port)
    try:
        eq(get(port, "/").body, b"v1")
        # An in-place copy (many writes to the same inode).
        shutil.copyfile(plugin("version2"), os.path.join(tmp, "app.so"))
        deadline = time.time() + 10
        while get(port, "/").body != b"v2" and time.time() < deadline:
            time.sleep(0.1)
        eq(get(port, "/").body, b"v2", "in-place copy reloaded")
        # An atomic rename onto the file (a new inode).
        staged = os.path.join(tmp, "app.so.new")
        shutil.copyfile(plugin("version"), staged)
        os.rename(staged, os.path.join(tmp, "app.so"))
        deadline = time.time() + 10
        while get(port, "/").body != b"v1" and time.time() < deadline:
            time.sleep(0.1)
        eq(get(port, "/").body, b"v1", "atomic rename reloaded")
    finally:
        srv.stop()


def test_stuck_handler_worker_killed_and_replaced(tmp):
    port = free_port()
    app_copy(tmp)
    ctl, text = config(tmp, port)
    srv = Server(tmp, text, port=port)
    try:
        before = srv.worker_pids()
        s = connect(port, timeout=10)
        s.sendall(b"GET /t/spin HTTP/1.1\r\nHost: t\r\n\r\n")
        t0 = time.time()
        # Once that worker is stuck (connections it had already accepted
        # are stuck with it), the other worker serves every new request.
        time.sleep(0.3)
        for _ in range(20):
            eq(get(port, "/").status, 200)
        srv.wait_log(r"silent for \d+ ms \(timeouts.worker 3000 ms\); killing it", timeout=10)
        waited = time.time() - t0
        check(2.5 <= waited <= 6, "killed after timeouts.worker: %.1fs" % waited)
        check(Reader(s).closed(timeout=5), "the stuck request's connection is closed")
        # Replaced at once (test_kill9_replacement_time holds the timing); the
        # wait is long because a killed sanitizer build is slow to be reaped.
        # The killed worker may still be listed until it is gone, so wait
        # for a set of two that is not the old one.
        deadline = time.time() + 15
        after = srv.worker_pids()
        while (len(after) != 2 or set(after) == set(before)) and time.time() < deadline:
            time.sleep(0.05)
            after = srv.worker_pids()
        eq(len(after), 2, "replaced")
        check(set(before) != set(after), "one worker is new")
        eq(get(port, "/").status, 200)
    finally:
        srv.stop()


def test_kill9_replacement_time(tmp):
    port = free_port()
    app_copy(tmp)
    ctl, text = config(tmp, port)
    srv = Server(tmp, text, port=port)
    load = Load(port, "/", clients=8)
    try:
        time.sleep(0.5)
        times = []
        for _ in range(3):
            victim = srv.worker_pids()[0]
            t0 = time.time()
            os.kill(victim, signal.SIGKILL)
            while True:
                pids = srv.worker_pids()
                if victim not in pids and len(pids) == 2:
                    break
                check(time.time() - t0 < 5, "replaced in time")
                time.sleep(0.002)
            times.append(time.time() - t0)
            time.sleep(0.5)
        print("     kill -9 -> new worker process: %s ms" % ", ".join("%.0f" % (t * 1000) for t in times))
        # The median must be within 200 ms; one slow spawn on a loaded
        # machine may take longer (it is still bounded).
        check(sorted(times)[1] < 0.2, "replaced within 200 ms (median): %r" % times)
        check(max(times) < 1.0, "every replacement within 1 s: %r" % times)
        load.finish()
        check(load.ok > 100, "served throughout")
    finally:
        load.finish()
        srv.stop()


def test_crash_loop_backs_off(tmp):
    port = free_port()
    app_copy(tmp)
    ctl, text = config(tmp, port, workers=1)
    srv = Server(tmp, text, port=port)
    try:
        for _ in range(4):
            try:
                request(port, b"GET /t/crash HTTP/1.1\r\nHost: t\r\n\r\n", timeout=3)
            except (OSError, EOFError):
                pass
            deadline = time.time() + 5
            while time.time() < deadline:
                try:
                    if get(port, "/", timeout=1).status == 200:
                        break
                except (OSError, EOFError):
                    time.sleep(0.05)
        srv.wait_log(r"keeps dying \(\d times in a row\); next start in \d+ ms")
        check("killed by SIGSEGV" in srv.output(), "crash reported")
        eq(get(port, "/").status, 200, "serving again after the backoff")
    finally:
        srv.stop()


def test_max_requests_recycles_gracefully(tmp):
    port = free_port()
    app_copy(tmp)
    ctl, text = config(tmp, port, workers=1, extra="max_requests: 50\nmax_requests_jitter: 10")
    srv = Server(tmp, text, port=port)
    try:
        seen = set()
        for _ in range(300):
            eq(get(port, "/").status, 200)
            seen.update(srv.worker_pids())
        check(len(seen) >= 4, "workers recycled: %d pids" % len(seen))
        check("max_requests" in srv.output(), "reason logged")
    finally:
        srv.stop()


def test_request_deadline_504(tmp):
    port = free_port()
    app_copy(tmp)
    ctl, text = config(tmp, port, workers=1, extra="timeouts: {request: 1s, graceful: 10s, worker: 3s, keepalive: 10s}")
    text = text.replace("timeouts: {graceful: 10s, worker: 3s, keepalive: 10s}\n", "")
    srv = Server(tmp, text, port=port)
    try:
        s = connect(port, timeout=10)
        rd = Reader(s)
        t0 = time.time()
        s.sendall(b"GET /t/slow?ms=5000 HTTP/1.1\r\nHost: t\r\n\r\n")
        time.sleep(0.2)
        fast = get(port, "/t/fast")
        eq(fast.body, b"fast", "the same worker answers others meanwhile")
        r = rd.read()
        eq(r.status, 504)
        took = time.time() - t0
        check(0.9 <= took <= 2.5, "504 at the deadline: %.2fs" % took)
        s.sendall(b"GET /t/fast HTTP/1.1\r\nHost: t\r\n\r\n")
        eq(rd.read().body, b"fast", "the connection stays usable")
        check("ran past timeouts.request" in srv.output())
    finally:
        srv.stop()


def test_slow_sql_cancelled_at_deadline(tmp):
    url = os.environ.get("QUIVER_TEST_PG_URL")
    check(url, "QUIVER_TEST_PG_URL is set (packaging/dev test starts the database)")
    port = free_port()
    app_copy(tmp)
    ctl, text = config(tmp, port, workers=1,
                       extra="timeouts: {request: 1s, graceful: 10s, worker: 3s}\ndatabase: {url: '%s', pool: 1}" % url)
    text = text.replace("timeouts: {graceful: 10s, worker: 3s, keepalive: 10s}\n", "")
    srv = Server(tmp, text, port=port)

    def active_sleeps():
        p = subprocess.run(["psql", url, "-Atc",
                            "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep%' "
                            "AND state = 'active'"], capture_output=True, text=True, timeout=10)
        eq(p.returncode, 0, p.stderr)
        return int(p.stdout.strip())

    try:
        s = connect(port, timeout=10)
        rd = Reader(s)
        s.sendall(b"GET /t/pgsleep?s=30 HTTP/1.1\r\nHost: t\r\n\r\n")
        time.sleep(0.5)
        eq(active_sleeps(), 1, "the query runs on the server")
        r = rd.read()
        eq(r.status, 504)
        deadline = time.time() + 3
        while active_sleeps() and time.time() < deadline:
            time.sleep(0.1)
        eq(active_sleeps(), 0, "the query was cancelled on the server")
        eq(get(port, "/t/fast").body, b"fast", "the worker lives on")
    finally:
        srv.stop()


def test_usr2_binary_upgrade_under_load(tmp):
    port = free_port()
    app_copy(tmp)
    pidfile = os.path.join(tmp, "q.pid")
    # The binary on disk is a copy we can replace, as a package upgrade does.
    exe = os.path.join(tmp, "quiver")
    shutil.copyfile(BIN, exe)
    os.chmod(exe, 0o755)
    ctl, text = config(tmp, port, extra="pidfile: %s" % pidfile)
    with open(os.path.join(tmp, "quiver.yaml"), "w") as f:
        f.write(text)
    log = open(os.path.join(tmp, "server.log"), "wb")
    old = subprocess.Popen([exe, "--config", os.path.join(tmp, "quiver.yaml")], stdout=log, stderr=subprocess.STDOUT)
    new_pid = None
    try:
        deadline = time.time() + 15
        while time.time() < deadline:
            try:
                if get(port, "/", timeout=1).status == 200:
                    break
            except OSError:
                time.sleep(0.05)
        wrk = wrk_start(tmp, "http://127.0.0.1:%d/" % port, connections=32, seconds=6)
        time.sleep(1)
        tmp_exe = exe + ".new"
        shutil.copyfile(BIN, tmp_exe)
        os.chmod(tmp_exe, 0o755)
        os.rename(tmp_exe, exe)
        old.send_signal(signal.SIGUSR2)
        old.wait(20)
        eq(old.returncode, 0, "the old master retires cleanly")
        with open(pidfile) as f:
            new_pid = int(f.read())
        check(new_pid != old.pid, "a new master pid in the pidfile")
        r = wrk_result(wrk)
        print("     wrk during USR2: %s" % r)
        eq(r["non2xx"], 0)
        eq(r["connect"] + r["read"] + r["write"] + r["timeout"], 0, "no failed request during the upgrade")
        eq(get(port, "/").status, 200, "the new master serves")
        rc, out = quiver("status", "--config", os.path.join(tmp, "quiver.yaml"))
        check("master pid %d" % new_pid in out, out)
    finally:
        if old.poll() is None:
            old.kill()
        if new_pid:
            os.kill(new_pid, signal.SIGTERM)
            deadline = time.time() + 15
            while os.path.exists("/proc/%d" % new_pid) and time.time() < deadline:
                time.sleep(0.05)
        log.close()


def test_control_stop_and_status(tmp):
    port = free_port()
    app_copy(tmp)
    ctl, text = config(tmp, port)
    srv = Server(tmp, text, port=port)
    rc, out = quiver("status", "--config", srv.config)
    eq(rc, 0, out)
    check("generation 1" in out and "ready" in out and "v v1" in out, out)
    eq(oct(os.stat(ctl).st_mode & 0o777), "0o600", "control socket is 0600")
    rc, out = quiver("stop", "--config", srv.config)
    eq(rc, 0, out)
    srv.proc.wait(15)
    eq(srv.proc.returncode, 0)
    check(not os.path.exists(ctl), "control socket removed at exit")


if __name__ == "__main__":
    main(globals())
