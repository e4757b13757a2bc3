// SPDX-License-Identifier: MIT
// Request: read-only views of what the host received, the route parameters,
// and the ways to finish it (a whole Response, or a Stream of chunks).
#pragma once

#include <quiver/host.hpp>
#include <quiver/plugin.h>
#include <quiver/response.hpp>
#include <quiver/text.hpp>

#include <array>
#include <cstddef>
#include <initializer_list>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace quiver {

namespace detail {
inline std::string_view sv(qv_str_t s) noexcept { return {s.ptr, s.len}; }
}  // namespace detail

/// One route parameter: `{id}` in the pattern, its raw (still
/// percent-encoded) text in the path.
struct Param {
    std::string_view name;
    std::string_view value;
};

/// The route parameters of one match: fixed capacity, no allocation, and
/// nothing initialised or copied past size() (this sits on the hot path).
class Params {
public:
    static constexpr std::size_t kMax = 8;

    Params() noexcept {}  // NOTE: slots_ deliberately left uninitialised
    Params(const Params& o) noexcept : count_(o.count_) { copy_from(o); }
    Params& operator=(const Params& o) noexcept {
        count_ = o.count_;
        copy_from(o);
        return *this;
    }

    std::size_t size() const noexcept { return count_; }
    bool empty() const noexcept { return count_ == 0; }
    Param operator[](std::size_t i) const noexcept {
        return {{slots_[i].name, slots_[i].name_len}, {slots_[i].value, slots_[i].value_len}};
    }
    /// The value of parameter `name`, if the route has it.
    std::optional<std::string_view> find(std::string_view name) const noexcept {
        for (std::size_t i = 0; i < count_; ++i) {
            if ((*this)[i].name == name) return (*this)[i].value;
        }
        return std::nullopt;
    }
    /// Appends one; false when full.
    bool push(std::string_view name, std::string_view value) noexcept {
        if (count_ == kMax) return false;
        slots_[count_++] = Slot{name.data(), name.size(), value.data(), value.size()};
        return true;
    }
    void clear() noexcept { count_ = 0; }

private:
    struct Slot {  // trivial, unlike string_view: no zeroing on construction
        const char* name;
        std::size_t name_len;
        const char* value;
        std::size_t value_len;
    };
    void copy_from(const Params& o) noexcept {
        for (std::size_t i = 0; i < count_; ++i) slots_[i] = o.slots_[i];
    }

    std::size_t count_ = 0;
    Slot slots_[kMax];
};

/// The request's header fields in received order, names as received.
class HeaderList {
public:
    class iterator {
    public:
        using iterator_category = std::forward_iterator_tag;
        using value_type = Header;
        using difference_type = std::ptrdiff_t;
        using pointer = void;
        using reference = Header;
        iterator() noexcept = default;
        explicit iterator(const qv_header_t* p) noexcept : p_(p) {}
        Header operator*() const noexcept { return {detail::sv(p_->name), detail::sv(p_->value)}; }
        iterator& operator++() noexcept {
            ++p_;
            return *this;
        }
        iterator operator++(int) noexcept {
            iterator t = *this;
            ++p_;
            return t;
        }
        bool operator==(const iterator&) const noexcept = default;

    private:
        const qv_header_t* p_ = nullptr;
    };

    HeaderList() noexcept = default;
    HeaderList(const qv_header_t* h, std::size_t n) noexcept : h_(h), n_(n) {}
    iterator begin() const noexcept { return iterator(h_); }
    iterator end() const noexcept { return iterator(h_ + n_); }
    std::size_t size() const noexcept { return n_; }
    bool empty() const noexcept { return n_ == 0; }
    Header operator[](std::size_t i) const noexcept {
        return {detail::sv(h_[i].name), detail::sv(h_[i].value)};
    }
    /// The value of the first field named `name` (case-insensitive). Repeated
    /// fields are not merged; iterate to see them all.
    std::optional<std::string_view> find(std::string_view name) const noexcept {
        for (std::size_t i = 0; i < n_; ++i) {
            if (iequals(detail::sv(h_[i].name), name)) return detail::sv(h_[i].value);
        }
        return std::nullopt;
    }

private:
    const qv_header_t* h_ = nullptr;
    std::size_t n_ = 0;
};

class Request;

/// A streamed response being written: chunked for HTTP/1.1, close-delimited
/// for HTTP/1.0. Get one from Request::stream(). write() and end() return
/// QV_OK or a negative QV_E* code; the host buffers what is written. If a
/// handler returns (or throws) without calling end(), the SDK ends the stream.
/// NOTE: the ABI cannot abort a stream, so a handler failing mid-stream still
/// ends it cleanly; clients see a shorter body.
class Stream {
public:
    Stream() noexcept = default;
    /// True when the stream was started and not yet ended.
    bool ok() const noexcept;
    /// The code stream_start returned (QV_OK when started).
    int start_status() const noexcept { return start_rc_; }
    int write(std::string_view data) noexcept;
    int end() noexcept;

private:
    friend class Request;
    Stream(Request* r, int rc) noexcept : req_(r), start_rc_(rc) {}
    Request* req_ = nullptr;
    int start_rc_ = QV_EINVAL;
};

/// One request, as the host received it. Every view (method, path, headers,
/// body, ...) points into host memory that stays valid until the request is
/// finished (respond() or the end of a stream); the SDK finishes it when the
/// handler returns, so views are safe for the handler's whole run unless the
/// handler finishes it earlier itself. Not copyable; handlers receive it by
/// reference and it outlives their Task.
class Request {
public:
    /// Wraps the host's request; `info` must outlive this object.
    Request(qv_request_t* req, const qv_request_info_t& info, Host host = {}) noexcept
        : req_(req), info_(&info), host_(host), route_path_(compute_route_path(info)) {}
    Request(const Request&) = delete;
    Request& operator=(const Request&) = delete;

    std::string_view method() const noexcept { return detail::sv(info_->method); }
    /// The raw request-target.
    std::string_view target() const noexcept { return detail::sv(info_->target); }
    /// The full path as received (not percent-decoded), mount prefix included.
    std::string_view path() const noexcept { return detail::sv(info_->path); }
    /// The raw query without '?', "" when absent.
    std::string_view query() const noexcept { return detail::sv(info_->query); }
    /// The mount prefix that routed the request to this app ("/" at the root).
    std::string_view mount() const noexcept { return detail::sv(info_->mount); }
    /// path() without the mount prefix, always starting with '/': what routes match.
    std::string_view route_path() const noexcept { return route_path_; }
    std::string_view body() const noexcept { return detail::sv(info_->body); }
    std::string_view remote_addr() const noexcept { return detail::sv(info_->remote_addr); }
    std::string_view scheme() const noexcept { return detail::sv(info_->scheme); }
    std::string_view request_id() const noexcept { return detail::sv(info_->request_id); }
    /// 10 for HTTP/1.0, 11 for HTTP/1.1.
    int http_version() const noexcept { return static_cast<int>(info_->http_version); }

    HeaderList headers() const noexcept { return {info_->headers, info_->header_count}; }
    /// The first field named `name` (case-insensitive).
    std::optional<std::string_view> header(std::string_view name) const noexcept {
        return headers().find(name);
    }

    /// The first query parameter named `name`, decoded as
    /// application/x-www-form-urlencoded ('+' is a space, %XX a byte; a
    /// malformed '%' stays literal). Names compare after decoding.
    std::optional<std::string> query_param(std::string_view name) const {
        std::string_view q = query();
        while (!q.empty()) {
            const std::size_t amp = q.find('&');
            const std::string_view pair = q.substr(0, amp);
            q = amp == std::string_view::npos ? std::string_view() : q.substr(amp + 1);
            if (pair.empty()) continue;
            const std::size_t eq = pair.find('=');
            const std::string_view key = pair.substr(0, eq);
            if (!decoded_equals(key, name, true)) continue;
            if (eq == std::string_view::npos) return std::string();
            return percent_decode(pair.substr(eq + 1), true);
        }
        return std::nullopt;
    }

    /// The raw text of route parameter `name` ("" when the route has none):
    /// still percent-encoded; decode with percent_decode() when needed.
    std::string_view param(std::string_view name) const noexcept {
        return params_.find(name).value_or(std::string_view());
    }
    const Params& params() const noexcept { return params_; }
    void set_params(const Params& p) noexcept { params_ = p; }

    /// The host services, e.g. for quiver::sleep(req.host(), ...).
    Host host() const noexcept { return host_; }
    qv_request_t* raw() const noexcept { return req_; }
    const qv_request_info_t& info() const noexcept { return *info_; }

    /// True once the request is finished; its views are then invalid.
    bool finished() const noexcept { return phase_ == Phase::kFinished; }
    /// True while a stream is started and not ended.
    bool streaming() const noexcept { return phase_ == Phase::kStreaming; }

    /// Finishes the request now with `r` (handlers normally return it
    /// instead). Returns QV_OK, QV_EINVAL (the host refused a header and
    /// answered 500 itself), QV_ECANCELED or QV_EALREADY.
    int respond(const Response& r) noexcept {
        if (phase_ != Phase::kOpen) return QV_EALREADY;
        const std::size_t n = r.header_count();
        std::array<qv_header_t, Response::kInlineHeaders> small;
        std::vector<qv_header_t> big;
        qv_header_t* hs = small.data();
        if (n > small.size()) {
            try {
                big.resize(n);
            } catch (...) {
                return respond_raw(500, nullptr, 0, {});
            }
            hs = big.data();
        }
        for (std::size_t i = 0; i < n; ++i) hs[i] = to_qv(r.header_at(i));
        return respond_raw(r.status(), hs, n, r.body());
    }

    /// Starts a streamed response with this status and header fields (views
    /// needed only during the call). Fails (Stream::ok() false) when the
    /// request is already finished or streaming, or the host refuses it.
    Stream stream(int status, std::initializer_list<Header> headers = {}) noexcept {
        std::array<qv_header_t, Response::kInlineHeaders * 4> hs;
        if (headers.size() > hs.size()) return Stream(this, QV_EINVAL);
        std::size_t n = 0;
        for (const Header& h : headers) hs[n++] = to_qv(h);
        return stream_raw(status, hs.data(), n);
    }
    /// Starts a streamed response with the status and header fields of `head`
    /// (its body is ignored).
    Stream stream(const Response& head) noexcept {
        std::array<qv_header_t, Response::kInlineHeaders * 4> hs;
        const std::size_t n = head.header_count();
        if (n > hs.size()) return Stream(this, QV_EINVAL);
        for (std::size_t i = 0; i < n; ++i) hs[i] = to_qv(head.header_at(i));
        return stream_raw(head.status(), hs.data(), n);
    }

    /// True when the host cancelled the request (client gone, deadline).
    bool cancelled() const noexcept { return cancelled_; }

    // For the SDK's glue: the host cancelled the request (finishing calls
    // will return QV_ECANCELED), and whether an on_cancel callback is set.
    void mark_cancelled() noexcept { cancelled_ = true, cancel_registered_ = false; }
    void mark_cancel_registered() noexcept { cancel_registered_ = true; }
    int stream_write(std::string_view data) noexcept {
        if (phase_ != Phase::kStreaming) return QV_EALREADY;
        return host_.raw()->stream_write(req_, data.data(), data.size());
    }
    int stream_end() noexcept {
        if (phase_ != Phase::kStreaming) return QV_EALREADY;
        before_finish();
        phase_ = Phase::kFinished;
        return host_.raw()->stream_end(req_);
    }

private:
    enum class Phase { kOpen, kStreaming, kFinished };

    static qv_header_t to_qv(const Header& h) noexcept {
        return {{h.name.data(), h.name.size()}, {h.value.data(), h.value.size()}};
    }

    // The path relative to the mount, keeping its leading '/': mount "/api"
    // or "/api/" and path "/api/users" give "/users"; "/api" alone gives "/".
    static std::string_view compute_route_path(const qv_request_info_t& info) noexcept {
        const std::string_view path = detail::sv(info.path);
        std::string_view mount = detail::sv(info.mount);
        if (!mount.empty() && mount.back() == '/') mount.remove_suffix(1);
        if (mount.empty() || path.substr(0, mount.size()) != mount) return path;
        const std::string_view rest = path.substr(mount.size());
        if (rest.empty()) return "/";
        return rest.front() == '/' ? rest : path;
    }

    // The host never calls on_cancel after a request is finished; removing the
    // registration first keeps a late callback impossible anyway.
    void before_finish() noexcept {
        if (cancel_registered_) {
            host_.raw()->on_cancel(req_, nullptr, nullptr);
            cancel_registered_ = false;
        }
    }

    Stream stream_raw(int status, const qv_header_t* hs, std::size_t n) noexcept {
        if (phase_ != Phase::kOpen) return Stream(this, QV_EALREADY);
        const qv_host_t* h = host_.raw();
        if (h == nullptr || h->stream_start == nullptr || h->stream_write == nullptr ||
            h->stream_end == nullptr) {
            return Stream(this, QV_ENOTSUP);
        }
        const int rc = h->stream_start(req_, status, hs, n);
        if (rc == QV_OK) phase_ = Phase::kStreaming;
        return Stream(this, rc);
    }

    int respond_raw(int status, const qv_header_t* hs, std::size_t n,
                    std::string_view body) noexcept {
        const qv_host_t* h = host_.raw();
        if (h == nullptr || h->respond == nullptr) return QV_ENOTSUP;
        before_finish();
        phase_ = Phase::kFinished;
        return h->respond(req_, status, hs, n, body.data(), body.size());
    }

    qv_request_t* req_;
    const qv_request_info_t* info_;
    Host host_;
    std::string_view route_path_;
    Params params_;
    Phase phase_ = Phase::kOpen;
    bool cancelled_ = false;
    bool cancel_registered_ = false;
};

inline bool Stream::ok() const noexcept {
    return req_ != nullptr && start_rc_ == QV_OK && req_->streaming();
}
inline int Stream::write(std::string_view data) noexcept {
    return req_ == nullptr ? QV_EINVAL : req_->stream_write(data);
}
inline int Stream::end() noexcept { return req_ == nullptr ? QV_EINVAL : req_->stream_end(); }

}  // namespace quiver
