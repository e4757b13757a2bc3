// SPDX-License-Identifier: MIT
// ChunkedDecoder: chunk-size lines, chunk data, trailer section (RFC 9112 §7.1).
#include "workers/codec/chunked.hpp"

#include <algorithm>

#include "workers/http/chars.hpp"

namespace quiver::worker {

namespace {

inline int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

inline bool is_bws(char c) { return c == ' ' || c == '\t'; }

// qdtext of RFC 9110 §5.6.4: HTAB, SP, %x21, %x23-5B, %x5D-7E, obs-text.
inline bool is_qdtext(char ch) {
    auto c = static_cast<unsigned char>(ch);
    return c == '\t' || c == ' ' || c == 0x21 || (c >= 0x23 && c <= 0x5b) ||
           (c >= 0x5d && c <= 0x7e) || c >= 0x80;
}

}  // namespace

void ChunkedDecoder::reset() {
    state_ = State::kSizeStart;
    result_ = Status::kMore;
    size_ = 0;
    line_len_ = 0;
    status_ = 0;
    reason_ = nullptr;
}

size_t ChunkedDecoder::fail(size_t at, int status, const char* reason) {
    result_ = Status::kError;
    status_ = status;
    reason_ = reason;
    return at;
}

size_t ChunkedDecoder::decode(const char* data, size_t len, std::string& body) {
    size_t i = 0;
    while (i < len && result_ == Status::kMore) {
        switch (state_) {
            case State::kData: {
                size_t take = static_cast<size_t>(std::min<uint64_t>(size_, len - i));
                body.append(data + i, take);
                i += take;
                size_ -= take;
                if (size_ == 0) state_ = State::kDataCR;
                break;
            }
            case State::kDataCR:
                if (data[i] != '\r') return fail(i, 400, "missing CRLF after chunk data");
                state_ = State::kDataLF;
                ++i;
                break;
            case State::kDataLF:
                if (data[i] != '\n') return fail(i, 400, "missing CRLF after chunk data");
                state_ = State::kSizeStart;
                line_len_ = 0;
                ++i;
                break;
            case State::kTrailers: {
                size_t n = trailers_.scan(data + i, len - i);
                if (trailers_.failed()) return fail(i + n, trailers_.status(), trailers_.reason());
                i += n;
                if (trailers_.done()) {
                    result_ = Status::kDone;
                    return i;
                }
                break;
            }
            default: {
                // One byte of a chunk-size line. Its length is bounded like a
                // header field line's, so extensions cannot grow without end.
                if (++line_len_ > limits_.header_size) return fail(i, 400, "chunk line too long");
                char c = data[i];
                int hex = hex_value(c);
                switch (state_) {
                    case State::kSizeStart:
                        if (hex < 0) return fail(i, 400, "bad chunk size");
                        size_ = static_cast<uint64_t>(hex);
                        state_ = State::kSize;
                        if (size_ > limits_.body - std::min<uint64_t>(limits_.body, body.size()))
                            return fail(i, 413, "request body too large");
                        break;
                    case State::kSize:
                        if (hex >= 0) {
                            if (size_ > (UINT64_MAX >> 4)) return fail(i, 400, "bad chunk size");
                            size_ = size_ * 16 + static_cast<uint64_t>(hex);
                        } else if (is_bws(c)) {
                            state_ = State::kSizeBws;
                        } else if (c == ';') {
                            state_ = State::kExtNameStart;
                        } else if (c == '\r') {
                            state_ = State::kSizeLF;
                        } else {
                            return fail(i, 400, "bad chunk size");
                        }
                        // Refuse as soon as the size says the body will not fit.
                        if (size_ > limits_.body - std::min<uint64_t>(limits_.body, body.size()))
                            return fail(i, 413, "request body too large");
                        break;
                    case State::kSizeBws:
                        if (c == ';')
                            state_ = State::kExtNameStart;
                        else if (!is_bws(c))
                            return fail(i, 400, "bad chunk size");
                        break;
                    case State::kExtNameStart:
                        if (chars::is_tchar(c))
                            state_ = State::kExtName;
                        else if (!is_bws(c))
                            return fail(i, 400, "bad chunk extension");
                        break;
                    case State::kExtName:
                    case State::kExtAfterName:
                        if (chars::is_tchar(c) && state_ == State::kExtName) break;
                        if (is_bws(c))
                            state_ = State::kExtAfterName;
                        else if (c == '=')
                            state_ = State::kExtValueStart;
                        else if (c == ';')
                            state_ = State::kExtNameStart;
                        else if (c == '\r')
                            state_ = State::kSizeLF;
                        else
                            return fail(i, 400, "bad chunk extension");
                        break;
                    case State::kExtValueStart:
                        if (c == '"')
                            state_ = State::kExtQuoted;
                        else if (chars::is_tchar(c))
                            state_ = State::kExtToken;
                        else if (!is_bws(c))
                            return fail(i, 400, "bad chunk extension");
                        break;
                    case State::kExtQuoted:
                        if (c == '"')
                            state_ = State::kExtAfterValue;
                        else if (c == '\\')
                            state_ = State::kExtQuotedPair;
                        else if (!is_qdtext(c))
                            return fail(i, 400, "bad chunk extension");
                        break;
                    case State::kExtQuotedPair:
                        // quoted-pair: HTAB, SP, VCHAR, obs-text
                        if (!chars::is_field_value(c)) return fail(i, 400, "bad chunk extension");
                        state_ = State::kExtQuoted;
                        break;
                    case State::kExtToken:
                    case State::kExtAfterValue:
                        if (chars::is_tchar(c) && state_ == State::kExtToken) break;
                        if (is_bws(c))
                            state_ = State::kExtAfterValue;
                        else if (c == ';')
                            state_ = State::kExtNameStart;
                        else if (c == '\r')
                            state_ = State::kSizeLF;
                        else
                            return fail(i, 400, "bad chunk extension");
                        break;
                    case State::kSizeLF:
                        if (c != '\n') return fail(i, 400, "missing LF after chunk size");
                        if (size_ == 0) {
                            state_ = State::kTrailers;
                            trailers_.reset(HeadScanner::Mode::kTrailers);
                        } else {
                            state_ = State::kData;
                        }
                        break;
                    default:
                        break;
                }
                ++i;
                break;
            }
        }
    }
    return i;
}

}  // namespace quiver::worker
