// SPDX-License-Identifier: MIT
// Response serialisation: status line, header section, chunk framing, canned
// errors. Everything appends to the caller's buffer (one reserve per head).
#include "workers/http/response.hpp"

#include <algorithm>
#include <array>
#include <cassert>
#include <charconv>

#include "workers/http/chars.hpp"
#include "workers/http/request.hpp"

namespace quiver::worker {

namespace {

inline void append_uint(std::string& out, uint64_t v) {
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, static_cast<size_t>(r.ptr - buf));
}

inline void append_field(std::string& out, std::string_view name, std::string_view value) {
    out.append(name);
    out.append(": ", 2);
    out.append(value);
    out.append("\r\n", 2);
}

// RFC 9110 §6.4.1 / §8.6: no content, so no Content-Length or chunking.
inline bool bodyless(int status) { return status < 200 || status == 204 || status == 304; }

inline int valid_status(int status) { return status >= 100 && status <= 999 ? status : 500; }

// RFC 9110 §15 reason phrases, plus 103 (RFC 8297), 428/429/431/511 (RFC 6585)
// and 451 (RFC 7725).
struct Reason {
    int code;
    std::string_view text;
};
constexpr Reason kReasons[] = {
    {100, "Continue"},
    {101, "Switching Protocols"},
    {103, "Early Hints"},
    {200, "OK"},
    {201, "Created"},
    {202, "Accepted"},
    {203, "Non-Authoritative Information"},
    {204, "No Content"},
    {205, "Reset Content"},
    {206, "Partial Content"},
    {300, "Multiple Choices"},
    {301, "Moved Permanently"},
    {302, "Found"},
    {303, "See Other"},
    {304, "Not Modified"},
    {305, "Use Proxy"},
    {307, "Temporary Redirect"},
    {308, "Permanent Redirect"},
    {400, "Bad Request"},
    {401, "Unauthorized"},
    {402, "Payment Required"},
    {403, "Forbidden"},
    {404, "Not Found"},
    {405, "Method Not Allowed"},
    {406, "Not Acceptable"},
    {407, "Proxy Authentication Required"},
    {408, "Request Timeout"},
    {409, "Conflict"},
    {410, "Gone"},
    {411, "Length Required"},
    {412, "Precondition Failed"},
    {413, "Content Too Large"},
    {414, "URI Too Long"},
    {415, "Unsupported Media Type"},
    {416, "Range Not Satisfiable"},
    {417, "Expectation Failed"},
    {421, "Misdirected Request"},
    {422, "Unprocessable Content"},
    {426, "Upgrade Required"},
    {428, "Precondition Required"},
    {429, "Too Many Requests"},
    {431, "Request Header Fields Too Large"},
    {451, "Unavailable For Legal Reasons"},
    {500, "Internal Server Error"},
    {501, "Not Implemented"},
    {502, "Bad Gateway"},
    {503, "Service Unavailable"},
    {504, "Gateway Timeout"},
    {505, "HTTP Version Not Supported"},
    {511, "Network Authentication Required"},
};

// Indexed by status code: one load per lookup.
constexpr auto kReasonTable = [] {
    std::array<std::string_view, 600> t{};
    for (const Reason& r : kReasons) t[static_cast<size_t>(r.code)] = r.text;
    return t;
}();

}  // namespace

std::string_view status_reason(int status) {
    if (status < 0 || status >= static_cast<int>(kReasonTable.size())) return "Unknown";
    std::string_view r = kReasonTable[static_cast<size_t>(status)];
    return r.empty() ? "Unknown" : r;
}

const char* check_header(std::string_view name, std::string_view value) {
    if (!chars::is_token(name)) return "header name is not a token";
    for (char ch : value) {
        auto c = static_cast<unsigned char>(ch);
        if (c == '\r' || c == '\n' || c == 0) return "CR, LF or NUL in header value";
        if ((c < 0x20 && c != '\t') || c == 0x7f) return "control character in header value";
    }
    switch (name.size()) {
        case 10:
            if (iequals(name, "connection")) return "Connection is set by the server";
            break;
        case 14:
            if (iequals(name, "content-length")) return "Content-Length is set by the server";
            break;
        case 17:
            if (iequals(name, "transfer-encoding")) return "Transfer-Encoding is set by the server";
            break;
        default:
            break;
    }
    return nullptr;
}

void write_head(std::string& out, const ResponseHead& h, const OutHeader* headers, size_t n) {
    assert(h.mode != BodyMode::kChunked || h.http_minor >= 1);
    int status = valid_status(h.status);
    std::string_view reason = status_reason(status);

    // One reserve for the whole head; the app's Date/Server replace ours.
    size_t need = 128 + reason.size() + h.date.size() + h.server.size();
    bool app_date = false;
    bool app_server = false;
    for (size_t i = 0; i < n; ++i) {
        const OutHeader& f = headers[i];
        need += f.name.size() + f.value.size() + 4;
        if (f.name.size() == 4 && iequals(f.name, "date")) app_date = true;
        if (f.name.size() == 6 && iequals(f.name, "server")) app_server = true;
    }
    out.reserve(out.size() + need);

    out.append("HTTP/1.1 ", 9);
    append_uint(out, static_cast<uint64_t>(status));
    out.push_back(' ');
    out.append(reason);
    out.append("\r\n", 2);
    if (!h.server.empty() && !app_server) append_field(out, "Server", h.server);
    if (!h.date.empty() && !app_date) append_field(out, "Date", h.date);
    for (size_t i = 0; i < n; ++i) append_field(out, headers[i].name, headers[i].value);

    if (!bodyless(status)) {
        if (h.mode == BodyMode::kLength) {
            out.append("Content-Length: ", 16);
            append_uint(out, h.content_length);
            out.append("\r\n", 2);
        } else if (h.mode == BodyMode::kChunked) {
            out.append("Transfer-Encoding: chunked\r\n", 28);
        }
    }
    if (!h.keep_alive || h.mode == BodyMode::kClose)
        out.append("Connection: close\r\n", 19);
    else if (h.http_minor == 0)
        out.append("Connection: keep-alive\r\n", 24);  // RFC 9112 §9.3 (HTTP/1.0)
    out.append("\r\n", 2);
}

void write_response(std::string& out, const ResponseHead& h, const OutHeader* headers, size_t n,
                    std::string_view body) {
    ResponseHead head = h;
    head.mode = BodyMode::kLength;
    head.content_length = body.size();
    bool send_body = !h.head_request && !bodyless(valid_status(h.status));
    if (send_body) out.reserve(out.size() + body.size() + 256);
    write_head(out, head, headers, n);
    if (send_body) out.append(body);
}

void write_chunk(std::string& out, std::string_view data) {
    if (data.empty()) return;
    char buf[20];
    auto r = std::to_chars(buf, buf + sizeof buf, static_cast<uint64_t>(data.size()), 16);
    out.reserve(out.size() + static_cast<size_t>(r.ptr - buf) + data.size() + 4);
    out.append(buf, static_cast<size_t>(r.ptr - buf));
    out.append("\r\n", 2);
    out.append(data);
    out.append("\r\n", 2);
}

void write_last_chunk(std::string& out) { out.append("0\r\n\r\n", 5); }

void write_continue(std::string& out) { out.append("HTTP/1.1 100 Continue\r\n\r\n", 25); }

void write_error(std::string& out, int status, std::string_view date, std::string_view server,
                 bool head_request) {
    status = valid_status(status);
    char body[96];
    auto r = std::to_chars(body, body + 4, status);
    size_t len = static_cast<size_t>(r.ptr - body);
    body[len++] = ' ';
    std::string_view reason = status_reason(status);
    size_t take = std::min(reason.size(), sizeof body - len - 1);
    reason.copy(body + len, take);
    len += take;
    body[len++] = '\n';

    static constexpr OutHeader kType{"Content-Type", "text/plain; charset=utf-8"};
    ResponseHead h;
    h.status = status;
    h.keep_alive = false;
    h.head_request = head_request;
    h.date = date;
    h.server = server;
    write_response(out, h, &kType, 1, std::string_view(body, len));
}

}  // namespace quiver::worker
