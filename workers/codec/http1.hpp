// SPDX-License-Identifier: MIT
// Http1Codec: HTTP/1.1 requests (RFC 9112) from bytes. llhttp tokenises the
// head and judges Content-Length/Transfer-Encoding; HeadScanner checks the
// head's line grammar and limits ahead of it; the body (Content-Length or
// ChunkedDecoder) is read here. Pure: no sockets, no loop. The connection
// feeds bytes, acts on FeedResult and answers with workers/http/response.hpp.
#pragma once

#include <llhttp.h>

#include <cstddef>
#include <cstdint>

#include "server/common/config/config.hpp"
#include "workers/codec/chunked.hpp"
#include "workers/codec/codec.hpp"
#include "workers/codec/head_scanner.hpp"

namespace quiver::worker {

// One per connection. Not copyable or movable: llhttp keeps a pointer to it.
//
// feed() contract (see codec.hpp), specific to HTTP/1:
//  - kMessage: request() holds one whole request; `consumed` ends right after
//    it, so pipelined bytes are left for the next feed(), which clears the
//    request first. Nothing is allocated per request in steady state.
//  - kContinue: a request with "Expect: 100-continue" and a body has its head
//    complete (request() has everything but the body); `consumed` ends at the
//    head. Send 100 Continue (or a final status and close), then feed the rest.
//  - kError: `status` is 400, 413, 414, 417, 431, 501 or 505 (500 only if
//    memory runs out), `reason` static text for the log. Answer and close;
//    the codec stays failed.
//  - After a request whose keep_alive is false, stop feeding: the connection
//    closes once the response is written (bytes after it are never parsed).
//
// request().remote_addr and .scheme are kept from one request to the next, so
// the connection sets them once.
class Http1Codec final : public Codec {
public:
    explicit Http1Codec(const Http1Limits& limits);
    Http1Codec(const Http1Codec&) = delete;
    Http1Codec& operator=(const Http1Codec&) = delete;

    FeedResult feed(const char* data, size_t len) override;
    Request& request() override { return req_; }
    bool in_message() const override;
    bool in_body() const override { return stage_ == Stage::kBody; }
    bool keep_alive_possible() const override { return true; }

private:
    friend struct Http1Callbacks;  // the noexcept llhttp trampolines

    enum class Stage : uint8_t {
        kIdle,             // between requests (leading empty lines allowed)
        kHead,             // request line or header fields
        kBody,             // head complete, body being read
        kDelivered,        // kMessage returned; the next feed starts a request
        kRejectingMethod,  // llhttp refused the method; waiting for its end
        kFailed,
    };
    enum class BodyKind : uint8_t { kNone, kLength, kChunked };

    // llhttp callbacks.
    int handle_method(const char* at, size_t len);
    int handle_method_complete();
    int handle_url(const char* at, size_t len);
    int handle_url_complete();
    int handle_version_complete();
    int handle_header_field(const char* at, size_t len);
    int handle_header_field_complete();
    int handle_header_value(const char* at, size_t len);
    int handle_header_value_complete();
    int handle_headers_complete();
    int handle_message_complete();

    void start_request();
    FeedResult feed_head(const char* data, size_t len, size_t& pos);
    FeedResult feed_body(const char* data, size_t len, size_t pos);
    FeedResult fail(int status, const char* reason, size_t consumed);
    FeedResult fail_llhttp(llhttp_errno_t err, size_t consumed);
    FeedResult reject_method(const char* data, size_t len);
    FeedResult deliver(size_t consumed);
    int callback_error(int status, const char* reason);
    const char* parse_target();  // nullptr, or why the target is refused
    int check_head();
    bool other_transfer_coding() const;

    Http1Limits limits_;
    llhttp_t parser_;
    HeadScanner scanner_;
    ChunkedDecoder chunked_;
    Request req_;
    Stage stage_ = Stage::kIdle;
    BodyKind body_kind_ = BodyKind::kNone;
    bool in_field_ = false;        // a header name is being received
    bool expect_unknown_ = false;  // an expectation other than 100-continue
    bool host_invalid_ = false;
    uint8_t host_count_ = 0;
    const char* bad_target_ = nullptr;
    uint64_t body_left_ = 0;  // Content-Length bytes still to read
    FeedResult failure_;
    int cb_status_ = 0;  // error raised inside a callback
    const char* cb_reason_ = nullptr;
};

}  // namespace quiver::worker
