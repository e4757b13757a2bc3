// SPDX-License-Identifier: MIT
// Combined-format access log with batched writes.
#include "workers/access_log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>

#include "server/common/log.hpp"
#include "workers/http/request.hpp"

namespace quiver::worker {

namespace {
constexpr size_t kFlushAt = 64 * 1024;
}

AccessLog::~AccessLog() {
    flush();
    if (fd_ > 2) ::close(fd_);
}

bool AccessLog::open(const std::string& path) {
    path_ = path;
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

void AccessLog::escape(std::string& out, std::string_view s) {
    static const char hex[] = "0123456789ABCDEF";
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

void AccessLog::add(const Request& req, int status, uint64_t body_bytes, uint64_t /*duration_us*/) {
    if (fd_ < 0) return;
    time_t now = ::time(nullptr);
    if (now != cached_sec_) {
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(time_text_, sizeof time_text_, "%d/%b/%Y:%H:%M:%S +0000", &tm);
        cached_sec_ = now;
    }
    // host - user [time] "request line" status bytes "referer" "user-agent"
    buf_.append(req.remote_addr.empty() ? std::string_view("-") : req.remote_addr);
    buf_.append(" - - [");
    buf_.append(time_text_);
    buf_.append("] \"");
    escape(buf_, req.method_v());
    buf_.push_back(' ');
    escape(buf_, req.target_v());
    buf_.append(req.http_minor == 0 ? " HTTP/1.0\" " : " HTTP/1.1\" ");
    buf_.append(std::to_string(status));
    buf_.push_back(' ');
    buf_.append(body_bytes ? std::to_string(body_bytes) : std::string("-"));
    buf_.append(" \"");
    std::string_view ref = req.header("Referer");
    if (ref.empty()) buf_.push_back('-'); else escape(buf_, ref);
    buf_.append("\" \"");
    std::string_view ua = req.header("User-Agent");
    if (ua.empty()) buf_.push_back('-'); else escape(buf_, ua);
    buf_.append("\"\n");
    if (buf_.size() >= kFlushAt) flush();
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
            return;
        }
        p += r;
        left -= static_cast<size_t>(r);
    }
    if (failing_) log::info("access log ", path_, " writable again");
    failing_ = false;
    buf_.clear();
}

}  // namespace quiver::worker
