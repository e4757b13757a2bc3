// SPDX-License-Identifier: MIT
// Response: status, header fields and body of a whole response, built by a
// handler and sent by the SDK with qv_host_t.respond. Streaming is in request.hpp.
#pragma once

#include <quiver/json.hpp>
#include <quiver/text.hpp>

#include <array>
#include <cstddef>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace quiver {

/// One header field as a pair of views.
struct Header {
    std::string_view name;
    std::string_view value;
};

/// A whole response. Header fields are kept in the order added. The host adds
/// Date, Server, Content-Length and Connection, and refuses (answering 500
/// itself) names that are not tokens, values holding CR, LF or NUL, and a
/// Content-Length or Transfer-Encoding set here.
///
/// Storage: header() and body(std::string) copy; header_view() and
/// body_view() borrow, for bytes that outlive the response (static data or
/// members of the app), which keeps a response free of allocations. Up to
/// kInlineHeaders fields are stored without allocating.
class Response {
public:
    static constexpr std::size_t kInlineHeaders = 8;

    /// An empty response with this status (200 by default).
    explicit Response(int status = 200) noexcept : status_(status) {}

    // Copies and moves touch only the inline slots in use.
    Response(const Response& o)
        : status_(o.status_), borrowed_(o.borrowed_), count_(o.count_), more_(o.more_),
          arena_(o.arena_), body_(o.body_), view_(o.view_) {
        copy_inline(o);
    }
    Response(Response&& o) noexcept
        : status_(o.status_), borrowed_(o.borrowed_), count_(o.count_),
          more_(std::move(o.more_)), arena_(std::move(o.arena_)), body_(std::move(o.body_)),
          view_(o.view_) {
        copy_inline(o);
    }
    Response& operator=(const Response& o) {
        if (this != &o) *this = Response(o);
        return *this;
    }
    Response& operator=(Response&& o) noexcept {
        if (this != &o) {
            status_ = o.status_, borrowed_ = o.borrowed_, count_ = o.count_;
            more_ = std::move(o.more_), arena_ = std::move(o.arena_);
            body_ = std::move(o.body_), view_ = o.view_;
            copy_inline(o);
        }
        return *this;
    }
    ~Response() = default;

    /// text/plain; charset=utf-8.
    static Response text(std::string body, int status = 200) {
        return typed(std::move(body), "text/plain; charset=utf-8", status);
    }
    /// application/json; `body` is already serialised JSON.
    static Response json(std::string body, int status = 200) {
        return typed(std::move(body), "application/json", status);
    }
    /// application/json with a flat object: Response::json({{"id", 7}}).
    static Response json(std::initializer_list<json::Member> members, int status = 200) {
        Response r(status);
        r.header_view("Content-Type", "application/json");
        json::append_object(r.body_, members);
        return r;
    }
    /// text/html; charset=utf-8 (escape inserted text with html::escape).
    static Response html(std::string body, int status = 200) {
        return typed(std::move(body), "text/html; charset=utf-8", status);
    }

    int status() const noexcept { return status_; }
    Response& status(int s) noexcept {
        status_ = s;
        return *this;
    }

    /// Appends a field, copying name and value.
    Response& header(std::string_view name, std::string_view value) {
        const std::size_t name_off = arena_.size();
        arena_.append(name);
        const std::size_t value_off = arena_.size();
        arena_.append(value);
        push(Slot{nullptr, nullptr, name_off, value_off, name.size(), value.size(), true});
        return *this;
    }
    /// Appends a field without copying: both views must stay valid until the
    /// response is sent.
    Response& header_view(std::string_view name, std::string_view value) {
        push(Slot{name.data(), value.data(), 0, 0, name.size(), value.size(), false});
        return *this;
    }
    /// Removes every field named `name` (case-insensitive), then appends one.
    Response& set_header(std::string_view name, std::string_view value) {
        remove_header(name);
        return header(name, value);
    }
    /// Removes every field named `name` (case-insensitive); returns how many.
    std::size_t remove_header(std::string_view name) {
        std::size_t kept = 0;
        const std::size_t n = count_;
        for (std::size_t i = 0; i < n; ++i) {
            if (iequals(slot_header(slot(i)).name, name)) continue;
            if (kept != i) slot(kept) = slot(i);
            ++kept;
        }
        count_ = kept;
        if (count_ <= kInlineHeaders) {
            more_.clear();
        } else {
            more_.resize(count_ - kInlineHeaders);
        }
        return n - kept;
    }
    /// The value of the first field named `name` (case-insensitive).
    std::optional<std::string_view> find_header(std::string_view name) const noexcept {
        for (std::size_t i = 0; i < count_; ++i) {
            const Header h = header_at(i);
            if (iequals(h.name, name)) return h.value;
        }
        return std::nullopt;
    }
    std::size_t header_count() const noexcept { return count_; }
    /// Field i (0 <= i < header_count()), views valid until the next change.
    Header header_at(std::size_t i) const noexcept { return slot_header(slot(i)); }

    /// Sets an owned body.
    Response& body(std::string b) {
        body_ = std::move(b);
        borrowed_ = false;
        return *this;
    }
    /// Sets a borrowed body: the bytes must stay valid until the response is sent.
    Response& body_view(std::string_view b) noexcept {
        view_ = b;
        borrowed_ = true;
        return *this;
    }
    /// The owned body buffer, for appending (e.g. with json::Writer); switches
    /// a borrowed body to this buffer.
    std::string& body_buffer() noexcept {
        borrowed_ = false;
        return body_;
    }
    std::string_view body() const noexcept {
        return borrowed_ ? view_ : std::string_view(body_);
    }

private:
    // Trivial, so the inline array costs nothing to construct.
    struct Slot {
        const char* name;   // borrowed bytes, or nullptr when copied into arena_
        const char* value;
        std::size_t name_off;  // offsets into arena_ when copied
        std::size_t value_off;
        std::size_t name_len;
        std::size_t value_len;
        bool copied;
    };

    static Response typed(std::string body, std::string_view type, int status) {
        Response r(status);
        r.header_view("Content-Type", type);
        r.body_ = std::move(body);
        return r;
    }

    void copy_inline(const Response& o) noexcept {
        const std::size_t n = count_ < kInlineHeaders ? count_ : kInlineHeaders;
        for (std::size_t i = 0; i < n; ++i) inline_[i] = o.inline_[i];
    }
    void push(const Slot& s) {
        if (count_ < kInlineHeaders) {
            inline_[count_] = s;
        } else {
            more_.push_back(s);
        }
        ++count_;
    }
    Slot& slot(std::size_t i) noexcept {
        return i < kInlineHeaders ? inline_[i] : more_[i - kInlineHeaders];
    }
    const Slot& slot(std::size_t i) const noexcept {
        return i < kInlineHeaders ? inline_[i] : more_[i - kInlineHeaders];
    }
    Header slot_header(const Slot& s) const noexcept {
        if (!s.copied) {
            return {std::string_view(s.name, s.name_len), std::string_view(s.value, s.value_len)};
        }
        return {std::string_view(arena_.data() + s.name_off, s.name_len),
                std::string_view(arena_.data() + s.value_off, s.value_len)};
    }

    int status_;
    bool borrowed_ = false;
    std::size_t count_ = 0;
    std::array<Slot, kInlineHeaders> inline_;  // NOTE: left uninitialised past count_
    std::vector<Slot> more_;
    std::string arena_;
    std::string body_;
    std::string_view view_;
};

}  // namespace quiver
