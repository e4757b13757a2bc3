#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writes test/corpus/http1/{valid,invalid}/NNN.http + NNN.yaml.

Each case is the raw request bytes (real CRLF line endings) and the
expectation written by hand from RFC 9110/9112, not from the codec's output.
To add a case, append it to VALID or INVALID and run this script; existing
numbers stay stable as long as cases are only appended."""

import os
import sys

sys.dont_write_bytecode = True

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from corpus_yaml import emit_yaml, request as req, write_cases  # noqa: E402


def crlf(*lines):
    """Joins lines with CRLF and ends the head with the empty line."""
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")


H = ("Host", "example.com")

plaintext = crlf("GET /plaintext HTTP/1.1", "Host: localhost", "Accept: text/plain",
                 "Connection: keep-alive")
plaintext_req = req("GET", "/plaintext", headers=[("Host", "localhost"),
                                                  ("Accept", "text/plain"),
                                                  ("Connection", "keep-alive")])

many_headers = [("X-H%d" % i, str(i)) for i in range(99)]
big_value = "v" * 8000

VALID = [
    ("simple GET", crlf("GET / HTTP/1.1", "Host: example.com"), [req(headers=[H])]),
    ("query string",
     crlf("GET /search?q=quiver&page=2 HTTP/1.1", "Host: example.com"),
     [req("GET", "/search?q=quiver&page=2", "/search", "q=quiver&page=2", headers=[H])]),
    ("absolute-form target (RFC 9112 §3.2.2)",
     crlf("GET http://example.com:8080/a/b?c=d HTTP/1.1", "Host: example.com:8080"),
     [req("GET", "http://example.com:8080/a/b?c=d", "/a/b", "c=d",
          headers=[("Host", "example.com:8080")])]),
    ("asterisk-form with OPTIONS", crlf("OPTIONS * HTTP/1.1", "Host: example.com"),
     [req("OPTIONS", "*", "*", headers=[H])]),
    ("HEAD", crlf("HEAD /index.html HTTP/1.1", "Host: example.com"),
     [req("HEAD", "/index.html", headers=[H])]),
    ("HTTP/1.0 without Host closes by default", crlf("GET /old HTTP/1.0"),
     [req("GET", "/old", version="1.0")]),
    ("HTTP/1.0 asking for keep-alive", crlf("GET / HTTP/1.0", "Connection: keep-alive"),
     [req(version="1.0", keep_alive=True, headers=[("Connection", "keep-alive")])]),
    ("HTTP/1.1 Connection: close", crlf("GET / HTTP/1.1", "Host: example.com",
                                        "Connection: close"),
     [req(keep_alive=False, headers=[H, ("Connection", "close")])]),
    ("Content-Length body",
     crlf("POST /form HTTP/1.1", "Host: example.com",
          "Content-Type: application/x-www-form-urlencoded", "Content-Length: 15")
     + b"name=a&value=bc",
     [req("POST", "/form", headers=[H, ("Content-Type", "application/x-www-form-urlencoded"),
                                    ("Content-Length", "15")], body=b"name=a&value=bc")]),
    ("chunked body with extensions and trailers",
     crlf("POST /upload HTTP/1.1", "Host: example.com", "Transfer-Encoding: chunked")
     + b"4;ext=1\r\nWiki\r\n5 ; a = b ; c=\"q \\\" d\"\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n"
     + b"0\r\nExpires: never\r\nX-Sum: 1\r\n\r\n",
     [req("POST", "/upload", headers=[H, ("Transfer-Encoding", "chunked")],
          body=b"Wikipedia in\r\n\r\nchunks.")]),
    ("chunk sizes in upper case hex with leading zeros",
     crlf("PUT /x HTTP/1.1", "Host: example.com", "Transfer-Encoding: chunked")
     + b"000A\r\n0123456789\r\n00\r\n\r\n",
     [req("PUT", "/x", headers=[H, ("Transfer-Encoding", "chunked")], body=b"0123456789")]),
    ("three pipelined GETs",
     crlf("GET /1 HTTP/1.1", "Host: example.com") + crlf("GET /2 HTTP/1.1", "Host: example.com")
     + crlf("GET /3 HTTP/1.1", "Host: example.com"),
     [req("GET", "/1", headers=[H]), req("GET", "/2", headers=[H]),
      req("GET", "/3", headers=[H])]),
    ("pipelined POST then GET",
     crlf("POST /a HTTP/1.1", "Host: example.com", "Content-Length: 5") + b"hello"
     + crlf("GET /b HTTP/1.1", "Host: example.com"),
     [req("POST", "/a", headers=[H, ("Content-Length", "5")], body=b"hello"),
      req("GET", "/b", headers=[H])]),
    ("empty lines before the request line are ignored (RFC 9112 §2.2)",
     b"\r\n\r\n" + crlf("GET / HTTP/1.1", "Host: example.com"), [req(headers=[H])]),
    ("OWS around values is not part of them",
     crlf("GET / HTTP/1.1", "Host:example.com", "X-A:   spaced   ", "X-B:\ttabbed\t",
          "X-C: in ner"),
     [req(headers=[H, ("X-A", "spaced"), ("X-B", "tabbed"), ("X-C", "in ner")])]),
    ("empty header value", crlf("GET / HTTP/1.1", "Host: example.com", "X-Empty:"),
     [req(headers=[H, ("X-Empty", "")])]),
    ("repeated fields are kept in order",
     crlf("GET / HTTP/1.1", "Host: example.com", "Cookie: a=1", "Accept: text/html",
          "Cookie: b=2"),
     [req(headers=[H, ("Cookie", "a=1"), ("Accept", "text/html"), ("Cookie", "b=2")])]),
    ("field names keep the case they were sent in",
     crlf("GET / HTTP/1.1", "hOST: example.com", "x-lower: 1", "X-UPPER: 2"),
     [req(headers=[("hOST", "example.com"), ("x-lower", "1"), ("X-UPPER", "2")])]),
    ("obs-text (UTF-8) in a value",
     crlf("GET / HTTP/1.1", "Host: example.com", "X-Name: Zoë Ünïcode"),
     [req(headers=[H, ("X-Name", "Zoë Ünïcode")])]),
    ("Expect: 100-continue before a body",
     crlf("PUT /big HTTP/1.1", "Host: example.com", "Expect: 100-continue",
          "Content-Length: 4") + b"data",
     [req("PUT", "/big", headers=[H, ("Expect", "100-continue"), ("Content-Length", "4")],
          body=b"data", expect_continue=True)], {"continues": 1}),
    ("Upgrade is served as an ordinary request",
     crlf("GET /chat HTTP/1.1", "Host: example.com", "Upgrade: websocket",
          "Connection: Upgrade", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
          "Sec-WebSocket-Version: 13"),
     [req("GET", "/chat", headers=[H, ("Upgrade", "websocket"), ("Connection", "Upgrade"),
                                   ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
                                   ("Sec-WebSocket-Version", "13")])]),
    ("a higher minor version is served as 1.1 (RFC 9110 §6.2)",
     crlf("GET / HTTP/1.9", "Host: example.com"), [req(headers=[H])]),
    ("an 8000-byte header value is within the default 8190 limit",
     crlf("GET / HTTP/1.1", "Host: example.com", "X-Big: " + big_value),
     [req(headers=[H, ("X-Big", big_value)])]),
    ("100 header fields is the default limit",
     crlf("GET / HTTP/1.1", "Host: example.com", *["%s: %s" % h for h in many_headers]),
     [req(headers=[H] + many_headers)]),
    ("PATCH and DELETE",
     crlf("PATCH /r/1 HTTP/1.1", "Host: example.com", "Content-Length: 2") + b"{}"
     + crlf("DELETE /r/1 HTTP/1.1", "Host: example.com"),
     [req("PATCH", "/r/1", headers=[H, ("Content-Length", "2")], body=b"{}"),
      req("DELETE", "/r/1", headers=[H])]),
    ("percent-encoding is left to the application",
     crlf("GET /a%20b/%E2%9C%93?x=%26 HTTP/1.1", "Host: example.com"),
     [req("GET", "/a%20b/%E2%9C%93?x=%26", "/a%20b/%E2%9C%93", "x=%26", headers=[H])]),
    ("an empty query", crlf("GET /p? HTTP/1.1", "Host: example.com"),
     [req("GET", "/p?", "/p", "", headers=[H])]),
    ("Host forms: IPv6 literal with port",
     crlf("GET / HTTP/1.1", "Host: [2001:db8::1]:8443"),
     [req(headers=[("Host", "[2001:db8::1]:8443")])]),
    ("an empty Host is allowed (RFC 9112 §3.2)", crlf("GET / HTTP/1.1", "Host:"),
     [req(headers=[("Host", "")])]),
    ("Content-Length: 0 and a leading-zero length",
     crlf("POST /z HTTP/1.1", "Host: example.com", "Content-Length: 0")
     + crlf("POST /y HTTP/1.1", "Host: example.com", "Content-Length: 003") + b"abc",
     [req("POST", "/z", headers=[H, ("Content-Length", "0")]),
      req("POST", "/y", headers=[H, ("Content-Length", "003")], body=b"abc")]),
    ("TechEmpower plaintext pipelined 16 deep", plaintext * 16, [plaintext_req] * 16),
    ("a request still arriving", crlf("GET /1 HTTP/1.1", "Host: example.com")
     + b"GET /2 HTTP/1.1\r\nHost: exa",
     [req("GET", "/1", headers=[H])], {"incomplete": True}),
    ("chunked with Expect: 100-continue",
     crlf("POST /c HTTP/1.1", "Host: example.com", "Transfer-Encoding: chunked",
          "Expect: 100-continue") + b"3\r\nabc\r\n0\r\n\r\n",
     [req("POST", "/c", headers=[H, ("Transfer-Encoding", "chunked"),
                                 ("Expect", "100-continue")],
          body=b"abc", expect_continue=True)], {"continues": 1}),
]

INVALID = [
    ("bare LF ends the request line", b"GET / HTTP/1.1\nHost: example.com\r\n\r\n", 400),
    ("bare LF ends a header line", b"GET / HTTP/1.1\r\nHost: example.com\n\r\n", 400),
    ("obs-fold (RFC 9112 §5.2)",
     crlf("GET / HTTP/1.1", "Host: example.com", "X-Folded: a", " b"), 400),
    ("whitespace between field name and colon",
     crlf("GET / HTTP/1.1", "Host : example.com"), 400),
    ("Content-Length and Transfer-Encoding (CL.TE smuggling)",
     crlf("POST / HTTP/1.1", "Host: example.com", "Content-Length: 6",
          "Transfer-Encoding: chunked") + b"0\r\n\r\nX", 400),
    ("two equal Content-Length fields",
     crlf("POST / HTTP/1.1", "Host: example.com", "Content-Length: 3", "Content-Length: 3")
     + b"abc", 400),
    ("Content-Length as a list", crlf("POST / HTTP/1.1", "Host: example.com",
                                      "Content-Length: 3, 3") + b"abc", 400),
    ("negative Content-Length", crlf("POST / HTTP/1.1", "Host: example.com",
                                     "Content-Length: -1"), 400),
    ("non-numeric Content-Length", crlf("POST / HTTP/1.1", "Host: example.com",
                                        "Content-Length: ten"), 400),
    ("overflowing Content-Length", crlf("POST / HTTP/1.1", "Host: example.com",
                                        "Content-Length: 184467440737095516160"), 400),
    ("Transfer-Encoding: gzip alone: chunked not final (RFC 9112 §6.3)",
     crlf("POST / HTTP/1.1", "Host: example.com", "Transfer-Encoding: gzip"), 400),
    ("gzip then chunked: a coding we do not decode (RFC 9112 §6.1)",
     crlf("POST / HTTP/1.1", "Host: example.com", "Transfer-Encoding: gzip, chunked")
     + b"0\r\n\r\n", 501),
    ("chunked then gzip", crlf("POST / HTTP/1.1", "Host: example.com",
                               "Transfer-Encoding: chunked, gzip"), 400),
    ("identity is not a transfer coding any more",
     crlf("POST / HTTP/1.1", "Host: example.com", "Transfer-Encoding: identity"), 400),
    ("Transfer-Encoding in HTTP/1.0",
     crlf("POST / HTTP/1.0", "Transfer-Encoding: chunked") + b"0\r\n\r\n", 400),
    ("bad chunk size", crlf("POST / HTTP/1.1", "Host: example.com",
                            "Transfer-Encoding: chunked") + b"xyz\r\nabc\r\n0\r\n\r\n", 400),
    ("garbage in a chunk extension",
     crlf("POST / HTTP/1.1", "Host: example.com", "Transfer-Encoding: chunked")
     + b"3;a\x01b\r\nabc\r\n0\r\n\r\n", 400),
    ("chunk data not followed by CRLF",
     crlf("POST / HTTP/1.1", "Host: example.com", "Transfer-Encoding: chunked")
     + b"3\r\nabcXX0\r\n\r\n", 400),
    ("missing Host in HTTP/1.1", crlf("GET / HTTP/1.1", "Accept: */*"), 400),
    ("two Host fields", crlf("GET / HTTP/1.1", "Host: a.example", "Host: b.example"), 400),
    ("a Host with userinfo", crlf("GET / HTTP/1.1", "Host: user@example.com"), 400),
    ("method is not a token", crlf("GE,T / HTTP/1.1", "Host: example.com"), 400),
    ("unknown method (RFC 9110 §9.1)", crlf("BREW /pot HTTP/1.1", "Host: example.com"), 501),
    ("CONNECT tunnels are not provided",
     crlf("CONNECT example.com:443 HTTP/1.1", "Host: example.com:443"), 501),
    ("HTTP/2.0 in an HTTP/1 request line", crlf("GET / HTTP/2.0", "Host: example.com"), 505),
    ("HTTP/2 connection preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505),
    ("HTTP/0.9 simple request", b"GET /\r\n", 400),
    ("NUL in a value", crlf("GET / HTTP/1.1", "Host: example.com", "X-A: a\x00b"), 400),
    ("CR in a value", crlf("GET / HTTP/1.1", "Host: example.com", "X-A: a\rb"), 400),
    ("invalid character in a field name",
     crlf("GET / HTTP/1.1", "Host: example.com", "X-[A]: 1"), 400),
    ("empty field name", crlf("GET / HTTP/1.1", "Host: example.com", ": v"), 400),
    ("request line over 8190 bytes",
     crlf("GET /" + "a" * 8200 + " HTTP/1.1", "Host: example.com"), 414),
    ("101 header fields",
     crlf("GET / HTTP/1.1", "Host: example.com", *["X-H%d: %d" % (i, i) for i in range(100)]),
     431),
    ("one field line over 8190 bytes",
     crlf("GET / HTTP/1.1", "Host: example.com", "X-Big: " + "v" * 8200), 431),
    ("declared body over the 1 MiB limit",
     crlf("POST / HTTP/1.1", "Host: example.com", "Content-Length: 2000000"), 413),
    ("a chunk over the 1 MiB limit",
     crlf("POST / HTTP/1.1", "Host: example.com", "Transfer-Encoding: chunked")
     + b"200000\r\n", 413),
    ("unknown expectation", crlf("POST / HTTP/1.1", "Host: example.com", "Expect: tea",
                                 "Content-Length: 1") + b"x", 417),
    ("asterisk-form without OPTIONS", crlf("GET * HTTP/1.1", "Host: example.com"), 400),
    ("whitespace before the first header field",
     crlf("GET / HTTP/1.1", " Host: example.com"), 400),
    ("two spaces in the request line", crlf("GET  / HTTP/1.1", "Host: example.com"), 400),
    ("lower-case protocol name", crlf("GET / http/1.1", "Host: example.com"), 400),
    ("a valid request, then a broken one",
     crlf("GET /ok HTTP/1.1", "Host: example.com") + crlf("GET /bad HTTP/1.1",
                                                          "Host: example.com", "X : y"),
     400, [req("GET", "/ok", headers=[H])]),
    ("obs-fold in the trailer section",
     crlf("POST / HTTP/1.1", "Host: example.com", "Transfer-Encoding: chunked")
     + b"0\r\nX-T: a\r\n b\r\n\r\n", 400),
    ("HTAB as a request-line separator", crlf("GET\t/ HTTP/1.1", "Host: example.com"), 400),
    ("control character in the target", crlf("GET /a\x1bb HTTP/1.1", "Host: example.com"), 400),
    ("Transfer-Encoding: xchunked is not chunked",
     crlf("POST / HTTP/1.1", "Host: example.com", "Transfer-Encoding: xchunked"), 400),
    ("whitespace after the chunk size",
     crlf("POST / HTTP/1.1", "Host: example.com", "Transfer-Encoding: chunked")
     + b"3 \r\nabc\r\n0\r\n\r\n", 400),
    ("limits from the yaml: a 17-byte body over a 16-byte limit",
     crlf("POST / HTTP/1.1", "Host: example.com", "Content-Length: 17") + b"x" * 17, 413,
     [], {"body": 16}),
    ("a fragment in the request-target (RFC 9112 §3.2: not in its grammar)",
     crlf("GET /search?q=1#top HTTP/1.1", "Host: example.com"), 400),
]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    valid = []
    for case in VALID:
        desc, raw, reqs = case[0], case[1], case[2]
        extra = case[3] if len(case) > 3 else {}
        valid.append((raw, emit_yaml(desc, reqs, continues=extra.get("continues", 0),
                                     incomplete=extra.get("incomplete", False))))
    invalid = []
    for case in INVALID:
        desc, raw, status = case[0], case[1], case[2]
        before = case[3] if len(case) > 3 else []
        limits = case[4] if len(case) > 4 else None
        invalid.append((raw, emit_yaml(desc, before, status=status, limits=limits)))
    write_cases(here, "valid", "http", valid)
    write_cases(here, "invalid", "http", invalid)
    print("http1 corpus: %d valid, %d invalid" % (len(valid), len(invalid)))


if __name__ == "__main__":
    main()
