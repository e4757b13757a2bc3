// SPDX-License-Identifier: MIT
// Http1Codec: HeadScanner checks the head's line grammar ahead of llhttp,
// llhttp callbacks fill the Request, the body is read here; one table maps
// llhttp errors to statuses.
#include "workers/codec/http1.hpp"

#include <algorithm>
#include <cstdint>
#include <new>
#include <string_view>

#include "workers/http/chars.hpp"
#include "workers/http/target.hpp"

namespace quiver::worker {

namespace {

// Buffers grown past these by one large request are released afterwards, so
// an idle keep-alive connection does not pin megabytes.
constexpr size_t kRetainArena = 64 * 1024;
constexpr size_t kRetainBody = 256 * 1024;
constexpr size_t kRetainHeaders = 128;

struct ErrorEntry {
    int status;
    const char* reason;
};

// Every llhttp error a request can produce, by llhttp_errno_t value
// (STYLE.md §2.5.6). Callback errors carry their own status instead.
constexpr ErrorEntry kLlhttpErrors[] = {
    /* 0 HPE_OK */ {400, "bad request"},
    /* 1 HPE_INTERNAL */ {400, "parser internal error"},
    /* 2 HPE_STRICT */ {400, "protocol violation"},
    /* 3 HPE_LF_EXPECTED */ {400, "missing LF"},
    /* 4 HPE_UNEXPECTED_CONTENT_LENGTH */ {400, "conflicting Content-Length"},
    /* 5 HPE_CLOSED_CONNECTION */ {400, "data after Connection: close"},
    /* 6 HPE_INVALID_METHOD */ {501, "method not implemented"},
    /* 7 HPE_INVALID_URL */ {400, "invalid request target"},
    /* 8 HPE_INVALID_CONSTANT */ {400, "malformed request line"},
    /* 9 HPE_INVALID_VERSION */ {400, "malformed HTTP version"},
    /* 10 HPE_INVALID_HEADER_TOKEN */ {400, "invalid header field"},
    /* 11 HPE_INVALID_CONTENT_LENGTH */ {400, "invalid Content-Length"},
    /* 12 HPE_INVALID_CHUNK_SIZE */ {400, "bad chunk size"},
    /* 13 HPE_INVALID_STATUS */ {400, "bad request"},
    /* 14 HPE_INVALID_EOF_STATE */ {400, "incomplete request"},
    /* 15 HPE_INVALID_TRANSFER_ENCODING */ {400, "chunked is not the final transfer coding"},
    /* 16 HPE_CB_MESSAGE_BEGIN */ {500, "callback error"},
    /* 17 HPE_CB_HEADERS_COMPLETE */ {500, "callback error"},
    /* 18 HPE_CB_MESSAGE_COMPLETE */ {500, "callback error"},
    /* 19 HPE_CB_CHUNK_HEADER */ {500, "callback error"},
    /* 20 HPE_CB_CHUNK_COMPLETE */ {500, "callback error"},
    /* 21 HPE_PAUSED */ {500, "unexpected pause"},
    /* 22 HPE_PAUSED_UPGRADE */ {400, "protocol upgrade not supported"},
    /* 23 HPE_PAUSED_H2_UPGRADE */ {505, "HTTP/2 connection preface"},
    /* 24 HPE_USER */ {500, "callback error"},
    /* 25 HPE_CR_EXPECTED */ {400, "missing CR"},
    /* 26 HPE_CB_URL_COMPLETE */ {500, "callback error"},
    /* 27 HPE_CB_STATUS_COMPLETE */ {500, "callback error"},
    /* 28 HPE_CB_HEADER_FIELD_COMPLETE */ {500, "callback error"},
    /* 29 HPE_CB_HEADER_VALUE_COMPLETE */ {500, "callback error"},
    /* 30 HPE_UNEXPECTED_SPACE */ {400, "unexpected whitespace"},
    /* 31 HPE_CB_RESET */ {500, "callback error"},
    /* 32 HPE_CB_METHOD_COMPLETE */ {500, "callback error"},
    /* 33 HPE_CB_VERSION_COMPLETE */ {500, "callback error"},
    /* 34 HPE_CB_CHUNK_EXTENSION_NAME_COMPLETE */ {400, "bad chunk extension"},
    /* 35 HPE_CB_CHUNK_EXTENSION_VALUE_COMPLETE */ {400, "bad chunk extension"},
};

// Appends a piece of a value llhttp delivers in parts (one per feed). False
// when the arena would outgrow 32-bit spans (only absurd limits allow that).
inline bool extend(Request& r, Span& s, const char* at, size_t len) {
    if (len > UINT32_MAX - r.data.size()) return false;
    if (s.len == 0) s.off = static_cast<uint32_t>(r.data.size());
    r.data.append(at, len);
    s.len += static_cast<uint32_t>(len);
    return true;
}

inline bool is_digit(char c) { return c >= '0' && c <= '9'; }

// RFC 9110 §7.2 / RFC 3986 §3.2.2: uri-host [ ":" port ]. An empty value is
// allowed (RFC 9112 §3.2: the target has no authority).
bool valid_host(std::string_view v) {
    size_t i = 0;
    if (!v.empty() && v[0] == '[') {
        size_t e = v.find(']');
        if (e == std::string_view::npos || e == 1) return false;
        for (i = 1; i < e; ++i) {
            char c = v[i];
            if (!(is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == ':' ||
                  c == '.'))
                return false;
        }
        i = e + 1;
    } else {
        static constexpr std::string_view kRegName = "-._~%!$&'()*+,;=";
        for (; i < v.size() && v[i] != ':'; ++i) {
            char c = v[i];
            if (!(is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  kRegName.find(c) != std::string_view::npos))
                return false;
        }
    }
    if (i == v.size()) return true;
    if (v[i] != ':') return false;
    for (++i; i < v.size(); ++i)
        if (!is_digit(v[i])) return false;
    return true;
}

}  // namespace

// The trampolines handed to llhttp: noexcept, so nothing unwinds through C
// (STYLE.md §2.5.3). Only allocation can throw in the handlers.
struct Http1Callbacks {
    static Http1Codec* self(llhttp_t* p) { return static_cast<Http1Codec*>(p->data); }

    template <int (Http1Codec::*F)()>
    static int event(llhttp_t* p) noexcept {
        try {
            return (self(p)->*F)();
        } catch (const std::bad_alloc&) {
            return self(p)->callback_error(500, "out of memory");
        }
    }
    template <int (Http1Codec::*F)(const char*, size_t)>
    static int data(llhttp_t* p, const char* at, size_t len) noexcept {
        try {
            return (self(p)->*F)(at, len);
        } catch (const std::bad_alloc&) {
            return self(p)->callback_error(500, "out of memory");
        }
    }

    static llhttp_settings_t make() {
        llhttp_settings_t s;
        llhttp_settings_init(&s);
        s.on_method = data<&Http1Codec::handle_method>;
        s.on_method_complete = event<&Http1Codec::handle_method_complete>;
        s.on_url = data<&Http1Codec::handle_url>;
        s.on_url_complete = event<&Http1Codec::handle_url_complete>;
        s.on_version_complete = event<&Http1Codec::handle_version_complete>;
        s.on_header_field = data<&Http1Codec::handle_header_field>;
        s.on_header_field_complete = event<&Http1Codec::handle_header_field_complete>;
        s.on_header_value = data<&Http1Codec::handle_header_value>;
        s.on_header_value_complete = event<&Http1Codec::handle_header_value_complete>;
        s.on_headers_complete = event<&Http1Codec::handle_headers_complete>;
        s.on_message_complete = event<&Http1Codec::handle_message_complete>;
        return s;
    }
};

namespace {
const llhttp_settings_t kSettings = Http1Callbacks::make();
}  // namespace

Http1Codec::Http1Codec(const Http1Limits& limits)
    : limits_(limits), scanner_(limits_), chunked_(limits_) {
    llhttp_init(&parser_, HTTP_REQUEST, &kSettings);
    parser_.data = this;
    // Versions: llhttp 8.1 refuses HTTP/1.2 outright, but RFC 9110 §6.2 says
    // to treat it as 1.1 and to answer other majors with 505; the version is
    // judged in handle_version_complete (HeadScanner has checked its syntax).
    // Keep-alive: parse past "Connection: close"; the connection stops
    // feeding after such a request, so pipelined bytes never become a 400.
    parser_.lenient_flags |= LENIENT_VERSION | LENIENT_KEEP_ALIVE;
    scanner_.reset(HeadScanner::Mode::kRequest);
}

bool Http1Codec::in_message() const {
    return stage_ == Stage::kHead || stage_ == Stage::kBody || stage_ == Stage::kRejectingMethod;
}

void Http1Codec::start_request() {
    // The peer's address and scheme belong to the connection: keep them.
    std::string addr = std::move(req_.remote_addr);
    std::string scheme = std::move(req_.scheme);
    req_.clear();
    req_.remote_addr = std::move(addr);
    req_.scheme = std::move(scheme);
    if (req_.data.capacity() > kRetainArena) std::string().swap(req_.data);
    if (req_.body.capacity() > kRetainBody) std::string().swap(req_.body);
    if (req_.headers.capacity() > kRetainHeaders) decltype(req_.headers)().swap(req_.headers);

    stage_ = Stage::kIdle;
    body_kind_ = BodyKind::kNone;
    in_field_ = false;
    expect_unknown_ = false;
    host_invalid_ = false;
    host_count_ = 0;
    bad_target_ = nullptr;
    body_left_ = 0;
    scanner_.reset(HeadScanner::Mode::kRequest);
    // llhttp paused at the end of the previous head.
    if (llhttp_get_errno(&parser_) == HPE_PAUSED) llhttp_resume(&parser_);
}

FeedResult Http1Codec::fail(int status, const char* reason, size_t consumed) {
    stage_ = Stage::kFailed;
    failure_ = FeedResult{CodecEvent::kError, consumed, status, reason};
    return failure_;
}

FeedResult Http1Codec::fail_llhttp(llhttp_errno_t err, size_t consumed) {
    if (cb_status_ != 0) return fail(cb_status_, cb_reason_, consumed);
    size_t i = static_cast<size_t>(err);
    if (i >= std::size(kLlhttpErrors)) return fail(400, "bad request", consumed);
    return fail(kLlhttpErrors[i].status, kLlhttpErrors[i].reason, consumed);
}

FeedResult Http1Codec::deliver(size_t consumed) {
    stage_ = Stage::kDelivered;
    return FeedResult{CodecEvent::kMessage, consumed, 0, {}};
}

int Http1Codec::callback_error(int status, const char* reason) {
    cb_status_ = status;
    cb_reason_ = reason;
    return -1;
}

// llhttp refused the method before its end arrived. RFC 9110 §9.1: an
// unrecognised method is 501, but only a valid token is a method at all; so
// keep checking the request line until the token ends (501) or breaks (400).
FeedResult Http1Codec::reject_method(const char* data, size_t len) {
    scanner_.scan(data, len);
    if (scanner_.method_done()) return fail(501, "method not implemented", len);
    if (scanner_.failed()) return fail(scanner_.status(), scanner_.reason(), len);
    return FeedResult{CodecEvent::kNeedMore, len, 0, {}};
}

FeedResult Http1Codec::feed(const char* data, size_t len) {
    switch (stage_) {
        case Stage::kFailed:
            return failure_;
        case Stage::kRejectingMethod:
            return reject_method(data, len);
        case Stage::kBody:
            return feed_body(data, len, 0);
        case Stage::kDelivered:
            start_request();
            break;
        default:
            break;
    }
    size_t pos = 0;
    FeedResult r = feed_head(data, len, pos);
    if (r.event != CodecEvent::kMessage) return r;  // not yet, or an error

    // The head is complete at pos.
    if (body_kind_ == BodyKind::kNone) return deliver(pos);
    stage_ = Stage::kBody;
    if (req_.expect_continue) return FeedResult{CodecEvent::kContinue, pos, 0, {}};
    return feed_body(data, len, pos);
}

// Runs HeadScanner and llhttp over the head. Returns kMessage (meaning: the
// head is complete at `pos`), kNeedMore or kError.
FeedResult Http1Codec::feed_head(const char* data, size_t len, size_t& pos) {
    // llhttp reads only what the scanner has passed; an error the scanner
    // found is reported unless llhttp finds an earlier one before it.
    size_t limit = len;
    if (!scanner_.done()) {
        size_t n = scanner_.scan(data, len);
        if (scanner_.failed()) limit = n;
        if (stage_ == Stage::kIdle && scanner_.started()) stage_ = Stage::kHead;
    }
    llhttp_errno_t err = llhttp_execute(&parser_, data, limit);
    pos = err == HPE_OK ? limit : static_cast<size_t>(llhttp_get_error_pos(&parser_) - data);

    if (err == HPE_OK) {
        if (pos == len) return FeedResult{CodecEvent::kNeedMore, len, 0, {}};
        return fail(scanner_.status(), scanner_.reason(), pos);
    }
    if (err == HPE_PAUSED) return FeedResult{CodecEvent::kMessage, pos, 0, {}};
    if (err == HPE_INVALID_METHOD && cb_status_ == 0) {
        if (scanner_.method_done()) return fail(501, "method not implemented", pos);
        if (scanner_.failed()) return fail(scanner_.status(), scanner_.reason(), pos);
        stage_ = Stage::kRejectingMethod;
        return FeedResult{CodecEvent::kNeedMore, len, 0, {}};
    }
    return fail_llhttp(err, pos);
}

FeedResult Http1Codec::feed_body(const char* data, size_t len, size_t pos) {
    if (body_kind_ == BodyKind::kLength) {
        size_t take = static_cast<size_t>(std::min<uint64_t>(body_left_, len - pos));
        req_.body.append(data + pos, take);
        body_left_ -= take;
        pos += take;
        if (body_left_ == 0) return deliver(pos);
        return FeedResult{CodecEvent::kNeedMore, len, 0, {}};
    }
    pos += chunked_.decode(data + pos, len - pos, req_.body);
    switch (chunked_.state()) {
        case ChunkedDecoder::Status::kDone:
            return deliver(pos);
        case ChunkedDecoder::Status::kError:
            return fail(chunked_.status(), chunked_.reason(), pos);
        case ChunkedDecoder::Status::kMore:
            break;
    }
    return FeedResult{CodecEvent::kNeedMore, len, 0, {}};
}

// ---- llhttp callbacks ------------------------------------------------------

int Http1Codec::handle_method(const char* at, size_t len) {
    if (!extend(req_, req_.method, at, len)) return callback_error(431, "request head too large");
    return 0;
}

int Http1Codec::handle_method_complete() {
    std::string_view m = req_.method_v();
    req_.is_head = m == "HEAD";
    // A tunnel is not something an application server provides (RFC 9110 §9.3.6).
    if (m == "CONNECT") return callback_error(501, "CONNECT not supported");
    return 0;
}

int Http1Codec::handle_url(const char* at, size_t len) {
    if (!extend(req_, req_.target, at, len)) return callback_error(431, "request head too large");
    return 0;
}

int Http1Codec::handle_url_complete() {
    // Reported after the version check, so "PRI * HTTP/2.0" is a 505.
    bad_target_ = parse_target();
    return 0;
}

// Splits the target into path and query (RFC 9112 §3.2): origin-form and
// absolute-form via split_target; asterisk-form "*" is for OPTIONS only
// (RFC 9112 §3.2.4) and is its own path.
const char* Http1Codec::parse_target() {
    std::string_view t = req_.target_v();
    if (t == "*") {
        if (req_.method_v() != "OPTIONS") return "asterisk-form target without OPTIONS";
        req_.path = req_.target;
        return nullptr;
    }
    // RFC 9112 §3.2: a request-target has no fragment ('#' is not in its
    // grammar); a request line with one is invalid (§3: 400).
    if (t.find('#') != std::string_view::npos) return "fragment in request target";
    TargetParts parts;
    if (!split_target(t, parts)) return "invalid request target";
    uint32_t base = req_.target.off;
    if (parts.query_len > 0)
        req_.query = Span{base + static_cast<uint32_t>(parts.query_off),
                          static_cast<uint32_t>(parts.query_len)};
    if (parts.path_len == 0)
        req_.path = req_.append("/");  // "http://host?q": the path is "/"
    else
        req_.path = Span{base + static_cast<uint32_t>(parts.path_off),
                         static_cast<uint32_t>(parts.path_len)};
    return nullptr;
}

int Http1Codec::handle_version_complete() {
    // RFC 9110 §6.2: a higher minor version is processed as the highest we
    // implement (1.1); another major is 505 (§15.6.6).
    if (parser_.http_major != 1) return callback_error(505, "HTTP version not supported");
    if (bad_target_ != nullptr) return callback_error(400, bad_target_);
    req_.http_major = 1;
    req_.http_minor = parser_.http_minor >= 1 ? 1 : 0;
    req_.keep_alive = req_.http_minor >= 1;
    return 0;
}

int Http1Codec::handle_header_field(const char* at, size_t len) {
    if (!in_field_) {
        req_.headers.emplace_back();
        in_field_ = true;
    }
    if (!extend(req_, req_.headers.back().name, at, len))
        return callback_error(431, "request head too large");
    return 0;
}

int Http1Codec::handle_header_field_complete() {
    in_field_ = false;
    return 0;
}

int Http1Codec::handle_header_value(const char* at, size_t len) {
    if (!extend(req_, req_.headers.back().value, at, len))
        return callback_error(431, "request head too large");
    return 0;
}

int Http1Codec::handle_header_value_complete() {
    HeaderSpan& h = req_.headers.back();
    // llhttp skips leading OWS; trim the trailing OWS (RFC 9110 §5.5).
    while (h.value.len > 0) {
        char c = req_.data[h.value.off + h.value.len - 1];
        if (c != ' ' && c != '\t') break;
        --h.value.len;
    }
    std::string_view name = req_.view(h.name);
    std::string_view value = req_.view(h.value);
    if (name.size() == 4 && iequals(name, "host")) {
        if (host_count_ < 2) ++host_count_;
        if (!valid_host(value)) host_invalid_ = true;
    } else if (name.size() == 6 && iequals(name, "expect") && req_.http_minor >= 1) {
        // RFC 9110 §10.1.1; an HTTP/1.0 request's expectation is ignored.
        if (iequals(value, "100-continue"))
            req_.expect_continue = true;
        else if (!value.empty())
            expect_unknown_ = true;
    }
    return 0;
}

// A transfer coding other than chunked (which llhttp has seen last, once).
bool Http1Codec::other_transfer_coding() const {
    for (const HeaderSpan& h : req_.headers) {
        if (!iequals(req_.view(h.name), "transfer-encoding")) continue;
        std::string_view v = req_.view(h.value);
        while (!v.empty()) {
            size_t comma = v.find(',');
            std::string_view item = v.substr(0, comma);
            v = comma == std::string_view::npos ? std::string_view() : v.substr(comma + 1);
            while (!item.empty() && (item.front() == ' ' || item.front() == '\t'))
                item.remove_prefix(1);
            while (!item.empty() && (item.back() == ' ' || item.back() == '\t'))
                item.remove_suffix(1);
            if (!item.empty() && !iequals(item, "chunked")) return true;
        }
    }
    return false;
}

// Whole-head rules, in the order a client most needs to hear about them.
int Http1Codec::check_head() {
    // RFC 9112 §3.2: exactly one valid Host in HTTP/1.1, at most one in 1.0.
    if (host_count_ > 1) return callback_error(400, "more than one Host header");
    if (host_count_ == 0 && req_.http_minor >= 1) return callback_error(400, "missing Host header");
    if (host_invalid_) return callback_error(400, "invalid Host header");

    uint16_t flags = parser_.flags;
    bool chunked = (flags & F_CHUNKED) != 0;
    if (flags & F_TRANSFER_ENCODING) {
        // RFC 9112 §6.1: Transfer-Encoding in HTTP/1.0 means faulty framing.
        if (req_.http_minor == 0)
            return callback_error(400, "Transfer-Encoding in an HTTP/1.0 request");
        // RFC 9112 §6.3: chunked not final means the length is unknowable.
        if (!chunked) return callback_error(400, "chunked is not the final transfer coding");
        // RFC 9112 §6.1: a coding we do not decode (gzip, chunked) is 501.
        if (other_transfer_coding()) return callback_error(501, "transfer coding not implemented");
    }
    if (expect_unknown_) return callback_error(417, "unsupported expectation");
    // A declared body over the limit is refused before it is read.
    if (!chunked && parser_.content_length > limits_.body)
        return callback_error(413, "request body too large");
    return 0;
}

int Http1Codec::handle_headers_complete() {
    if (int r = check_head(); r != 0) return r;

    uint16_t flags = parser_.flags;
    if (flags & F_CONNECTION_CLOSE)
        req_.keep_alive = false;
    else if (req_.http_minor == 0)
        req_.keep_alive = (flags & F_CONNECTION_KEEP_ALIVE) != 0;
    // Upgrade (e.g. websocket) is not offered: the request is served as an
    // ordinary one (RFC 9110 §7.8 lets a server ignore Upgrade).
    parser_.upgrade = 0;

    if (flags & F_CHUNKED) {
        body_kind_ = BodyKind::kChunked;
        chunked_.reset();
    } else if (parser_.content_length > 0) {
        body_kind_ = BodyKind::kLength;
        body_left_ = parser_.content_length;
        req_.body.reserve(static_cast<size_t>(body_left_));
    }
    // 1: llhttp treats the message as body-less and stops at the end of the
    // head (handle_message_complete); the body is read by feed_body.
    return 1;
}

int Http1Codec::handle_message_complete() { return HPE_PAUSED; }

}  // namespace quiver::worker
