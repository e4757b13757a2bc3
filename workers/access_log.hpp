// SPDX-License-Identifier: MIT
// Access log: one line per finished request in Apache's combined format,
// appended to a buffer and written in batches once per loop turn, so the
// loop never waits on the disk per request. A write failure (full disk) is
// reported once, then again only after writes succeed again.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace quiver::worker {

struct Request;

class AccessLog {
public:
    ~AccessLog();
    // path "" = off, "-" = stdout, else a file opened for append.
    bool open(const std::string& path);
    void reopen();
    bool enabled() const { return fd_ >= 0; }
    void add(const Request& req, int status, uint64_t body_bytes, uint64_t duration_us);
    void flush();

    // Appends `s` escaped for a quoted log field: ", \ and bytes outside
    // printable ASCII become \xHH (nginx's escaping).
    static void escape(std::string& out, std::string_view s);

private:
    std::string path_;
    std::string buf_;
    int fd_ = -1;
    bool failing_ = false;
    int64_t cached_sec_ = -1;
    char time_text_[32] = {};
};

}  // namespace quiver::worker
