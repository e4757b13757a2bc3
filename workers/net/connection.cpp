// SPDX-License-Identifier: MIT
// Connection: reading, the ordered response queue, writing, timeouts and
// closing. Parsing belongs to the codec; routing to the Worker.
#include "workers/net/connection.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "server/common/log.hpp"
#include "workers/http/forwarded.hpp"
#include "workers/worker.hpp"

namespace quiver::worker {

namespace {

// Requests parsed ahead of their responses on one connection (pipelining).
// Past this, reading pauses until responses drain.
constexpr uint32_t kMaxQueued = 64;
// Output waiting for a slow reader beyond which reading pauses.
constexpr size_t kMaxPendingOutput = 1 << 20;
// After we close our side, how long we keep reading (and discarding) so the
// kernel does not reset a connection whose last response is still in flight.
constexpr uint64_t kLingerMs = 2000;

// Reads per readiness wake-up while each one fills the whole buffer (as
// libuv does), so one busy connection cannot starve the others.
constexpr int kMaxReadsPerWakeup = 32;

constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
// An emptied buffer keeps its capacity up to this; a larger one (a big
// response to a slow reader) is given back so idle connections stay small.
constexpr size_t kKeepCapacity = 64 * 1024;

void clear_buffer(std::string& s, Worker* w) {
    if (s.capacity() <= kKeepCapacity) {
        s.clear();
        return;
    }
    std::string().swap(s);
    w->released_large();
}

// Every response carries the request id as X-Request-Id, unless the app set
// one itself: the app's headers plus that one, on the stack for the usual few.
class WithRequestId {
public:
    WithRequestId(const Exchange* ex, const OutHeader* h, size_t n) : p_(h), n_(n) {
        if (ex->id_text[0] == '\0') return;
        for (size_t i = 0; i < n; ++i)
            if (h[i].name.size() == 12 && strncasecmp(h[i].name.data(), "X-Request-Id", 12) == 0) return;
        OutHeader* dst = local_;
        if (n + 1 > std::size(local_)) {
            heap_.resize(n + 1);
            dst = heap_.data();
        }
        std::copy(h, h + n, dst);
        dst[n] = {"X-Request-Id", std::string_view(ex->id_text)};
        p_ = dst;
        n_ = n + 1;
    }
    const OutHeader* data() const { return p_; }
    size_t size() const { return n_; }

private:
    OutHeader local_[16];
    std::vector<OutHeader> heap_;
    const OutHeader* p_;
    size_t n_;
};

}  // namespace

void Exchange::reset() {
    conn = nullptr;
    next = nullptr;
    req.clear();
    out.clear();
    state = State::kHandling;
    close_after = false;
    direct = false;
    canceled = false;
    counted = false;
    held = false;
    timed_out = false;
    dl_prev = dl_next = nullptr;
    deadline_ms = 0;
    mode = BodyMode::kLength;
    status = 0;
    body_bytes = 0;
    start_ms = 0;
    start_ns = 0;
    id_text[0] = '\0';
    app = nullptr;
    id = 0;
    qv_headers.clear();
    cancel_cb = nullptr;
    cancel_arg = nullptr;
}

Connection::Connection(Worker* worker, const ListenSpec* listen, std::unique_ptr<Codec> codec)
    : worker_(worker), listen_(listen), codec_(std::move(codec)) {}

bool Connection::open(int fd, bool is_unix, std::string remote_addr) {
    uv_loop_t* loop = worker_->loop();
    remote_addr_ = std::move(remote_addr);
    is_unix_ = is_unix;
    uv_timer_init(loop, &timer_);
    timer_.data = this;
    handles_open_ = 1;
    int rc = uv_poll_init_socket(loop, &poll_, fd);
    if (rc != 0) {
        log::warning("uv_poll_init_socket(", fd, ") failed: ", uv_err_name(rc));
        ::close(fd);
        close();
        return false;
    }
    fd_ = fd;
    poll_.data = this;
    handles_open_ = 2;
    if (!is_unix) {
        int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    if (listen_->protocol == Protocol::kUwsgi && !is_unix &&
        !worker_->trusted_proxies().contains(remote_addr_)) {
        // uwsgi carries REMOTE_ADDR and HTTPS as the proxy states them: only
        // a proxy listed in forwarded_allow_ips may speak it over TCP.
        log::warning("uwsgi connection from ", remote_addr_, " refused: not in forwarded_allow_ips");
        close();
        return false;
    }
    idle_since_ms_ = worker_->now_ms();
    resume_reading();
    update_deadline();
    return true;
}

// ---- reading ---------------------------------------------------------------

void Connection::on_poll(uv_poll_t* p, int status, int events) noexcept {
    static_cast<Connection*>(p->data)->handle_poll(status, events);
}

void Connection::handle_poll(int status, int events) {
    if (status < 0) {
        // libuv reports a socket error (EPOLLERR: a reset) this way.
        log::debug("connection from ", remote_addr_, " failed: ", uv_err_name(status));
        close();
        return;
    }
    if ((events & UV_WRITABLE) && writing_) {
        write_some();
        if (closing_ && !lingering_) return;
    }
    if ((events & UV_READABLE) && reading_) read_some();
}

void Connection::read_some() {
    char* buf = worker_->read_buffer();
    const size_t size = worker_->read_buffer_size();
    for (int i = 0; i < kMaxReadsPerWakeup && reading_; ++i) {
        ssize_t n = ::recv(fd_, buf, size, MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) return;
            handle_read(-errno, nullptr);  // libuv's error codes are -errno
            return;
        }
        handle_read(n == 0 ? static_cast<ssize_t>(UV_EOF) : n, buf);
        if (static_cast<size_t>(n) < size) return;
    }
}

void Connection::handle_read(ssize_t nread, const char* data) {
    if (nread < 0) {
        if (nread != UV_EOF) log::debug("read from ", remote_addr_, " failed: ", uv_err_name(static_cast<int>(nread)));
        eof_ = true;
        pause_reading();
        if (lingering_ || nread != UV_EOF || head_ == nullptr) {
            // Nothing left to answer (or the socket is broken): close now. A
            // request cut short by EOF cannot be answered either.
            close();
            return;
        }
        // The client half-closed after sending: answer what it asked, then close.
        no_more_requests_ = true;
        update_deadline();
        return;
    }
    worker_->score().bytes_in.fetch_add(static_cast<uint64_t>(nread), std::memory_order_relaxed);
    if (lingering_) return;  // discarding input after our shutdown
    in_read_ = true;
    feed(data, static_cast<size_t>(nread));
    in_read_ = false;
    update_deadline();
    flush();
}

void Connection::feed(const char* data, size_t len) {
    while (len > 0 && !no_more_requests_) {
        if (queued_ >= kMaxQueued) {
            // Too far ahead of our own responses: keep the rest for later.
            pending_in_.append(data, len);
            pause_reading();
            return;
        }
        bool was_in_message = codec_->in_message();
        if (!was_in_message) request_start_ms_ = worker_->now_ms();
        FeedResult r = codec_->feed(data, len);
        data += r.consumed;
        len -= r.consumed;
        if (codec_->in_body() && !was_in_body_) body_start_ms_ = worker_->now_ms();
        was_in_body_ = codec_->in_body();
        switch (r.event) {
            case CodecEvent::kNeedMore:
                if (r.consumed == 0 && len > 0) {
                    // A codec must consume what it does not stop on.
                    handle_codec_error(400, "codec made no progress");
                    return;
                }
                break;
            case CodecEvent::kContinue:
                // RFC 9110 §10.1.1: send 100 now, unless earlier responses are
                // still owed: then it waits its turn in the queue.
                if (head_ == nullptr) wbuf_.append(kContinue);
                else continue_owed_ = true;
                break;
            case CodecEvent::kMessage:
                was_in_body_ = false;
                handle_message();
                break;
            case CodecEvent::kError:
                handle_codec_error(r.status, r.reason);
                return;
        }
    }
}

void Connection::handle_message() {
    Exchange* ex = worker_->new_exchange();
    std::swap(ex->req, codec_->request());
    // uwsgi carries the client's address in REMOTE_ADDR (the codec set it);
    // over HTTP it is the socket's peer.
    bool http = listen_->protocol == Protocol::kHttp;
    if (http || ex->req.remote_addr.empty()) ex->req.remote_addr = remote_addr_;
    // A unix-socket HTTP peer is a local proxy (the socket's mode decides who
    // may connect); anyone else must be listed in forwarded_allow_ips.
    const TrustedProxies& trusted = worker_->trusted_proxies();
    bool peer_trusted = http && is_unix_;
    if (peer_trusted || !trusted.empty()) apply_forwarded(ex->req, trusted, peer_trusted);
    ex->conn = this;
    ex->start_ms = worker_->now_ms();
    ex->close_after = !ex->req.keep_alive || !codec_->keep_alive_possible() || draining_;
    enqueue(ex);
    if (ex->close_after) no_more_requests_ = true;
    worker_->dispatch(this, ex);
}

void Connection::handle_codec_error(int status, std::string_view reason) {
    no_more_requests_ = true;
    pending_in_.clear();
    log::info(listen_->protocol == Protocol::kUwsgi ? "bad uwsgi request on " : "bad request from ",
              listen_->protocol == Protocol::kUwsgi ? listen_->address : remote_addr_, ": ", reason,
              status ? "" : " (closing)");
    if (status == 0) {
        // uwsgi framing errors: there is no one to answer (Nginx sees the close).
        if (head_ == nullptr) close();
        return;
    }
    Exchange* ex = worker_->new_exchange();
    std::swap(ex->req, codec_->request());
    ex->req.remote_addr = remote_addr_;
    ex->conn = this;
    ex->start_ms = worker_->now_ms();
    ex->close_after = true;
    enqueue(ex);
    respond_error(ex, status);
}

void Connection::pause_reading() {
    if (!reading_) return;
    reading_ = false;
    update_poll();
}

void Connection::resume_reading() {
    if (reading_ || closing_ || eof_) return;
    reading_ = true;
    update_poll();
}

// Watches what the connection waits for: input while reading, writability
// while output is held back. Changes cost an epoll_ctl, so they are rare.
void Connection::update_poll() {
    if (fd_ < 0 || uv_is_closing(reinterpret_cast<uv_handle_t*>(&poll_))) return;
    int want = (reading_ ? UV_READABLE : 0) | (writing_ ? UV_WRITABLE : 0);
    if (want == poll_events_) return;
    int rc = want != 0 ? uv_poll_start(&poll_, want, on_poll) : uv_poll_stop(&poll_);
    if (rc != 0) {
        log::warning("uv_poll_start(", remote_addr_, ") failed: ", uv_err_name(rc));
        close();
        return;
    }
    poll_events_ = want;
}

// ---- the ordered queue -----------------------------------------------------

void Connection::enqueue(Exchange* ex) {
    ex->direct = (head_ == nullptr);
    if (tail_) tail_->next = ex;
    else head_ = ex;
    tail_ = ex;
    ++queued_;
}

ResponseHead Connection::make_head(const Exchange* ex, int status, bool) const {
    ResponseHead h;
    h.status = status;
    h.http_minor = ex->req.http_minor;
    h.keep_alive = !ex->close_after;
    h.head_request = ex->req.is_head;
    h.date = worker_->date();
    h.server = worker_->server_header();
    return h;
}

void Connection::respond(Exchange* ex, int status, const OutHeader* headers, size_t n,
                         std::string_view body) {
    ResponseHead h = make_head(ex, status, true);
    h.mode = BodyMode::kLength;
    h.content_length = body.size();
    WithRequestId hs(ex, headers, n);
    write_response(sink(ex), h, hs.data(), hs.size(), body);
    ex->status = status;
    ex->body_bytes = ex->req.is_head ? 0 : body.size();
    complete(ex);
}

void Connection::respond_error(Exchange* ex, int status) {
    ex->close_after = ex->close_after || status == 500 || status == 400 || status == 408 ||
                      status == 413 || status == 414 || status == 431 || status == 501 ||
                      status == 505;
    std::string& out = sink(ex);
    size_t at = out.size();
    write_error(out, status, worker_->date(), worker_->server_header(), ex->req.is_head);
    if (ex->id_text[0] != '\0') {
        // The request id goes right after the status line.
        size_t eol = out.find("\r\n", at);
        if (eol != std::string::npos) {
            std::string line = "X-Request-Id: ";
            line += ex->id_text;
            line += "\r\n";
            out.insert(eol + 2, line);
        }
    }
    ex->status = status;
    if (ex->close_after) no_more_requests_ = true;
    complete(ex);
}

void Connection::stream_start(Exchange* ex, int status, const OutHeader* headers, size_t n) {
    ResponseHead h = make_head(ex, status, false);
    // Nginx's uwsgi module reads no chunked coding from its upstream: over
    // uwsgi (as for HTTP/1.0) the body ends when the connection closes.
    if (ex->req.http_minor >= 1 && listen_->protocol == Protocol::kHttp) {
        h.mode = BodyMode::kChunked;
    } else {
        // HTTP/1.0 has no chunked coding: the body ends when we close.
        h.mode = BodyMode::kClose;
        h.keep_alive = false;
        ex->close_after = true;
        no_more_requests_ = true;
    }
    ex->mode = h.mode;
    ex->status = status;
    ex->state = Exchange::State::kStreaming;
    WithRequestId hs(ex, headers, n);
    write_head(sink(ex), h, hs.data(), hs.size());
    if (ex->direct) mark_dirty();
}

void Connection::stream_write(Exchange* ex, std::string_view data) {
    if (ex->req.is_head || data.empty()) return;
    if (ex->mode == BodyMode::kChunked) write_chunk(sink(ex), data);
    else sink(ex).append(data);
    ex->body_bytes += data.size();
    if (ex->direct) {
        mark_dirty();
        if (wbuf_.size() + inflight_.size() > kMaxPendingOutput) pause_reading();
    }
}

void Connection::stream_end(Exchange* ex) {
    if (ex->mode == BodyMode::kChunked && !ex->req.is_head) write_last_chunk(sink(ex));
    complete(ex);
}

void Connection::complete(Exchange* ex) {
    ex->state = Exchange::State::kDone;
    if (ex == head_) advance_queue();
    if (!in_read_) mark_dirty();
}

// Pops finished exchanges off the head; the next unfinished one becomes
// direct (its buffered bytes join the output in order).
void Connection::advance_queue() {
    while (head_ && head_->state == Exchange::State::kDone) {
        Exchange* ex = head_;
        head_ = ex->next;
        if (!head_) tail_ = nullptr;
        --queued_;
        if (!ex->direct) wbuf_.append(ex->out);
        bool close_after = ex->close_after;
        release_exchange(ex);
        if (close_after) {
            // Anything queued behind a closing response is never answered;
            // those requests were parsed ahead but the client was told close.
            no_more_requests_ = true;
            while (head_) {
                Exchange* rest = head_;
                head_ = rest->next;
                --queued_;
                release_exchange(rest);
            }
            tail_ = nullptr;
            break;
        }
        if (head_) {
            head_->direct = true;
            if (!head_->out.empty()) {
                wbuf_.append(head_->out);
                head_->out.clear();
            }
        }
    }
    if (head_ == nullptr) {
        idle_since_ms_ = worker_->now_ms();
        if (continue_owed_ && codec_->in_body()) wbuf_.append(kContinue);
        continue_owed_ = false;
        // Bytes held back by the pipelining limit can be parsed now.
        if (!pending_in_.empty() && !no_more_requests_) {
            std::string held;
            held.swap(pending_in_);
            bool outer = in_read_;
            in_read_ = true;
            feed(held.data(), held.size());
            in_read_ = outer;
        }
        if (!no_more_requests_ && pending_in_.empty()) resume_reading();
    } else if (queued_ < kMaxQueued && pending_in_.empty() && !no_more_requests_) {
        resume_reading();
    }
}

void Connection::release_exchange(Exchange* ex) {
    if (!ex->held) {
        worker_->exchange_finished(ex);
        worker_->free_exchange(ex);
    } else {
        // The app still holds it (unfinished, or answered 504 by its
        // deadline): detach; the host frees it when the app finishes it.
        ex->conn = nullptr;
        ex->next = nullptr;
        worker_->exchange_detached(ex);
    }
}

// ---- writing ---------------------------------------------------------------

void Connection::mark_dirty() {
    if (!dirty_ && !closing_) worker_->mark_dirty(this);
}

void Connection::flush() {
    if (closing_ && !lingering_) return;
    if (!writing_ && !wbuf_.empty()) {
        // One send() for everything this loop turn produced; what the socket
        // does not take waits in inflight_ until it becomes writable.
        size_t written = 0;
        while (written < wbuf_.size()) {
            ssize_t n = ::send(fd_, wbuf_.data() + written, wbuf_.size() - written, MSG_DONTWAIT | MSG_NOSIGNAL);
            if (n >= 0) {
                written += static_cast<size_t>(n);
                break;
            }
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            log::debug("write to ", remote_addr_, " failed: ", uv_err_name(-errno));
            close();
            return;
        }
        worker_->score().bytes_out.fetch_add(written, std::memory_order_relaxed);
        if (written == wbuf_.size()) {
            clear_buffer(wbuf_, worker_);
        } else {
            inflight_.assign(wbuf_, written);
            inflight_off_ = 0;
            clear_buffer(wbuf_, worker_);
            writing_ = true;
            write_progress_ms_ = worker_->now_ms();
            update_poll();
            if (closing_ && !lingering_) return;
            if (inflight_.size() > kMaxPendingOutput) pause_reading();
        }
    }
    if (!writing_ && wbuf_.empty() && head_ == nullptr && (no_more_requests_ || eof_)) {
        begin_close();
        return;
    }
    update_deadline();
}

// The socket became writable while inflight_ waits: send what it takes.
void Connection::write_some() {
    while (inflight_off_ < inflight_.size()) {
        ssize_t n = ::send(fd_, inflight_.data() + inflight_off_, inflight_.size() - inflight_off_,
                           MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            log::debug("write to ", remote_addr_, " failed: ", uv_err_name(-errno));
            close();
            return;
        }
        inflight_off_ += static_cast<size_t>(n);
        worker_->score().bytes_out.fetch_add(static_cast<uint64_t>(n), std::memory_order_relaxed);
        write_progress_ms_ = worker_->now_ms();
    }
    if (inflight_off_ == inflight_.size()) handle_written();
}

void Connection::handle_written() {
    writing_ = false;
    inflight_off_ = 0;
    clear_buffer(inflight_, worker_);
    write_progress_ms_ = worker_->now_ms();
    if (!no_more_requests_ && queued_ < kMaxQueued && pending_in_.empty()) resume_reading();
    update_poll();
    if (closing_ && !lingering_) return;
    flush();
}

// ---- closing ---------------------------------------------------------------

void Connection::drain() {
    draining_ = true;
    if (tail_ && tail_->state == Exchange::State::kHandling) {
        // The last request received is answered with Connection: close and
        // the connection closes after it; requests behind it that were
        // parsed already are still answered first.
        tail_->close_after = true;
        no_more_requests_ = true;
    }
    // Idle: the next request (if the client sends one before the short
    // draining grace) is answered with Connection: close, so no request that
    // a client already sent is dropped.
    update_deadline();
}

// Our side is done: shutdown(SHUT_WR) and read until the peer closes (or
// kLingerMs), so a response is not destroyed by a reset (nginx's lingering close).
void Connection::begin_close() {
    if (closing_) return;
    // uwsgi: the request was read whole and nothing else can follow it, so
    // there is no unread input to turn our close into a reset.
    bool whole_uwsgi = listen_->protocol == Protocol::kUwsgi && !codec_->in_message() && pending_in_.empty();
    if (eof_ || whole_uwsgi) {
        close();
        return;
    }
    // Everything is written (flush only gets here then): FIN now.
    if (::shutdown(fd_, SHUT_WR) != 0) {
        close();
        return;
    }
    closing_ = true;
    lingering_ = true;
    no_more_requests_ = true;
    reading_ = true;
    update_poll();
    if (!lingering_) return;  // update_poll failed and closed
    deadline_ms_ = worker_->now_ms() + kLingerMs;
    timer_due_ms_ = deadline_ms_;
    uv_timer_start(&timer_, on_timer, kLingerMs, 0);
}

void Connection::close() {
    if (handles_open_ == 0 || uv_is_closing(reinterpret_cast<uv_handle_t*>(&timer_))) return;
    closing_ = true;
    lingering_ = false;
    reading_ = false;
    writing_ = false;
    // Exchanges still queued: done ones are freed, the others detached.
    while (head_) {
        Exchange* ex = head_;
        head_ = ex->next;
        release_exchange(ex);
    }
    tail_ = nullptr;
    queued_ = 0;
    if (fd_ >= 0) uv_close(reinterpret_cast<uv_handle_t*>(&poll_), on_close);
    uv_close(reinterpret_cast<uv_handle_t*>(&timer_), on_close);
}

void Connection::on_close(uv_handle_t* h) noexcept {
    auto* c = static_cast<Connection*>(h->data);
    if (h == reinterpret_cast<uv_handle_t*>(&c->poll_)) {
        // The poll handle does not own the socket: close it once libuv is done with it.
        ::close(c->fd_);
        c->fd_ = -1;
    }
    if (--c->handles_open_ == 0) c->worker_->connection_closed(c);
}

// ---- timeouts --------------------------------------------------------------

// One timer per connection. The deadline follows the state; the timer is only
// re-armed when the deadline moves earlier, so steady traffic costs no timer
// operations (a late fire just re-arms to the real deadline).
void Connection::update_deadline() {
    if (closing_) return;
    const Timeouts& t = worker_->timeouts();
    uint64_t d = 0;
    if (writing_) {
        d = write_progress_ms_ + t.write;
    } else if (codec_->in_message() && !no_more_requests_) {
        d = codec_->in_body() ? body_start_ms_ + t.body : request_start_ms_ + t.header;
    } else if (head_ == nullptr) {
        uint64_t idle = t.keepalive;
        // While draining, an idle connection gets a short grace for a request
        // already on the wire, then closes.
        if (draining_ && idle > 1000) idle = 1000;
        d = idle_since_ms_ + idle;
    }
    deadline_ms_ = d;
    if (d == 0) return;
    if (timer_due_ms_ != 0 && timer_due_ms_ <= d) return;
    uint64_t now = worker_->now_ms();
    timer_due_ms_ = d;
    uv_timer_start(&timer_, on_timer, d > now ? d - now : 0, 0);
}

void Connection::on_timer(uv_timer_t* t) noexcept {
    static_cast<Connection*>(t->data)->handle_timer();
}

void Connection::handle_timer() {
    timer_due_ms_ = 0;
    uint64_t now = worker_->now_ms();
    if (lingering_) {
        close();
        return;
    }
    if (deadline_ms_ == 0) return;
    if (now < deadline_ms_) {
        timer_due_ms_ = deadline_ms_;
        uv_timer_start(&timer_, on_timer, deadline_ms_ - now, 0);
        return;
    }
    if (writing_) {
        log::info("write to ", remote_addr_, " timed out");
        close();
    } else if (codec_->in_message() && !no_more_requests_ && head_ != nullptr) {
        // A slow request behind responses still owed: read no more; the
        // connection closes once those responses are written.
        log::info("request read from ", remote_addr_, " timed out");
        no_more_requests_ = true;
        pause_reading();
        deadline_ms_ = 0;
    } else if (codec_->in_message() && !no_more_requests_) {
        // RFC 9110 §15.5.9: 408 then close, for a client too slow to send.
        log::info(codec_->in_body() ? "body" : "header", " read from ", remote_addr_, " timed out");
        Exchange* ex = worker_->new_exchange();
        ex->conn = this;
        ex->start_ms = now;
        ex->close_after = true;
        no_more_requests_ = true;
        enqueue(ex);
        respond_error(ex, 408);
        flush();
    } else if (head_ == nullptr) {
        close();  // idle keep-alive
    } else {
        deadline_ms_ = 0;  // responses owed: the apps' own deadlines apply
    }
}

}  // namespace quiver::worker
