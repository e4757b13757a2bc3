// SPDX-License-Identifier: MIT
// Result<T>: a value or an Error, with std::expected's interface (so it can
// become an alias under C++23). Used for every fallible call in the core.
#pragma once

#include <cassert>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace quiver {

enum class Errc {
    kOk = 0,
    kInvalid,      // bad input (config, request, argument)
    kNotFound,     // a file or name does not exist
    kSystem,       // a system call failed; detail carries errno text
    kUnavailable,  // a peer or service is away
    kTimeout,
    kCanceled,
};

struct Error {
    Errc code = Errc::kInvalid;
    std::string_view what;  // static text: cheap, comparable, grep-able
    std::string detail;     // the specifics (file:line, errno name, ...)

    // "what: detail", or just one of them.
    std::string message() const {
        if (detail.empty()) return std::string(what);
        if (what.empty()) return detail;
        return std::string(what) + ": " + detail;
    }
};

template <typename E>
struct Unexpected {
    E error;
};

inline Unexpected<Error> unexpected(Error e) { return {std::move(e)}; }
inline Unexpected<Error> unexpected(Errc c, std::string_view what, std::string detail = {}) {
    return {Error{c, what, std::move(detail)}};
}

template <typename T>
class [[nodiscard]] Result {
public:
    Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}
    Result(Unexpected<Error> e) : v_(std::in_place_index<1>, std::move(e.error)) {}

    bool has_value() const { return v_.index() == 0; }
    explicit operator bool() const { return has_value(); }

    T& value() & { assert(has_value()); return std::get<0>(v_); }
    const T& value() const& { assert(has_value()); return std::get<0>(v_); }
    T&& value() && { assert(has_value()); return std::get<0>(std::move(v_)); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }

    const Error& error() const { assert(!has_value()); return std::get<1>(v_); }
    Error& error() { assert(!has_value()); return std::get<1>(v_); }

private:
    std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
public:
    Result() = default;
    Result(Unexpected<Error> e) : err_(std::move(e.error)), ok_(false) {}

    bool has_value() const { return ok_; }
    explicit operator bool() const { return ok_; }
    const Error& error() const { assert(!ok_); return err_; }

private:
    Error err_;
    bool ok_ = true;
};

}  // namespace quiver
