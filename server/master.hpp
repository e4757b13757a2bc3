// SPDX-License-Identifier: MIT
// Master: binds the listeners, spawns and supervises workers (fork+exec of
// this binary in worker mode), handles signals from its loop, and rolls
// generations on reload. It never runs app code (gunicorn's Arbiter).
#pragma once

#include <uv.h>

#include <memory>
#include <string>
#include <vector>

#include "server/common/config/config.hpp"
#include "server/common/config/load.hpp"
#include "server/common/scoreboard.hpp"
#include "server/control.hpp"
#include "server/listeners.hpp"
#include "server/metrics.hpp"
#include "server/metrics_server.hpp"
#include "server/status_sampler.hpp"

namespace quiver::server {

class Master;

// One worker process.
struct WorkerProc {
    enum class State { kStarting, kReady, kRetiring };

    Master* master = nullptr;
    uv_process_t process;
    uv_pipe_t control;
    int handles_open = 0;
    int slot = 0;              // logical slot
    int score_slot = -1;       // scoreboard index
    uint32_t generation = 0;
    int pid = 0;
    State state = State::kStarting;
    uint64_t started_ms = 0;
    uint64_t stop_deadline_ms = 0;   // SIGKILL after this once retiring (0 = none)
    bool exited = false;
    std::string control_buf;
    std::string error;         // what the worker reported before dying
    std::string retire_reason;
    std::string apps;          // "name version, ..." as the worker reported at READY
    bool draining = false;     // reported that it stopped accepting
};

// One worker position. During a reload it has a current and a next worker.
struct Slot {
    WorkerProc* current = nullptr;
    WorkerProc* next = nullptr;
    int young_deaths = 0;       // consecutive deaths soon after start
    uint64_t respawn_at_ms = 0; // 0 = no respawn pending
    bool removed = false;       // TTOU: retire and do not respawn
};

class Master {
public:
    // `argv` is the command line this master was started with (USR2 execs
    // the binary on disk again with it).
    Master(ConfigPtr config, ConfigSources sources, std::vector<std::string> argv);
    ~Master();
    Master(const Master&) = delete;
    Master& operator=(const Master&) = delete;

    // Binds, spawns, supervises; returns the process exit code.
    int run();

    // Called by WorkerProc callbacks.
    void handle_exit(WorkerProc* w, int64_t status, int signal);
    void handle_control_line(WorkerProc* w, std::string_view line);
    void handle_closed(WorkerProc* w);

private:
    static void on_signal(uv_signal_t* s, int signum) noexcept;
    static void on_tick(uv_timer_t* t) noexcept;

    bool bind_all();
    bool write_pidfile();
    Result<int> make_config_fd(const Config& c);
    WorkerProc* spawn(int slot, uint32_t generation);
    void supervise();                 // every tick: heartbeats, respawns, kill deadlines
    void all_ready_check();
    void retire(WorkerProc* w, std::string_view reason);
    void kill_worker(WorkerProc* w, int sig);

    void handle_term();
    void handle_quick();
    void handle_hup();
    void handle_ttin();
    void handle_ttou();
    void finish_reload(bool ok, const std::string& why);
    void reload_answer(bool ok, const std::string& text);
    void handle_command(const std::string& cmd, ControlServer::Reply reply);
    std::string status_text() const;
    void watch_plugins();
    void unwatch_plugins();
    void handle_usr2();
    bool take_inherited(const ListenSpec& spec, BoundListener* out);
    void notify_status(std::string_view extra);
    std::string status_line() const;
    void maybe_finish();

    bool worker_alive(const WorkerProc* w) const { return w && !w->exited; }

    // Observability (server/metrics*, server/status_*).
    void start_observability();
    std::vector<WorkerView> worker_views() const;
    HttpAnswer serve_metrics(std::string_view path);
    std::string watch_text() const;
    void count_exit(const WorkerProc* w, int sig);
    MasterCounters counters_;
    StatusSampler sampler_;
    uv_timer_t sample_timer_;
    std::unique_ptr<MetricsServer> metrics_;
    uv_timer_t metrics_retry_;       // binding /metrics again (the port may be an old master's)
    std::string metrics_address_;    // metrics.listen at start: a reload does not change it
    void try_start_metrics();

    ConfigPtr config_;
    ConfigPtr next_config_;          // during a reload
    ConfigSources sources_;
    uv_loop_t loop_;
    uv_timer_t tick_;
    uv_signal_t signals_[9];
    std::string self_exe_;
    std::vector<BoundListener> listeners_;
    std::vector<BoundListener> next_listeners_;   // during a reload
    Scoreboard scoreboard_;
    std::vector<bool> score_used_;
    int config_fd_ = -1;             // resolved config of the current generation
    int next_config_fd_ = -1;
    std::vector<Slot> slots_;
    std::vector<WorkerProc*> procs_; // every live process
    uint32_t generation_ = 1;
    bool reloading_ = false;
    bool announced_ready_ = false;
    bool stopping_ = false;
    bool quick_ = false;
    bool halt_ = false;              // stop because workers cannot boot
    int exit_code_ = 0;
    uint64_t stop_deadline_ms_ = 0;
    std::string last_reload_;        // "ok at ..." or the reason it failed
    std::vector<std::string> argv_;
    std::unique_ptr<ControlServer> control_;
    std::vector<ControlServer::Reply> reload_waiters_;
    std::string reload_done_text_;   // the answer once the old generation stopped accepting
    void maybe_answer_reload();
    // reload.watch: one inotify watch per plugin folder, and a debounce timer.
    std::vector<uv_fs_event_t*> watches_;
    std::vector<std::string> watched_files_;
    uv_timer_t debounce_;
    // USR2: sockets inherited from an old master (fd per listener address),
    // the old master to retire once we are ready, and our own upgrade child.
    std::vector<int> inherited_fds_;
    std::vector<std::string> inherited_names_;   // LISTEN_FDNAMES, parallel to inherited_fds_
    std::vector<bool> upgrade_owned_;            // USR2: the old master created that socket file
    // systemd: watchdog interval (0 = none), last ping, STATUS= bookkeeping.
    uint64_t watchdog_ms_ = 0;
    uint64_t last_ping_ms_ = 0;
    uint64_t last_status_ms_ = 0;
    uint64_t last_requests_ = 0;
    double rps_ = 0;
    int old_master_ = 0;
    uv_process_t upgrade_;
    bool upgrading_ = false;          // a new master of ours is starting
    bool handed_over_ = false;        // a new master took our sockets: leave files alone at exit
};

}  // namespace quiver::server
