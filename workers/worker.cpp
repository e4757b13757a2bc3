// SPDX-License-Identifier: MIT
// Worker: builds its loop, plugins and listeners after exec, reports READY,
// serves, and stops gracefully (TERM) or quickly (QUIT/INT).
#include "workers/worker.hpp"

#include <malloc.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <random>

#include "server/common/exit_codes.hpp"
#include "server/common/log.hpp"
#include "workers/codec/http1.hpp"
#include "workers/codec/uwsgi.hpp"
#include "workers/net/connection.hpp"
#include "workers/net/listener.hpp"
#include "workers/pg/pool.hpp"
#include "workers/plugin/host.hpp"
#include "workers/request_id.hpp"

namespace quiver::worker {

namespace {
constexpr int kSignals[] = {SIGTERM, SIGQUIT, SIGINT, SIGUSR1, SIGHUP};
constexpr size_t kMaxFreeExchanges = 1024;
}  // namespace

Worker::Worker(ConfigPtr config, WorkerArgs args, std::function<bool()> drop_privileges)
    : config_(std::move(config)),
      args_(std::move(args)),
      drop_privileges_(std::move(drop_privileges)),
      read_buf_(new char[kReadBufferSize]) {
    uv_loop_init(&loop_);
    score_ = &dummy_score_;
}

Worker::~Worker() {
    while (free_exchanges_) {
        Exchange* ex = free_exchanges_;
        free_exchanges_ = ex->next;
        delete ex;
    }
}

std::string_view Worker::date() { return date_cache_.get(::time(nullptr)); }

bool Worker::start() {
    if (args_.scoreboard_fd >= 0) {
        auto sb = Scoreboard::attach(args_.scoreboard_fd);
        if (!sb) {
            log::error(sb.error().message());
            return false;
        }
        scoreboard_ = std::move(*sb);
        if (static_cast<size_t>(args_.score_slot) < scoreboard_.size()) score_ = &scoreboard_.slot(args_.score_slot);
    }
    uint64_t now = monotonic_ms();
    pid_ = static_cast<uint32_t>(::getpid());
    score_->pid.store(pid_, std::memory_order_relaxed);
    score_->generation.store(args_.generation, std::memory_order_relaxed);
    score_->heartbeat_ms.store(now, std::memory_order_relaxed);
    score_->started_ms.store(now, std::memory_order_relaxed);
    score_->state.store(static_cast<uint32_t>(WorkerState::kStarting), std::memory_order_release);

    if (!access_log_.open(config_->log.access, config_->log.access_format)) return false;
    access_log_.attach(&loop_);
    if (std::string bad = trusted_.set(config_->forwarded_allow_ips); !bad.empty()) {
        log::error("forwarded_allow_ips: not an address or CIDR block: ", bad);
        exit_code_ = exit_code::kConfigMismatch;
        return false;
    }
    if (config_->max_requests > 0) {
        std::random_device rd;
        uint64_t jitter = config_->max_requests_jitter;
        max_requests_ = config_->max_requests + (jitter ? rd() % (jitter + 1) : 0);
    }

    uv_check_init(&loop_, &check_);
    check_.data = this;
    uv_check_start(&check_, on_check);
    uv_timer_init(&loop_, &tick_);
    tick_.data = this;
    uv_timer_start(&tick_, on_tick, 1000, 1000);
    uv_unref(reinterpret_cast<uv_handle_t*>(&tick_));
    uv_timer_init(&loop_, &stop_timer_);
    stop_timer_.data = this;
    uv_timer_init(&loop_, &accept_timer_);
    accept_timer_.data = this;
    uv_timer_init(&loop_, &deadline_timer_);
    deadline_timer_.data = this;
    for (size_t i = 0; i < std::size(kSignals); ++i) {
        uv_signal_init(&loop_, &signals_[i]);
        signals_[i].data = this;
        uv_signal_start(&signals_[i], on_signal, kSignals[i]);
        uv_unref(reinterpret_cast<uv_handle_t*>(&signals_[i]));
    }
    if (args_.control_fd >= 0) {
        uv_pipe_init(&loop_, &control_, 0);
        control_.data = this;
        if (uv_pipe_open(&control_, args_.control_fd) == 0) {
            control_open_ = true;
            uv_read_start(reinterpret_cast<uv_stream_t*>(&control_),
                          [](uv_handle_t*, size_t, uv_buf_t* b) noexcept {
                              static char buf[256];
                              *b = uv_buf_init(buf, sizeof buf);
                          },
                          on_control_read);
        }
    }

    plugins_ = std::make_unique<PluginHost>(this);
    if (auto copied = plugins_->copy_all(config_->apps); !copied) {
        log::error(copied.error().detail);
        send_control("error " + copied.error().detail);
        exit_code_ = exit_code::kPluginLoadError;
        return false;
    }
    if (drop_privileges_ && !drop_privileges_()) {
        send_control("error could not drop privileges (see the log)");
        exit_code_ = exit_code::kBootError;
        return false;
    }
    if (config_->database.enabled) {
        // The pool connects first, so that apps may query from create; a
        // database that is down does not stop the worker (queries fail fast
        // and the apps answer 503 until it is back).
        pool_ = std::make_unique<pg::Pool>(&loop_, config_->database);
        plugins_->set_pool(pool_.get());
        pool_->start();
        pool_->on_ready(
            [](void* arg) noexcept {
                auto* w = static_cast<Worker*>(arg);
                if (!w->pool_->ready())
                    log::warning("database unreachable at start; queries fail until it is back");
                if (w->stopping_) return;
                if (!w->start_serving()) {
                    if (w->exit_code_ == 0) w->exit_code_ = exit_code::kBootError;
                    w->stop_quick();
                }
            },
            this);
        return true;
    }
    return start_serving();
}

bool Worker::start_serving() {
    for (const AppSpec& spec : config_->apps) {
        auto app = plugins_->load(spec);
        if (!app) {
            log::error(app.error().detail);
            send_control("error " + app.error().detail);
            exit_code_ = exit_code::kPluginLoadError;
            return false;
        }
        router_.add(*app);
    }

    if (args_.listen_fds.size() != config_->listen.size()) {
        log::error("worker got ", args_.listen_fds.size(), " listening sockets for ",
                   config_->listen.size(), " listeners");
        exit_code_ = exit_code::kBootError;
        return false;
    }
    for (size_t i = 0; i < args_.listen_fds.size(); ++i) {
        listeners_.push_back(std::make_unique<Listener>(this, &config_->listen[i], args_.listen_fds[i]));
        if (!listeners_.back()->start()) {
            exit_code_ = exit_code::kBootError;
            return false;
        }
    }
    score_->state.store(static_cast<uint32_t>(WorkerState::kReady), std::memory_order_release);
    std::string ready = "ready";
    for (size_t i = 0; i < plugins_->apps().size(); ++i) {
        const App& a = *plugins_->apps()[i];
        ready += i ? ", " : " ";
        ready += a.name + " " + (a.version.empty() ? std::string("-") : a.version);
    }
    send_control(ready);
    log::debug("worker ready");
    return true;
}

int Worker::run() {
    if (!start()) {
        if (pool_) {
            // Let the pool close its handles properly before the loop ends.
            stopping_ = quick_ = true;
            maybe_exit();
            uv_run(&loop_, UV_RUN_DEFAULT);
        }
        if (exit_code_ == 0) exit_code_ = exit_code::kBootError;
        close_all_handles();
        uv_run(&loop_, UV_RUN_DEFAULT);
        plugins_.reset();
        uv_loop_close(&loop_);
        return exit_code_;
    }
    uv_run(&loop_, UV_RUN_DEFAULT);
    // Every connection is gone; apps are destroyed while the loop still runs
    // (they may cancel timers), then the remaining handles close, and only
    // then is plugin code unmapped.
    if (plugins_) {
        for (auto& app : plugins_->apps()) {
            if (app->instance) app->plugin->destroy(app->instance);
            app->instance = nullptr;
        }
    }
    access_log_.flush();
    close_all_handles();
    uv_run(&loop_, UV_RUN_DEFAULT);
    plugins_.reset();
    publish_pool_stats();
    pool_.reset();
    int rc = uv_loop_close(&loop_);
    if (rc != 0) log::debug("uv_loop_close() failed: ", uv_err_name(rc));
    score_->state.store(static_cast<uint32_t>(WorkerState::kFree), std::memory_order_release);
    return exit_code_;
}

void Worker::close_all_handles() {
    uv_walk(
        &loop_,
        [](uv_handle_t* h, void*) noexcept {
            if (!uv_is_closing(h)) uv_close(h, nullptr);
        },
        nullptr);
}

// ---- control channel ----------------------------------------------------------

void Worker::send_control(std::string_view line) {
    if (args_.control_fd < 0) return;
    std::string msg(line);
    for (char& ch : msg)
        if (ch == '\n') ch = ' ';
    msg.push_back('\n');
    // Tiny messages on an idle socketpair: one send, no partial writes.
    ssize_t r;
    do {
        r = ::send(args_.control_fd, msg.data(), msg.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    } while (r < 0 && errno == EINTR);
}

void Worker::on_control_read(uv_stream_t* s, ssize_t n, const uv_buf_t*) noexcept {
    auto* w = static_cast<Worker*>(s->data);
    if (n < 0) {
        // The master is gone: nobody supervises us any more; stop gracefully.
        uv_read_stop(s);
        if (!w->stopping_) {
            log::warning("control channel to the master closed; stopping");
            w->stop_graceful();
        }
    }
}

// ---- signals and stopping -------------------------------------------------------

void Worker::on_signal(uv_signal_t* s, int signum) noexcept {
    auto* w = static_cast<Worker*>(s->data);
    switch (signum) {
        case SIGTERM: w->stop_graceful(); break;
        case SIGQUIT:
        case SIGINT: w->stop_quick(); break;
        case SIGUSR1:
            log::reopen();
            w->access_log_.reopen();
            break;
        default: break;  // HUP: the master reloads; workers are replaced
    }
}

void Worker::stop_graceful() {
    if (stopping_) return;
    stopping_ = true;
    score_->state.store(static_cast<uint32_t>(WorkerState::kStopping), std::memory_order_release);
    log::debug("graceful stop: ", connections_.size(), " connections open");
    for (auto& l : listeners_) l->close();
    uv_timer_stop(&accept_timer_);
    // The master answers a reload once the old generation stops accepting.
    send_control("draining");
    for (Connection* c : connections_) c->drain();
    uv_timer_start(
        &stop_timer_,
        [](uv_timer_t* t) noexcept {
            auto* w = static_cast<Worker*>(t->data);
            log::warning("graceful stop timed out after ", w->config_->timeouts.graceful, " ms with ",
                         w->connections_.size(), " connections open; closing them");
            w->stop_quick();
        },
        config_->timeouts.graceful, 0);
    maybe_exit();
}

void Worker::stop_quick() {
    stopping_ = true;
    quick_ = true;
    score_->state.store(static_cast<uint32_t>(WorkerState::kStopping), std::memory_order_release);
    for (auto& l : listeners_) l->close();
    std::vector<Connection*> all = connections_;
    for (Connection* c : all) c->close();
    maybe_exit();
}

// Stops the loop once nothing is left to finish: no connection open and no
// request still held by an app (unless the stop is quick).
void Worker::maybe_exit() {
    if (!stopping_ || !connections_.empty()) return;
    if (!quick_ && score_->in_flight.load(std::memory_order_relaxed) > 0) return;
    access_log_.flush();
    if (pool_) {
        // The pool finishes (or, on a quick stop, cancels) what it holds and
        // closes its handles; the loop stops when it is done.
        if (!pool_closing_) {
            pool_closing_ = true;
            pool_->close([](void* arg) noexcept { uv_stop(static_cast<Worker*>(arg)->loop()); }, this);
        }
        return;
    }
    uv_stop(&loop_);
}

// ---- connections ------------------------------------------------------------

void Worker::accept(int fd, const ListenSpec* listen, bool is_unix, std::string remote) {
    if (stopping_) {
        ::close(fd);
        return;
    }
    std::unique_ptr<Codec> codec;
    if (listen->protocol == Protocol::kUwsgi) codec = std::make_unique<UwsgiCodec>(config_->limits);
    else codec = std::make_unique<Http1Codec>(config_->limits);
    auto* c = new Connection(this, listen, std::move(codec));
    c->index_ = connections_.size();
    connections_.push_back(c);
    score_->connections.fetch_add(1, std::memory_order_relaxed);
    bump32(score_->connections_by_protocol[listen->protocol == Protocol::kUwsgi], 1);
    score_->accepted.fetch_add(1, std::memory_order_relaxed);
    accept_succeeded();
    if (connections_.size() >= config_->max_connections && !listeners_paused_) {
        // Past max_connections new clients wait in the listen queue, where
        // the other workers (or this one, once below the limit) take them.
        log::warning("max_connections (", config_->max_connections, ") reached; pausing accepts");
        pause_listeners();
    }
    c->open(fd, is_unix, std::move(remote));
}

void Worker::connection_closed(Connection* c) {
    if (c->dirty_) {
        Connection** pp = &dirty_head_;
        while (*pp && *pp != c) pp = &(*pp)->next_dirty_;
        if (*pp) *pp = c->next_dirty_;
    }
    size_t i = c->index_;
    if (i < connections_.size() && connections_[i] == c) {
        connections_[i] = connections_.back();
        connections_[i]->index_ = i;
        connections_.pop_back();
    }
    bool proto_uwsgi = c->listen()->protocol == Protocol::kUwsgi;
    if (c->buffered_capacity() > 64 * 1024) released_large_ = true;
    delete c;
    score_->connections.fetch_sub(1, std::memory_order_relaxed);
    bump32(score_->connections_by_protocol[proto_uwsgi], -1);
    if (listeners_paused_ && !stopping_ && connections_.size() < config_->max_connections &&
        !uv_is_active(reinterpret_cast<uv_handle_t*>(&accept_timer_)))
        resume_listeners();
    maybe_exit();
}

void Worker::pause_listeners() {
    listeners_paused_ = true;
    for (auto& l : listeners_) l->stop();
}

void Worker::resume_listeners() {
    if (stopping_) return;
    listeners_paused_ = false;
    for (auto& l : listeners_) l->start();
}

void Worker::accept_paused(Listener* l, int err) {
    if (!fd_exhausted_) {
        log::error("accept4(", l->spec()->address, ") failed: ", log::errno_text(err),
                   "; pausing accepts, retrying every 100 ms");
        fd_exhausted_ = true;
        fd_retries_ = 0;
    }
    ++fd_retries_;
    pause_listeners();
    uv_timer_start(&accept_timer_, on_resume_accept, 100, 0);
}

void Worker::on_resume_accept(uv_timer_t* t) noexcept {
    auto* w = static_cast<Worker*>(t->data);
    if (w->connections_.size() < w->config_->max_connections) w->resume_listeners();
}

void Worker::accept_succeeded() {
    if (!fd_exhausted_) return;
    fd_exhausted_ = false;
    log::info("accepting again after running out of file descriptors (", fd_retries_, " retries)");
}

void Worker::mark_dirty(Connection* c) {
    c->dirty_ = true;
    c->next_dirty_ = dirty_head_;
    dirty_head_ = c;
}

void Worker::flush_dirty() {
    while (dirty_head_) {
        Connection* c = dirty_head_;
        dirty_head_ = c->next_dirty_;
        c->next_dirty_ = nullptr;
        c->dirty_ = false;
        c->flush();
    }
}

void Worker::on_check(uv_check_t* h) noexcept {
    auto* w = static_cast<Worker*>(h->data);
    w->flush_dirty();
    w->access_log_.flush_if_due(w->now_ms());
}

void Worker::on_tick(uv_timer_t* t) noexcept {
    auto* w = static_cast<Worker*>(t->data);
    w->score_->heartbeat_ms.store(monotonic_ms(), std::memory_order_relaxed);
    w->publish_pool_stats();
    if (w->released_large_) {
        // Big bodies and responses to slow readers are freed into the heap,
        // where glibc keeps them (its mmap threshold rises after the first
        // large free); give whole free pages back at most once a second.
        w->released_large_ = false;
        ::malloc_trim(0);
    }
}

// ---- exchanges ---------------------------------------------------------------

Exchange* Worker::new_exchange() {
    if (free_exchanges_) {
        Exchange* ex = free_exchanges_;
        free_exchanges_ = ex->next;
        ex->next = nullptr;
        --free_count_;
        return ex;
    }
    return new Exchange();
}

void Worker::free_exchange(Exchange* ex) {
    bool large = ex->req.data.capacity() > 64 * 1024 || ex->req.body.capacity() > 64 * 1024 ||
                 ex->out.capacity() > 64 * 1024;
    if (free_count_ >= kMaxFreeExchanges || large) {
        delete ex;
        if (large) released_large_ = true;
        return;
    }
    ex->reset();
    ex->next = free_exchanges_;
    free_exchanges_ = ex;
    ++free_count_;
}

void Worker::dispatch(Connection* c, Exchange* ex) {
    uint64_t id = ++next_request_id_;
    ex->id = id;
    // The client's X-Request-Id or traceparent trace id, else "<pid>-<n>" in hex.
    choose_request_id(ex->req, pid_, id, ex->id_text, sizeof ex->id_text);
    ex->start_ns = uv_hrtime();
    ex->counted = true;
    score_->in_flight.fetch_add(1, std::memory_order_relaxed);
    if (ex->req.target_v() == "*") {
        // OPTIONS * asks about the server itself (RFC 9110 §9.3.7), not an app.
        static constexpr OutHeader kAllow[] = {{"Allow", "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"}};
        c->respond(ex, 204, kAllow, 1, {});
        return;
    }
    App* app = router_.match(ex->req.path_v());
    if (!app) {
        c->respond_error(ex, 404);
        return;
    }
    ex->held = true;
    if (uint64_t limit = config_->timeouts.request; limit > 0) {
        // Deadlines are start + one constant: appending keeps the list sorted.
        ex->deadline_ms = now_ms() + limit;
        ex->dl_prev = dl_tail_;
        ex->dl_next = nullptr;
        if (dl_tail_) dl_tail_->dl_next = ex;
        else dl_head_ = ex;
        dl_tail_ = ex;
        if (!uv_is_active(reinterpret_cast<uv_handle_t*>(&deadline_timer_))) arm_deadline();
    }
    plugins_->handle(app, ex);
}

void Worker::deadline_remove(Exchange* ex) {
    if (ex->deadline_ms == 0) return;
    if (ex->dl_prev) ex->dl_prev->dl_next = ex->dl_next;
    else if (dl_head_ == ex) dl_head_ = ex->dl_next;
    if (ex->dl_next) ex->dl_next->dl_prev = ex->dl_prev;
    else if (dl_tail_ == ex) dl_tail_ = ex->dl_prev;
    ex->dl_prev = ex->dl_next = nullptr;
    ex->deadline_ms = 0;
}

void Worker::arm_deadline() {
    if (!dl_head_) {
        uv_timer_stop(&deadline_timer_);
        return;
    }
    uint64_t now = now_ms();
    uv_timer_start(&deadline_timer_, on_deadline, dl_head_->deadline_ms > now ? dl_head_->deadline_ms - now : 0, 0);
}

void Worker::on_deadline(uv_timer_t* t) noexcept {
    auto* w = static_cast<Worker*>(t->data);
    uint64_t now = w->now_ms();
    while (w->dl_head_ && w->dl_head_->deadline_ms <= now) {
        Exchange* ex = w->dl_head_;
        w->deadline_remove(ex);
        w->handle_deadline(ex);
    }
    w->arm_deadline();
}

// A request ran past timeouts.request: the client gets 504 now (or, when a
// streamed response already started, the connection is closed), then the
// app's work is cancelled (its coroutine destroyed, its query cancelled on
// the server). The worker lives on.
void Worker::handle_deadline(Exchange* ex) {
    log::warning("request ", ex->id_text, " (", ex->req.method_v(), " ", ex->req.path_v(), ", app ",
                 ex->app ? ex->app->name : std::string("?"), ") ran past timeouts.request (",
                 config_->timeouts.request, " ms): answering 504 and cancelling it");
    ex->timed_out = true;
    if (ex->conn) {
        if (ex->state == Exchange::State::kHandling) ex->conn->respond_error(ex, 504);
        else if (ex->state == Exchange::State::kStreaming) ex->conn->close();
    }
    // NOTE: ex is still valid: the app holds it, so nothing above freed it.
    plugins_->cancel(ex);  // may finish and free ex
}

void Worker::exchange_finished(Exchange* ex) {
    if (ex->counted) {
        ex->counted = false;
        score_->in_flight.fetch_sub(1, std::memory_order_relaxed);
    }
    if (ex->status > 0) {
        score_->requests.fetch_add(1, std::memory_order_relaxed);
        int cls = ex->status / 100;
        size_t ci = cls >= 1 && cls <= 5 ? static_cast<size_t>(cls) : 0;
        score_->status[ci].fetch_add(1, std::memory_order_relaxed);
        // Metrics: a few single-writer increments into this worker's slot.
        uint64_t us = ex->start_ns ? (uv_hrtime() - ex->start_ns) / 1000 : (now_ms() - ex->start_ms) * 1000;
        size_t ai = app_index(ex->app);
        AppScore& as = score_->apps[ai];
        bump(as.requests[method_index(ex->req.method_v())][ci]);
        bump(as.duration[latency_bucket(us)]);
        bump(as.duration_sum_us, us);
        if (access_log_.enabled() && ex->conn)
            access_log_.add(ex->req, {ex->status, ex->body_bytes, us, ex->id_text,
                                      ex->app ? std::string_view(ex->app->name) : std::string_view()});
        ++requests_served_;
        if (max_requests_ && requests_served_ == max_requests_ && !stopping_) {
            log::info("max_requests (", max_requests_, ") served; retiring");
            send_control("retire max_requests");
            stop_graceful();
        }
    }
    if (stopping_) maybe_exit();
}

// The scoreboard's app index: 0 = none, then config order; apps past the
// table share its last entry.
size_t Worker::app_index(const App* app) const {
    if (!app || !plugins_) return 0;
    const auto& apps = plugins_->apps();
    for (size_t i = 0; i < apps.size(); ++i)
        if (apps[i].get() == app) return std::min(i + 1, kMaxApps - 1);
    return kMaxApps - 1;
}

// The pool counts in its own struct; the tick (and the exit) copy it out.
void Worker::publish_pool_stats() {
    if (!pool_) return;
    const pg::Pool::Stats& st = pool_->stats();
    PgScore& ps = score_->pg;
    const uint64_t results[kPgResults] = {st.queries_ok, st.queries_error, st.queries_unavailable,
                                          st.queries_timeout, st.queries_canceled};
    for (size_t i = 0; i < kPgResults; ++i) ps.queries[i].store(results[i], std::memory_order_relaxed);
    for (size_t b = 0; b < kLatencyBuckets; ++b) ps.duration[b].store(st.duration[b], std::memory_order_relaxed);
    ps.duration_sum_us.store(st.duration_sum_us, std::memory_order_relaxed);
    ps.up.store(st.connections_up, std::memory_order_relaxed);
    ps.pinned.store(st.sessions, std::memory_order_relaxed);
    ps.connecting.store(st.connections_connecting, std::memory_order_relaxed);
    ps.down.store(st.connections_down, std::memory_order_relaxed);
}

void Worker::exchange_detached(Exchange* ex) {
    // A timed-out exchange is cancelled by handle_deadline itself.
    if (plugins_ && ex->app && !ex->timed_out) plugins_->cancel(ex);
}

}  // namespace quiver::worker
