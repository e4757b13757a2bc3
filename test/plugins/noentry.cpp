// SPDX-License-Identifier: MIT
// Test plugin "noentry": a valid shared object that does not export
// quiver_plugin_v1; the host must refuse it, naming the file.
extern "C" __attribute__((visibility("default"))) int quiver_test_noentry(void) { return 0; }
