// SPDX-License-Identifier: MIT
// Access log lines (combined, JSON, format string) with batched writes.
#include "workers/access_log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <ctime>

#include "server/common/log.hpp"
#include "workers/http/request.hpp"

namespace quiver::worker {

namespace {

constexpr size_t kFlushAt = 64 * 1024;
constexpr char kHex[] = "0123456789abcdef";

void append_uint(std::string& out, uint64_t v) {
    char b[24];
    auto r = std::to_chars(b, b + sizeof b, v);
    out.append(b, static_cast<size_t>(r.ptr - b));
}

// Length of the valid UTF-8 sequence starting at s[i] (RFC 3629: no
// overlongs, no surrogates, nothing past U+10FFFF), or 0.
size_t utf8_length(std::string_view s, size_t i) {
    auto at = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
    unsigned char c = at(i);
    size_t n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
    if (c < 0xc2 || c > 0xf4 || i + n > s.size()) return 0;
    for (size_t k = 1; k < n; ++k)
        if ((at(i + k) & 0xc0) != 0x80) return 0;
    unsigned char c1 = at(i + 1);
    if (c == 0xe0 && c1 < 0xa0) return 0;  // overlong
    if (c == 0xed && c1 >= 0xa0) return 0;  // surrogate
    if (c == 0xf0 && c1 < 0x90) return 0;  // overlong
    if (c == 0xf4 && c1 >= 0x90) return 0;  // past U+10FFFF
    return n;
}

std::string_view or_dash(std::string_view v) { return v.empty() ? std::string_view("-") : v; }

}  // namespace

AccessLog::~AccessLog() {
    flush();
    if (fd_ > 2) ::close(fd_);
}

bool AccessLog::open(const std::string& path, const std::string& format) {
    path_ = path;
    pid_ = static_cast<uint32_t>(::getpid());
    if (format == "json") {
        kind_ = Kind::kJson;
    } else if (format.empty() || format == "combined") {
        kind_ = Kind::kCombined;
    } else {
        auto pieces = parse_access_format(format);
        if (!pieces) {
            log::error("log.access_format: ", pieces.error().message());
            return false;
        }
        pieces_ = std::move(*pieces);
        kind_ = Kind::kCustom;
    }
    if (path.empty()) return true;
    if (path == "-") {
        fd_ = 1;
        return true;
    }
    fd_ = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd_ < 0) {
        log::error("open(", path, ") failed: ", log::errno_text(errno));
        return false;
    }
    return true;
}

void AccessLog::attach(uv_loop_t* loop) {
    if (fd_ < 0 || timer_on_) return;
    uv_timer_init(loop, &timer_);
    timer_.data = this;
    uv_unref(reinterpret_cast<uv_handle_t*>(&timer_));  // never keeps the loop alive
    timer_on_ = true;
}

void AccessLog::on_timer(uv_timer_t* t) noexcept { static_cast<AccessLog*>(t->data)->flush(); }

void AccessLog::reopen() {
    if (fd_ <= 2 || path_.empty() || path_ == "-") return;
    flush();
    int fd = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0) {
        log::error("reopen(", path_, ") failed: ", log::errno_text(errno));
        return;
    }
    ::dup2(fd, fd_);
    ::close(fd);
}

namespace {
// Plain printable ASCII other than " and \: copied as is by both escapers.
bool plain(unsigned char c) { return c >= 0x20 && c < 0x7f && c != '"' && c != '\\'; }

size_t plain_run(std::string_view s, size_t i) {
    size_t j = i;
    while (j < s.size() && plain(static_cast<unsigned char>(s[j]))) ++j;
    return j;
}
}  // namespace

void AccessLog::escape(std::string& out, std::string_view s) {
    static const char hex[] = "0123456789ABCDEF";
    size_t run = plain_run(s, 0);
    out.append(s.data(), run);
    if (run == s.size()) return;
    s.remove_prefix(run);
    for (unsigned char c : s) {
        if (c == '"' || c == '\\' || c < 0x20 || c >= 0x7f) {
            out.append("\\x");
            out.push_back(hex[c >> 4]);
            out.push_back(hex[c & 15]);
        } else {
            out.push_back(static_cast<char>(c));
        }
    }
}

void AccessLog::escape_json(std::string& out, std::string_view s) {
    size_t i = 0;
    while (i < s.size()) {
        if (size_t j = plain_run(s, i); j > i) {
            out.append(s.data() + i, j - i);
            i = j;
            continue;
        }
        unsigned char c = static_cast<unsigned char>(s[i]);
        if (c >= 0x20 && c < 0x7f) {
            if (c == '"' || c == '\\') out.push_back('\\');
            out.push_back(static_cast<char>(c));
            ++i;
        } else if (c < 0x20 || c == 0x7f) {
            out.append("\\u00");
            out.push_back(kHex[c >> 4]);
            out.push_back(kHex[c & 15]);
            ++i;
        } else if (size_t n = utf8_length(s, i); n > 0) {
            out.append(s.substr(i, n));
            i += n;
        } else {
            out.append("\\ufffd");
            ++i;
        }
    }
}

void AccessLog::update_time() {
    time_t now = ::time(nullptr);
    if (now == cached_sec_) return;
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(time_text_, sizeof time_text_, "%d/%b/%Y:%H:%M:%S +0000", &tm);
    strftime(time_iso_, sizeof time_iso_, "%Y-%m-%dT%H:%M:%SZ", &tm);
    cached_sec_ = now;
}

void AccessLog::add(const Request& req, const AccessEntry& e) {
    if (fd_ < 0) return;
    format_line(buf_, req, e);
    if (buf_.size() >= kFlushAt) flush();
}

void AccessLog::format_line(std::string& out, const Request& req, const AccessEntry& e) {
    update_time();
    switch (kind_) {
        case Kind::kCombined: add_combined(out, req, e); break;
        case Kind::kJson: add_json(out, req, e); break;
        case Kind::kCustom: add_custom(out, req, e); break;
    }
    out.push_back('\n');
}

// host - user [time] "request line" status bytes "referer" "user-agent"
void AccessLog::add_combined(std::string& out, const Request& req, const AccessEntry& e) {
    // A uwsgi REMOTE_ADDR is whatever the front end sent: escaped like the rest.
    escape(out, or_dash(req.remote_addr));
    out.append(" - - [");
    out.append(time_text_);
    out.append("] \"");
    escape(out, req.method_v());
    out.push_back(' ');
    escape(out, req.target_v());
    out.append(req.http_minor == 0 ? " HTTP/1.0\" " : " HTTP/1.1\" ");
    append_uint(out, static_cast<uint64_t>(e.status));
    out.push_back(' ');
    if (e.body_bytes) append_uint(out, e.body_bytes);
    else out.push_back('-');
    out.append(" \"");
    std::string_view ref = req.header("Referer");
    if (ref.empty()) out.push_back('-'); else escape(out, ref);
    out.append("\" \"");
    std::string_view ua = req.header("User-Agent");
    if (ua.empty()) out.push_back('-'); else escape(out, ua);
    out.push_back('"');
}

void AccessLog::add_json(std::string& out, const Request& req, const AccessEntry& e) {
    auto str = [&](std::string_view key, std::string_view v) {
        out.append(key);
        out.push_back('"');
        escape_json(out, v);
        out.push_back('"');
    };
    str("{\"time\":", time_iso_);
    str(",\"remote_addr\":", req.remote_addr);
    str(",\"method\":", req.method_v());
    str(",\"path\":", req.path_v());
    str(",\"query\":", req.query_v());
    out.append(req.http_minor == 0 ? ",\"protocol\":\"HTTP/1.0\"" : ",\"protocol\":\"HTTP/1.1\"");
    out.append(",\"status\":");
    append_uint(out, static_cast<uint64_t>(e.status));
    out.append(",\"bytes\":");
    append_uint(out, e.body_bytes);
    out.append(",\"duration_us\":");
    append_uint(out, e.duration_us);
    str(",\"user_agent\":", req.header("User-Agent"));
    str(",\"referer\":", req.header("Referer"));
    str(",\"request_id\":", e.request_id);
    out.append(",\"pid\":");
    append_uint(out, pid_);
    str(",\"app\":", e.app);
    out.push_back('}');
}

void AccessLog::add_custom(std::string& out, const Request& req, const AccessEntry& e) {
    for (const AccessPiece& p : pieces_) {
        switch (p.field) {
            case AccessField::kLiteral: out.append(p.text); break;
            case AccessField::kRemoteAddr: escape(out, or_dash(req.remote_addr)); break;
            case AccessField::kTimeLocal: out.append(time_text_); break;
            case AccessField::kTimeIso: out.append(time_iso_); break;
            case AccessField::kMethod: escape(out, req.method_v()); break;
            case AccessField::kPath: escape(out, req.path_v()); break;
            case AccessField::kQuery: escape(out, or_dash(req.query_v())); break;
            case AccessField::kRequest:
                escape(out, req.method_v());
                out.push_back(' ');
                escape(out, req.target_v());
                out.append(req.http_minor == 0 ? " HTTP/1.0" : " HTTP/1.1");
                break;
            case AccessField::kProtocol: out.append(req.http_minor == 0 ? "HTTP/1.0" : "HTTP/1.1"); break;
            case AccessField::kStatus: append_uint(out, static_cast<uint64_t>(e.status)); break;
            case AccessField::kBytes: append_uint(out, e.body_bytes); break;
            case AccessField::kDurationUs: append_uint(out, e.duration_us); break;
            case AccessField::kUserAgent: escape(out, or_dash(req.header("User-Agent"))); break;
            case AccessField::kReferer: escape(out, or_dash(req.header("Referer"))); break;
            case AccessField::kRequestId: escape(out, or_dash(e.request_id)); break;
            case AccessField::kPid: append_uint(out, pid_); break;
            case AccessField::kApp: escape(out, or_dash(e.app)); break;
            case AccessField::kHost: escape(out, or_dash(req.header("Host"))); break;
        }
    }
}

void AccessLog::flush() {
    if (buf_.empty() || fd_ < 0) return;
    const char* p = buf_.data();
    size_t left = buf_.size();
    while (left > 0) {
        ssize_t r = ::write(fd_, p, left);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            // Dropping the batch keeps memory bounded; one line says so.
            if (!failing_) log::error("write(access log ", path_, ") failed: ", log::errno_text(errno),
                                      "; dropping access log lines until writes succeed");
            failing_ = true;
            buf_.clear();
            first_ms_ = 0;
            return;
        }
        p += r;
        left -= static_cast<size_t>(r);
    }
    if (failing_) log::info("access log ", path_, " writable again");
    failing_ = false;
    buf_.clear();
    first_ms_ = 0;
}

}  // namespace quiver::worker
