// SPDX-License-Identifier: MIT
// IMF-fixdate formatting without strftime (no locale, no time zone database).
#include "workers/http/date.hpp"

#include <cstring>

namespace quiver::worker {

namespace {

constexpr char kDays[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr char kMonths[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

inline char* put2(char* p, int v) {
    p[0] = static_cast<char>('0' + v / 10);
    p[1] = static_cast<char>('0' + v % 10);
    return p + 2;
}

}  // namespace

size_t format_imf_fixdate(time_t t, char* out) {
    struct tm tm;
    if (gmtime_r(&t, &tm) == nullptr) return 0;
    int year = tm.tm_year + 1900;
    if (year < 0 || year > 9999) return 0;
    char* p = out;
    std::memcpy(p, kDays[tm.tm_wday], 3);
    p += 3;
    *p++ = ',';
    *p++ = ' ';
    p = put2(p, tm.tm_mday);
    *p++ = ' ';
    std::memcpy(p, kMonths[tm.tm_mon], 3);
    p += 3;
    *p++ = ' ';
    p = put2(p, year / 100);
    p = put2(p, year % 100);
    *p++ = ' ';
    p = put2(p, tm.tm_hour);
    *p++ = ':';
    p = put2(p, tm.tm_min);
    *p++ = ':';
    p = put2(p, tm.tm_sec);
    std::memcpy(p, " GMT", 4);
    p += 4;
    return static_cast<size_t>(p - out);
}

std::string_view DateCache::get(time_t now_seconds) {
    if (now_seconds != cached_) {
        if (format_imf_fixdate(now_seconds, buf_) != kLen) return {};
        cached_ = now_seconds;
    }
    return std::string_view(buf_, kLen);
}

}  // namespace quiver::worker
