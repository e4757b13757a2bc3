// SPDX-License-Identifier: MIT
// HeadScanner: the line grammar of an HTTP/1.1 request head (RFC 9112 §2-§5)
// and of a chunked trailer section, checked byte by byte as bytes arrive.
// Http1Codec runs it in front of llhttp, which stays lenient where RFC 9112
// says MUST reject (bare LF, obs-fold, space before the colon, extra spaces in
// the request line) and cannot enforce line limits while a line is arriving.
// Tokenising and framing stay with llhttp.
#pragma once

#include <cstddef>
#include <cstdint>

#include "server/common/config/config.hpp"

namespace quiver::worker {

class HeadScanner {
public:
    enum class Mode : uint8_t {
        kRequest,   // [empty lines] request-line *( field-line ) CRLF
        kTrailers,  // *( field-line ) CRLF, after the last chunk
    };

    explicit HeadScanner(const Http1Limits& limits) : limits_(limits) {}

    // Starts a new head (or trailer section).
    void reset(Mode mode);

    // Checks up to `len` bytes and returns how many are valid: all of them
    // while the head is incomplete; up to and including the final LF once
    // done(); the offset of the offending byte once failed(). Must not be
    // called again after done() or failed() without reset().
    size_t scan(const char* data, size_t len);

    bool done() const { return state_ == State::kDone; }
    bool failed() const { return state_ == State::kFailed; }
    // The first byte of the request line has been seen (leading empty lines
    // do not start a request, RFC 9112 §2.2).
    bool started() const { return started_; }
    // The method token and the space after it have been seen, all valid.
    bool method_done() const { return method_done_; }
    // For failed(): the status to answer (400, 414 or 431) and static text.
    int status() const { return status_; }
    const char* reason() const { return reason_; }

private:
    enum class State : uint8_t {
        kLeading,     // before the request line: CRLF pairs or the method
        kLeadingLF,   // CR of an empty leading line seen
        kMethod,      // method token
        kTarget,      // request-target (first byte pending when line_len_ marks it)
        kVersion,     // "HTTP/" DIGIT "." DIGIT
        kLineLF,      // CR at the end of the request line or a field line seen
        kFieldStart,  // first byte of a field line, or CR of the final CRLF
        kName,        // field-name token
        kValue,       // after the colon: OWS field-value OWS
        kEndLF,       // CR of the final empty line seen
        kDone,
        kFailed,
    };

    size_t fail(size_t at, int status, const char* reason);

    const Http1Limits& limits_;
    State state_ = State::kLeading;
    bool started_ = false;
    bool method_done_ = false;
    uint8_t version_pos_ = 0;  // bytes of "HTTP/d.d" matched
    uint32_t line_len_ = 0;    // bytes of the current line, CRLF excluded
    uint32_t target_len_ = 0;
    uint32_t leading_ = 0;  // bytes of empty lines before the request line
    uint32_t fields_ = 0;   // field lines so far
    int status_ = 0;
    const char* reason_ = nullptr;
};

}  // namespace quiver::worker
