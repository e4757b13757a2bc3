// SPDX-License-Identifier: MIT
// Router: method + path pattern -> handler, matched on the path relative to
// the app's mount. Routes are registered explicitly in the app's constructor.
#pragma once

#include <quiver/request.hpp>
#include <quiver/response.hpp>
#include <quiver/task.hpp>
#include <quiver/text.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace quiver {

namespace detail {

// One distinct address per type: identifies the app class without RTTI.
template <typename T>
inline constexpr char kTypeTag = 0;

// status 0: "no response" -- the handler returned void, or finished the
// request itself (Request::respond, a Stream).
inline Response no_response() noexcept { return Response(0); }

inline Task<Response> adapt_void_task(Task<void> t) {
    co_await t;
    co_return no_response();
}

class HandlerBase {
public:
    virtual ~HandlerBase() = default;
    /// True for handlers returning Task<Response> or Task<void>.
    virtual bool is_async() const noexcept = 0;
    virtual Response call(void* app, Request& req) = 0;
    virtual Task<Response> call_async(void* app, Request& req) = 0;
};

// Fn: callable as (void* app, Request&) returning Response, void,
// Task<Response> or Task<void>.
template <typename Fn>
class HandlerImpl final : public HandlerBase {
    using R = std::invoke_result_t<Fn&, void*, Request&>;
    static constexpr bool kAsync = std::is_same_v<R, Task<Response>> || std::is_same_v<R, Task<void>>;
    static_assert(kAsync || std::is_same_v<R, Response> || std::is_void_v<R>,
                  "a handler returns Response, void, Task<Response> or Task<void>");

public:
    explicit HandlerImpl(Fn fn) : fn_(std::move(fn)) {}
    bool is_async() const noexcept override { return kAsync; }
    Response call(void* app, Request& req) override {
        if constexpr (std::is_same_v<R, Response>) {
            return fn_(app, req);
        } else if constexpr (std::is_void_v<R>) {
            fn_(app, req);
            return no_response();
        } else {
            return no_response();  // never called for coroutine handlers
        }
    }
    Task<Response> call_async(void* app, Request& req) override {
        if constexpr (std::is_same_v<R, Task<Response>>) {
            return fn_(app, req);
        } else if constexpr (std::is_same_v<R, Task<void>>) {
            return adapt_void_task(fn_(app, req));
        } else {
            return {};  // never called for plain handlers
        }
    }

private:
    Fn fn_;
};

template <typename M>
struct MemberClass;
template <typename R, typename T, typename... A>
struct MemberClass<R (T::*)(A...)> { using type = T; };
template <typename R, typename T, typename... A>
struct MemberClass<R (T::*)(A...) const> { using type = T; };
template <typename R, typename T, typename... A>
struct MemberClass<R (T::*)(A...) noexcept> { using type = T; };
template <typename R, typename T, typename... A>
struct MemberClass<R (T::*)(A...) const noexcept> { using type = T; };

struct Segment {
    enum Kind : std::uint8_t { kTail = 0, kParam = 1, kLiteral = 2 };  // ordered by specificity
    Kind kind;
    std::string text;  // the literal (decoded form) or the parameter name
};

struct Route {
    std::string method;  // "" for any method
    std::string pattern;
    std::vector<Segment> segments;
    std::unique_ptr<HandlerBase> handler;
};

// RFC 9110 §5.6.2 tchar, as a table: header names are checked per response.
inline constexpr std::array<bool, 256> kTchar = [] {
    std::array<bool, 256> t{};
    for (std::size_t c = '0'; c <= '9'; ++c) t[c] = true;
    for (std::size_t c = 'a'; c <= 'z'; ++c) t[c] = true;
    for (std::size_t c = 'A'; c <= 'Z'; ++c) t[c] = true;
    for (char c : std::string_view("!#$%&'*+-.^_`|~")) t[static_cast<unsigned char>(c)] = true;
    return t;
}();
constexpr bool is_tchar(char c) noexcept { return kTchar[static_cast<unsigned char>(c)]; }

}  // namespace detail

/// Maps (method, path) to a handler.
///
/// Patterns start with '/' and are split into segments at '/':
///   - a literal segment matches the same text; the request path is compared
///     percent-decoded, so "/a b" matches "/a%20b" (write literals decoded;
///     '{', '}', '%', '?' and '#' are not allowed in them);
///   - `{name}` matches one non-empty segment, read with req.param("name");
///   - `{name...}`, last only, matches the rest of the path, slashes included,
///     possibly empty: "/files/{rest...}" matches "/files/" and "/files/a/b"
///     but not "/files".
/// Matching is exact otherwise ("/a" and "/a/" differ) and case-sensitive.
/// When several routes match, the most specific wins, comparing segment by
/// segment (literal > parameter > tail), then the method: an exact method,
/// then any(), then (for HEAD only) a GET route. No route for the path: 404;
/// routes for the path but none for the method: 405 with an Allow list.
///
/// Handlers: member functions of the app class (`&MyApp::plaintext`, only on
/// the router of the app's AppContext) or any callable, taking `Request&` and
/// returning Response, void, Task<Response> or Task<void>. A handler that
/// returns void must finish the request itself (a Stream, Request::respond).
/// Registration errors (bad pattern, duplicate route) throw
/// std::invalid_argument, which fails the app's creation with that message.
class Router {
public:
    enum class MatchStatus { kFound, kNotFound, kMethodNotAllowed };
    struct Match {
        MatchStatus status = MatchStatus::kNotFound;
        const detail::Route* route = nullptr;
        Params params;
        std::string allow;  // for kMethodNotAllowed: "GET, HEAD, POST"
    };

    template <typename H>
    Router& get(std::string_view pattern, H&& h) { return route("GET", pattern, std::forward<H>(h)); }
    template <typename H>
    Router& post(std::string_view pattern, H&& h) { return route("POST", pattern, std::forward<H>(h)); }
    template <typename H>
    Router& put(std::string_view pattern, H&& h) { return route("PUT", pattern, std::forward<H>(h)); }
    template <typename H>
    Router& patch(std::string_view pattern, H&& h) { return route("PATCH", pattern, std::forward<H>(h)); }
    template <typename H>
    Router& del(std::string_view pattern, H&& h) { return route("DELETE", pattern, std::forward<H>(h)); }
    template <typename H>
    Router& options(std::string_view pattern, H&& h) { return route("OPTIONS", pattern, std::forward<H>(h)); }
    template <typename H>
    Router& head(std::string_view pattern, H&& h) { return route("HEAD", pattern, std::forward<H>(h)); }

    /// A route for one method (a token, compared case-sensitively).
    template <typename H>
    Router& route(std::string_view method, std::string_view pattern, H&& h) {
        if (method.empty()) throw std::invalid_argument("route method must not be empty");
        for (char c : method) {
            if (!detail::is_tchar(c)) {
                throw std::invalid_argument("route method is not a token: " + std::string(method));
            }
        }
        return add(method, pattern, make_handler(std::forward<H>(h)));
    }
    /// A route for every method.
    template <typename H>
    Router& any(std::string_view pattern, H&& h) {
        return add({}, pattern, make_handler(std::forward<H>(h)));
    }

    /// Finds the route for `method` and `path` (a path relative to the mount,
    /// as Request::route_path()). Parameters are views into `path`.
    Match match(std::string_view method, std::string_view path) const;

    std::size_t size() const noexcept { return routes_.size(); }

    /// For the SDK's glue: member-function handlers must belong to App.
    template <typename App>
    void bind_app_type() noexcept { app_tag_ = &detail::kTypeTag<App>; }

private:
    template <typename H>
    std::unique_ptr<detail::HandlerBase> make_handler(H&& h) {
        using D = std::decay_t<H>;
        if constexpr (std::is_member_function_pointer_v<D>) {
            using T = typename detail::MemberClass<D>::type;
            if (app_tag_ != &detail::kTypeTag<T>) {
                throw std::invalid_argument(
                    "a member-function handler must belong to the app class and be registered "
                    "on its AppContext::router (use a lambda otherwise)");
            }
            auto fn = [m = D(h)](void* app, Request& req) {
                return (static_cast<T*>(app)->*m)(req);
            };
            return std::make_unique<detail::HandlerImpl<decltype(fn)>>(std::move(fn));
        } else {
            auto fn = [f = D(std::forward<H>(h))](void*, Request& req) mutable {
                return std::invoke(f, req);
            };
            return std::make_unique<detail::HandlerImpl<decltype(fn)>>(std::move(fn));
        }
    }

    Router& add(std::string_view method, std::string_view pattern,
                std::unique_ptr<detail::HandlerBase> handler);
    static std::vector<detail::Segment> parse_pattern(std::string_view pattern);
    static bool match_path(const detail::Route& r, std::string_view path, Params& out) noexcept;
    static int compare_specificity(const detail::Route& a, const detail::Route& b) noexcept;

    std::vector<detail::Route> routes_;
    const void* app_tag_ = nullptr;
};

}  // namespace quiver

#include <quiver/router_impl.hpp>
