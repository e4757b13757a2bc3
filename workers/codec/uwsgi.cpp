// SPDX-License-Identifier: MIT
// UwsgiCodec: 4-byte header, vars block, body (see uwsgi.hpp). Every length
// in the packet is checked against what remains before it is used.
#include "workers/codec/uwsgi.hpp"

#include <algorithm>
#include <string_view>

#include "workers/http/chars.hpp"
#include "workers/http/target.hpp"

namespace quiver::worker {

namespace {

inline uint16_t le16(const char* p) {
    return static_cast<uint16_t>(static_cast<unsigned char>(p[0]) |
                                 (static_cast<unsigned char>(p[1]) << 8));
}

// CGI CONTENT_LENGTH: decimal digits; empty means no body.
bool parse_length(std::string_view v, uint64_t& out) {
    out = 0;
    if (v.size() > 19) return false;  // 10^19 > 2^63: no overflow below
    for (char c : v) {
        if (c < '0' || c > '9') return false;
        out = out * 10 + static_cast<uint64_t>(c - '0');
    }
    return true;
}

// CR, LF and NUL never appear in a value Nginx forwards; refuse them so no
// header an app echoes can be split (RFC 9110 §5.5).
bool clean_value(std::string_view v) {
    for (char c : v)
        if (c == '\r' || c == '\n' || c == '\0') return false;
    return true;
}

}  // namespace

UwsgiCodec::UwsgiCodec(const Http1Limits& limits) : limits_(limits) { req_.keep_alive = false; }

bool UwsgiCodec::in_message() const {
    return (stage_ == Stage::kHeader && head_len_ > 0) || stage_ == Stage::kVars ||
           stage_ == Stage::kBody;
}

FeedResult UwsgiCodec::fail(const char* reason, size_t consumed) {
    stage_ = Stage::kFailed;
    failure_ = FeedResult{CodecEvent::kError, consumed, 0, reason};
    return failure_;
}

FeedResult UwsgiCodec::feed(const char* data, size_t len) {
    size_t pos = 0;
    if (stage_ == Stage::kFailed) return failure_;
    if (stage_ == Stage::kDone) {
        if (len == 0) return FeedResult{CodecEvent::kNeedMore, 0, 0, {}};
        return fail("data after the request", 0);
    }

    if (stage_ == Stage::kHeader) {
        while (head_len_ < sizeof head_ && pos < len)
            head_[head_len_++] = static_cast<uint8_t>(data[pos++]);
        if (head_len_ < sizeof head_) return FeedResult{CodecEvent::kNeedMore, len, 0, {}};
        // modifier1 0 is a WSGI-style request with vars; others (uWSGI's
        // internal commands, PSGI, ...) are not ours. modifier2 is ignored.
        if (head_[0] != 0) return fail("unsupported uwsgi modifier1", pos);
        datasize_ = le16(reinterpret_cast<const char*>(head_ + 1));
        if (datasize_ > limits_.uwsgi_buffer) return fail("uwsgi vars block too large", pos);
        stage_ = Stage::kVars;
    }

    if (stage_ == Stage::kVars) {
        const char* err;
        if (vars_.empty() && len - pos >= datasize_) {
            // The usual case: the whole block is in this read; no copy.
            err = parse_vars(data + pos, datasize_);
            pos += datasize_;
        } else {
            size_t take = std::min<size_t>(datasize_ - vars_.size(), len - pos);
            vars_.append(data + pos, take);
            pos += take;
            if (vars_.size() < datasize_) return FeedResult{CodecEvent::kNeedMore, len, 0, {}};
            err = parse_vars(vars_.data(), vars_.size());
            std::string().swap(vars_);
        }
        if (err == nullptr) err = finish_vars();
        if (err != nullptr) return fail(err, pos);
        if (body_len_ > limits_.body) {
            // Nginx forwards our answer: a 413 (the connection then reads
            // and drops the rest of the body before closing) instead of a
            // reset that Nginx would turn into a 502.
            FeedResult r = fail("request body too large", pos);
            failure_.status = r.status = 413;
            return r;
        }
        stage_ = Stage::kBody;
        req_.body.reserve(static_cast<size_t>(body_len_));
    }

    // kBody
    size_t take = static_cast<size_t>(std::min<uint64_t>(body_len_ - req_.body.size(), len - pos));
    req_.body.append(data + pos, take);
    pos += take;
    if (req_.body.size() < body_len_) return FeedResult{CodecEvent::kNeedMore, len, 0, {}};
    stage_ = Stage::kDone;
    return FeedResult{CodecEvent::kMessage, pos, 0, {}};
}

const char* UwsgiCodec::parse_vars(const char* p, size_t n) {
    size_t i = 0;
    while (i < n) {
        if (n - i < 2) return "truncated uwsgi var key size";
        size_t klen = le16(p + i);
        i += 2;
        if (klen > n - i) return "uwsgi var key overruns the vars block";
        std::string_view key(p + i, klen);
        i += klen;
        if (n - i < 2) return "truncated uwsgi var value size";
        size_t vlen = le16(p + i);
        i += 2;
        if (vlen > n - i) return "uwsgi var value overruns the vars block";
        std::string_view value(p + i, vlen);
        i += vlen;
        if (const char* err = take_var(key, value)) return err;
    }
    return nullptr;
}

const char* UwsgiCodec::take_var(std::string_view key, std::string_view value) {
    if (key.size() > 5 && key.substr(0, 5) == "HTTP_") {
        std::string_view suffix = key.substr(5);
        // Framing was Nginx's business: the body arrives de-chunked with
        // CONTENT_LENGTH, which (like CONTENT_TYPE) is taken below instead.
        if (suffix == "CONTENT_LENGTH" || suffix == "CONTENT_TYPE" || suffix == "TRANSFER_ENCODING")
            return nullptr;
        if (!clean_value(value)) return "CR, LF or NUL in an HTTP_ var";
        // HTTP_X_FOO_BAR -> X-Foo-Bar (the case as received is lost).
        HeaderSpan h;
        h.name =
            Span{static_cast<uint32_t>(req_.data.size()), static_cast<uint32_t>(suffix.size())};
        bool word_start = true;
        for (char c : suffix) {
            if (c == '_') {
                req_.data.push_back('-');
                word_start = true;
                continue;
            }
            if (!chars::is_tchar(c)) return "invalid HTTP_ var name";
            char lower = chars::to_lower(c);
            req_.data.push_back(
                word_start && lower >= 'a' && lower <= 'z' ? static_cast<char>(lower - 32) : lower);
            word_start = false;
        }
        h.value = req_.append(value);
        req_.headers.push_back(h);
        return nullptr;
    }
    if (key == "REQUEST_METHOD") {
        if (has_method_) return "duplicate REQUEST_METHOD";
        if (!chars::is_token(value)) return "invalid REQUEST_METHOD";
        has_method_ = true;
        req_.method = req_.append(value);
        req_.is_head = value == "HEAD";
    } else if (key == "REQUEST_URI") {
        if (has_uri_) return "duplicate REQUEST_URI";
        if (!clean_value(value)) return "CR, LF or NUL in REQUEST_URI";
        has_uri_ = true;
        req_.target = req_.append(value);
    } else if (key == "QUERY_STRING") {
        if (!has_query_) query_ = req_.append(value);
        has_query_ = true;
    } else if (key == "CONTENT_LENGTH") {
        if (has_length_) return "duplicate CONTENT_LENGTH";
        has_length_ = true;
        if (!parse_length(value, body_len_)) return "invalid CONTENT_LENGTH";
        if (!value.empty())
            req_.headers.push_back({req_.append("Content-Length"), req_.append(value)});
    } else if (key == "CONTENT_TYPE") {
        if (!clean_value(value)) return "CR, LF or NUL in CONTENT_TYPE";
        if (!value.empty())
            req_.headers.push_back({req_.append("Content-Type"), req_.append(value)});
    } else if (key == "SERVER_PROTOCOL") {
        // "HTTP/1.1"; anything else keeps the default (1.1).
        if (value.size() == 8 && value.substr(0, 5) == "HTTP/" && value[6] == '.' &&
            value[5] >= '0' && value[5] <= '9' && value[7] >= '0' && value[7] <= '9') {
            req_.http_major = static_cast<uint8_t>(value[5] - '0');
            req_.http_minor = static_cast<uint8_t>(value[7] - '0');
        }
    } else if (key == "REMOTE_ADDR") {
        req_.remote_addr.assign(value);
    } else if (key == "HTTPS") {
        if (iequals(value, "on") || value == "1") req_.scheme = "https";
    } else if (key == "REQUEST_SCHEME") {
        if (iequals(value, "https")) req_.scheme = "https";
    } else if (key == "PATH_INFO") {
        path_info_ = req_.append(value);
    } else if (key == "SCRIPT_NAME") {
        script_name_ = req_.append(value);
    }
    return nullptr;
}

// Target, path and query once every var is known.
const char* UwsgiCodec::finish_vars() {
    if (!has_method_) return "missing REQUEST_METHOD";
    if (!has_uri_) {
        // Not from Nginx's uwsgi_params, but CGI enough: SCRIPT_NAME +
        // PATH_INFO [+ "?" QUERY_STRING].
        std::string_view script = req_.view(script_name_);
        std::string_view info = req_.view(path_info_);
        std::string_view qs = has_query_ ? req_.view(query_) : std::string_view();
        std::string t;
        t.reserve(script.size() + info.size() + qs.size() + 2);
        t.append(script);
        t.append(info);
        if (t.empty()) t.push_back('/');
        if (!qs.empty()) {
            t.push_back('?');
            t.append(qs);
        }
        if (!clean_value(t)) return "CR, LF or NUL in PATH_INFO";
        req_.target = req_.append(t);
    }
    std::string_view t = req_.target_v();
    TargetParts parts;
    if (t == "*") {
        req_.path = req_.target;
    } else if (!split_target(t, parts)) {
        return "invalid REQUEST_URI";
    } else {
        uint32_t base = req_.target.off;
        if (parts.path_len == 0)
            req_.path = req_.append("/");
        else
            req_.path = Span{base + static_cast<uint32_t>(parts.path_off),
                             static_cast<uint32_t>(parts.path_len)};
        if (!has_query_ && parts.query_len > 0)
            req_.query = Span{base + static_cast<uint32_t>(parts.query_off),
                              static_cast<uint32_t>(parts.query_len)};
    }
    if (has_query_) req_.query = query_;
    req_.keep_alive = false;
    return nullptr;
}

}  // namespace quiver::worker
