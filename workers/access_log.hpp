// SPDX-License-Identifier: MIT
// Access log: one line per finished request, in Apache's combined format, as
// one JSON object, or in an operator's format string (log.access_format).
// Lines go to a buffer written in batches once per loop turn, so the loop
// never waits on the disk per request. A write failure (full disk) is
// reported once, then again only after writes succeed again.
#pragma once

#include <uv.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "server/common/access_format.hpp"

namespace quiver::worker {

struct Request;

// What one line is made of, besides the request itself.
struct AccessEntry {
    int status = 0;
    uint64_t body_bytes = 0;
    uint64_t duration_us = 0;
    std::string_view request_id;
    std::string_view app;
};

class AccessLog {
public:
    ~AccessLog();
    // path "" = off, "-" = stdout, else a file opened for append. `format`:
    // combined, json or a format string (already validated by the config).
    bool open(const std::string& path, const std::string& format = "combined");
    void reopen();
    bool enabled() const { return fd_ >= 0; }
    void add(const Request& req, const AccessEntry& e);
    void flush();
    // Once per loop turn: writes when 16 KiB are waiting or the oldest line
    // waited kFlushDelayMs (nginx's `buffer=` and `flush=`), so a busy loop
    // makes one write(2) per many requests.
    // A timer on `loop` makes sure a quiet loop still writes within the delay.
    void attach(uv_loop_t* loop);
    void flush_if_due(uint64_t now_ms) {
        if (buf_.empty()) return;
        if (first_ms_ == 0) first_ms_ = now_ms;
        uint64_t waited = now_ms - first_ms_;
        if (buf_.size() >= kFlushSize || waited >= kFlushDelayMs) flush();
        else if (timer_on_ && !uv_is_active(reinterpret_cast<uv_handle_t*>(&timer_)))
            uv_timer_start(&timer_, on_timer, kFlushDelayMs - waited, 0);
    }
    static constexpr size_t kFlushSize = 16 * 1024;
    static constexpr uint64_t kFlushDelayMs = 100;

    // Appends `s` escaped for a quoted log field: ", \ and bytes outside
    // printable ASCII become \xHH (nginx's escaping).
    static void escape(std::string& out, std::string_view s);
    // Appends `s` as the inside of a JSON string (RFC 8259): " and \ escaped,
    // control bytes as \u00XX, valid UTF-8 kept, each byte of an invalid
    // sequence replaced by U+FFFD, so that every line parses.
    static void escape_json(std::string& out, std::string_view s);
    // One line, without writing it (tests use this).
    void format_line(std::string& out, const Request& req, const AccessEntry& e);

private:
    enum class Kind { kCombined, kJson, kCustom };
    static void on_timer(uv_timer_t* t) noexcept;
    void update_time();
    void add_combined(std::string& out, const Request& req, const AccessEntry& e);
    void add_json(std::string& out, const Request& req, const AccessEntry& e);
    void add_custom(std::string& out, const Request& req, const AccessEntry& e);

    std::string path_;
    std::string buf_;
    int fd_ = -1;
    bool failing_ = false;
    uint64_t first_ms_ = 0;
    uv_timer_t timer_;
    bool timer_on_ = false;     // loop time the oldest waiting line was seen (0 = none yet)
    Kind kind_ = Kind::kCombined;
    std::vector<AccessPiece> pieces_;
    uint32_t pid_ = 0;
    int64_t cached_sec_ = -1;
    char time_text_[32] = {};   // Apache: 26/Nov/2026:20:43:05 +0000
    char time_iso_[32] = {};    // 2026-11-26T20:43:05Z
};

}  // namespace quiver::worker
