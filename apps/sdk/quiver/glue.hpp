// SPDX-License-Identifier: MIT
// The SDK's side of plugin.h: create/handle/destroy wrapping an app class.
// Nothing here throws into C; handler failures become 500 and one log line.
#pragma once

#include <quiver/app.hpp>  // AppContext; app.hpp includes this file at its end
#include <quiver/plugin.h>

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <cstring>
#include <exception>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

namespace quiver::detail {

struct InstanceBase;

// A request served by a coroutine handler: owns the Request and the Task
// until the task completes or the host cancels the request.
struct Exchange {
    Exchange(InstanceBase* owner, qv_request_t* req, const qv_request_info_t& info, Host host)
        : inst(owner), request(req, info, host) {}
    InstanceBase* inst;
    Exchange* prev = nullptr;
    Exchange* next = nullptr;
    Request request;
    Task<Response> task;
};

// What the host's `void* app` points to.
struct InstanceBase {
    InstanceBase(const qv_host_t* host, std::string_view settings) : ctx(host, settings) {}
    virtual ~InstanceBase() = default;

    void link(Exchange* ex) noexcept {
        ex->next = live;
        if (live != nullptr) live->prev = ex;
        live = ex;
    }
    void unlink(Exchange* ex) noexcept {
        if (ex->prev != nullptr) ex->prev->next = ex->next;
        if (ex->next != nullptr) ex->next->prev = ex->prev;
        if (live == ex) live = ex->next;
        ex->prev = ex->next = nullptr;
    }

    AppContext ctx;  // declared first: outlives the app
    void* app = nullptr;
    Exchange* live = nullptr;  // coroutine requests in flight
};

template <typename App>
struct Instance final : InstanceBase {
    using InstanceBase::InstanceBase;
    std::optional<App> object;
};

inline constexpr std::string_view kBody404 = "Not Found\n";
inline constexpr std::string_view kBody405 = "Method Not Allowed\n";
inline constexpr std::string_view kBody500 = "Internal Server Error\n";
inline constexpr std::string_view kBody503 = "Service Unavailable\n";

// One log line naming the request. Call before the request is finished:
// its views die with it.
inline void log_request(const Request& req, std::string_view what) noexcept {
    try {
        std::string line;
        line.reserve(64 + what.size());
        line.append("request ").append(req.request_id()).append(": ");
        line.append(req.method()).append(" ").append(req.path()).append(": ").append(what);
        req.host().error(line);
    } catch (...) {
        req.host().error(what);
    }
}

inline void respond_plain(Request& req, int status, std::string_view body,
                          std::string_view allow = {}) noexcept {
    Response r(status);  // two borrowed fields: stays inline, cannot throw
    r.header_view("Content-Type", "text/plain; charset=utf-8");
    if (!allow.empty()) r.header_view("Allow", allow);
    r.body_view(body);
    req.respond(r);
}

// Which field the host refused (it answers 500 itself): a name that is not
// a token, a value with CR, LF or NUL, or a framing field the host owns.
// Only run after a refusal, to name the field in the log.
inline std::string_view refused_field(const Response& r) noexcept {
    for (std::size_t i = 0; i < r.header_count(); ++i) {
        const Header h = r.header_at(i);
        if (h.name.empty()) return "(empty name)";
        for (char c : h.name) {
            if (!is_tchar(c)) return h.name;
        }
        for (char c : h.value) {
            if (c == '\r' || c == '\n' || c == '\0') return h.name;
        }
        if (iequals(h.name, "Content-Length") || iequals(h.name, "Transfer-Encoding")) {
            return h.name;
        }
    }
    return "(none found)";
}

inline void fail(Request& req, std::string_view what, std::string_view detail = {}) noexcept {
    if (detail.empty()) {
        log_request(req, what);
    } else {
        try {
            log_request(req, std::string(what).append(detail));
        } catch (...) {
            log_request(req, what);
        }
    }
    if (req.streaming()) {
        req.stream_end();  // NOTE: plugin.h has no way to abort a stream
    } else if (!req.finished()) {
        respond_plain(req, 500, kBody500);
    }
}

// Finishes the request with what the handler returned.
inline void finish(Request& req, const Response& r) noexcept {
    if (req.finished()) return;
    if (req.streaming()) {
        req.stream_end();
        return;
    }
    if (r.status() == 0) return fail(req, "handler returned without answering");
    if (r.status() < 200 || r.status() > 599) {
        char num[16];
        const auto end = std::to_chars(num, num + sizeof num, r.status()).ptr;
        return fail(req, "handler returned an invalid status ",
                    std::string_view(num, static_cast<std::size_t>(end - num)));
    }
    // The request id dies with the request: keep a copy for the log line.
    char id[64];
    const std::string_view rid = req.request_id();
    const std::size_t id_len = std::min(rid.size(), sizeof id);
    if (id_len != 0) std::memcpy(id, rid.data(), id_len);
    if (req.respond(r) == QV_EINVAL) {
        try {
            std::string line = "request ";
            line.append(id, id_len).append(": respond refused the response, header field: ");
            req.host().error(line.append(refused_field(r)));
        } catch (...) {
            req.host().error("respond refused the response");
        }
    }
}

inline void on_task_done(void* arg) noexcept {
    auto* ex = static_cast<Exchange*>(arg);
    try {
        const Response r = ex->task.result();
        finish(ex->request, r);
    } catch (const std::exception& e) {
        fail(ex->request, e.what());
    } catch (...) {
        fail(ex->request, "handler threw a non-standard exception");
    }
    ex->inst->unlink(ex);
    delete ex;  // destroys the task's frame, suspended at its final point
}

// The client went away or the deadline passed: stop the handler where it is
// suspended (its destructors cancel pending timers and queries), then finish
// the request, which the host requires to release it.
inline void on_cancel(void* arg) noexcept {
    auto* ex = static_cast<Exchange*>(arg);
    ex->request.mark_cancelled();
    ex->task.reset();
    if (ex->request.streaming()) {
        ex->request.stream_end();
    } else if (!ex->request.finished()) {
        respond_plain(ex->request, 503, kBody503);
    }
    ex->inst->unlink(ex);
    delete ex;
}

inline void start_async(InstanceBase& inst, Request& req, const Params& params,
                        HandlerBase& handler) noexcept {
    Exchange* ex = nullptr;
    try {
        ex = new Exchange(&inst, req.raw(), req.info(), req.host());
        ex->request.set_params(params);
        ex->task = handler.call_async(inst.app, ex->request);
    } catch (const std::exception& e) {
        delete ex;
        return fail(req, e.what());
    }
    inst.link(ex);
    const qv_host_t* h = inst.ctx.host.raw();
    if (h->on_cancel != nullptr) {
        h->on_cancel(req.raw(), &on_cancel, ex);
        ex->request.mark_cancel_registered();
    }
    ex->task.start(&on_task_done, ex);  // may finish (and free ex) before returning
}

inline void handle_request(InstanceBase& inst, qv_request_t* raw,
                           const qv_request_info_t* info) noexcept {
    const Host host = inst.ctx.host;
    if (info == nullptr || info->struct_size < offsetof(qv_request_info_t, reserved)) {
        host.error("handle: the host's qv_request_info_t is too small");
        host.raw()->respond(raw, 500, nullptr, 0, nullptr, 0);
        return;
    }
    Request req(raw, *info, host);
    try {
        const Router::Match m = inst.ctx.router.match(req.method(), req.route_path());
        if (m.status == Router::MatchStatus::kNotFound) return respond_plain(req, 404, kBody404);
        if (m.status == Router::MatchStatus::kMethodNotAllowed) {
            return respond_plain(req, 405, kBody405, m.allow);
        }
        HandlerBase& handler = *m.route->handler;
        if (handler.is_async()) return start_async(inst, req, m.params, handler);
        req.set_params(m.params);
        const Response r = handler.call(inst.app, req);
        finish(req, r);
    } catch (const std::exception& e) {
        fail(req, e.what());
    } catch (...) {
        fail(req, "handler threw a non-standard exception");
    }
}

// Copies `msg` into err, cut at a UTF-8 boundary to fit.
inline int set_error(qv_error_t* err, int code, std::string_view msg) noexcept {
    if (err != nullptr) {
        std::size_t n = std::min(msg.size(), sizeof err->message - 1);
        if (n < msg.size()) {
            while (n > 0 && (static_cast<unsigned char>(msg[n]) & 0xC0) == 0x80) --n;
        }
        std::memcpy(err->message, msg.data(), n);
        err->message[n] = '\0';
        err->code = code;
    }
    return code;
}

template <typename App>
int create(const qv_host_t* host, const char* settings, std::size_t settings_len, void** app,
           qv_error_t* err) noexcept {
    static_assert(std::is_constructible_v<App, AppContext&>,
                  "an app class needs a constructor App(quiver::AppContext&)");
    if (app == nullptr) return set_error(err, QV_EINVAL, "create: app is NULL");
    *app = nullptr;
    if (host == nullptr || host->abi_version != QV_ABI_VERSION ||
        host->struct_size < offsetof(qv_host_t, on_cancel) + sizeof host->on_cancel ||
        host->respond == nullptr) {
        return set_error(err, QV_EINVAL, "create: the host's qv_host_t is not ABI version 1");
    }
    try {
        const std::string_view json =
            settings != nullptr ? std::string_view(settings, settings_len) : std::string_view();
        auto inst = std::make_unique<Instance<App>>(host, json);
        inst->ctx.router.template bind_app_type<App>();
        inst->app = &inst->object.emplace(inst->ctx);
        *app = static_cast<InstanceBase*>(inst.release());
        return QV_OK;
    } catch (const std::bad_alloc&) {
        return set_error(err, QV_ENOMEM, "out of memory");
    } catch (const std::exception& e) {  // ConfigError, a bad route, the app's own
        return set_error(err, QV_EINVAL, e.what());
    } catch (...) {
        return set_error(err, QV_EINVAL, "the app's constructor threw a non-standard exception");
    }
}

inline void handle(void* app, qv_request_t* req, const qv_request_info_t* info) noexcept {
    handle_request(*static_cast<InstanceBase*>(app), req, info);
}

// The host destroys an instance only after every request is finished or
// cancelled; anything still live means it broke that rule, and is dropped
// without touching the host's requests.
inline void destroy(void* app) noexcept {
    auto* inst = static_cast<InstanceBase*>(app);
    if (inst == nullptr) return;
    std::size_t dropped = 0;
    while (inst->live != nullptr) {
        Exchange* ex = inst->live;
        inst->unlink(ex);
        ex->task.reset();
        delete ex;
        ++dropped;
    }
    if (dropped != 0) {
        inst->ctx.host.warning("destroy: requests were still running; their handlers were stopped");
    }
    delete inst;  // the app first, then its context
}

template <typename App>
constexpr qv_plugin_t make_plugin(const char* name, const char* version) noexcept {
    return qv_plugin_t{QV_ABI_VERSION, sizeof(qv_plugin_t), name,    version,
                       &create<App>,   &handle,             &destroy, {}};
}

}  // namespace quiver::detail
