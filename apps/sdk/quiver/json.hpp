// SPDX-License-Identifier: MIT
// JSON for apps: a streaming writer that appends RFC 8259 text to a std::string,
// a small-object convenience, and quiver::json::parse() over simdjson's DOM.
#pragma once

#include <simdjson.h>

#include <array>
#include <cassert>
#include <charconv>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>

namespace quiver::json {

namespace detail {

// 0: copy as is; 1: escape (control, '"', '\\'); 2: first byte of a UTF-8 sequence.
inline constexpr std::array<std::uint8_t, 256> kByteClass = [] {
    std::array<std::uint8_t, 256> t{};
    for (std::size_t c = 0; c < 0x20; ++c) t[c] = 1;
    t['"'] = 1;
    t['\\'] = 1;
    for (std::size_t c = 0x80; c < 0x100; ++c) t[c] = 2;
    return t;
}();

// Length of the well-formed UTF-8 sequence at p (Unicode 15, Table 3-7: no
// overlong forms, no surrogates, nothing above U+10FFFF) with ok = true, or,
// with ok = false, the length of its maximal ill-formed subpart (at least 1),
// which is replaced by one U+FFFD (Unicode §3.9, "U+FFFD Substitution of
// Maximal Subparts", as the WHATWG Encoding standard does).
inline std::size_t utf8_sequence(const unsigned char* p, std::size_t n, bool& ok) noexcept {
    const unsigned char c = p[0];
    std::size_t need = 0;
    unsigned char lo = 0x80;
    unsigned char hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
        need = 1;
    } else if (c == 0xE0) {
        need = 2, lo = 0xA0;
    } else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) {
        need = 2;
    } else if (c == 0xED) {
        need = 2, hi = 0x9F;
    } else if (c == 0xF0) {
        need = 3, lo = 0x90;
    } else if (c >= 0xF1 && c <= 0xF3) {
        need = 3;
    } else if (c == 0xF4) {
        need = 3, hi = 0x8F;
    } else {
        ok = false;  // 0x80..0xC1, 0xF5..0xFF never start a sequence
        return 1;
    }
    for (std::size_t i = 1; i <= need; ++i) {
        if (i >= n || p[i] < lo || p[i] > hi) {
            ok = false;
            return i;
        }
        lo = 0x80, hi = 0xBF;
    }
    ok = true;
    return need + 1;
}

}  // namespace detail

/// Appends `s` to `out` as a JSON string, quotes included (RFC 8259 §7).
/// '"' and '\\' are escaped, control characters U+0000..U+001F use the short
/// forms \b \f \n \r \t or \u00XX, '/' and DEL are copied. Well-formed UTF-8
/// is copied unchanged; each maximal ill-formed subpart is replaced by U+FFFD,
/// written as its UTF-8 bytes EF BF BD, so the output is always valid UTF-8.
inline void write_string(std::string& out, std::string_view s) {
    static constexpr char kHex[] = "0123456789abcdef";
    static constexpr std::string_view kReplacement = "\xEF\xBF\xBD";
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    const std::size_t n = s.size();
    out.reserve(out.size() + n + 2);
    out.push_back('"');
    std::size_t run = 0;  // start of the pending verbatim run
    std::size_t i = 0;
    while (i < n) {
        const std::uint8_t cls = detail::kByteClass[p[i]];
        if (cls == 0) {
            ++i;
            continue;
        }
        if (cls == 2) {
            bool ok = false;
            const std::size_t len = detail::utf8_sequence(p + i, n - i, ok);
            if (ok) {
                i += len;
                continue;
            }
            out.append(s.data() + run, i - run);
            out.append(kReplacement);
            i += len;
            run = i;
            continue;
        }
        out.append(s.data() + run, i - run);
        const unsigned char c = p[i];
        switch (c) {
            case '"': out.append("\\\""); break;
            case '\\': out.append("\\\\"); break;
            case '\b': out.append("\\b"); break;
            case '\f': out.append("\\f"); break;
            case '\n': out.append("\\n"); break;
            case '\r': out.append("\\r"); break;
            case '\t': out.append("\\t"); break;
            default: {
                const char esc[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
                out.append(esc, sizeof esc);
            }
        }
        run = ++i;
    }
    out.append(s.data() + run, n - run);
    out.push_back('"');
}

/// Appends an integer in decimal.
template <std::integral T>
    requires(!std::same_as<T, bool>)
void write_number(std::string& out, T v) {
    char buf[24];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
}

/// Appends a double as the shortest text that reads back to the same value
/// (std::to_chars); NaN and infinities, which JSON cannot express, become null.
inline void write_number(std::string& out, double v) {
    if (!std::isfinite(v)) {
        out.append("null");
        return;
    }
    char buf[32];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
}

/// Streaming writer: appends one JSON text to a caller-owned std::string.
/// Commas are placed automatically; the caller is responsible for a
/// well-formed sequence (key() before each value inside an object, balanced
/// begin/end), which debug builds assert. Example:
///
///     std::string out;
///     json::Writer(out).begin_object().member("id", 7).member("name", n).end_object();
class Writer {
public:
    explicit Writer(std::string& out) noexcept : out_(&out) {}

    Writer& begin_object() { return open('{'); }
    Writer& end_object() { return close('}'); }
    Writer& begin_array() { return open('['); }
    Writer& end_array() { return close(']'); }

    /// An object key; the next call writes its value.
    Writer& key(std::string_view k) {
        separate();
        write_string(*out_, k);
        out_->push_back(':');
        comma_ = false;
        return *this;
    }

    Writer& value(std::string_view s) { return scalar([&] { write_string(*out_, s); }); }
    Writer& value(const char* s) { return value(std::string_view(s)); }
    Writer& value(const std::string& s) { return value(std::string_view(s)); }
    Writer& value(bool b) { return raw(b ? "true" : "false"); }
    Writer& value(std::nullptr_t) { return raw("null"); }
    Writer& value(double d) { return scalar([&] { write_number(*out_, d); }); }
    Writer& value(float f) { return value(static_cast<double>(f)); }
    template <std::integral T>
        requires(!std::same_as<T, bool> && !std::same_as<T, char>)
    Writer& value(T v) {
        return scalar([&] { write_number(*out_, v); });
    }
    Writer& null() { return raw("null"); }

    /// Writes `json` verbatim as one value (it must already be valid JSON).
    Writer& raw(std::string_view json) {
        return scalar([&] { out_->append(json); });
    }

    /// key(k) then value(v).
    template <typename T>
    Writer& member(std::string_view k, const T& v) {
        key(k);
        return value(v);
    }

    std::string& out() noexcept { return *out_; }

private:
    void separate() {
        if (comma_) out_->push_back(',');
    }
    template <typename F>
    Writer& scalar(F&& write) {
        separate();
        write();
        comma_ = true;
        return *this;
    }
    Writer& open(char c) {
        separate();
        out_->push_back(c);
        comma_ = false;
        ++depth_;
        return *this;
    }
    Writer& close(char c) {
        assert(depth_ > 0);
        --depth_;
        out_->push_back(c);
        comma_ = true;
        return *this;
    }

    std::string* out_;
    int depth_ = 0;
    bool comma_ = false;
};

/// One scalar for json::object(): null, bool, integer, double or string (a
/// view: the bytes must outlive the call).
class Scalar {
public:
    Scalar(std::nullptr_t) noexcept : kind_(Kind::kNull) {}
    Scalar(bool b) noexcept : kind_(Kind::kBool), i_(b) {}
    template <std::integral T>
        requires(!std::same_as<T, bool> && !std::same_as<T, char>)
    Scalar(T v) noexcept {
        if constexpr (std::is_signed_v<T>) {
            kind_ = Kind::kInt, i_ = v;
        } else {
            kind_ = Kind::kUint, u_ = v;
        }
    }
    Scalar(double d) noexcept : kind_(Kind::kDouble), d_(d) {}
    Scalar(std::string_view s) noexcept : kind_(Kind::kString), s_(s) {}
    Scalar(const char* s) noexcept : kind_(Kind::kString), s_(s) {}
    Scalar(const std::string& s) noexcept : kind_(Kind::kString), s_(s) {}

    void write(Writer& w) const {
        switch (kind_) {
            case Kind::kNull: w.null(); break;
            case Kind::kBool: w.value(i_ != 0); break;
            case Kind::kInt: w.value(i_); break;
            case Kind::kUint: w.value(u_); break;
            case Kind::kDouble: w.value(d_); break;
            case Kind::kString: w.value(s_); break;
        }
    }

private:
    enum class Kind { kNull, kBool, kInt, kUint, kDouble, kString };
    Kind kind_;
    union {
        std::int64_t i_;
        std::uint64_t u_;
        double d_;
    };
    std::string_view s_;
};

/// One "key": value pair for json::object().
struct Member {
    std::string_view key;
    Scalar value;
};

/// Appends a flat object, members in the order given:
/// append_object(out, {{"id", 7}, {"ok", true}}) appends {"id":7,"ok":true}.
inline void append_object(std::string& out, std::initializer_list<Member> members) {
    Writer w(out);
    w.begin_object();
    for (const Member& m : members) {
        w.key(m.key);
        m.value.write(w);
    }
    w.end_object();
}

/// Returns a flat object (see append_object).
inline std::string object(std::initializer_list<Member> members) {
    std::string out;
    append_object(out, members);
    return out;
}

class Document;
inline Document parse(std::string_view text);

/// A parsed JSON document: the simdjson DOM root, or the reason the text was
/// refused. It owns its parser, so elements stay valid while it lives; it is
/// movable and safe to keep across co_await.
class Document {
public:
    bool ok() const noexcept { return error_ == simdjson::SUCCESS; }
    explicit operator bool() const noexcept { return ok(); }
    /// simdjson's message for the failure ("" when ok()).
    std::string_view error() const noexcept {
        return ok() ? std::string_view() : simdjson::error_message(error_);
    }
    simdjson::error_code error_code() const noexcept { return error_; }
    /// The root element; only meaningful when ok().
    simdjson::dom::element root() const noexcept { return root_; }

private:
    friend Document parse(std::string_view text);
    std::unique_ptr<simdjson::dom::parser> parser_;
    simdjson::dom::element root_;
    simdjson::error_code error_ = simdjson::UNINITIALIZED;
};

/// Parses `text` (e.g. a request body) with simdjson's DOM parser. Bad JSON,
/// including invalid UTF-8, is an error value, never an exception (except
/// std::bad_alloc). For a hot path, keep a simdjson::dom::parser of your own
/// and call it directly.
inline Document parse(std::string_view text) {
    Document d;
    d.parser_ = std::make_unique<simdjson::dom::parser>();
    auto r = d.parser_->parse(text.data(), text.size(), true);
    d.error_ = r.error();
    if (d.error_ == simdjson::SUCCESS) d.root_ = r.value_unsafe();
    return d;
}

}  // namespace quiver::json
