// SPDX-License-Identifier: MIT
// Test plugin "badabi": a well-formed table declaring ABI version 999, which
// the host must refuse, naming the file, before calling anything in it.
#include <quiver/plugin.h>

namespace {

int never_create(const qv_host_t*, const char*, size_t, void**, qv_error_t*) { return QV_EINVAL; }
void never_handle(void*, qv_request_t*, const qv_request_info_t*) {}
void never_destroy(void*) {}

constexpr qv_plugin_t kPlugin = {999u, sizeof(qv_plugin_t), "badabi", "0", &never_create,
                                 &never_handle, &never_destroy, {}};

}  // namespace

extern "C" __attribute__((visibility("default"))) const qv_plugin_t* quiver_plugin_v1(void) {
    return &kPlugin;
}
