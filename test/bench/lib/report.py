# SPDX-License-Identifier: MIT
"""report.md and the PNG plots from one run's results: every figure as a ratio
to the best error-free peer and to the ceiling, the issue #4 comparison behind
Nginx, the targets the suite holds quiver to, and memory."""
import os
import subprocess

from load import ROUNDS, TESTS
from targets import PEER_NAMES

OURS = ("quiver", "quiver-nginx-uwsgi", "quiver-nginx-http")


def medians(runs):
    groups = {}
    for r in runs:
        groups.setdefault((r["test"], r["connections"], r["target"]), []).append(r)
    return {k: sorted(v, key=lambda x: x["rps"])[len(v) // 2] for k, v in groups.items()}


def pgbench_row(med, test):
    return next((r for k, r in med.items() if k[0] == test and k[2] == "pgbench"), None)


def ceiling_of(med, test, c):
    for k, r in med.items():
        if k[0] == test and k[2] in ("nginx", "pgbench") and (k[2] == "pgbench" or k[1] == c):
            return r
    return None


def best_peer(med, test, c):
    peers = [med[(test, c, p)] for p in PEER_NAMES if (test, c, p) in med]
    ok = [r for r in peers if not r["errors"] and not r.get("non2xx")]
    return max(ok, key=lambda r: r["rps"]) if ok else None


def ratio(a, b):
    return "%.2f" % (a["rps"] / b["rps"]) if a and b and b["rps"] else "-"


def ms(us):
    return "%.2f" % (us / 1000.0) if us is not None else "-"


def cpu_us(r, key="cpu_app_s"):
    n = r.get("requests") or 0
    return r[key] * 1e6 / n if n and key in r else None


def fmt_us(v):
    return "%.0f" % v if v is not None else "-"


def bad(r):
    return r["errors"] or r.get("non2xx")


def te_table(data, med):
    conns = sorted({k[1] for k in med if k[0] in TESTS and k[2] != "pgbench"})
    lines = ["| test | conns | target | req/s | vs best peer | vs ceiling | p50 ms | p99 ms | errors | non-2xx "
             "| app CPU µs/req | load generator CPU µs/req |", "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for test in data["tests"]:
        for c in conns:
            ceil, best = ceiling_of(med, test, c), best_peer(med, test, c)
            for name in data["targets"]:
                if name == "pgbench":
                    r = pgbench_row(med, test) if c == conns[0] else None
                else:
                    r = med.get((test, c, name))
                if not r:
                    continue
                mark = " **errors: not ranked**" if bad(r) else (" *(best peer)*" if r is best else "")
                lat = r.get("latency_us", {})
                lines.append("| %s | %s | %s%s | %.0f | %s | %s | %s | %s | %d | %d | %s | %s |" % (
                    test, r["connections"] if name == "pgbench" else c, name, mark, r["rps"],
                    "-" if name in ("nginx", "pgbench") or r is best else ratio(r, best),
                    "-" if name in ("nginx", "pgbench") else ratio(r, ceil),
                    ms(lat.get("p50", lat.get("mean"))), ms(lat.get("p99")), r["errors"], r.get("non2xx", 0),
                    fmt_us(cpu_us(r)), fmt_us(cpu_us(r, "cpu_gen_s"))))
    return lines


def rounds_table(data, med):
    lines = ["| round | target | req/s | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | errors | non-2xx |"
             " vs best peer |", "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for rn in data["rounds"]:
        c = ROUNDS[rn]["connections"]
        best = best_peer(med, rn, c)
        for name in data["targets"]:
            r = med.get((rn, c, name))
            if not r:
                continue
            lat = r["latency_us"]
            mark = " **errors: not ranked**" if bad(r) else (" *(best peer)*" if r is best else "")
            if ROUNDS[rn]["rate"] and r["rps"] < 0.97 * ROUNDS[rn]["rate"]:
                mark += " *(fell behind the rate)*"
            # Rate rounds: lower p99 is better; the ratio is the best peer's p99 over this one's.
            if ROUNDS[rn]["rate"]:
                vs = "%.2f (p99)" % (best["latency_us"]["p99"] / max(1, lat["p99"])) if best and r is not best else "-"
            else:
                vs = ratio(r, best) if r is not best else "-"
            lines.append("| %s | %s%s | %.0f | %s | %s | %s | %s | %s | %d | %d | %s |" % (
                rn, name, mark, r["rps"], ms(lat["p50"]), ms(lat["p90"]), ms(lat["p99"]), ms(lat["p99.9"]),
                ms(lat["max"]), r["errors"], r.get("non2xx", 0), vs))
    return lines


def nginx_section(data, med):
    """Issue #4: quiver behind Nginx (uwsgi) against uWSGI behind the same Nginx."""
    have = [t for t in ("quiver-nginx-uwsgi", "quiver-nginx-http", "quiver", "uwsgi-nginx", "uwsgi")
            if t in data["targets"]]
    if "quiver-nginx-uwsgi" not in have or "uwsgi-nginx" not in have:
        return []
    lines = ["## Behind Nginx (issue #4)", "",
             "Same Nginx site shape for both: `uwsgi_pass` over a unix socket with the stock "
             "`uwsgi_params`, %d Nginx worker(s), %d app worker(s)." % (data["settings"]["workers"],
                                                                      data["settings"]["workers"]), "",
             "| test | conns | " + " | ".join(have) + " | quiver÷uWSGI via uwsgi_pass | uwsgi_pass÷proxy_pass |",
             "|---|---:|" + "---:|" * (len(have) + 2)]
    verdicts = []
    for test in ("plaintext", "json", "db"):
        for c in sorted({k[1] for k in med if k[0] == test}):
            rows = {t: med.get((test, c, t)) for t in have}
            q, u, p = rows.get("quiver-nginx-uwsgi"), rows.get("uwsgi-nginx"), rows.get("quiver-nginx-http")
            if not q or not u:
                continue
            cells = ["%.0f%s" % (rows[t]["rps"], " (err)" if bad(rows[t]) else "") if rows[t] else "-" for t in have]
            lines.append("| %s | %d | %s | %s | %s |" % (test, c, " | ".join(cells), ratio(q, u), ratio(q, p)))
            verdicts.append((test, c, q["rps"] / u["rps"] if u["rps"] else 0, bad(q)))
    lines += ["", "CPU per request during those runs (µs of CPU time, app server's processes / the Nginx in "
              "front), from /proc: what each side costs, whatever the machine's load.", "",
              "| test | conns | target | app µs/req | of which user | of which kernel | Nginx µs/req | total µs/req |",
              "|---|---:|---|---:|---:|---:|---:|---:|"]
    for test in ("plaintext", "json", "db"):
        for c in sorted({k[1] for k in med if k[0] == test}):
            for t in ("quiver-nginx-uwsgi", "quiver-nginx-http", "uwsgi-nginx"):
                r = med.get((test, c, t))
                if r and cpu_us(r) is not None:
                    a, f = cpu_us(r), cpu_us(r, "cpu_front_s")
                    lines.append("| %s | %d | %s | %.0f | %.0f | %.0f | %.0f | %.0f |" % (
                        test, c, t, a, cpu_us(r, "cpu_app_user_s"), cpu_us(r, "cpu_app_sys_s"), f, a + f))
    if verdicts:
        worst = min(v[2] for v in verdicts)
        met = all(v[2] >= 3 and not v[3] for v in verdicts)
        lines += ["", "Target (quiver behind Nginx via uwsgi ≥ 3× uWSGI behind the same Nginx): **%s** "
                  "(lowest ratio %.2f)." % ("met" if met else "NOT met", worst)]
    return lines + [""]


def goals(data, med, memory):
    """The targets issue #8 holds quiver to, each checked on this run."""
    out = []

    def row(name, val, ok, how):
        out.append("| %s | %s | %s | %s |" % (name, val, "met" if ok else "**NOT met**", how))

    conns = sorted({k[1] for k in med if k[2] == "quiver" and k[0] in TESTS})
    for test in ("plaintext", "plaintext-pipelined", "json", "plaintext-openloop", "json-openloop"):
        rs = [(med.get((test, c, "quiver")), ceiling_of(med, test, c)) for c in conns]
        rs = [(q, n) for q, n in rs if q and n]
        if rs:
            v = min(q["rps"] / n["rps"] for q, n in rs)
            gen = max((cpu_us(q, "cpu_gen_s") or 0) / max(cpu_us(q) or 1, 1e-9) for q, _ in rs)
            how = "quiver ÷ nginx, %s" % TESTS[test]["tool"]
            if gen > 1:
                how += " (the generator spent up to %.1f× the server's CPU per request)" % gen
            row("%s ≥ Nginx return 200" % test, "%.2f× (lowest level)" % v, v >= 1, how)
    for test, need in (("db", 0.8), ("queries", 0.5)):
        rs = [(med.get((test, c, "quiver")), ceiling_of(med, test, c)) for c in conns]
        rs = [(q, n) for q, n in rs if q and n]
        if rs:
            v = max(q["rps"] / n["rps"] for q, n in rs)
            row("%s ≥ %d%% of pgbench" % (test, need * 100), "%.2f (best level)" % v, v >= need,
                "quiver ÷ pgbench (%d conns%s)" % (rs[0][1]["connections"], ", pipelined" if test == "queries" else ""))
    for test, need in (("db", 2), ("fortunes", 2), ("queries", 3), ("updates", 3), ("agents", 3)):
        rs = [(med.get((test, c, "quiver")), best_peer(med, test, c)) for c in conns]
        rs = [(q, b) for q, b in rs if q and b]
        if rs:
            v = min(q["rps"] / b["rps"] for q, b in rs)
            row("%s ≥ %d× fastest peer" % (test, need), "%.2f× (lowest level)" % v, v >= need, "quiver ÷ best peer")
    r = med.get(("rate-4000", ROUNDS["rate-4000"]["connections"], "quiver"))
    if r:
        p99 = r["latency_us"]["p99"] / 1000
        row("4,000 req/s: p99 < 5 ms, no errors", "p99 %.2f ms, %d errors" % (p99, r["errors"] + r["non2xx"]),
            p99 < 5 and not bad(r), "openloop, latency from scheduled send")
    m = memory.get("quiver")
    if m:
        pss = (list(m["idle"]) + [0])[3]
        row("idle RSS per worker < 10 MiB", "%.1f MiB (PSS %.1f MiB)" % (m["idle"][1] / 1024, pss / 1024),
            m["idle"][1] < 10 * 1024, "largest worker process, idle")
    if not out:
        return []
    return ["## Targets for quiver (issue #8)", "", "| target | this run | | how |", "|---|---|---|---|"] + out + [""]


# One colour per series (gnuplot's default cycle repeats after eight).
COLOURS = ("#1b5e20", "#43a047", "#a5d6a7", "#e65100", "#ffb74d", "#0d47a1", "#64b5f6", "#6a1b9a",
           "#616161", "#000000")


def gnuplot(script, cwd):
    styles = "".join('set linetype %d lc rgb "%s"\n' % (i + 1, c) for i, c in enumerate(COLOURS))
    subprocess.run(["gnuplot"], input=styles + script, text=True, cwd=cwd, capture_output=True, timeout=60,
                   check=False)


def make_plots(data, med, out):
    made = []
    names = [t for t in data["targets"]]
    for test in data["tests"]:
        conns = sorted({k[1] for k in med if k[0] == test and k[2] != "pgbench"})
        cols = [t for t in names if any((test, c, t) in med for c in conns) or
                (t == "pgbench" and any(k[0] == test and k[2] == t for k in med))]
        if not cols:
            continue
        dat = os.path.join(out, "plot-%s.dat" % test)
        with open(dat, "w") as f:
            f.write("conns " + " ".join(cols) + "\n")
            for c in conns:
                vals = []
                for t in cols:
                    r = med.get((test, c, t)) or next((v for k, v in med.items()
                                                       if k[0] == test and k[2] == t == "pgbench"), None)
                    vals.append("%.0f" % r["rps"] if r else "0")
                f.write("%d %s\n" % (c, " ".join(vals)))
        png = "rps-%s.png" % test
        gnuplot("""set terminal pngcairo size 1100,520 font ",10"
set output "%s"
set title "%s: requests/s by target and connections (higher is better)"
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set key outside right top
set ylabel "requests/s"
set xlabel "connections"
set yrange [0:*]
set grid ytics
plot for [i=2:%d] "%s" using i:xtic(1) title columnheader(i)
""" % (png, test, len(cols) + 1, os.path.basename(dat)), out)
        os.remove(dat)
        made.append(png)
    for rn in data["rounds"]:
        c = ROUNDS[rn]["connections"]
        rows = [(t, med[(rn, c, t)]) for t in names if (rn, c, t) in med]
        if not rows:
            continue
        dat = os.path.join(out, "plot-%s.dat" % rn)
        with open(dat, "w") as f:
            f.write("target p50 p90 p99 p99.9\n")
            for t, r in rows:
                lat = r["latency_us"]
                f.write("%s %s\n" % (t, " ".join("%.3f" % max(0.001, lat[p] / 1000.0)
                                                 for p in ("p50", "p90", "p99", "p99.9"))))
        png = "latency-%s.png" % rn
        gnuplot("""set terminal pngcairo size 1100,520 font ",10"
set output "%s"
set title "%s: latency percentiles by target (ms, log scale, lower is better)"
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set key outside right top
set logscale y
set ylabel "ms"
set xtics rotate by -25
set grid ytics
plot for [i=2:5] "%s" using i:xtic(1) title columnheader(i)
""" % (png, ROUNDS[rn]["what"], os.path.basename(dat)), out)
        os.remove(dat)
        made.append(png)
    return [p for p in made if os.path.exists(os.path.join(out, p))]


def write(data, out, with_plots=True):
    med = medians(data["runs"])
    m, s = data["machine"], data["settings"]
    memory = data["memory_kib"]
    lines = ["# quiver benchmark: %s" % m["date"], "",
             "**The machine is shared and noisy: read the ratios, not the absolute numbers.** Every target "
             "ran in the same run on the same machine, the load generator on the same cores.", "",
             "Command: `%s`" % s["command"], "",
             "## Machine", "",
             "- CPU: %s, %d cores; %s RAM; kernel %s; %s; host %s" % (m["cpu"], m["cores"], m["memory"],
                                                                    m["kernel"], m["os"], m["host"]),
             "- Tools: " + "; ".join("%s: %s" % kv for kv in sorted(m["tools"].items())),
             "- Targets' versions: " + "; ".join("%s: %s" % kv for kv in sorted(m["versions"].items())), "",
             "## Settings", "",
             "- %d worker process(es) for every target (and %d Nginx worker(s) where Nginx is in front); "
             "wrk with %d thread(s); %d s per TechEmpower run, %d s per production round; median of %d "
             "round(s); targets interleaved." % (s["workers"], s["workers"], s["wrk_threads"], s["duration_s"],
                                                 s["round_duration_s"], s["rounds"]),
             "- Database connections: quiver %d per worker (pipelined); aiohttp %d per process; Gunicorn "
             "gthread one per thread (%d); sync workers and uWSGI one per process; pgbench workers × %d."
             % (s["quiver_pool"], s["peer_pool"], s["peer_pool"], s["quiver_pool"]),
             "- *vs best peer*: this row's req/s over the fastest error-free peer's (Gunicorn, uWSGI, aiohttp) "
             "at the same test and connections. *vs ceiling*: over Nginx `return 200` (plaintext, json) or "
             "pgbench (db, queries). A row with errors or non-2xx answers is marked and never chosen as best.",
             "", "## Targets", ""]
    lines += ["- `%s`: %s" % kv for kv in data["targets"].items()]
    lines += [""]
    if data["failures"]:
        lines += ["## Failures", ""] + ["- " + f.splitlines()[0] for f in data["failures"]] + [""]
    lines += goals(data, med, memory)
    lines += nginx_section(data, med)
    if data["tests"]:
        lines += ["## TechEmpower tests", ""] + te_table(data, med) + [""]
    if data["rounds"]:
        lines += ["## Production rounds", "",
                  "Latency from the scheduled send time (openloop: no coordinated omission); errors include "
                  "connect/read failures, timeouts (5 s) and requests the generator could not send by the end "
                  "of the drain because the server had fallen behind.", ""]
        lines += ["- `%s`: %s" % kv for kv in data["rounds"].items()] + [""]
        lines += rounds_table(data, med) + [""]
    lines += ["## Memory", "", "RSS of each target's app-server processes (master and workers; Nginx in front "
              "not counted), idle after a warm-up request per endpoint, and the largest seen under load.", "",
              "PSS counts shared pages (the binary, libraries) once across the processes that share them.",
              "", "| target | processes | idle total RSS MiB | idle worker RSS MiB | idle worker PSS MiB | "
              "load total RSS MiB | load worker RSS MiB | load worker PSS MiB |",
              "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, v in memory.items():
        i, l = (list(v["idle"]) + [0])[:4], (list(v["load"]) + [0])[:4]
        lines.append("| %s | %d | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f |" % (
            name, i[2], i[0] / 1024, i[1] / 1024, i[3] / 1024, l[0] / 1024, l[1] / 1024, l[3] / 1024))
    lines.append("")
    if with_plots:
        made = make_plots(data, med, out)
        if made:
            lines += ["## Plots", ""] + ["![%s](%s)" % (p[:-4], p) for p in made] + [""]
    text = "\n".join(lines)
    with open(os.path.join(out, "report.md"), "w") as f:
        f.write(text)
    return text
