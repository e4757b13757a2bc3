// SPDX-License-Identifier: MIT
// The error log of master and workers: one line per event, lowercase text
// that names the call and object, then the cause (nginx's manner). Under
// systemd (JOURNAL_STREAM set) lines carry <N> syslog priorities and no
// timestamp, since the journal adds its own.
#pragma once

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>

namespace quiver::log {

enum class Level { kError = 3, kWarning = 4, kInfo = 6, kDebug = 7 };

// Parses "error" | "warning" | "info" | "debug".
bool parse_level(std::string_view s, Level* out);

// Sets who speaks ("master", "worker 3") and where lines go: path "-" or ""
// is stderr, anything else a file opened for append. Returns false (and keeps
// stderr) when the file cannot be opened; the reason is logged.
bool init(std::string_view role, Level level, const std::string& path);
// Reopens the log file (USR1). Cheap no-op on stderr.
void reopen();
void set_role(std::string_view role);
bool enabled(Level level);
void write(Level level, std::string_view msg);

namespace detail {
inline void append(std::string& s, std::string_view v) { s.append(v); }
inline void append(std::string& s, const char* v) { s.append(v ? v : "(null)"); }
inline void append(std::string& s, const std::string& v) { s.append(v); }
inline void append(std::string& s, char c) { s.push_back(c); }
template <typename T>
    requires std::is_integral_v<T>
void append(std::string& s, T v) {
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    s.append(buf, r.ptr);
}
inline void append(std::string& s, double v) {
    char buf[32];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    s.append(buf, r.ptr);
}
template <typename... A>
void emit(Level level, const A&... a) {
    if (!enabled(level)) return;
    std::string s;
    (append(s, a), ...);
    write(level, s);
}
}  // namespace detail

template <typename... A> void error(const A&... a) { detail::emit(Level::kError, a...); }
template <typename... A> void warning(const A&... a) { detail::emit(Level::kWarning, a...); }
template <typename... A> void info(const A&... a) { detail::emit(Level::kInfo, a...); }
template <typename... A> void debug(const A&... a) { detail::emit(Level::kDebug, a...); }

// "ENOENT (no such file or directory)" for an errno value.
std::string errno_text(int err);

}  // namespace quiver::log
