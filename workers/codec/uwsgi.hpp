// SPDX-License-Identifier: MIT
// UwsgiCodec: the uwsgi request packet Nginx's uwsgi_pass sends, made into
// the same Request an HTTP/1.1 client would produce. Pure: no sockets.
//
// Packet: modifier1 (u8, 0 = WSGI/vars), datasize (u16 LE), modifier2 (u8);
// datasize bytes of vars, each {u16 LE key size, key, u16 LE value size,
// value}; then CONTENT_LENGTH bytes of body. One request per connection: the
// response is written as HTTP (response.hpp) and the connection closed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "server/common/config/config.hpp"
#include "workers/codec/codec.hpp"

namespace quiver::worker {

// feed() contract (see codec.hpp), specific to uwsgi:
//  - kMessage once the vars and the whole body have arrived. The request has
//    method (REQUEST_METHOD), target (REQUEST_URI), path, query (QUERY_STRING
//    or the URI's), version (SERVER_PROTOCOL), headers from HTTP_* vars
//    (HTTP_X_FOO_BAR becomes X-Foo-Bar) plus Content-Type and Content-Length
//    from CONTENT_TYPE/CONTENT_LENGTH, remote_addr (REMOTE_ADDR), scheme
//    ("https" when HTTPS is on/1 or REQUEST_SCHEME is https), body;
//    keep_alive false.
//  - kError always has status 0: the peer is a proxy, not a browser, so a
//    malformed packet is logged (`reason`) and the connection closed.
//  - Never kContinue (Nginx answers Expect: 100-continue itself).
//  - Bytes after the request are an error ("data after the request").
class UwsgiCodec final : public Codec {
public:
    explicit UwsgiCodec(const Http1Limits& limits);

    FeedResult feed(const char* data, size_t len) override;
    Request& request() override { return req_; }
    // True from the first byte of the packet until the request is complete.
    bool in_message() const override;
    bool in_body() const override { return stage_ == Stage::kBody; }
    bool keep_alive_possible() const override { return false; }

private:
    enum class Stage : uint8_t { kHeader, kVars, kBody, kDone, kFailed };

    FeedResult fail(const char* reason, size_t consumed);
    const char* parse_vars(const char* p, size_t n);
    const char* take_var(std::string_view key, std::string_view value);
    const char* finish_vars();

    Http1Limits limits_;
    Request req_;
    Stage stage_ = Stage::kHeader;
    uint8_t head_[4] = {};
    uint8_t head_len_ = 0;
    uint32_t datasize_ = 0;
    std::string vars_;       // the vars block when it arrives in pieces
    uint64_t body_len_ = 0;  // CONTENT_LENGTH
    FeedResult failure_;

    // What the vars said, as spans into req_.data, until finish_vars().
    bool has_method_ = false;
    bool has_uri_ = false;
    bool has_query_ = false;
    bool has_length_ = false;
    Span query_;
    Span path_info_;
    Span script_name_;
};

}  // namespace quiver::worker
