// SPDX-License-Identifier: MIT
// HeadScanner: request-head line grammar and line limits (see head_scanner.hpp).
#include "workers/codec/head_scanner.hpp"

#include "workers/http/chars.hpp"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace quiver::worker {

namespace {

constexpr char kVersionPrefix[] = "HTTP/";

// Length of the run of bytes in `cls` starting at p[i], bounded by len.
inline size_t run(const std::array<bool, 256>& cls, const char* p, size_t i, size_t len) {
    size_t j = i;
    while (j < len && cls[static_cast<unsigned char>(p[j])]) ++j;
    return j - i;
}

// The same for the two long classes, field values and request targets, 16
// bytes at a time: both are "every byte >= lowest except DEL" (plus HTAB for
// values, which the scalar tail handles). Header values are most of a head.
template <unsigned char kLowest>
inline size_t run_wide(const std::array<bool, 256>& cls, const char* p, size_t i, size_t len) {
    size_t j = i;
#if defined(__SSE2__)
    const __m128i lowest = _mm_set1_epi8(static_cast<char>(kLowest));
    const __m128i del = _mm_set1_epi8(0x7f);
    while (len - j >= 16) {
        __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + j));
        __m128i ok = _mm_cmpeq_epi8(_mm_max_epu8(x, lowest), x);  // x >= lowest, unsigned
        __m128i bad = _mm_or_si128(_mm_andnot_si128(ok, _mm_set1_epi8(-1)), _mm_cmpeq_epi8(x, del));
        int mask = _mm_movemask_epi8(bad);
        if (mask != 0) {
            j += static_cast<size_t>(__builtin_ctz(static_cast<unsigned>(mask)));
            break;
        }
        j += 16;
    }
#endif
    return j - i + run(cls, p, j, len);
}

}  // namespace

void HeadScanner::reset(Mode mode) {
    state_ = mode == Mode::kRequest ? State::kLeading : State::kFieldStart;
    started_ = false;
    method_done_ = false;
    version_pos_ = 0;
    line_len_ = 0;
    target_len_ = 0;
    leading_ = 0;
    fields_ = 0;
    status_ = 0;
    reason_ = nullptr;
}

size_t HeadScanner::fail(size_t at, int status, const char* reason) {
    state_ = State::kFailed;
    status_ = status;
    reason_ = reason;
    return at;
}

size_t HeadScanner::scan(const char* p, size_t len) {
    const uint32_t max_line = limits_.request_line;
    const uint32_t max_field = limits_.header_size;
    size_t i = 0;
    while (i < len) {
        switch (state_) {
            case State::kLeading: {
                char c = p[i];
                if (c == '\r') {
                    if (++leading_ > max_line)
                        return fail(i, 400, "too many empty lines before the request line");
                    state_ = State::kLeadingLF;
                    ++i;
                    break;
                }
                if (!chars::is_tchar(c)) return fail(i, 400, "invalid request line");
                started_ = true;
                state_ = State::kMethod;
                line_len_ = 0;
                break;
            }
            case State::kLeadingLF:
                if (p[i] != '\n') return fail(i, 400, "expected LF after CR");
                ++leading_;
                state_ = State::kLeading;
                ++i;
                break;
            case State::kMethod:
            case State::kTarget: {
                bool method = state_ == State::kMethod;
                size_t n = method ? run(chars::kTchar, p, i, len)
                                  : run_wide<0x21>(chars::kTarget, p, i, len);
                if (line_len_ + n > max_line)
                    return fail(i + (max_line - line_len_), 414, "request line too long");
                line_len_ += static_cast<uint32_t>(n);
                if (!method) target_len_ += static_cast<uint32_t>(n);
                i += n;
                if (i == len) return len;
                if (p[i] == ' ' && (method || target_len_ > 0)) {
                    if (line_len_ + 1 > max_line) return fail(i, 414, "request line too long");
                    ++line_len_;
                    if (method) {
                        method_done_ = true;
                        state_ = State::kTarget;
                    } else {
                        state_ = State::kVersion;
                    }
                    ++i;
                    break;
                }
                if (p[i] == '\r' || p[i] == '\n' || p[i] == ' ')
                    return fail(i, 400, "malformed request line");
                return fail(
                    i, 400,
                    method ? "invalid method token" : "invalid character in request target");
            }
            case State::kVersion: {
                char c = p[i];
                if (line_len_ + 1 > max_line && c != '\r')
                    return fail(i, 414, "request line too long");
                bool ok;
                if (version_pos_ < 5) {
                    ok = c == kVersionPrefix[version_pos_];
                } else if (version_pos_ == 5 || version_pos_ == 7) {
                    ok = c >= '0' && c <= '9';
                } else if (version_pos_ == 6) {
                    ok = c == '.';
                } else {  // 8: the whole version matched
                    if (c != '\r') return fail(i, 400, "malformed HTTP version");
                    state_ = State::kLineLF;
                    ++i;
                    break;
                }
                if (!ok) return fail(i, 400, "malformed HTTP version");
                ++version_pos_;
                ++line_len_;
                ++i;
                break;
            }
            // A field line runs kFieldStart -> kName -> kValue -> kLineLF without
            // going back through the switch, unless the bytes run out.
            case State::kFieldStart: {
                char c = p[i];
                if (c == '\r') {
                    state_ = State::kEndLF;
                    ++i;
                    break;
                }
                if (c == ' ' || c == '\t') {
                    // RFC 9112 §5.2 (obs-fold) and §2.2 (whitespace after the
                    // start line): both MUST be rejected or reinterpreted; we reject.
                    return fail(i, 400,
                                fields_ == 0 ? "whitespace before the first header field"
                                             : "obsolete line folding");
                }
                if (c == '\n') return fail(i, 400, "bare LF in request head");
                if (c == ':') return fail(i, 400, "empty header field name");
                if (!chars::is_tchar(c))
                    return fail(i, 400, "invalid character in header field name");
                if (++fields_ > limits_.header_fields)
                    return fail(i, 431, "too many header fields");
                state_ = State::kName;
                line_len_ = 0;
                [[fallthrough]];
            }
            case State::kName: {
                size_t n = run(chars::kTchar, p, i, len);
                if (line_len_ + n > max_field)
                    return fail(i + (max_field - line_len_), 431, "header field too large");
                line_len_ += static_cast<uint32_t>(n);
                i += n;
                if (i == len) return len;
                char c = p[i];
                if (c != ':') {
                    if (c == ' ' || c == '\t')
                        return fail(i, 400, "whitespace between header field name and colon");
                    if (c == '\r' || c == '\n') return fail(i, 400, "header field without colon");
                    return fail(i, 400, "invalid character in header field name");
                }
                if (++line_len_ > max_field) return fail(i, 431, "header field too large");
                state_ = State::kValue;
                if (++i == len) return len;
                [[fallthrough]];
            }
            case State::kValue: {
                size_t n = run_wide<0x20>(chars::kFieldValue, p, i, len);
                if (line_len_ + n > max_field)
                    return fail(i + (max_field - line_len_), 431, "header field too large");
                line_len_ += static_cast<uint32_t>(n);
                i += n;
                if (i == len) return len;
                if (p[i] != '\r') {
                    if (p[i] == '\n') return fail(i, 400, "bare LF in request head");
                    return fail(i, 400, "invalid character in header field value");
                }
                state_ = State::kLineLF;
                if (++i == len) return len;
                [[fallthrough]];
            }
            case State::kLineLF:
                if (p[i] != '\n') return fail(i, 400, "expected LF after CR");
                state_ = State::kFieldStart;
                line_len_ = 0;
                ++i;
                break;
            case State::kEndLF:
                if (p[i] != '\n') return fail(i, 400, "expected LF after CR");
                state_ = State::kDone;
                return i + 1;
            case State::kDone:
            case State::kFailed:
                return i;
        }
    }
    return len;
}

}  // namespace quiver::worker
