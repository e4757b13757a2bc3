// SPDX-License-Identifier: MIT
// Worker exit codes: they tell the master whether to respawn, back off or
// stop (gunicorn's WORKER_BOOT_ERROR / APP_LOAD_ERROR).
#pragma once

namespace quiver::exit_code {

constexpr int kOk = 0;               // graceful or quick stop that was asked for
constexpr int kUsage = 2;            // bad command line
constexpr int kBootError = 3;        // could not set up (fds, privileges, loop)
constexpr int kPluginLoadError = 4;  // a plugin was refused (missing, ABI, create failed)
constexpr int kConfigMismatch = 5;   // the config handed over did not load

inline const char* describe(int code) {
    switch (code) {
        case kOk: return "exited normally";
        case kUsage: return "bad command line";
        case kBootError: return "boot error";
        case kPluginLoadError: return "plugin load error";
        case kConfigMismatch: return "config hand-over failed";
        default: return "exited with an error";
    }
}

}  // namespace quiver::exit_code
