// SPDX-License-Identifier: MIT
// Worker: one process, one libuv loop. Owns the listeners, the connections,
// the plugins and (later) the database pool; reports READY to the master and
// bumps its scoreboard slot. Everything is built after exec, from scratch.
#pragma once

#include <uv.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "server/common/config/config.hpp"
#include "server/common/scoreboard.hpp"
#include "workers/access_log.hpp"
#include "workers/http/date.hpp"
#include "workers/http/forwarded.hpp"
#include "workers/http/response.hpp"
#include "workers/router.hpp"

namespace quiver::worker {

class Connection;
class Listener;
class PluginHost;
struct Exchange;
namespace pg {
class Pool;
}

struct WorkerArgs {
    int slot = 0;                  // logical slot (names, titles)
    int score_slot = 0;            // index in the scoreboard
    uint32_t generation = 1;
    std::vector<int> listen_fds;   // one per config listener, same order
    int control_fd = -1;           // socketpair end to the master
    int scoreboard_fd = -1;
};

class Worker {
public:
    // `drop_privileges` runs once the plugin files are copied, before any
    // plugin code is loaded; false stops the worker.
    Worker(ConfigPtr config, WorkerArgs args, std::function<bool()> drop_privileges);
    ~Worker();
    Worker(const Worker&) = delete;
    Worker& operator=(const Worker&) = delete;

    // Runs until stopped; returns the process exit code.
    int run();

    uv_loop_t* loop() { return &loop_; }
    const Config& config() const { return *config_; }
    const Http1Limits& limits() const { return config_->limits; }
    const Timeouts& timeouts() const { return config_->timeouts; }
    int slot() const { return args_.slot; }
    uint32_t generation() const { return args_.generation; }
    ScoreSlot& score() { return *score_; }
    std::string_view date();              // the cached IMF-fixdate of this second
    std::string_view server_header() const { return config_->server_header; }
    uint64_t now_ms() { return uv_now(&loop_); }
    AccessLog& access_log() { return access_log_; }
    const TrustedProxies& trusted_proxies() const { return trusted_; }
    bool stopping() const { return stopping_; }

    // Connections.
    void accept(int fd, const ListenSpec* listen, bool is_unix, std::string remote);
    // accept4 ran out of descriptors: pause every listener for a moment.
    void accept_paused(Listener* l, int err);
    void accept_succeeded();
    void connection_closed(Connection* c);
    void mark_dirty(Connection* c);
    // A large buffer was freed: the next tick gives free heap pages back.
    void released_large() { released_large_ = true; }

    // Exchanges (pooled).
    Exchange* new_exchange();
    void free_exchange(Exchange* ex);
    // A complete request: route it to its app (or answer 404).
    void dispatch(Connection* c, Exchange* ex);
    // The app finished (or the exchange was detached): bookkeeping.
    void exchange_finished(Exchange* ex);
    // The connection went away while the app still holds ex.
    void exchange_detached(Exchange* ex);
    // timeouts.request: the app gave ex back (or it is being freed).
    void deadline_remove(Exchange* ex);

    // Shared read buffer: every read lands here and is parsed at once.
    char* read_buffer() { return read_buf_.get(); }
    size_t read_buffer_size() const { return kReadBufferSize; }

private:
    static constexpr size_t kReadBufferSize = 64 * 1024;

    static void on_check(uv_check_t* h) noexcept;
    static void on_tick(uv_timer_t* t) noexcept;
    static void on_signal(uv_signal_t* s, int signum) noexcept;
    static void on_control_read(uv_stream_t* s, ssize_t n, const uv_buf_t* buf) noexcept;

    bool start();
    bool start_serving();   // plugins, listeners, READY (after the pool's first attempt)
    void send_control(std::string_view line);
    void stop_graceful();
    void stop_quick();
    void maybe_exit();
    void close_all_handles();
    void flush_dirty();
    void pause_listeners();
    void resume_listeners();
    static void on_resume_accept(uv_timer_t* t) noexcept;
    static void on_deadline(uv_timer_t* t) noexcept;
    void handle_deadline(Exchange* ex);
    void arm_deadline();
    size_t app_index(const App* app) const;
    void publish_pool_stats();

    ConfigPtr config_;
    WorkerArgs args_;
    std::function<bool()> drop_privileges_;
    uv_loop_t loop_;
    uv_check_t check_;
    uv_timer_t tick_;
    uv_timer_t stop_timer_;
    uv_timer_t accept_timer_;          // resumes accepting after EMFILE
    uv_timer_t deadline_timer_;        // timeouts.request: the oldest request's deadline
    Exchange* dl_head_ = nullptr;      // requests held by apps, oldest first
    Exchange* dl_tail_ = nullptr;
    bool listeners_paused_ = false;
    bool fd_exhausted_ = false;         // an EMFILE episode is running (logged once)
    uint64_t fd_retries_ = 0;
    uv_signal_t signals_[5];
    uv_pipe_t control_;
    bool control_open_ = false;
    Scoreboard scoreboard_;
    ScoreSlot* score_ = nullptr;
    ScoreSlot dummy_score_{};
    std::unique_ptr<char[]> read_buf_;
    std::vector<std::unique_ptr<Listener>> listeners_;
    std::unique_ptr<pg::Pool> pool_;
    bool pool_closing_ = false;
    std::unique_ptr<PluginHost> plugins_;
    Router router_;
    AccessLog access_log_;
    DateCache date_cache_;
    TrustedProxies trusted_;

    Connection* dirty_head_ = nullptr;
    std::vector<Connection*> connections_;   // open connections (index in Connection)
    Exchange* free_exchanges_ = nullptr;
    size_t free_count_ = 0;
    bool released_large_ = false;
    uint64_t next_request_id_ = 0;
    uint32_t pid_ = 0;
    uint64_t requests_served_ = 0;
    uint64_t max_requests_ = 0;               // with jitter applied; 0 = never
    bool stopping_ = false;
    bool quick_ = false;
    int exit_code_ = 0;

    friend class Connection;
};

}  // namespace quiver::worker
