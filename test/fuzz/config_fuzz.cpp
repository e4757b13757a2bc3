// SPDX-License-Identifier: MIT
// libFuzzer target for the config loader: any bytes given as YAML text to
// load_config_text must give a Config or an Error; never a crash or an exception.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string_view>

#include "server/common/config/load.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view yaml(reinterpret_cast<const char*>(data), size);
    try {
        auto r = quiver::load_config_text(yaml, "fuzz.yaml", "/tmp");
        if (r) {
            // A loaded config must also dump (the --check / reload path).
            (void)quiver::dump_config(*r);
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "load_config_text threw: %s\n", e.what());
        std::abort();
    } catch (...) {
        std::fprintf(stderr, "load_config_text threw a non-std exception\n");
        std::abort();
    }
    return 0;
}
