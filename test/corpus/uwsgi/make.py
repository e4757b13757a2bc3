#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes test/corpus/uwsgi/{valid,invalid}/NNN.bin + NNN.yaml.

A uwsgi packet (what Nginx's uwsgi_pass sends) is a 4-byte header (modifier1,
u16 little-endian datasize, modifier2), datasize bytes of vars, each
{u16 LE key size, key, u16 LE value size, value}, then CONTENT_LENGTH bytes of
body. Expectations are written by hand. Append cases and rerun this script."""

import os
import struct
import sys

sys.dont_write_bytecode = True

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from corpus_yaml import emit_yaml, request as req, write_cases  # noqa: E402


def block(pairs):
    out = b""
    for k, v in pairs:
        k = k.encode() if isinstance(k, str) else k
        v = v.encode() if isinstance(v, str) else v
        out += struct.pack("<H", len(k)) + k + struct.pack("<H", len(v)) + v
    return out


def packet(pairs, body=b"", modifier1=0, modifier2=0, datasize=None):
    b = block(pairs)
    size = len(b) if datasize is None else datasize
    return struct.pack("<BHB", modifier1, size, modifier2) + b + body


def nginx(method="GET", uri="/", query="", length="", ctype="", headers=(), https=False,
          protocol="HTTP/1.1"):
    """The vars of Nginx's stock uwsgi_params, then the request's headers."""
    path = uri.split("?", 1)[0]
    pairs = [
        ("QUERY_STRING", query), ("REQUEST_METHOD", method), ("CONTENT_TYPE", ctype),
        ("CONTENT_LENGTH", length), ("REQUEST_URI", uri), ("PATH_INFO", path),
        ("DOCUMENT_ROOT", "/usr/share/nginx/html"), ("SERVER_PROTOCOL", protocol),
        ("REQUEST_SCHEME", "https" if https else "http"),
    ]
    if https:
        pairs.append(("HTTPS", "on"))
    pairs += [("REMOTE_ADDR", "198.51.100.4"), ("REMOTE_PORT", "40000"),
              ("SERVER_PORT", "443" if https else "80"), ("SERVER_NAME", "example.com")]
    pairs += list(headers)
    return pairs


R = dict(remote_addr="198.51.100.4")
HOST = ("HTTP_HOST", "example.com")
H = ("Host", "example.com")

VALID = [
    ("GET with a query, as Nginx sends it",
     packet(nginx("GET", "/items?id=3", "id=3", headers=[HOST, ("HTTP_ACCEPT", "*/*")])),
     [req("GET", "/items?id=3", "/items", "id=3", keep_alive=False,
          headers=[H, ("Accept", "*/*")], **R)]),
    ("POST with a body and its Content-Type/Length",
     packet(nginx("POST", "/submit", "", "7", "text/plain",
                  headers=[HOST, ("HTTP_CONTENT_TYPE", "text/plain"),
                           ("HTTP_CONTENT_LENGTH", "7")]), b"payload"),
     [req("POST", "/submit", keep_alive=False,
          headers=[("Content-Type", "text/plain"), ("Content-Length", "7"), H],
          body=b"payload", **R)]),
    ("HTTPS=on makes the scheme https",
     packet(nginx("GET", "/secure", https=True, headers=[HOST])),
     [req("GET", "/secure", keep_alive=False, headers=[H], scheme="https", **R)]),
    ("no REQUEST_URI: SCRIPT_NAME + PATH_INFO + QUERY_STRING",
     packet([("REQUEST_METHOD", "GET"), ("SCRIPT_NAME", "/app"), ("PATH_INFO", "/p"),
             ("QUERY_STRING", "a=b")]),
     [req("GET", "/app/p?a=b", "/app/p", "a=b", keep_alive=False)]),
    ("HEAD over HTTP/1.0",
     packet(nginx("HEAD", "/", protocol="HTTP/1.0", headers=[HOST])),
     [req("HEAD", "/", version="1.0", keep_alive=False, headers=[H], **R)]),
    ("title-cased header names; Transfer-Encoding dropped",
     packet(nginx("GET", "/", headers=[HOST, ("HTTP_X_FORWARDED_FOR", "192.0.2.1"),
                                       ("HTTP_ACCEPT_LANGUAGE", "en"),
                                       ("HTTP_TRANSFER_ENCODING", "chunked")])),
     [req("GET", "/", keep_alive=False,
          headers=[H, ("X-Forwarded-For", "192.0.2.1"), ("Accept-Language", "en")], **R)]),
    ("modifier2 is ignored", packet([("REQUEST_METHOD", "GET"), ("REQUEST_URI", "/m")],
                                    modifier2=7),
     [req("GET", "/m", keep_alive=False)]),
    ("repeated headers stay separate and in order",
     packet(nginx("GET", "/", headers=[HOST, ("HTTP_COOKIE", "a=1"), ("HTTP_COOKIE", "b=2")])),
     [req("GET", "/", keep_alive=False, headers=[H, ("Cookie", "a=1"), ("Cookie", "b=2")],
          **R)]),
    ("QUERY_STRING wins over the URI's query",
     packet([("REQUEST_METHOD", "GET"), ("REQUEST_URI", "/r?orig=1"),
             ("QUERY_STRING", "rewritten=1")]),
     [req("GET", "/r?orig=1", "/r", "rewritten=1", keep_alive=False)]),
]

good = block([("REQUEST_METHOD", "GET"), ("REQUEST_URI", "/")])

INVALID = [
    ("modifier1 is not 0", packet([("REQUEST_METHOD", "GET")], modifier1=5), {}),
    ("a key size past the block",
     struct.pack("<BHB", 0, len(good) + 8, 0) + good + struct.pack("<H", 200) + b"HTTP_X", {}),
    ("a value size past the block",
     struct.pack("<BHB", 0, len(good) + 12, 0) + good + struct.pack("<H", 6) + b"HTTP_X"
     + struct.pack("<H", 99) + b"ab", {}),
    ("one byte of a key size at the block's end",
     struct.pack("<BHB", 0, len(good) + 1, 0) + good + b"\x04", {}),
    ("no REQUEST_METHOD", packet([("REQUEST_URI", "/")]), {}),
    ("CONTENT_LENGTH is not a number",
     packet([("REQUEST_METHOD", "POST"), ("CONTENT_LENGTH", "12a")], b"x"), {}),
    ("two CONTENT_LENGTH vars",
     packet([("REQUEST_METHOD", "POST"), ("CONTENT_LENGTH", "1"), ("CONTENT_LENGTH", "2")],
            b"xy"), {}),
    ("body over the limit",
     packet([("REQUEST_METHOD", "POST"), ("CONTENT_LENGTH", "11")], b"x" * 11),
     {"limits": {"body": 10}, "status": 413}),
    ("vars block over uwsgi_buffer",
     packet([("REQUEST_METHOD", "GET"), ("HTTP_X", "v" * 40)]),
     {"limits": {"uwsgi_buffer": 32}}),
    ("CR/LF in a header var",
     packet([("REQUEST_METHOD", "GET"), ("HTTP_X_A", "1\r\nSet-Cookie: x=y")]), {}),
    ("a packet cut short is incomplete, not a request",
     packet(nginx("POST", "/", length="10"), b"12345"), {"incomplete": True}),
    ("bytes after the request",
     packet([("REQUEST_METHOD", "GET"), ("REQUEST_URI", "/")]) + b"more",
     {"before": [req("GET", "/", keep_alive=False)]}),
    ("an empty vars block", packet([]), {}),
    ("the header alone", struct.pack("<BHB", 0, 100, 0), {"incomplete": True}),
]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    valid = [(raw, emit_yaml(desc, reqs)) for desc, raw, reqs in VALID]
    invalid = []
    for desc, raw, opt in INVALID:
        incomplete = opt.get("incomplete", False)
        invalid.append((raw, emit_yaml(desc, opt.get("before", []),
                                       status=None if incomplete else opt.get("status", 0),
                                       incomplete=incomplete, limits=opt.get("limits"))))
    write_cases(here, "valid", "bin", valid)
    write_cases(here, "invalid", "bin", invalid)
    print("uwsgi corpus: %d valid, %d invalid" % (len(valid), len(invalid)))


if __name__ == "__main__":
    main()
