// SPDX-License-Identifier: MIT
// ChunkedDecoder: the chunked transfer coding of a request body (RFC 9112
// §7.1), byte by byte as bytes arrive. Chunk extensions are checked and
// dropped; the trailer section is checked (HeadScanner) and dropped
// (RFC 9110 §6.5.1 lets a recipient discard it). Http1Codec uses it instead of
// llhttp 8.1's decoder, which skips the CRLF after chunk data unchecked and
// refuses a second extension after one with a value.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "server/common/config/config.hpp"
#include "workers/codec/head_scanner.hpp"

namespace quiver::worker {

class ChunkedDecoder {
public:
    enum class Status : uint8_t { kMore, kDone, kError };

    explicit ChunkedDecoder(const Http1Limits& limits) : limits_(limits), trailers_(limits) {}

    void reset();

    // Decodes from data, appending chunk data to `body`. Returns the bytes
    // used: all of them with kMore; up to the end of the trailer section with
    // kDone; up to the offending byte with kError (see status()/reason()).
    size_t decode(const char* data, size_t len, std::string& body);

    Status state() const { return result_; }
    int status() const { return status_; }          // for kError: 400 or 413
    const char* reason() const { return reason_; }  // for kError: static text

private:
    enum class State : uint8_t {
        kSizeStart,     // first hex digit of chunk-size
        kSize,          // more hex digits, BWS, ';' or CR
        kSizeBws,       // BWS after the size: ';' must follow
        kExtNameStart,  // after ';': BWS, then the extension name
        kExtName,
        kExtAfterName,  // BWS, then '=', ';' or CR
        kExtValueStart,
        kExtToken,
        kExtQuoted,
        kExtQuotedPair,
        kExtAfterValue,  // BWS, then ';' or CR
        kSizeLF,
        kData,
        kDataCR,
        kDataLF,
        kTrailers,
    };

    size_t fail(size_t at, int status, const char* reason);
    size_t chunk_line_byte(char c, size_t i);

    const Http1Limits& limits_;
    HeadScanner trailers_;
    State state_ = State::kSizeStart;
    Status result_ = Status::kMore;
    uint64_t size_ = 0;      // the current chunk's size, then what is left of it
    uint32_t line_len_ = 0;  // bytes of the chunk-size line so far
    int status_ = 0;
    const char* reason_ = nullptr;
};

}  // namespace quiver::worker
