// SPDX-License-Identifier: MIT
// Codec: the pure protocol seam between bytes and Requests. A codec never
// sees a socket, a loop or a plugin; the connection feeds it bytes and acts on
// what it returns, so unit tests, the corpus and the fuzzers drive it alone.
#pragma once

#include <cstddef>
#include <string_view>

#include "workers/http/request.hpp"

namespace quiver::worker {

enum class CodecEvent {
    kNeedMore,   // every byte given was consumed; feed more when it arrives
    kContinue,   // the head of a request that sent "Expect: 100-continue" and
                 // has a body is complete; the connection may send 100 (or a
                 // final status); call feed again with the rest
    kMessage,    // a whole request is ready: take it with request()
    kError,      // a protocol error: answer `status` (0 = just close) and close
};

struct FeedResult {
    CodecEvent event = CodecEvent::kNeedMore;
    size_t consumed = 0;        // bytes of the input used; feed the rest again
    int status = 0;             // for kError: 400, 413, 414, 431, 501; 0 = close silently
    std::string_view reason;    // for kError: static text for the log
};

class Codec {
public:
    virtual ~Codec() = default;

    // Parse as much of `data` as makes one event. After kMessage the parser
    // stops right after that message (pipelined bytes are left unconsumed);
    // the caller takes the request, then feeds the remainder. After kError
    // the codec is unusable.
    virtual FeedResult feed(const char* data, size_t len) = 0;

    // The request completed by the last kMessage (or the one whose head was
    // reported by kContinue). Valid until the next feed.
    virtual Request& request() = 0;

    // True while a request has started but is not complete (for the
    // header/body timeouts and for an EOF in the middle of a request).
    virtual bool in_message() const = 0;
    // True while the head of the current request is complete and its body
    // is being read.
    virtual bool in_body() const = 0;

    // Whether the response to a request may keep the connection open
    // (uwsgi: never; http1: per request).
    virtual bool keep_alive_possible() const = 0;
};

}  // namespace quiver::worker
