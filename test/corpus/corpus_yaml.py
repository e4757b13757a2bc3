# SPDX-License-Identifier: MIT
"""Shared by test/corpus/*/make.py: write one corpus case (the raw input and
its NNN.yaml expectation) without needing PyYAML. Strings are emitted as YAML
double-quoted scalars, so CR, LF and other control bytes stay readable."""

import os


def quote(s):
    """A YAML double-quoted scalar for str or UTF-8 bytes."""
    if isinstance(s, bytes):
        s = s.decode("utf-8")
    out = ['"']
    for ch in s:
        c = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif c < 0x20 or c == 0x7F:
            out.append("\\x%02x" % c)
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def request(method="GET", target="/", path=None, query="", version="1.1", headers=(),
            body=b"", keep_alive=None, expect_continue=False, remote_addr="",
            scheme="http"):
    """One expected request; defaults follow HTTP/1.1 semantics."""
    if path is None:
        path = target.split("?", 1)[0].split("#", 1)[0]
    if keep_alive is None:
        keep_alive = version == "1.1"
    return {
        "method": method, "target": target, "path": path, "query": query,
        "version": version, "keep_alive": keep_alive,
        "expect_continue": expect_continue, "headers": list(headers), "body": body,
        "remote_addr": remote_addr, "scheme": scheme,
    }


def emit_yaml(desc, requests=(), status=None, continues=0, incomplete=False, limits=None):
    lines = ["# " + desc]
    if limits:
        lines.append("limits:")
        for k, v in limits.items():
            lines.append("  %s: %d" % (k, v))
    if not requests:
        lines.append("requests: []")
    else:
        lines.append("requests:")
        for r in requests:
            first = True
            for key in ("method", "target", "path", "query", "version"):
                lines.append(("  - " if first else "    ") + "%s: %s" % (key, quote(r[key])))
                first = False
            lines.append("    keep_alive: %s" % str(r["keep_alive"]).lower())
            lines.append("    expect_continue: %s" % str(r["expect_continue"]).lower())
            lines.append("    remote_addr: %s" % quote(r["remote_addr"]))
            lines.append("    scheme: %s" % quote(r["scheme"]))
            if r["headers"]:
                lines.append("    headers:")
                for name, value in r["headers"]:
                    lines.append("      - [%s, %s]" % (quote(name), quote(value)))
            else:
                lines.append("    headers: []")
            lines.append("    body: %s" % quote(r["body"]))
    lines.append("continues: %d" % continues)
    lines.append("incomplete: %s" % str(incomplete).lower())
    if status is not None:
        lines.append("status: %d" % status)
    return "\n".join(lines) + "\n"


def write_cases(root, kind, ext, cases):
    """cases: list of (raw bytes, yaml text). Writes root/kind/NNN.ext + NNN.yaml
    and removes stale numbered files beyond the list."""
    d = os.path.join(root, kind)
    os.makedirs(d, exist_ok=True)
    keep = set()
    for i, (raw, yml) in enumerate(cases, 1):
        base = "%03d" % i
        keep.update({base + "." + ext, base + ".yaml"})
        with open(os.path.join(d, base + "." + ext), "wb") as f:
            f.write(raw)
        with open(os.path.join(d, base + ".yaml"), "w", encoding="utf-8") as f:
            f.write(yml)
    for name in os.listdir(d):
        if name not in keep and name[:3].isdigit():
            os.remove(os.path.join(d, name))
