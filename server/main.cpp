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
#include "server/common/log.hpp"
#include "server/master.hpp"
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

}  // namespace

int main(int argc, char** argv) {
    using namespace quiver;
    auto cl = parse_command_line(argc, argv);
    if (!cl) return fail(cl.error().message() + " (see quiver --help)", 2);

    switch (cl->mode) {
        case Mode::kWorker: return worker::run(argc, argv);
        case Mode::kHelp: std::fputs(help_text().c_str(), stdout); return 0;
        case Mode::kVersion: std::printf("quiver %s\n", QUIVER_VERSION); return 0;
        case Mode::kSettingsReference: std::fputs(settings_reference_md().c_str(), stdout); return 0;
        case Mode::kAnnotatedConfig: std::fputs(annotated_yaml().c_str(), stdout); return 0;
        case Mode::kControl:
            return fail("'" + (cl->rest.empty() ? std::string() : cl->rest[0]) +
                            "': control commands are not available in this version; send signals to "
                            "the master's pid (HUP reload, TERM stop) instead",
                        2);
        default: break;
    }

    ConfigSources src;
    src.path = cl->config_path;
    src.env = environment();
    src.cli = cl->overrides;
    auto cfg = load_config(src);
    if (!cfg) return fail(cfg.error().message(), 1);

    if (cl->mode == Mode::kCheckConfig) {
        std::printf("%s: ok\n", src.path.empty() ? "(defaults)" : src.path.c_str());
        return 0;
    }
    if (cl->mode == Mode::kPrintConfig) {
        std::fputs(dump_config(*cfg).c_str(), stdout);
        return 0;
    }

    log::Level level = log::Level::kInfo;
    log::parse_level(cfg->log.level, &level);
    log::init("master", level, cfg->log.error);
    auto config = std::make_shared<const Config>(std::move(*cfg));
    server::Master master(config, std::move(src));
    return master.run();
}
