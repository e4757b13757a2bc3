// SPDX-License-Identifier: MIT
// Worker process start: argv, the config handed over by the master, log,
// privileges, process title, then Worker::run.
#include "workers/entry.hpp"

#include <grp.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <cstring>
#include <string>

#include "server/common/config/load.hpp"
#include "server/common/exit_codes.hpp"
#include "server/common/log.hpp"
#include "workers/worker.hpp"

namespace quiver::worker {

namespace {

// Every worker of a generation inherits the same open memfd, and so one
// shared file offset: read with pread at our own offsets.
std::string read_all(int fd) {
    std::string s;
    char buf[8192];
    off_t off = 0;
    for (;;) {
        ssize_t n = ::pread(fd, buf, sizeof buf, off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        s.append(buf, static_cast<size_t>(n));
        off += n;
    }
    return s;
}

// Overwrites the argv area so `ps` shows "quiver: worker 3 gen 7".
void set_title(int argc, char** argv, const std::string& title) {
    char* start = argv[0];
    char* end = argv[argc - 1] + std::strlen(argv[argc - 1]);
    size_t room = static_cast<size_t>(end - start);
    size_t n = std::min(room, title.size());
    std::memcpy(start, title.data(), n);
    std::memset(start + n, 0, room - n + 1);
    ::prctl(PR_SET_NAME, "quiver-worker", 0, 0, 0);
}

// Drops to user/group (supplementary groups from the user's membership) and
// makes sure there is no way back to root.
bool drop_privileges(const Config& c) {
    if (c.user.empty() && c.group.empty()) {
        if (::geteuid() == 0 && !c.allow_root) {
            log::error("refusing to run app code as root: set `user` (or allow_root: true)");
            return false;
        }
        return true;
    }
    if (::geteuid() != 0) {
        log::warning("user/group set but not running as root; keeping uid ", ::getuid());
        return true;
    }
    uid_t uid = 0;
    gid_t gid = 0;
    std::string user_name;
    auto numeric = [](const std::string& s) {
        return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos;
    };
    if (!c.user.empty()) {
        struct passwd* pw = numeric(c.user) ? ::getpwuid(static_cast<uid_t>(std::stoul(c.user)))
                                            : ::getpwnam(c.user.c_str());
        if (!pw) {
            log::error("getpwnam(", c.user, ") failed: no such user");
            return false;
        }
        uid = pw->pw_uid;
        gid = pw->pw_gid;
        user_name = pw->pw_name;
    }
    if (!c.group.empty()) {
        struct group* gr = numeric(c.group) ? ::getgrgid(static_cast<gid_t>(std::stoul(c.group)))
                                            : ::getgrnam(c.group.c_str());
        if (!gr) {
            log::error("getgrnam(", c.group, ") failed: no such group");
            return false;
        }
        gid = gr->gr_gid;
    }
    if (!user_name.empty() ? ::initgroups(user_name.c_str(), gid) != 0 : ::setgroups(1, &gid) != 0) {
        log::error("initgroups(", user_name, ") failed: ", log::errno_text(errno));
        return false;
    }
    if (::setgid(gid) != 0) {
        log::error("setgid(", gid, ") failed: ", log::errno_text(errno));
        return false;
    }
    if (!c.user.empty() && ::setuid(uid) != 0) {
        log::error("setuid(", uid, ") failed: ", log::errno_text(errno));
        return false;
    }
    if (!c.user.empty() && uid != 0 && (::setuid(0) == 0 || ::seteuid(0) == 0)) {
        log::error("privileges could be regained after setuid(", uid, "); refusing to run");
        return false;
    }
    return true;
}

}  // namespace

int run(int argc, char** argv) {
    WorkerArgs args;
    int nlisten = -1;
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : ""; };
        if (a == "--worker") continue;
        if (a == "--slot") args.slot = std::atoi(next());
        else if (a == "--score-slot") args.score_slot = std::atoi(next());
        else if (a == "--generation") args.generation = static_cast<uint32_t>(std::atoll(next()));
        else if (a == "--listen-fds") nlisten = std::atoi(next());
    }
    if (nlisten < 0) {
        std::fprintf(stderr, "quiver: --worker is internal: the master starts workers\n");
        return exit_code::kUsage;
    }
    for (int i = 0; i < nlisten; ++i) args.listen_fds.push_back(3 + i);
    args.control_fd = 3 + nlisten;
    args.scoreboard_fd = 4 + nlisten;
    int config_fd = 5 + nlisten;

    std::signal(SIGPIPE, SIG_IGN);
    std::string role = "worker " + std::to_string(args.slot);
    log::set_role(role);
    std::string text = read_all(config_fd);
    ::close(config_fd);
    if (text.empty()) {
        log::error("config hand-over failed: the master's config is empty");
        return exit_code::kConfigMismatch;
    }
    auto cfg = load_config_text(text, "<resolved config from master>", "/");
    if (!cfg) {
        log::error("config hand-over failed: ", cfg.error().message());
        return exit_code::kConfigMismatch;
    }
    log::Level level = log::Level::kInfo;
    log::parse_level(cfg->log.level, &level);
    log::init(role, level, cfg->log.error);
    // If the master dies without telling us, stop like on TERM.
    ::prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);
    set_title(argc, argv, "quiver: worker " + std::to_string(args.slot) + " gen " +
                              std::to_string(args.generation));
    auto config = std::make_shared<const Config>(std::move(*cfg));
    Worker w(config, std::move(args), [config] { return drop_privileges(*config); });
    return w.run();
}

}  // namespace quiver::worker
