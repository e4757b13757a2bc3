// SPDX-License-Identifier: MIT
// Response serialisation for HTTP/1.1 and for uwsgi (whose peer, Nginx, reads
// an HTTP status line and headers too): status line, headers, framing, chunks
// and the canned error responses. Appends to a caller's buffer; no other
// allocation, no streams. Sending is the connection's business.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace quiver::worker {

// One header an application supplied. Spans must stay valid for the call.
struct OutHeader {
    std::string_view name;
    std::string_view value;
};

// How the body is delimited (RFC 9112 §6).
enum class BodyMode {
    kLength,   // Content-Length: content_length
    kChunked,  // Transfer-Encoding: chunked; needs an HTTP/1.1 peer (http_minor >= 1)
               // and is not for uwsgi (Nginx does not de-chunk uwsgi responses)
    kClose,    // the body ends when the connection closes (HTTP/1.0 or uwsgi
               // streaming); "Connection: close" is sent and the connection
               // must close after the body
};

struct ResponseHead {
    int status = 200;
    // The request's minor version. The status line always says HTTP/1.1
    // (RFC 9110 §6.2); 0 only changes how keep-alive is announced.
    uint8_t http_minor = 1;
    // false sends "Connection: close"; true for an HTTP/1.0 peer sends
    // "Connection: keep-alive". Ignored (close) with BodyMode::kClose.
    bool keep_alive = true;
    // HEAD (RFC 9110 §9.3.2): the same header fields as for GET, including the
    // Content-Length the body would have had, and no body bytes.
    bool head_request = false;
    BodyMode mode = BodyMode::kLength;
    uint64_t content_length = 0;
    std::string_view date;    // IMF-fixdate from DateCache; "" = no Date header
    std::string_view server;  // "" = no Server header
};

// Checks one application-supplied header before it is written. The name must
// be an RFC 9110 token; the value must not contain CR, LF, NUL or another
// control character except HTAB (no header injection). Content-Length,
// Transfer-Encoding and Connection are the server's (framing and keep-alive)
// and are refused; Date and Server are allowed and replace the server's own.
// Returns nullptr when the header is acceptable, else static text saying why.
const char* check_header(std::string_view name, std::string_view value);

// Appends the status line, the header section and the blank line to `out`.
// App headers are written in the given order and must have passed
// check_header. 1xx, 204 and 304 responses get no Content-Length or
// Transfer-Encoding (RFC 9110 §8.6, RFC 9112 §6.1) whatever `mode` says.
void write_head(std::string& out, const ResponseHead& h, const OutHeader* headers, size_t n);

// Appends a whole response: head plus body (no body for HEAD, 1xx, 204 and
// 304). Uses BodyMode::kLength with content_length = body.size(), whatever
// h.mode and h.content_length say. The fast path for small responses.
void write_response(std::string& out, const ResponseHead& h, const OutHeader* headers, size_t n,
                    std::string_view body);

// Appends one chunk: "<hex size>\r\n<data>\r\n"; nothing for empty data (an
// empty chunk would end the body).
void write_chunk(std::string& out, std::string_view data);

// Appends the last chunk and the empty trailer section: "0\r\n\r\n".
void write_last_chunk(std::string& out);

// Appends the interim response to "Expect: 100-continue":
// "HTTP/1.1 100 Continue\r\n\r\n" (RFC 9110 §15.2.1).
void write_continue(std::string& out);

// The RFC 9110 reason phrase (plus 103 of RFC 8297, 428/429/431/511 of
// RFC 6585 and 451 of RFC 7725), or "Unknown".
std::string_view status_reason(int status);

// Appends a complete error response: a short text/plain body ("413 Content
// Too Large\n"), "Connection: close", no body for HEAD. The connection closes
// after sending it.
void write_error(std::string& out, int status, std::string_view date, std::string_view server,
                 bool head_request);

}  // namespace quiver::worker
