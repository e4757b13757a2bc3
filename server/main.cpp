// SPDX-License-Identifier: MIT
// quiver's entry point: dispatches to the master, a worker (internal mode),
// or one of the config tools (--check-config, --print-config, --help, ...).
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "quiver_build.h"
#include "server/common/config/cli.hpp"
#include "server/common/config/help.hpp"
#include "server/common/config/load.hpp"
#include "server/common/config/redact.hpp"
#include "server/common/log.hpp"
#include "server/config_guard.hpp"
#include "server/control.hpp"
#include "server/master.hpp"
#include "server/status_watch.hpp"
#include "workers/entry.hpp"

extern char** environ;

namespace {

std::vector<std::string> environment() {
    std::vector<std::string> env;
    for (char** e = environ; e && *e; ++e) env.emplace_back(*e);
    return env;
}

int fail(const std::string& msg, int code) {
    std::fprintf(stderr, "quiver: %s\n", msg.c_str());
    return code;
}

// `quiver reload|status|stop`: find the control socket from the config (the
// one given with --config, else /etc/quiver/quiver.yaml) and ask the master.
int control(const quiver::CommandLine& cl, int watch) {
    using namespace quiver;
    ConfigSources src;
    src.path = cl.config_path;
    if (src.path.empty() && ::access("/etc/quiver/quiver.yaml", R_OK) == 0) src.path = "/etc/quiver/quiver.yaml";
    src.env = environment();
    src.cli = cl.overrides;
    auto cfg = load_config(src);
    std::string socket;
    double timeout = 70;  // a reload waits for the new generation to be ready
    if (cfg) {
        socket = cfg->control_socket;
        timeout = static_cast<double>(cfg->timeouts.worker + cfg->timeouts.graceful) / 1000.0 + 10;
    } else {
        // The file does not validate: still reach the master (which keeps
        // serving and, for a reload, refuses the file and says why).
        std::fprintf(stderr, "quiver: warning: %s\n", cfg.error().message().c_str());
        socket = find_control_socket(src.path);
    }
    if (socket.empty())
        return fail(std::string("no control_socket in ") + (src.path.empty() ? "the defaults" : src.path) +
                        "; set control_socket (or --control-socket) to use '" + cl.rest[0] + "'",
                    2);
    if (watch >= 0) {
        if (cl.rest[0] != "status") return fail("--watch goes with 'status' only", 2);
        return server::run_status_watch(socket, watch);
    }
    return server::run_control_command(socket, cl.rest[0], timeout);
}

}  // namespace

int main(int argc, char** argv) {
    using namespace quiver;
    // `status --watch[=N]` (N refreshes; none = until ^C) is taken out here;
    // the rest goes to the common command-line parser.
    int watch = -1;
    std::vector<char*> args_kept;
    for (int i = 0; i < argc; ++i) {
        std::string_view a = argv[i];
        if (i > 0 && (a == "--watch" || a.substr(0, 8) == "--watch=")) {
            watch = 0;
            if (a.size() > 8 && (std::sscanf(argv[i] + 8, "%d", &watch) != 1 || watch < 1))
                return fail("--watch=N: N must be a positive number of refreshes", 2);
            continue;
        }
        args_kept.push_back(argv[i]);
    }
    args_kept.push_back(nullptr);
    if (watch >= 0) {
        argc = static_cast<int>(args_kept.size()) - 1;
        argv = args_kept.data();
    }
    auto cl = parse_command_line(argc, argv);
    if (!cl) return fail(cl.error().message() + " (see quiver --help)", 2);

    switch (cl->mode) {
        case Mode::kWorker: return worker::run(argc, argv);
        case Mode::kHelp: std::fputs(help_text().c_str(), stdout); return 0;
        case Mode::kVersion: std::printf("quiver %s\n", QUIVER_VERSION); return 0;
        case Mode::kSettingsReference: std::fputs(settings_reference_md().c_str(), stdout); return 0;
        case Mode::kAnnotatedConfig: std::fputs(annotated_yaml().c_str(), stdout); return 0;
        case Mode::kControl: return control(*cl, watch);
        default:
            if (watch >= 0) return fail("--watch goes with 'status' only", 2);
            break;
    }

    ConfigSources src;
    src.path = cl->config_path;
    src.env = environment();
    src.cli = cl->overrides;
    auto cfg = server::load_config_guarded(src);
    if (!cfg) return fail(cfg.error().message(), 1);

    if (cl->mode == Mode::kCheckConfig) {
        std::printf("%s: ok\n", src.path.empty() ? "(defaults)" : src.path.c_str());
        return 0;
    }
    if (cl->mode == Mode::kPrintConfig) {
        Config shown = *cfg;  // what an operator pastes into a ticket: no password
        shown.database.url = redact_conninfo(shown.database.url);
        std::fputs(dump_config(shown).c_str(), stdout);
        return 0;
    }

    log::Level level = log::Level::kInfo;
    log::parse_level(cfg->log.level, &level);
    log::init("master", level, cfg->log.error);
    auto config = std::make_shared<const Config>(std::move(*cfg));
    std::vector<std::string> args(argv, argv + argc);
    server::Master master(config, std::move(src), std::move(args));
    return master.run();
}
