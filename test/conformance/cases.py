# SPDX-License-Identifier: MIT
"""HTTP/1.1 conformance cases from RFC 9110 and RFC 9112, as data; run.py sends
each case's raw bytes on a fresh connection and checks the outcomes in order."""

# An outcome is one of:
#   S(400)            a response whose status is one of the codes given
#   E(body="x", ...)  a 200 echo response whose JSON has these values; keys
#                     method/path/query/version/body compare exactly, `header`
#                     is a (name, value) pair that must appear, `no_header` a
#                     name that must not
#   ANY(a, b)         one response matching any of the alternatives
#   SEND(b"...")      send more bytes at this point
#   CLOSE / OPEN      the server closes the connection (no bytes follow) /
#                     keeps it open
# Options on S/E: head=True (read a response to HEAD), status_line="HTTP/1.1"
# (status-line version), headers={"Name": value or True (present) or None
# (absent)}, no_interim=True (a 1xx response is a failure, not skipped).
CLOSE = ("close",)
OPEN = ("open",)


def S(*codes, **opts):
    return dict(status=set(codes), **opts)


def E(head=False, status_line=None, headers=None, no_interim=False, **echo):
    return dict(status={200}, echo=echo, head=head, status_line=status_line,
                headers=headers or {}, no_interim=no_interim)


def ANY(*alts):
    return ("any", alts)


def SEND(data):
    return ("send", data)


CASES = []


def case(cid, section, desc, raw, *expect):
    CASES.append(dict(id=cid, section=section, desc=desc, raw=raw, expect=list(expect)))


H = b"Host: t\r\n"
CLOSE_HDR = b"Connection: close\r\n"
GET_B = b"GET /b HTTP/1.1\r\nHost: t\r\n\r\n"

# ---- message framing: Content-Length (RFC 9112 §6.2, §6.3; RFC 9110 §8.6) ----
case("cl-basic", "9112 §6.2", "Content-Length body is read exactly",
     b"POST /a HTTP/1.1\r\n" + H + b"Content-Length: 5\r\n\r\nhello" + GET_B,
     E(method="POST", path="/a", body="hello"), E(method="GET", path="/b"), OPEN)
case("cl-zero", "9112 §6.2", "Content-Length: 0 is an empty body",
     b"POST /a HTTP/1.1\r\n" + H + b"Content-Length: 0\r\n\r\n" + GET_B,
     E(body=""), E(path="/b"))
case("cl-leading-zeros", "9110 §8.6", "Content-Length = 1*DIGIT, leading zeros allowed",
     b"POST /a HTTP/1.1\r\n" + H + b"Content-Length: 005\r\n\r\nhello" + GET_B,
     E(body="hello"), E(path="/b"))
case("cl-ows", "9112 §5.1", "OWS around the Content-Length value is not part of it",
     b"POST /a HTTP/1.1\r\n" + H + b"Content-Length:   5  \r\n\r\nhello" + GET_B,
     E(body="hello"), E(path="/b"))
case("cl-none-no-body", "9112 §6.3", "a request without CL or TE has no body; next bytes are "
     "the next request", b"POST /a HTTP/1.1\r\n" + H + b"\r\n" + GET_B,
     E(method="POST", body=""), E(method="GET", path="/b"))
case("cl-get-with-body", "9110 §9.3.1", "GET with a body: framing still honours Content-Length",
     b"GET /a HTTP/1.1\r\n" + H + b"Content-Length: 3\r\n\r\nabc" + GET_B,
     E(method="GET", path="/a"), E(path="/b"))
case("cl-duplicate-same", "9110 §8.6", "repeated identical Content-Length: reject or use one",
     b"POST /a HTTP/1.1\r\n" + H + b"Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello" + GET_B,
     ANY(S(400), E(body="hello")))
case("cl-list-same", "9110 §8.6", "Content-Length: 5, 5: reject or use one",
     b"POST /a HTTP/1.1\r\n" + H + b"Content-Length: 5, 5\r\n\r\nhello" + GET_B,
     ANY(S(400), E(body="hello")))
case("cl-duplicate-differ", "9112 §6.3 (5)", "two different Content-Length values: 400 and close",
     b"POST /a HTTP/1.1\r\n" + H + b"Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!" + GET_B,
     S(400), CLOSE)
case("cl-list-differ", "9112 §6.3 (5)", "Content-Length: 5, 6: 400 and close",
     b"POST /a HTTP/1.1\r\n" + H + b"Content-Length: 5, 6\r\n\r\nhello!" + GET_B, S(400), CLOSE)
case("cl-nondigit", "9112 §6.3 (5)", "Content-Length: abc: 400 and close",
     b"POST /a HTTP/1.1\r\n" + H + b"Content-Length: abc\r\n\r\n" + GET_B, S(400), CLOSE)
case("cl-negative", "9112 §6.3 (5)", "Content-Length: -1: 400 and close",
     b"POST /a HTTP/1.1\r\n" + H + b"Content-Length: -1\r\n\r\n" + GET_B, S(400), CLOSE)
case("cl-plus", "9112 §6.3 (5)", "Content-Length: +5 is not 1*DIGIT: 400 and close",
     b"POST /a HTTP/1.1\r\n" + H + b"Content-Length: +5\r\n\r\nhello" + GET_B, S(400), CLOSE)
case("cl-hex", "9112 §6.3 (5)", "Content-Length: 0x5: 400 and close",
     b"POST /a HTTP/1.1\r\n" + H + b"Content-Length: 0x5\r\n\r\nhello" + GET_B, S(400), CLOSE)
case("cl-inner-space", "9112 §6.3 (5)", "Content-Length: 1 0: 400 and close",
     b"POST /a HTTP/1.1\r\n" + H + b"Content-Length: 1 0\r\n\r\n0123456789" + GET_B, S(400), CLOSE)
case("cl-empty", "9112 §6.3 (5)", "empty Content-Length value: 400 and close",
     b"POST /a HTTP/1.1\r\n" + H + b"Content-Length:\r\n\r\n" + GET_B, S(400), CLOSE)
case("cl-overflow", "9112 §6.3 (5)", "Content-Length beyond 64 bits: rejected, connection closed",
     b"POST /a HTTP/1.1\r\n" + H + b"Content-Length: 99999999999999999999999\r\n\r\n" + GET_B,
     S(400, 413), CLOSE)

# ---- message framing: chunked (RFC 9112 §7.1) ----
CH = b"POST /c HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\n"
case("chunked-basic", "9112 §7.1", "chunked body is decoded",
     CH + b"5\r\nhello\r\n0\r\n\r\n" + GET_B, E(body="hello"), E(path="/b"), OPEN)
case("chunked-multi", "9112 §7.1", "several chunks, upper- and lower-case hex sizes",
     CH + b"3\r\nabc\r\nA\r\n0123456789\r\nb\r\nABCDEFGHIJK\r\n0\r\n\r\n" + GET_B,
     E(body="abc0123456789ABCDEFGHIJK"), E(path="/b"))
case("chunked-leading-zeros", "9112 §7.1", "chunk-size = 1*HEXDIG, leading zeros allowed",
     CH + b"0005\r\nhello\r\n000\r\n\r\n" + GET_B, E(body="hello"), E(path="/b"))
case("chunked-ext", "9112 §7.1.1", "chunk extensions are ignored",
     CH + b"5;name=value\r\nhello\r\n0;last\r\n\r\n" + GET_B, E(body="hello"), E(path="/b"))
case("chunked-ext-quoted", "9112 §7.1.1", "quoted-string chunk extension value",
     CH + b"5;n=\"a b;c\"\r\nhello\r\n0\r\n\r\n" + GET_B, E(body="hello"), E(path="/b"))
case("chunked-ext-bws", "9112 §7.1.1", "BWS before ';' in a chunk extension",
     CH + b"5 ;n=v\r\nhello\r\n0\r\n\r\n" + GET_B, E(body="hello"), E(path="/b"))
case("chunked-trailer", "9112 §7.1.2", "trailer fields after the last chunk are consumed",
     CH + b"5\r\nhello\r\n0\r\nX-Trailer: 1\r\nX-Other: 2\r\n\r\n" + GET_B,
     E(body="hello"), E(path="/b"))
case("chunked-trailer-cl", "9112 §7.1.2", "Content-Length in a trailer does not change framing",
     CH + b"5\r\nhello\r\n0\r\nContent-Length: 50\r\n\r\n" + GET_B, E(body="hello"), E(path="/b"))
case("chunked-empty", "9112 §7.1", "only the last-chunk: empty body",
     CH + b"0\r\n\r\n" + GET_B, E(body=""), E(path="/b"))
case("chunked-size-invalid", "9112 §7.1", "non-hex chunk size: 400 and close",
     CH + b"zz\r\nhello\r\n0\r\n\r\n", S(400), CLOSE)
case("chunked-size-0x", "9112 §7.1", "chunk size with 0x prefix: 400 and close",
     CH + b"0x5\r\nhello\r\n0\r\n\r\n", S(400), CLOSE)
case("chunked-size-negative", "9112 §7.1", "negative chunk size: 400 and close",
     CH + b"-5\r\nhello\r\n0\r\n\r\n", S(400), CLOSE)
case("chunked-size-overflow", "9112 §7.1", "chunk size beyond 64 bits: rejected and close",
     CH + b"fffffffffffffffffffff\r\nhello\r\n0\r\n\r\n", S(400, 413), CLOSE)
case("chunked-data-overrun", "9112 §7.1", "chunk data longer than its size (no CRLF): 400, close",
     CH + b"3\r\nhello\r\n0\r\n\r\n", S(400), CLOSE)
case("chunked-size-empty", "9112 §7.1", "empty chunk-size line: 400 and close",
     CH + b"\r\nhello\r\n0\r\n\r\n", S(400), CLOSE)
case("chunked-pipelined-3", "9112 §9.3.2", "three pipelined requests mixing CL and chunked bodies",
     CH + b"2\r\nc1\r\n0\r\n\r\n"
     + b"POST /d HTTP/1.1\r\n" + H + b"Content-Length: 2\r\n\r\nc2"
     + CH + b"2\r\nc3\r\n0\r\n\r\n",
     E(path="/c", body="c1"), E(path="/d", body="c2"), E(path="/c", body="c3"), OPEN)

# ---- Transfer-Encoding rules (RFC 9112 §6.1) ----
def te(value, body=b"5\r\nhello\r\n0\r\n\r\n", version=b"1.1"):
    return (b"POST /c HTTP/" + version + b"\r\n" + H + b"Transfer-Encoding: " + value
            + b"\r\n\r\n" + body + GET_B)


case("te-case-insensitive", "9112 §7", "transfer-coding names are case-insensitive: Chunked",
     te(b"Chunked"), E(body="hello"), E(path="/b"))
case("te-tab-ows", "9112 §5.1", "HTAB as OWS before the value",
     te(b"\tchunked"), E(body="hello"), E(path="/b"))
case("te-trailing-ows", "9112 §5.1", "trailing OWS after chunked",
     te(b"chunked  "), E(body="hello"), E(path="/b"))
case("te-gzip-chunked", "9112 §6.1", "unknown coding before chunked: 501",
     te(b"gzip, chunked"), S(501))
case("te-chunked-gzip", "9112 §6.1", "chunked not the final coding: 400 and close",
     te(b"chunked, gzip"), S(400), CLOSE)
case("te-gzip-only", "9112 §6.1", "no chunked at all (gzip): 400 and close",
     te(b"gzip"), S(400), CLOSE)
case("te-identity", "9112 §6.1", "identity (not a registered coding in 9112): not chunked, 400",
     te(b"identity", body=b"hello"), S(400), CLOSE)
case("te-xchunked", "9112 §6.1", "smuggling: Transfer-Encoding: xchunked is not chunked: 400",
     te(b"xchunked"), S(400), CLOSE)
case("te-chunked-chunked", "9112 §6.1", "smuggling: chunked applied twice: rejected, closed",
     te(b"chunked, chunked"), S(400, 501), CLOSE)
case("te-two-lines", "9112 §6.1", "smuggling: two Transfer-Encoding: chunked lines = chunked twice",
     b"POST /c HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"
     b"5\r\nhello\r\n0\r\n\r\n" + GET_B, S(400, 501), CLOSE)
case("te-two-lines-gzip-last", "9112 §6.1", "second TE line makes gzip the final coding: 400",
     b"POST /c HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n"
     b"5\r\nhello\r\n0\r\n\r\n" + GET_B, S(400), CLOSE)
case("te-space-before-colon", "9112 §5.1", "smuggling: 'Transfer-Encoding : chunked' must be 400",
     b"POST /c HTTP/1.1\r\n" + H + b"Transfer-Encoding : chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
     + GET_B, S(400), CLOSE)
case("te-comma-only", "9112 §6.1", "Transfer-Encoding: , chunked (empty list element) is chunked "
     "or rejected", te(b", chunked"), ANY(S(400), E(body="hello")))
case("te-vertical-tab", "9112 §6.1", "smuggling: VT before chunked is not OWS: 400",
     te(b"\x0bchunked"), S(400), CLOSE)
case("te-obs-fold", "9112 §5.2", "smuggling: TE value on an obs-fold line: 400, or unfolded",
     b"POST /c HTTP/1.1\r\n" + H + b"Transfer-Encoding:\r\n chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
     + GET_B, ANY(S(400), E(body="hello")))
case("te-http10", "9112 §6.1", "TE in an HTTP/1.0 request: framing faulty, connection closed",
     te(b"chunked", version=b"1.0"), S(200, 400), CLOSE)
case("cl-te", "9112 §6.1", "smuggling CL.TE: TE overrides CL or 400; close either way",
     b"POST /c HTTP/1.1\r\n" + H + b"Content-Length: 13\r\nTransfer-Encoding: chunked\r\n\r\n"
     b"0\r\n\r\nSMUGGLED" + GET_B, ANY(S(400), E(body="")), CLOSE)
case("te-cl", "9112 §6.1", "smuggling TE.CL: a chunk hiding a request; close after the first",
     b"POST /c HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n"
     b"1e\r\nGET /smuggled HTTP/1.1\r\nX: X\r\n0\r\n\r\n" + GET_B,
     ANY(S(400), E(body="GET /smuggled HTTP/1.1\r\nX: X")), CLOSE)
case("cl-te-obfuscated", "9112 §6.1", "CL with TE ' chunked' (leading space): close afterwards",
     b"POST /c HTTP/1.1\r\n" + H + b"Content-Length: 4\r\nTransfer-Encoding:  chunked\r\n\r\n"
     b"0\r\n\r\n" + GET_B, ANY(S(400), E(body="")), CLOSE)

# ---- field syntax (RFC 9112 §5, RFC 9110 §5) ----
G = b"GET /h HTTP/1.1\r\n" + H


def hdr(line):
    return G + line + b"\r\n" + CLOSE_HDR + b"\r\n"


case("field-ows-trimmed", "9112 §5.1", "leading/trailing OWS is not part of the value",
     hdr(b"X-A: \t value \t"), E(header=["X-A", "value"]))
case("field-empty-value", "9110 §5.5", "an empty field value is allowed",
     hdr(b"X-A:"), E(header=["X-A", ""]))
case("field-no-space", "9112 §5.1", "no whitespace after the colon",
     hdr(b"X-A:v"), E(header=["X-A", "v"]))
case("field-repeated-order", "9110 §5.3", "repeated fields are kept in order",
     G + b"X-A: 1\r\nX-B: 2\r\nX-A: 3\r\n" + CLOSE_HDR + b"\r\n",
     E(header=["X-A", "3"]))
case("field-space-before-colon", "9112 §5.1", "whitespace between name and colon: 400",
     hdr(b"X-A : v"), S(400), CLOSE)
case("field-tab-before-colon", "9112 §5.1", "HTAB between name and colon: 400",
     hdr(b"X-A\t: v"), S(400), CLOSE)
case("field-empty-name", "9110 §5.1", "empty field name: 400",
     hdr(b": v"), S(400), CLOSE)
case("field-name-space", "9110 §5.1", "space inside a field name: 400",
     hdr(b"X A: v"), S(400), CLOSE)
case("field-name-at", "9110 §5.6.2", "'@' is not a tchar: 400",
     hdr(b"X@A: v"), S(400), CLOSE)
case("field-name-paren", "9110 §5.6.2", "'(' is not a tchar: 400",
     hdr(b"X(A): v"), S(400), CLOSE)
case("field-name-ctl", "9110 §5.6.2", "control byte in a field name: 400",
     hdr(b"X\x01A: v"), S(400), CLOSE)
case("field-name-tchar", "9110 §5.6.2", "every tchar symbol is allowed in a name",
     hdr(b"!#$%&'*+-.^_`|~09az: v"), E(header=["!#$%&'*+-.^_`|~09az", "v"]))
case("field-no-colon", "9112 §5", "a field line without a colon: 400",
     hdr(b"NoColonHere"), S(400), CLOSE)
case("field-nul-value", "9110 §5.5", "NUL in a value: reject, or replace with SP",
     hdr(b"X-A: a\x00b"), ANY(S(400), E(header=["X-A", "a b"])))
case("field-cr-value", "9110 §5.5", "bare CR in a value: reject, or replace with SP",
     hdr(b"X-A: a\rb"), ANY(S(400), E(header=["X-A", "a b"])))
case("field-bare-cr-line", "9112 §2.2", "bare CR as a line end: invalid, or replaced with SP",
     G + b"X-A: a\rX-B: b\r\n" + CLOSE_HDR + b"\r\n",
     ANY(S(400), E(header=["X-A", "a X-B: b"])))
case("field-obs-fold", "9112 §5.2", "obs-fold: 400, or each fold replaced by SP",
     hdr(b"X-A: a\r\n  b"), ANY(S(400), E(header=["X-A", "a b"])))
case("field-ws-before-first", "9112 §2.2", "whitespace-led line after the request line: reject "
     "or ignore the line", G.replace(H, b"") + b" X-Evil: 1\r\n" + H + CLOSE_HDR + b"\r\n",
     ANY(S(400), E(no_header="X-Evil")))
case("field-obs-text", "9110 §5.5", "obs-text bytes (0x80-0xFF) are allowed in a value",
     hdr(b"X-A: caf\xe9"), S(200))
case("field-long-value", "9110 §5.4", "a 4000-byte value is within limits",
     hdr(b"X-A: " + b"v" * 4000), E(header=["X-A", "v" * 4000]))
case("field-bare-lf", "9112 §2.2", "bare LF line ends: MAY be recognized, else 400",
     b"GET /h HTTP/1.1\nHost: t\nX-A: 1\nConnection: close\n\n",
     ANY(S(400), E(header=["X-A", "1"])))

# ---- limits (RFC 9110 §15.5.14, §15.5.15, §15.5.21; RFC 6585 §5) ----
case("limit-request-line", "9112 §3 / 9110 §15.5.15", "request-target longer than the limit: 414",
     b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\n" + H + b"\r\n", S(414))
case("limit-field-size", "6585 §5", "one field larger than limits.header_size: 431",
     hdr(b"X-A: " + b"v" * 9000), S(431))
case("limit-field-count", "6585 §5", "more fields than limits.header_fields: 431",
     G + b"".join(b"X-%d: v\r\n" % i for i in range(150)) + b"\r\n", S(431))
case("limit-body-cl", "9110 §15.5.14", "declared body over limits.body: 413, closed",
     b"POST /a HTTP/1.1\r\n" + H + b"Content-Length: 70000\r\n\r\n" + b"x" * 1000, S(413), CLOSE)
case("limit-body-chunked", "9110 §15.5.14", "chunked body over limits.body: 413, closed",
     CH + b"11170\r\n" + b"x" * 70000 + b"\r\n0\r\n\r\n", S(413), CLOSE)
case("limit-body-exact", "9110 §15.5.14", "body exactly at limits.body (64 KiB) is accepted",
     b"POST /a HTTP/1.1\r\n" + H + b"Content-Length: 65536\r\n" + CLOSE_HDR + b"\r\n"
     + b"y" * 65536, E(body="y" * 65536))

# ---- request line, methods, targets (RFC 9112 §3, RFC 9110 §9) ----
case("method-unknown", "9110 §9.1", "unrecognized method token: 501",
     b"FOO /m HTTP/1.1\r\n" + H + CLOSE_HDR + b"\r\n", S(501))
case("method-lowercase", "9110 §9.1", "methods are case-sensitive: 'get' is unknown: 501",
     b"get /m HTTP/1.1\r\n" + H + CLOSE_HDR + b"\r\n", S(501))
case("method-invalid-token", "9112 §3", "method with a non-tchar: 400",
     b"G(T /m HTTP/1.1\r\n" + H + CLOSE_HDR + b"\r\n", S(400), CLOSE)
case("method-put", "9110 §9.3.4", "PUT with a body reaches the app",
     b"PUT /m HTTP/1.1\r\n" + H + b"Content-Length: 2\r\n" + CLOSE_HDR + b"\r\nok",
     E(method="PUT", body="ok"))
case("method-delete", "9110 §9.3.5", "DELETE reaches the app",
     b"DELETE /m HTTP/1.1\r\n" + H + CLOSE_HDR + b"\r\n", E(method="DELETE", path="/m"))
case("method-patch", "5789 §2", "PATCH reaches the app",
     b"PATCH /m HTTP/1.1\r\n" + H + b"Content-Length: 1\r\n" + CLOSE_HDR + b"\r\nx",
     E(method="PATCH", body="x"))
case("method-options", "9110 §9.3.7", "OPTIONS with an origin-form target reaches the app",
     b"OPTIONS /m HTTP/1.1\r\n" + H + CLOSE_HDR + b"\r\n", E(method="OPTIONS"))
case("method-connect", "9110 §9.3.6", "CONNECT to an origin server: refused, no tunnel",
     b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", S(400, 405, 501))
case("target-asterisk-options", "9112 §3.2.4", "OPTIONS * is answered (server-wide)",
     b"OPTIONS * HTTP/1.1\r\n" + H + CLOSE_HDR + b"\r\n", S(200, 204))
case("target-asterisk-get", "9112 §3.2.4", "asterisk-form is only for OPTIONS: 400",
     b"GET * HTTP/1.1\r\n" + H + CLOSE_HDR + b"\r\n", S(400))
case("target-absolute", "9112 §3.2.2", "absolute-form: path and query from the target",
     b"GET http://h.example/p/q?z=9 HTTP/1.1\r\nHost: h.example\r\n" + CLOSE_HDR + b"\r\n",
     E(path="/p/q", query="z=9"))
case("target-absolute-https-port", "9112 §3.2.2", "absolute-form with https and a port",
     b"GET https://h.example:8443/x HTTP/1.1\r\nHost: other\r\n" + CLOSE_HDR + b"\r\n",
     E(path="/x", query=""))
case("target-absolute-no-path", "9112 §3.2.2", "absolute-form with an empty path means '/'",
     b"GET http://h.example HTTP/1.1\r\nHost: h.example\r\n" + CLOSE_HDR + b"\r\n", E(path="/"))
case("target-authority-get", "9112 §3.2.3", "authority-form only for CONNECT: 400",
     b"GET h.example:80 HTTP/1.1\r\n" + H + CLOSE_HDR + b"\r\n", S(400))
case("target-no-slash", "9112 §3.2.1", "origin-form must start with '/': 400",
     b"GET abc HTTP/1.1\r\n" + H + CLOSE_HDR + b"\r\n", S(400))
case("target-query", "9112 §3.2.1", "query split at the first '?'",
     b"GET /q?a=1?b=2 HTTP/1.1\r\n" + H + CLOSE_HDR + b"\r\n", E(path="/q", query="a=1?b=2"))
case("target-fragment", "9112 §3.2", "'#' is not allowed in a request-target: 400",
     b"GET /a#frag HTTP/1.1\r\n" + H + CLOSE_HDR + b"\r\n", S(400))
case("target-ctl", "9112 §3.2", "control byte in the target: 400",
     b"GET /a\x01b HTTP/1.1\r\n" + H + CLOSE_HDR + b"\r\n", S(400))
case("request-line-double-space", "9112 §3", "two SPs between method and target: 400 or lenient",
     b"GET  /d HTTP/1.1\r\n" + H + CLOSE_HDR + b"\r\n", ANY(S(400), E(path="/d")))
case("leading-crlf", "9112 §2.2", "an empty line before the request line is ignored",
     b"\r\nGET /l HTTP/1.1\r\n" + H + CLOSE_HDR + b"\r\n", E(path="/l"))

# ---- version (RFC 9112 §2.3, RFC 9110 §6.2, §15.6.6) ----
# HTTP/1.2: RFC 9110 §6.2 says a server SHOULD answer a higher minor version of a major
# version it supports with its highest minor version, so 1.2 is served as 1.1.
case("version-1.2", "9110 §6.2", "HTTP/1.2 is served as HTTP/1.1",
     b"GET /v HTTP/1.2\r\n" + H + CLOSE_HDR + b"\r\n", E(path="/v", status_line="HTTP/1.1"))
case("version-2.0", "9110 §15.6.6", "major version 2 over this syntax: 505",
     b"GET /v HTTP/2.0\r\n" + H + b"\r\n", S(505))
case("version-3.0", "9110 §15.6.6", "major version 3: 505",
     b"GET /v HTTP/3.0\r\n" + H + b"\r\n", S(505))
case("version-0.9-syntax", "9112 §2.3", "request line without a version (0.9): 400 (or 505)",
     b"GET /v\r\n\r\n", S(400, 505))
case("version-lowercase", "9112 §2.3", "HTTP-name is case-sensitive: 'http/1.1' is 400",
     b"GET /v http/1.1\r\n" + H + b"\r\n", S(400))
case("version-two-digits", "9112 §2.3", "HTTP/1.10 is not DIGIT.DIGIT: 400",
     b"GET /v HTTP/1.10\r\n" + H + b"\r\n", S(400))
case("version-response", "9112 §2.3", "responses to 1.0 requests carry HTTP/1.1",
     b"GET /v HTTP/1.0\r\n\r\n", E(version="1.0", status_line="HTTP/1.1"), CLOSE)

# ---- Host (RFC 9112 §3.2) ----
case("host-missing", "9112 §3.2", "HTTP/1.1 request without Host: 400",
     b"GET /h HTTP/1.1\r\n" + CLOSE_HDR + b"\r\n", S(400))
case("host-duplicate", "9112 §3.2", "two Host lines: 400",
     b"GET /h HTTP/1.1\r\nHost: a\r\nHost: b\r\n" + CLOSE_HDR + b"\r\n", S(400))
case("host-duplicate-same", "9112 §3.2", "two identical Host lines: still 400",
     b"GET /h HTTP/1.1\r\nHost: a\r\nHost: a\r\n" + CLOSE_HDR + b"\r\n", S(400))
case("host-space", "9112 §3.2", "Host with a space inside: 400",
     b"GET /h HTTP/1.1\r\nHost: a b\r\n" + CLOSE_HDR + b"\r\n", S(400))
case("host-userinfo", "9112 §3.2", "Host with userinfo (u@h): 400",
     b"GET /h HTTP/1.1\r\nHost: u@h.example\r\n" + CLOSE_HDR + b"\r\n", S(400))
case("host-slash", "9112 §3.2", "Host with a path: 400",
     b"GET /h HTTP/1.1\r\nHost: h.example/x\r\n" + CLOSE_HDR + b"\r\n", S(400))
case("host-bad-port", "9112 §3.2", "Host with a non-numeric port: 400",
     b"GET /h HTTP/1.1\r\nHost: h.example:8x\r\n" + CLOSE_HDR + b"\r\n", S(400))
case("host-empty", "9110 §7.2", "empty Host value is allowed",
     b"GET /h HTTP/1.1\r\nHost:\r\n" + CLOSE_HDR + b"\r\n", E(path="/h"))
case("host-port", "9110 §7.2", "Host with a port",
     b"GET /h HTTP/1.1\r\nHost: h.example:8080\r\n" + CLOSE_HDR + b"\r\n", E(path="/h"))
case("host-ipv6", "9110 §7.2", "Host with an IPv6 literal",
     b"GET /h HTTP/1.1\r\nHost: [::1]:80\r\n" + CLOSE_HDR + b"\r\n", E(path="/h"))
case("host-absolute-no-host", "9112 §3.2", "absolute-form does not excuse a missing Host: 400",
     b"GET http://h.example/x HTTP/1.1\r\n" + CLOSE_HDR + b"\r\n", S(400))
case("host-http10-missing", "9112 §3.2", "HTTP/1.0 without Host is served",
     b"GET /h HTTP/1.0\r\n\r\n", E(path="/h", version="1.0"), CLOSE)

# ---- connection management (RFC 9112 §9) ----
case("conn-persistent", "9112 §9.3", "HTTP/1.1 defaults to a persistent connection",
     b"GET /1 HTTP/1.1\r\n" + H + b"\r\n", E(path="/1"), OPEN)
case("conn-close", "9112 §9.6", "Connection: close ends the connection after the response",
     b"GET /1 HTTP/1.1\r\n" + H + CLOSE_HDR + b"\r\n" + GET_B,
     S(200, headers={"Connection": "close"}), CLOSE)
case("conn-close-case", "9110 §7.6.1", "connection options are case-insensitive: Close",
     b"GET /1 HTTP/1.1\r\n" + H + b"Connection: Close\r\n\r\n" + GET_B, E(path="/1"), CLOSE)
case("conn-close-in-list", "9110 §7.6.1", "close among other connection options",
     b"GET /1 HTTP/1.1\r\n" + H + b"Connection: keep-alive, close\r\n\r\n" + GET_B,
     E(path="/1"), CLOSE)
case("conn-http10-default", "9112 §9.3", "HTTP/1.0 without keep-alive: close after response",
     b"GET /1 HTTP/1.0\r\n\r\n" + GET_B, E(path="/1"), CLOSE)
case("conn-http10-keepalive", "9112 §9.3", "HTTP/1.0 keep-alive is honoured (pipelined pair)",
     b"GET /1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
     b"GET /2 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
     E(path="/1", headers={"Connection": "keep-alive"}), E(path="/2"), OPEN)
case("conn-pipeline-order", "9112 §9.3.2", "pipelined responses come back in request order",
     b"".join(b"GET /p%d HTTP/1.1\r\nHost: t\r\n\r\n" % i for i in range(5)),
     E(path="/p0"), E(path="/p1"), E(path="/p2"), E(path="/p3"), E(path="/p4"), OPEN)
case("conn-error-stops-pipeline", "9112 §9.3.2", "after a framing error the rest is not served",
     b"GET /1 HTTP/1.1\r\n" + H + b"\r\nPOST /2 HTTP/1.1\r\n" + H
     + b"Content-Length: x\r\n\r\n" + GET_B, E(path="/1"), S(400), CLOSE)

# ---- HEAD (RFC 9110 §9.3.2) ----
case("head-no-body", "9110 §9.3.2", "HEAD: headers as for GET (Content-Length), no body; the "
     "next pipelined response parses", b"HEAD /x HTTP/1.1\r\n" + H + b"\r\nGET /x HTTP/1.1\r\n"
     + H + b"\r\n", S(200, head=True, headers={"Content-Length": True}, head_cl_vs_next=True),
     E(method="GET", path="/x"), OPEN)
case("head-close", "9110 §9.3.2", "HEAD with Connection: close: no body bytes before EOF",
     b"HEAD /x HTTP/1.1\r\n" + H + CLOSE_HDR + b"\r\n", S(200, head=True), CLOSE)

# ---- Expect: 100-continue (RFC 9110 §10.1.1, §15.2.1) ----
case("expect-100", "9110 §10.1.1", "100 Continue before the body is sent, then the final response",
     b"POST /e HTTP/1.1\r\n" + H + b"Expect: 100-continue\r\nContent-Length: 5\r\n\r\n",
     S(100), SEND(b"hello"), E(body="hello"))
case("expect-100-too-large", "9110 §10.1.1", "final status instead of 100 when the body is too "
     "large", b"POST /e HTTP/1.1\r\n" + H + b"Expect: 100-continue\r\nContent-Length: 999999\r\n\r\n",
     S(413, no_interim=True))
case("expect-100-body-sent", "9110 §10.1.1", "client sends the body without waiting: answered",
     b"POST /e HTTP/1.1\r\n" + H + b"Expect: 100-continue\r\nContent-Length: 5\r\n\r\nhello" + GET_B,
     E(body="hello"), E(path="/b"))
case("expect-100-http10", "9110 §10.1.1", "100-continue in an HTTP/1.0 request MUST be ignored",
     b"POST /e HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nhello",
     E(body="hello", no_interim=True), CLOSE)
case("expect-case", "9110 §10.1.1", "the expectation token is case-insensitive: 100-Continue",
     b"POST /e HTTP/1.1\r\n" + H + b"Expect: 100-Continue\r\nContent-Length: 5\r\n\r\n",
     S(100), SEND(b"hello"), E(body="hello"))

# ---- response header requirements (RFC 9110 §6.6.1, §8.6) ----
case("resp-date", "9110 §6.6.1", "an origin server with a clock sends Date",
     b"GET /d HTTP/1.1\r\n" + H + CLOSE_HDR + b"\r\n", S(200, headers={"Date": True}))
case("resp-400-closes", "9112 §6.3", "a 400 for unparseable framing is followed by close",
     b"POST /a HTTP/1.1\r\n" + H + b"Transfer-Encoding: chunked\r\n\r\nq\r\n", S(400), CLOSE)
