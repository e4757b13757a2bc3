// SPDX-License-Identifier: MIT
// The master process: listeners, worker processes, signals, supervision and
// rolling reloads. Signal handlers only record (uv_signal runs them from the
// loop); every decision is made here.
#include "server/master.hpp"

#include <fcntl.h>
#include <pwd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/un.h>

#include "quiver_build.h"
#include "server/common/exit_codes.hpp"
#include "server/common/log.hpp"
#include "server/config_guard.hpp"
#include "server/systemd.hpp"

extern char** environ;

namespace quiver::server {

namespace {

constexpr int kSignals[] = {SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR1, SIGUSR2, SIGTTIN, SIGTTOU};
constexpr uint64_t kTickMs = 100;
constexpr uint64_t kYoungMs = 2000;        // a worker dying sooner than this "died young"
constexpr uint64_t kMaxBackoffMs = 10000;
constexpr uint64_t kQuickStopMs = 2000;    // QUIT/INT: SIGKILL after this

// Where an inherited socket really listens ("host:port", "[v6]:port" or
// "unix:/path"), which with a systemd FileDescriptorName= need not be the
// configured address.
std::string bound_address(int fd) {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return "?";
    char host[INET6_ADDRSTRLEN] = "?";
    switch (ss.ss_family) {
        case AF_UNIX: return std::string("unix:") + reinterpret_cast<sockaddr_un*>(&ss)->sun_path;
        case AF_INET: {
            auto* in = reinterpret_cast<sockaddr_in*>(&ss);
            ::inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
            return std::string(host) + ":" + std::to_string(ntohs(in->sin_port));
        }
        case AF_INET6: {
            auto* in6 = reinterpret_cast<sockaddr_in6*>(&ss);
            ::inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
            return "[" + std::string(host) + "]:" + std::to_string(ntohs(in6->sin6_port));
        }
        default: return "?";
    }
}

const char* signal_name(int sig) {
    const char* n = sigabbrev_np(sig);
    return n ? n : "?";
}

// USR1 as Nginx does it: the master (still root) creates the log files again
// and gives them to the workers' user, so that workers that dropped their
// privileges can reopen them after a rotation moved the old ones away.
void give_log_files_to_workers(const Config& c) {
    if (::geteuid() != 0 || c.user.empty()) return;
    uid_t uid;
    if (c.user.find_first_not_of("0123456789") == std::string::npos) {
        uid = static_cast<uid_t>(std::strtoul(c.user.c_str(), nullptr, 10));
    } else if (struct passwd* pw = ::getpwnam(c.user.c_str())) {
        uid = pw->pw_uid;
    } else {
        log::error("getpwnam(", c.user, ") failed: no such user; log files left as they are");
        return;
    }
    for (const std::string* path : {&c.log.access, &c.log.error}) {
        if (path->empty() || *path == "-") continue;
        int fd = ::open(path->c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
        if (fd < 0) {
            log::error("open(", *path, ") failed: ", log::errno_text(errno));
            continue;
        }
        if (::fchown(fd, uid, static_cast<gid_t>(-1)) != 0)
            log::error("chown(", *path, ", ", c.user, ") failed: ", log::errno_text(errno));
        ::close(fd);
    }
}

}  // namespace

Master::Master(ConfigPtr config, ConfigSources sources, std::vector<std::string> argv)
    : config_(std::move(config)), sources_(std::move(sources)), argv_(std::move(argv)) {
    uv_loop_init(&loop_);
}

Master::~Master() {
    for (auto& l : listeners_) {
        // After a binary upgrade the new master serves on these sockets: the
        // files stay.
        if (handed_over_) l.created_file = false;
        close_listener(l);
    }
    if (config_fd_ >= 0) ::close(config_fd_);
    const std::string& pidfile = config_->pidfile;
    if (!pidfile.empty()) {
        // Remove it only while it still names us (not a new master's pid).
        if (FILE* f = std::fopen(pidfile.c_str(), "r")) {
            long pid = 0;
            if (std::fscanf(f, "%ld", &pid) != 1) pid = 0;
            std::fclose(f);
            if (pid == ::getpid()) ::unlink(pidfile.c_str());
        }
    }
}

// ---- start ---------------------------------------------------------------------

bool Master::bind_all() {
    // A binary upgrade (USR2) hands the old master's sockets over as fds
    // 3..3+N-1; they are matched to listeners by their bound address.
    if (const char* n = std::getenv("QUIVER_UPGRADE_FDS")) {
        int count = std::atoi(n);
        for (int i = 0; i < count; ++i) inherited_fds_.push_back(3 + i);
        if (const char* old = std::getenv("QUIVER_OLD_MASTER")) old_master_ = std::atoi(old);
        std::string owned = std::getenv("QUIVER_UPGRADE_OWNED") ? std::getenv("QUIVER_UPGRADE_OWNED") : "";
        for (int i = 0; i < count; ++i) upgrade_owned_.push_back(owned.size() > static_cast<size_t>(2 * i) && owned[2 * i] == '1');
        ::unsetenv("QUIVER_UPGRADE_OWNED");
        ::unsetenv("QUIVER_UPGRADE_FDS");
        ::unsetenv("QUIVER_OLD_MASTER");
        for (int fd : inherited_fds_) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
        inherited_names_.assign(inherited_fds_.size(), "");
    }
    // systemd socket activation: LISTEN_FDNAMES (FileDescriptorName=) picks
    // the listener by name, else the bound address does.
    for (auto& a : systemd::take_activated_sockets()) {
        inherited_fds_.push_back(a.fd);
        inherited_names_.push_back(a.name);
    }
    for (int fd : inherited_fds_) {
        // Workers accept without blocking; systemd passes blocking sockets.
        int fl = ::fcntl(fd, F_GETFL);
        if (fl >= 0) ::fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    }
    for (const ListenSpec& spec : config_->listen) {
        BoundListener inherited;
        if (take_inherited(spec, &inherited)) {
            std::string real = bound_address(inherited.fd);
            std::string how = old_master_ ? "inherited from the old master" : "socket activation";
            if (!spec.is_unix || real != "unix:" + spec.path)
                if (real != spec.address) how += "; configured as " + spec.address;
            log::info("listening on ", real, " (", spec.protocol == Protocol::kUwsgi ? "uwsgi" : "http", ", ", how,
                      ")");
            listeners_.push_back(std::move(inherited));
            continue;
        }
        auto b = bind_listener(spec, config_->user, config_->group);
        if (!b) {
            log::error(b.error().message());
            return false;
        }
        log::info("listening on ", spec.address, " (", spec.protocol == Protocol::kUwsgi ? "uwsgi" : "http", ")");
        listeners_.push_back(std::move(*b));
    }
    for (int& fd : inherited_fds_)
        if (fd >= 0) {
            log::warning("an inherited socket (fd ", fd, ") matches no listener; closing it");
            ::close(fd);
            fd = -1;
        }
    return true;
}

// Takes the inherited socket bound where `spec` says, if there is one.
bool Master::take_inherited(const ListenSpec& spec, BoundListener* out) {
    // A name given by systemd wins over matching by address.
    for (size_t i = 0; i < inherited_fds_.size(); ++i) {
        if (inherited_fds_[i] < 0 || inherited_names_[i].empty() || inherited_names_[i] != spec.name) continue;
        out->spec = spec;
        out->fd = inherited_fds_[i];
        out->created_file = false;  // the manager owns the socket file
        inherited_fds_[i] = -1;
        return true;
    }
    for (size_t i = 0; i < inherited_fds_.size(); ++i) {
        int& fd = inherited_fds_[i];
        if (fd < 0) continue;
        sockaddr_storage ss{};
        socklen_t len = sizeof ss;
        if (::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) continue;
        bool match = false;
        if (spec.is_unix) {
            auto* un = reinterpret_cast<sockaddr_un*>(&ss);
            match = ss.ss_family == AF_UNIX && spec.path == un->sun_path;
        } else if (ss.ss_family == AF_INET || ss.ss_family == AF_INET6) {
            uint16_t port = ntohs(ss.ss_family == AF_INET ? reinterpret_cast<sockaddr_in*>(&ss)->sin_port
                                                          : reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
            if (port == spec.port) {
                addrinfo hints{};
                hints.ai_socktype = SOCK_STREAM;
                hints.ai_flags = AI_PASSIVE;
                addrinfo* res = nullptr;
                const char* host = spec.host.empty() || spec.host == "*" ? nullptr : spec.host.c_str();
                if (::getaddrinfo(host, "0", &hints, &res) == 0) {
                    for (addrinfo* ai = res; ai && !match; ai = ai->ai_next) {
                        if (ai->ai_family != ss.ss_family) continue;
                        if (ss.ss_family == AF_INET)
                            match = std::memcmp(&reinterpret_cast<sockaddr_in*>(ai->ai_addr)->sin_addr,
                                                &reinterpret_cast<sockaddr_in*>(&ss)->sin_addr, 4) == 0;
                        else
                            match = std::memcmp(&reinterpret_cast<sockaddr_in6*>(ai->ai_addr)->sin6_addr,
                                                &reinterpret_cast<sockaddr_in6*>(&ss)->sin6_addr, 16) == 0;
                    }
                    ::freeaddrinfo(res);
                }
            }
        }
        if (!match) continue;
        out->spec = spec;
        out->fd = fd;
        // An old master's unix socket is ours to remove when we stop for
        // good; one from systemd belongs to systemd.
        out->created_file = spec.is_unix && i < upgrade_owned_.size() && upgrade_owned_[i];
        fd = -1;
        return true;
    }
    return false;
}

bool Master::write_pidfile() {
    const std::string& path = config_->pidfile;
    if (path.empty()) return true;
    if (int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC); fd >= 0) {
        char buf[32] = {};
        ssize_t n = ::read(fd, buf, sizeof buf - 1);
        ::close(fd);
        long pid = n > 0 ? std::strtol(buf, nullptr, 10) : 0;
        if (pid > 0 && pid != ::getpid() && pid != old_master_ && ::kill(static_cast<pid_t>(pid), 0) == 0) {
            log::error("pidfile ", path, " names pid ", pid, ", which is running; is quiver already running?");
            return false;
        }
    }
    std::string tmp = path + ".tmp";
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        log::error("open(", tmp, ") failed: ", log::errno_text(errno));
        return false;
    }
    std::string text = std::to_string(::getpid()) + "\n";
    bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    ::close(fd);
    if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
        log::error("writing pidfile ", path, " failed: ", log::errno_text(errno));
        ::unlink(tmp.c_str());
        return false;
    }
    return true;
}

// The resolved config travels to workers in a sealed memfd: they never read
// the (possibly already edited) file themselves.
Result<int> Master::make_config_fd(const Config& c) {
    std::string text = dump_config(c);
    int fd = ::memfd_create("quiver-config", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) return unexpected(Errc::kSystem, "memfd_create(config) failed", log::errno_text(errno));
    size_t off = 0;
    while (off < text.size()) {
        ssize_t n = ::write(fd, text.data() + off, text.size() - off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            int err = errno;
            ::close(fd);
            return unexpected(Errc::kSystem, "write(config memfd) failed", log::errno_text(err));
        }
        off += static_cast<size_t>(n);
    }
    ::fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL);
    return fd;
}

int Master::run() {
    std::signal(SIGPIPE, SIG_IGN);
    // Workers exec the very binary this master runs (the running inode, even
    // if the file on disk was replaced), so master and workers always agree
    // on the config format and the ABI.
    self_exe_ = "/proc/self/exe";
    // An early failure exits before any handle exists: free the loop's own
    // memory (the normal path closes it after the last uv_run).
    auto fail = [this] {
        uv_loop_close(&loop_);
        return 1;
    };

    if (::geteuid() == 0 && config_->user.empty() && !config_->allow_root) {
        log::error("refusing to run app code as root: set `user` (for example nobody), or allow_root: true");
        return fail();
    }
    if (!bind_all()) return fail();
    watchdog_ms_ = systemd::watchdog_usec() / 1000;
    auto sb = Scoreboard::create(Scoreboard::kMaxSlots);
    if (!sb) {
        log::error(sb.error().message());
        return fail();
    }
    scoreboard_ = std::move(*sb);
    score_used_.assign(scoreboard_.size(), false);
    auto cfd = make_config_fd(*config_);
    if (!cfd) {
        log::error(cfd.error().message());
        return fail();
    }
    config_fd_ = *cfd;
    if (!write_pidfile()) return fail();

    uv_timer_init(&loop_, &tick_);
    tick_.data = this;
    uv_timer_start(&tick_, on_tick, kTickMs, kTickMs);
    for (size_t i = 0; i < std::size(kSignals); ++i) {
        uv_signal_init(&loop_, &signals_[i]);
        signals_[i].data = this;
        uv_signal_start(&signals_[i], on_signal, kSignals[i]);
    }
    if (!config_->control_socket.empty()) {
        control_ = std::make_unique<ControlServer>(
            &loop_, [this](const std::string& cmd, ControlServer::Reply reply) { handle_command(cmd, std::move(reply)); });
        if (old_master_) ::unlink(config_->control_socket.c_str());  // taking over from the old master
        if (auto rc = control_->start(config_->control_socket); !rc) {
            log::error(rc.error().message());
            return 1;
        }
    }
    start_observability();
    uv_timer_init(&loop_, &debounce_);
    debounce_.data = this;
    watch_plugins();
    log::info("quiver master starting ", config_->workers, " workers (generation ", generation_, ")");
    slots_.resize(static_cast<size_t>(config_->workers));
    for (size_t i = 0; i < slots_.size(); ++i) slots_[i].current = spawn(static_cast<int>(i), generation_);

    uv_run(&loop_, UV_RUN_DEFAULT);
    // Closing the signal handles below restores their default actions (libuv
    // sets SIG_DFL as the last handle of a signal closes): a repeated TERM
    // during the last teardown must not kill us before the socket files are
    // cleaned up. Blocked, it stays pending and dies with the process.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    for (int sig : kSignals) sigaddset(&stop_signals, sig);
    ::pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
    if (control_) {
        if (handed_over_) control_.reset();  // its path belongs to the new master now
        else control_->close();
    }
    if (metrics_) metrics_->close();
    unwatch_plugins();
    uv_walk(&loop_, [](uv_handle_t* h, void*) noexcept { if (!uv_is_closing(h)) uv_close(h, nullptr); }, nullptr);
    uv_run(&loop_, UV_RUN_DEFAULT);
    uv_loop_close(&loop_);
    log::info("quiver master exiting");
    return exit_code_;
}

// ---- workers --------------------------------------------------------------------

WorkerProc* Master::spawn(int slot, uint32_t generation) {
    bool next_gen = reloading_ && generation != generation_;
    const std::vector<BoundListener>& ls = next_gen ? next_listeners_ : listeners_;
    int cfg_fd = next_gen ? next_config_fd_ : config_fd_;
    auto free_it = std::find(score_used_.begin(), score_used_.end(), false);
    if (free_it == score_used_.end()) {
        log::error("no free scoreboard slot for worker ", slot);
        return nullptr;
    }
    int score_slot = static_cast<int>(free_it - score_used_.begin());

    int sp[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) != 0) {
        log::error("socketpair() failed: ", log::errno_text(errno));
        return nullptr;
    }
    std::vector<uv_stdio_container_t> stdio(3 + ls.size() + 3);
    for (int i = 0; i < 3; ++i) {
        stdio[i].flags = UV_INHERIT_FD;
        stdio[i].data.fd = i;
    }
    size_t k = 3;
    for (const auto& l : ls) {
        stdio[k].flags = UV_INHERIT_FD;
        stdio[k++].data.fd = l.fd;
    }
    stdio[k].flags = UV_INHERIT_FD;
    stdio[k++].data.fd = sp[1];
    stdio[k].flags = UV_INHERIT_FD;
    stdio[k++].data.fd = scoreboard_.fd();
    stdio[k].flags = UV_INHERIT_FD;
    stdio[k++].data.fd = cfg_fd;

    std::string s_slot = std::to_string(slot), s_gen = std::to_string(generation),
                s_score = std::to_string(score_slot), s_nl = std::to_string(ls.size());
    const char* args[] = {"quiver", "--worker", "--slot", s_slot.c_str(), "--generation", s_gen.c_str(),
                          "--score-slot", s_score.c_str(), "--listen-fds", s_nl.c_str(), nullptr};

    auto* w = new WorkerProc();
    w->master = this;
    w->slot = slot;
    w->score_slot = score_slot;
    w->generation = generation;
    w->started_ms = monotonic_ms();
    ScoreSlot& ss = scoreboard_.slot(static_cast<size_t>(score_slot));
    ss.heartbeat_ms.store(w->started_ms, std::memory_order_relaxed);
    // A slot may be reused after a crash: nothing of the dead worker's
    // counters may carry over (a stale in_flight would stall a graceful stop).
    reset_counters(ss);
    ss.state.store(static_cast<uint32_t>(WorkerState::kStarting), std::memory_order_relaxed);

    uv_process_options_t opts{};
    opts.file = self_exe_.c_str();
    opts.args = const_cast<char**>(args);
    opts.stdio_count = static_cast<int>(stdio.size());
    opts.stdio = stdio.data();
    opts.exit_cb = [](uv_process_t* p, int64_t status, int sig) noexcept {
        auto* wp = static_cast<WorkerProc*>(p->data);
        wp->master->handle_exit(wp, status, sig);
    };
    w->process.data = w;
    int rc = uv_spawn(&loop_, &w->process, &opts);
    ::close(sp[1]);
    if (rc != 0) {
        log::error("uv_spawn(", self_exe_, ") for worker ", slot, " failed: ", uv_err_name(rc), " (",
                   uv_strerror(rc), ")");
        ::close(sp[0]);
        // The process handle must still be closed.
        w->handles_open = 1;
        w->exited = true;
        uv_close(reinterpret_cast<uv_handle_t*>(&w->process), [](uv_handle_t* h) noexcept {
            delete static_cast<WorkerProc*>(h->data);
        });
        return nullptr;
    }
    score_used_[static_cast<size_t>(score_slot)] = true;
    w->pid = w->process.pid;
    w->handles_open = 2;
    uv_pipe_init(&loop_, &w->control, 0);
    w->control.data = w;
    uv_pipe_open(&w->control, sp[0]);
    uv_read_start(
        reinterpret_cast<uv_stream_t*>(&w->control),
        [](uv_handle_t*, size_t, uv_buf_t* b) noexcept {
            static char buf[4096];
            *b = uv_buf_init(buf, sizeof buf);
        },
        [](uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) noexcept {
            auto* wp = static_cast<WorkerProc*>(s->data);
            if (nread < 0) {
                uv_read_stop(s);
                return;
            }
            wp->control_buf.append(buf->base, static_cast<size_t>(nread));
            size_t pos;
            while ((pos = wp->control_buf.find('\n')) != std::string::npos) {
                std::string line = wp->control_buf.substr(0, pos);
                wp->control_buf.erase(0, pos + 1);
                wp->master->handle_control_line(wp, line);
            }
        });
    procs_.push_back(w);
    log::debug("spawned worker ", slot, " (pid ", w->pid, ", generation ", generation, ")");
    return w;
}

void Master::handle_control_line(WorkerProc* w, std::string_view line) {
    if (line == "ready" || line.substr(0, 6) == "ready ") {
        if (w->state != WorkerProc::State::kStarting) return;
        if (line.size() > 6) w->apps = std::string(line.substr(6));
        w->state = WorkerProc::State::kReady;
        log::debug("worker ", w->slot, " (pid ", w->pid, ") ready");
        for (Slot& s : slots_)
            if (s.current == w) s.young_deaths = s.young_deaths > 0 ? s.young_deaths : 0;
        all_ready_check();
    } else if (line == "draining") {
        w->draining = true;
        maybe_answer_reload();
    } else if (line.substr(0, 6) == "error ") {
        w->error = std::string(line.substr(6));
    } else if (line.substr(0, 7) == "retire ") {
        // The worker retires on its own (max_requests): start its successor
        // now, so the slot keeps serving while the old one drains.
        for (size_t i = 0; i < slots_.size(); ++i) {
            if (slots_[i].current != w || stopping_) continue;
            w->state = WorkerProc::State::kRetiring;
            w->retire_reason = std::string(line.substr(7));
            w->stop_deadline_ms = monotonic_ms() + config_->timeouts.graceful + 1000;
            slots_[i].current = spawn(static_cast<int>(i), w->generation);
        }
    }
}

void Master::all_ready_check() {
    if (reloading_) {
        for (Slot& s : slots_)
            if (s.next && s.next->state != WorkerProc::State::kReady) return;
        finish_reload(true, "");
        return;
    }
    if (announced_ready_) return;
    for (const Slot& s : slots_)
        if (!s.current || s.current->state != WorkerProc::State::kReady) return;
    announced_ready_ = true;
    log::info("ready: ", slots_.size(), " workers serving (generation ", generation_, ")");
    // After a binary upgrade this master is systemd's main process from now
    // on (the unit needs NotifyAccess=all for the message to count).
    notify_status(old_master_ ? "READY=1\nMAINPID=" + std::to_string(::getpid()) : std::string("READY=1"));
    if (old_master_) {
        // Binary upgrade: we serve now; the old master retires its workers
        // gracefully and exits.
        log::info("binary upgrade: asking the old master (pid ", old_master_, ") to stop gracefully");
        if (::kill(old_master_, SIGTERM) != 0)
            log::warning("kill(", old_master_, ", SIGTERM) failed: ", log::errno_text(errno));
        old_master_ = 0;
    }
}

void Master::retire(WorkerProc* w, std::string_view reason) {
    if (!worker_alive(w)) return;
    w->state = WorkerProc::State::kRetiring;
    w->retire_reason = reason;
    w->stop_deadline_ms = monotonic_ms() + config_->timeouts.graceful + 1000;
    kill_worker(w, SIGTERM);
}

void Master::kill_worker(WorkerProc* w, int sig) {
    if (!worker_alive(w)) return;
    int rc = uv_process_kill(&w->process, sig);
    if (rc != 0 && rc != UV_ESRCH) log::warning("kill(", w->pid, ", ", signal_name(sig), ") failed: ", uv_err_name(rc));
}

void Master::handle_exit(WorkerProc* w, int64_t status, int sig) {
    w->exited = true;
    uint64_t now = monotonic_ms();
    if (w->score_slot >= 0) {
        ScoreSlot& ss = scoreboard_.slot(static_cast<size_t>(w->score_slot));
        counters_.retired.add(ss);  // its counters live on in the totals
        ss.state.store(static_cast<uint32_t>(WorkerState::kFree), std::memory_order_relaxed);
        ss.pid.store(0, std::memory_order_relaxed);
        score_used_[static_cast<size_t>(w->score_slot)] = false;
    }
    std::string how = sig ? std::string("killed by SIG") + signal_name(sig)
                          : std::string("exited with ") + std::to_string(status) + " (" +
                                exit_code::describe(static_cast<int>(status)) + ")";
    bool expected = stopping_ || w->state == WorkerProc::State::kRetiring;
    count_exit(w, sig);
    if (expected) log::info("worker ", w->slot, " (pid ", w->pid, ", gen ", w->generation, ") ", how);
    else log::error("worker ", w->slot, " (pid ", w->pid, ", gen ", w->generation, ") ", how,
                    w->error.empty() ? "" : ": ", w->error);

    for (size_t i = 0; i < slots_.size(); ++i) {
        Slot& s = slots_[i];
        if (s.next == w) {
            s.next = nullptr;
            if (!stopping_ && reloading_)
                finish_reload(false, "worker " + std::to_string(w->slot) + " of generation " +
                                         std::to_string(w->generation) + " " + how +
                                         (w->error.empty() ? "" : ": " + w->error));
        }
        if (s.current != w) continue;
        s.current = nullptr;
        if (stopping_ || expected) break;
        bool boot_failure = w->state == WorkerProc::State::kStarting && !sig &&
                            (status == exit_code::kPluginLoadError || status == exit_code::kBootError ||
                             status == exit_code::kConfigMismatch || status == exit_code::kUsage);
        if (boot_failure && !announced_ready_) {
            // The configured apps cannot start: respawning would loop forever.
            log::error("worker failed to boot", w->error.empty() ? "" : ": ", w->error, "; stopping");
            halt_ = true;
            exit_code_ = status == exit_code::kPluginLoadError ? exit_code::kPluginLoadError : 1;
            handle_quick();
            break;
        }
        bool young = w->state == WorkerProc::State::kStarting || now - w->started_ms < kYoungMs;
        s.young_deaths = young ? s.young_deaths + 1 : 0;
        if (s.young_deaths <= 1) {
            s.current = spawn(static_cast<int>(i), generation_);
            if (!s.current) s.respawn_at_ms = now + 1000;
        } else {
            uint64_t delay = std::min<uint64_t>(kMaxBackoffMs, 100ull << std::min(s.young_deaths - 2, 10));
            s.respawn_at_ms = now + delay;
            log::error("worker ", i, " keeps dying (", s.young_deaths, " times in a row); next start in ",
                       delay, " ms");
        }
        break;
    }
    maybe_answer_reload();
    uv_close(reinterpret_cast<uv_handle_t*>(&w->process), [](uv_handle_t* h) noexcept {
        auto* wp = static_cast<WorkerProc*>(h->data);
        wp->master->handle_closed(wp);
    });
    if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(&w->control)))
        uv_close(reinterpret_cast<uv_handle_t*>(&w->control), [](uv_handle_t* h) noexcept {
            auto* wp = static_cast<WorkerProc*>(h->data);
            wp->master->handle_closed(wp);
        });
}

void Master::handle_closed(WorkerProc* w) {
    if (--w->handles_open > 0) return;
    procs_.erase(std::remove(procs_.begin(), procs_.end(), w), procs_.end());
    delete w;
    maybe_finish();
}

// ---- supervision ------------------------------------------------------------------

void Master::on_tick(uv_timer_t* t) noexcept { static_cast<Master*>(t->data)->supervise(); }

void Master::supervise() {
    uint64_t now = monotonic_ms();
    // The ping comes from this loop: a master that stops turning stops
    // pinging, and systemd restarts it after WatchdogSec.
    if (watchdog_ms_ && now - last_ping_ms_ >= watchdog_ms_ / 2) {
        systemd::notify("WATCHDOG=1");
        last_ping_ms_ = now;
    }
    if (now - last_status_ms_ >= 2000) {
        uint64_t total = 0;
        for (const WorkerProc* w : procs_)
            if (!w->exited) total += scoreboard_.slot(static_cast<size_t>(w->score_slot)).requests.load(std::memory_order_relaxed);
        if (last_status_ms_ && total >= last_requests_)
            rps_ = static_cast<double>(total - last_requests_) * 1000.0 / static_cast<double>(now - last_status_ms_);
        last_requests_ = total;
        last_status_ms_ = now;
        if (announced_ready_ && !stopping_) notify_status("");
    }
    for (WorkerProc* w : procs_) {
        if (w->exited) continue;
        if (w->state == WorkerProc::State::kRetiring || (stopping_ && w->stop_deadline_ms)) {
            if (w->stop_deadline_ms && now >= w->stop_deadline_ms) {
                log::warning("worker ", w->slot, " (pid ", w->pid, ") did not stop in time; killing");
                kill_worker(w, SIGKILL);
                w->stop_deadline_ms = 0;
            }
            continue;
        }
        if (stopping_) continue;
        uint64_t limit = config_->timeouts.worker;
        if (w->state == WorkerProc::State::kStarting) {
            if (now - w->started_ms > std::max<uint64_t>(limit, 30000)) {
                log::error("worker ", w->slot, " (pid ", w->pid, ") not ready after ", now - w->started_ms,
                           " ms; killing");
                w->error = "not ready in time";
                kill_worker(w, SIGKILL);
            }
            continue;
        }
        uint64_t hb = scoreboard_.slot(static_cast<size_t>(w->score_slot)).heartbeat_ms.load(std::memory_order_relaxed);
        if (hb && now > hb && now - hb > limit) {
            log::error("worker ", w->slot, " (pid ", w->pid, ") silent for ", now - hb,
                       " ms (timeouts.worker ", limit, " ms); killing it");
            w->error = "heartbeat timeout";
            kill_worker(w, SIGKILL);
        }
    }
    if (stopping_) return;
    for (size_t i = 0; i < slots_.size(); ++i) {
        Slot& s = slots_[i];
        if (!s.current && s.respawn_at_ms && now >= s.respawn_at_ms) {
            s.respawn_at_ms = 0;
            s.current = spawn(static_cast<int>(i), generation_);
            if (!s.current) s.respawn_at_ms = now + 1000;
        }
    }
}

// ---- signals ------------------------------------------------------------------------

void Master::on_signal(uv_signal_t* s, int signum) noexcept {
    auto* m = static_cast<Master*>(s->data);
    switch (signum) {
        case SIGTERM: m->handle_term(); break;
        case SIGINT:
        case SIGQUIT: m->handle_quick(); break;
        case SIGHUP: m->handle_hup(); break;
        case SIGUSR1:
            log::reopen();
            give_log_files_to_workers(*m->config_);
            for (WorkerProc* w : m->procs_) m->kill_worker(w, SIGUSR1);
            log::info("reopened log files");
            break;
        case SIGUSR2: m->handle_usr2(); break;
        case SIGTTIN: m->handle_ttin(); break;
        case SIGTTOU: m->handle_ttou(); break;
        default: break;
    }
}

void Master::handle_term() {
    if (stopping_) return;
    stopping_ = true;
    if (upgrading_) {
        // The TERM comes from the new master we started: it serves on our
        // sockets now, so leave their files (and the control socket) alone.
        handed_over_ = true;
        log::info("binary upgrade complete: handing over to the new master (pid ", upgrade_.pid, ")");
    } else {
        systemd::notify("STOPPING=1\nSTATUS=stopping gracefully");
    }
    unwatch_plugins();
    log::info("graceful stop: waiting up to ", config_->timeouts.graceful, " ms for workers");
    uint64_t deadline = monotonic_ms() + config_->timeouts.graceful + 1000;
    for (WorkerProc* w : procs_) {
        w->stop_deadline_ms = deadline;
        kill_worker(w, SIGTERM);
    }
    maybe_finish();
}

void Master::handle_quick() {
    if (stopping_ && quick_) return;
    stopping_ = true;
    quick_ = true;
    if (!halt_) log::info("quick stop");
    if (!handed_over_) systemd::notify("STOPPING=1\nSTATUS=stopping");
    uint64_t deadline = monotonic_ms() + kQuickStopMs;
    for (WorkerProc* w : procs_) {
        w->stop_deadline_ms = deadline;
        kill_worker(w, SIGQUIT);
    }
    maybe_finish();
}

void Master::maybe_finish() {
    if (!stopping_ || !procs_.empty()) return;
    uv_stop(&loop_);
}

void Master::handle_ttin() {
    if (stopping_) return;
    if (slots_.size() >= Scoreboard::kMaxSlots / 2) {
        log::warning("TTIN: already at the most workers (", slots_.size(), ")");
        return;
    }
    slots_.emplace_back();
    int i = static_cast<int>(slots_.size()) - 1;
    slots_.back().current = spawn(i, generation_);
    log::info("TTIN: ", slots_.size(), " workers");
}

void Master::handle_ttou() {
    if (stopping_) return;
    if (slots_.size() <= 1) {
        log::warning("TTOU: keeping the last worker");
        return;
    }
    Slot s = slots_.back();
    if (s.next) {
        log::warning("TTOU during a reload; ignored");
        return;
    }
    slots_.pop_back();
    retire(s.current, "ttou");
    log::info("TTOU: ", slots_.size(), " workers");
}

// ---- reload -------------------------------------------------------------------------

void Master::handle_hup() {
    if (stopping_) return;
    if (reloading_) {
        log::warning("HUP: a reload is already in progress; ignored");
        return;
    }
    log::info("HUP: reloading configuration");
    systemd::notify("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(systemd::monotonic_usec()) +
                    "\nSTATUS=reloading");
    auto cfg = load_config_guarded(sources_);
    if (!cfg) {
        last_reload_ = "refused: " + cfg.error().message();
        ++counters_.reloads[static_cast<size_t>(ReloadResult::kRefused)];
        log::error("reload refused: ", cfg.error().message(), "; generation ", generation_, " keeps serving");
        reload_answer(false, "reload refused: " + cfg.error().message());
        return;
    }
    next_config_ = std::make_shared<const Config>(std::move(*cfg));
    next_listeners_.clear();
    for (const ListenSpec& spec : next_config_->listen) {
        auto it = std::find_if(listeners_.begin(), listeners_.end(),
                               [&](const BoundListener& l) { return same_socket(l.spec, spec); });
        if (it != listeners_.end()) {
            BoundListener reused = *it;
            reused.spec = spec;
            reused.created_file = false;   // owned by listeners_ until the swap
            next_listeners_.push_back(reused);
            continue;
        }
        auto b = bind_listener(spec, next_config_->user, next_config_->group);
        if (!b) {
            finish_reload(false, b.error().message());
            return;
        }
        next_listeners_.push_back(std::move(*b));
    }
    auto cfd = make_config_fd(*next_config_);
    if (!cfd) {
        finish_reload(false, cfd.error().message());
        return;
    }
    next_config_fd_ = *cfd;
    reloading_ = true;
    uint32_t gen = generation_ + 1;
    size_t n = static_cast<size_t>(next_config_->workers);
    if (slots_.size() < n) slots_.resize(n);
    for (size_t i = 0; i < n; ++i) {
        slots_[i].next = spawn(static_cast<int>(i), gen);
        if (!slots_[i].next) {
            finish_reload(false, "could not start a worker of generation " + std::to_string(gen));
            return;
        }
    }
}

// Either every worker of the new generation is ready (ok): they take over and
// the old ones retire gracefully; or the reload failed: the new ones are
// stopped and the old generation keeps serving as if nothing happened.
void Master::finish_reload(bool ok, const std::string& why) {
    bool was_reloading = reloading_;
    reloading_ = false;
    if (ok) {
        size_t n = static_cast<size_t>(next_config_->workers);
        for (size_t i = 0; i < slots_.size(); ++i) {
            WorkerProc* old = slots_[i].current;
            slots_[i].current = i < n ? slots_[i].next : nullptr;
            slots_[i].next = nullptr;
            slots_[i].young_deaths = 0;
            slots_[i].respawn_at_ms = 0;
            if (old) retire(old, "reload");
        }
        slots_.resize(n);
        // Listeners that the new config no longer has are closed; reused
        // ones change owner without ever being closed.
        for (auto& l : listeners_) {
            auto it = std::find_if(next_listeners_.begin(), next_listeners_.end(),
                                   [&](const BoundListener& x) { return x.fd == l.fd; });
            if (it == next_listeners_.end()) close_listener(l);
            else it->created_file = l.created_file;
        }
        listeners_ = std::move(next_listeners_);
        next_listeners_.clear();
        if (config_fd_ >= 0) ::close(config_fd_);
        config_fd_ = next_config_fd_;
        next_config_fd_ = -1;
        config_ = std::move(next_config_);
        ++generation_;
        last_reload_ = "ok (generation " + std::to_string(generation_) + ")";
        ++counters_.reloads[static_cast<size_t>(ReloadResult::kOk)];
        log::info("reload complete: generation ", generation_, " serving with ", slots_.size(), " workers");
        watch_plugins();
        // Answered once every retiring worker has stopped accepting: from
        // then on every new connection meets the new generation.
        reload_done_text_ = "reload complete: generation " + std::to_string(generation_) + " serving";
        maybe_answer_reload();
        return;
    }
    for (Slot& s : slots_) {
        if (s.next) {
            s.next->state = WorkerProc::State::kRetiring;
            s.next->stop_deadline_ms = monotonic_ms() + 2000;
            kill_worker(s.next, SIGQUIT);
            s.next = nullptr;
        }
    }
    // Drop slots that only the failed generation had.
    while (!slots_.empty() && !slots_.back().current && slots_.size() > static_cast<size_t>(config_->workers))
        slots_.pop_back();
    for (auto& l : next_listeners_) {
        bool reused = std::any_of(listeners_.begin(), listeners_.end(),
                                  [&](const BoundListener& x) { return x.fd == l.fd; });
        if (!reused) close_listener(l);
    }
    next_listeners_.clear();
    if (next_config_fd_ >= 0) ::close(next_config_fd_);
    next_config_fd_ = -1;
    next_config_.reset();
    last_reload_ = "failed: " + why;
    if (was_reloading || !why.empty()) ++counters_.reloads[static_cast<size_t>(ReloadResult::kFailed)];
    if (was_reloading || !why.empty())
        log::error("reload failed: ", why, "; generation ", generation_, " keeps serving");
    reload_answer(false, "reload failed: " + why + "; generation " + std::to_string(generation_) +
                             " keeps serving");
}

void Master::maybe_answer_reload() {
    if (reload_done_text_.empty()) return;
    for (const WorkerProc* w : procs_)
        if (!w->exited && w->state == WorkerProc::State::kRetiring && !w->draining && w->generation < generation_)
            return;
    std::string text = std::move(reload_done_text_);
    reload_done_text_.clear();
    reload_answer(true, text);
}

void Master::reload_answer(bool ok, const std::string& text) {
    notify_status("READY=1");
    auto waiters = std::move(reload_waiters_);
    reload_waiters_.clear();
    for (auto& reply : waiters) reply((ok ? "ok " : "error ") + text);
}

std::string Master::status_line() const {
    char rps[32];
    std::snprintf(rps, sizeof rps, "%.0f", rps_);
    return std::to_string(slots_.size()) + " workers, generation " + std::to_string(generation_) + ", " + rps +
           " req/s, last reload: " + (last_reload_.empty() ? std::string("none") : last_reload_);
}

void Master::notify_status(std::string_view extra) {
    std::string msg(extra);
    if (!msg.empty()) msg += "\n";
    msg += "STATUS=" + status_line();
    systemd::notify(msg);
}

// ---- control socket ---------------------------------------------------------

void Master::handle_command(const std::string& cmd, ControlServer::Reply reply) {
    if (cmd == "status") {
        reply(status_text());
    } else if (cmd == "top") {
        reply("ok\n" + watch_text());
    } else if (cmd == "reload") {
        if (stopping_) {
            reply("error stopping; not reloading");
            return;
        }
        reload_waiters_.push_back(std::move(reply));
        if (!reloading_) handle_hup();  // else: answered when the current one ends
    } else if (cmd == "stop") {
        reply("ok stopping gracefully (up to " + std::to_string(config_->timeouts.graceful) + " ms)");
        handle_term();
    } else {
        reply("error unknown command '" + cmd + "' (commands: reload, status, stop)");
    }
}

std::string Master::status_text() const {
    uint64_t now = monotonic_ms();
    std::string s = "ok quiver " QUIVER_VERSION " master pid " + std::to_string(::getpid()) + ", generation " +
                    std::to_string(generation_) + ", " + std::to_string(slots_.size()) + " workers" +
                    (reloading_ ? ", reloading" : "") + (stopping_ ? ", stopping" : "") + "\n";
    s += "last reload: " + (last_reload_.empty() ? std::string("none") : last_reload_) + "\n";
    s += "slot  pid      gen  state     requests    age      apps\n";
    std::vector<const WorkerProc*> ws(procs_.begin(), procs_.end());
    std::sort(ws.begin(), ws.end(), [](auto* a, auto* b) { return a->slot < b->slot || (a->slot == b->slot && a->generation < b->generation); });
    for (const WorkerProc* w : ws) {
        if (w->exited) continue;
        const char* st = w->state == WorkerProc::State::kStarting ? "starting"
                         : w->state == WorkerProc::State::kReady  ? "ready"
                                                                   : "retiring";
        uint64_t req = scoreboard_.slot(static_cast<size_t>(w->score_slot)).requests.load(std::memory_order_relaxed);
        char line[256];
        std::snprintf(line, sizeof line, "%-5d %-8d %-4u %-9s %-11llu %-8s ", w->slot, w->pid, w->generation, st,
                      static_cast<unsigned long long>(req),
                      (std::to_string((now - w->started_ms) / 1000) + "s").c_str());
        s += line;
        s += w->apps.empty() ? "-" : w->apps;
        s += "\n";
    }
    return s;
}

// ---- reload.watch ------------------------------------------------------------

// Watches the folder of every plugin file (a folder watch also sees an
// atomic rename onto the file, which replaces its inode) and reloads after
// reload_debounce ms without further changes (a `cp` writes many times).
void Master::watch_plugins() {
    unwatch_plugins();
    if (!config_->reload_watch) return;
    std::vector<std::string> dirs;
    for (const AppSpec& a : config_->apps) {
        std::string dir = a.plugin.substr(0, a.plugin.rfind('/'));
        if (dir.empty()) dir = "/";
        watched_files_.push_back(a.plugin.substr(a.plugin.rfind('/') + 1));
        if (std::find(dirs.begin(), dirs.end(), dir) == dirs.end()) dirs.push_back(dir);
    }
    for (const std::string& dir : dirs) {
        auto* ev = new uv_fs_event_t;
        uv_fs_event_init(&loop_, ev);
        ev->data = this;
        int rc = uv_fs_event_start(
            ev,
            [](uv_fs_event_t* h, const char* name, int, int status) noexcept {
                auto* m = static_cast<Master*>(h->data);
                if (status < 0 || !name || m->stopping_) return;
                if (std::find(m->watched_files_.begin(), m->watched_files_.end(), name) == m->watched_files_.end())
                    return;
                uv_timer_start(
                    &m->debounce_,
                    [](uv_timer_t* t) noexcept {
                        auto* mm = static_cast<Master*>(t->data);
                        log::info("a plugin file changed: reloading");
                        if (mm->reloading_) {
                            // Try again once the running reload is over.
                            uv_timer_start(t, t->timer_cb, mm->config_->reload_debounce, 0);
                            return;
                        }
                        mm->handle_hup();
                    },
                    m->config_->reload_debounce, 0);
            },
            dir.c_str(), 0);
        if (rc != 0) {
            log::warning("watching ", dir, " failed: ", uv_err_name(rc), "; plugin changes there will not reload");
            uv_close(reinterpret_cast<uv_handle_t*>(ev), [](uv_handle_t* h) noexcept { delete reinterpret_cast<uv_fs_event_t*>(h); });
            continue;
        }
        watches_.push_back(ev);
    }
}

void Master::unwatch_plugins() {
    for (uv_fs_event_t* ev : watches_)
        uv_close(reinterpret_cast<uv_handle_t*>(ev), [](uv_handle_t* h) noexcept { delete reinterpret_cast<uv_fs_event_t*>(h); });
    watches_.clear();
    watched_files_.clear();
}

// ---- USR2: binary upgrade -------------------------------------------------------

// Starts the quiver binary found on disk now (the file this master was run
// from, possibly replaced since) with the same command line, handing it the
// listening sockets. The new master starts its workers; once every one is
// ready it sends us TERM, and we retire ours gracefully. If it fails first,
// we go on serving as if nothing happened.
void Master::handle_usr2() {
    if (stopping_ || upgrading_ || reloading_) {
        log::warning("USR2: ", stopping_ ? "stopping" : upgrading_ ? "an upgrade is already running" : "reloading",
                     "; ignored");
        return;
    }
    char buf[4096];
    ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0) {
        log::error("USR2: readlink(/proc/self/exe) failed: ", log::errno_text(errno));
        return;
    }
    std::string exe(buf, static_cast<size_t>(n));
    // A replaced binary shows as "path (deleted)": the new file is at path.
    constexpr std::string_view kDeleted = " (deleted)";
    if (exe.size() > kDeleted.size() && exe.compare(exe.size() - kDeleted.size(), kDeleted.size(), kDeleted) == 0)
        exe.resize(exe.size() - kDeleted.size());

    std::vector<uv_stdio_container_t> stdio(3 + listeners_.size());
    for (int i = 0; i < 3; ++i) {
        stdio[static_cast<size_t>(i)].flags = UV_INHERIT_FD;
        stdio[static_cast<size_t>(i)].data.fd = i;
    }
    for (size_t i = 0; i < listeners_.size(); ++i) {
        stdio[3 + i].flags = UV_INHERIT_FD;
        stdio[3 + i].data.fd = listeners_[i].fd;
    }
    std::vector<std::string> env_strings;
    for (char** e = environ; e && *e; ++e)
        // WATCHDOG_PID names this master; the new one must ping in its place.
        if (std::strncmp(*e, "QUIVER_UPGRADE_", 15) != 0 && std::strncmp(*e, "QUIVER_OLD_MASTER=", 18) != 0 &&
            std::strncmp(*e, "WATCHDOG_PID=", 13) != 0)
            env_strings.emplace_back(*e);
    env_strings.push_back("QUIVER_UPGRADE_FDS=" + std::to_string(listeners_.size()));
    // Which unix socket files are ours to remove (not systemd's).
    std::string owned;
    for (size_t i = 0; i < listeners_.size(); ++i) owned += (i ? "," : "") + std::string(listeners_[i].created_file ? "1" : "0");
    env_strings.push_back("QUIVER_UPGRADE_OWNED=" + owned);
    env_strings.push_back("QUIVER_OLD_MASTER=" + std::to_string(::getpid()));
    std::vector<char*> env;
    for (auto& e : env_strings) env.push_back(e.data());
    env.push_back(nullptr);
    std::vector<char*> args;
    for (auto& a : argv_) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);

    uv_process_options_t opts{};
    opts.file = exe.c_str();
    opts.args = args.data();
    opts.env = env.data();
    opts.stdio_count = static_cast<int>(stdio.size());
    opts.stdio = stdio.data();
    opts.exit_cb = [](uv_process_t* p, int64_t status, int sig) noexcept {
        auto* m = static_cast<Master*>(p->data);
        if (!m->handed_over_)
            log::error("binary upgrade failed: the new master (pid ", p->pid, ") ",
                       sig ? std::string("was killed by SIG") + signal_name(sig)
                           : "exited with " + std::to_string(status),
                       " before taking over; this master keeps serving");
        m->upgrading_ = false;
        uv_close(reinterpret_cast<uv_handle_t*>(p), nullptr);
    };
    upgrade_.data = this;
    int rc = uv_spawn(&loop_, &upgrade_, &opts);
    if (rc != 0) {
        log::error("USR2: uv_spawn(", exe, ") failed: ", uv_err_name(rc), " (", uv_strerror(rc), ")");
        uv_close(reinterpret_cast<uv_handle_t*>(&upgrade_), nullptr);
        return;
    }
    upgrading_ = true;
    log::info("USR2: started a new master from ", exe, " (pid ", upgrade_.pid, ")");
}

}  // namespace quiver::server
