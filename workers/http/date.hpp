// SPDX-License-Identifier: MIT
// DateCache: the Date header value (RFC 9110 §5.6.7 IMF-fixdate), formatted
// once per second instead of once per response. One per worker loop.
#pragma once

#include <ctime>
#include <string_view>

namespace quiver::worker {

class DateCache {
public:
    // "Sun, 06 Nov 1994 08:49:37 GMT" for the UTC second `now_seconds`. The
    // view stays valid until the next call with another second.
    std::string_view get(time_t now_seconds);

private:
    static constexpr size_t kLen = 29;
    time_t cached_ = -1;
    char buf_[kLen + 1] = {};
};

// Formats `t` as IMF-fixdate into out (at least 29 bytes); returns the length
// (29), or 0 when the time cannot be represented.
size_t format_imf_fixdate(time_t t, char* out);

}  // namespace quiver::worker
