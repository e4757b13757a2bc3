// SPDX-License-Identifier: MIT
// ParamPack: query parameters rendered in PostgreSQL's text input format, for
// Db::query and Transaction::query (db.hpp).
#pragma once

#include <quiver/plugin.h>

#include <charconv>
#include <cmath>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace quiver::detail {

template <typename T>
struct IsOptional : std::false_type {};
template <typename T>
struct IsOptional<std::optional<T>> : std::true_type {};

// Query parameters rendered in PostgreSQL's text input format, owned until the
// query completes (the host may read them until its callback runs).
class ParamPack {
public:
    template <typename... A>
    explicit ParamPack(const A&... args) {
        slots_.reserve(sizeof...(A));
        (add(args), ...);
    }
    std::vector<qv_str_t> build() const {
        std::vector<qv_str_t> out;
        out.reserve(slots_.size());
        for (const Slot& s : slots_) {
            out.push_back(s.null ? qv_str_t{nullptr, 0} : qv_str_t{bytes_.data() + s.off, s.len});
        }
        return out;
    }

private:
    struct Slot {
        std::size_t off;
        std::size_t len;
        bool null;
    };

    void null() { slots_.push_back(Slot{0, 0, true}); }
    void text(std::string_view s) {
        slots_.push_back(Slot{bytes_.size(), s.size(), false});
        bytes_.append(s);
    }

    template <typename T>
    void add(const T& v) {
        using D = std::decay_t<T>;
        if constexpr (std::is_same_v<D, std::nullptr_t> || std::is_same_v<D, std::nullopt_t>) {
            null();
        } else if constexpr (IsOptional<D>::value) {
            if (v) {
                add(*v);
            } else {
                null();
            }
        } else if constexpr (std::is_array_v<T>) {
            text(std::string_view(v));  // a string literal or char buffer, up to its NUL
        } else if constexpr (std::is_same_v<D, const char*> || std::is_same_v<D, char*>) {
            if (v == nullptr) {
                null();
            } else {
                text(std::string_view(v));
            }
        } else if constexpr (std::is_same_v<D, bool>) {
            text(v ? "true" : "false");
        } else if constexpr (std::is_same_v<D, char>) {
            static_assert(sizeof(T) == 0, "pass a char as a string");
        } else if constexpr (std::is_integral_v<D>) {
            char buf[24];
            const auto r = std::to_chars(buf, buf + sizeof buf, v);
            text(std::string_view(buf, static_cast<std::size_t>(r.ptr - buf)));
        } else if constexpr (std::is_floating_point_v<D>) {
            if (std::isnan(v)) {
                text("NaN");
            } else if (std::isinf(v)) {
                text(v > 0 ? "Infinity" : "-Infinity");
            } else {
                char buf[40];
                const auto r = std::to_chars(buf, buf + sizeof buf, v);
                text(std::string_view(buf, static_cast<std::size_t>(r.ptr - buf)));
            }
        } else if constexpr (std::is_convertible_v<const T&, std::string_view>) {
            text(std::string_view(v));
        } else {
            static_assert(sizeof(T) == 0,
                          "query parameters are integers, floating point, bool, strings, "
                          "std::optional of those, nullptr or std::nullopt");
        }
    }

    std::string bytes_;
    std::vector<Slot> slots_;
};

}  // namespace quiver::detail
