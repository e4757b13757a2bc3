// SPDX-License-Identifier: MIT
// Helpers for the config tests: a scratch directory that cleans up after
// itself, and a field-by-field Config comparison with readable failures.
#pragma once

#include <doctest/doctest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "server/common/config/config.hpp"
#include "server/common/config/load.hpp"

namespace quiver::test {

class TempDir {
public:
    TempDir() {
        std::string tmpl =
            (std::filesystem::temp_directory_path() / "quiver-config-XXXXXX").string();
        REQUIRE(mkdtemp(tmpl.data()) != nullptr);
        path_ = tmpl;
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::string& path() const { return path_; }
    std::string operator/(const std::string& name) const { return path_ + "/" + name; }

    // Writes `text` to `name` (creating folders) and returns the full path.
    std::string write(const std::string& name, const std::string& text) const {
        std::string full = *this / name;
        std::filesystem::create_directories(std::filesystem::path(full).parent_path());
        std::ofstream f(full, std::ios::binary);
        f << text;
        REQUIRE(f.good());
        return full;
    }

private:
    std::string path_;
};

// load_config() of `yaml` written to dir/name.
inline Result<Config> load_yaml(const TempDir& dir, const std::string& yaml,
                                const std::string& name = "quiver.yaml") {
    return load_config({dir.write(name, yaml), {}, {}});
}

// The error message of a failed load ("" when it succeeded, so CHECKs show it).
template <typename T>
std::string error_of(const Result<T>& r) {
    return r ? std::string("(no error)") : r.error().message();
}

// These bindings stop compiling when a field is added to config.hpp: then add
// it to check_same() below and to the settings table.
inline void field_count_guard(const Config& c) {
    [[maybe_unused]] const auto& [f1, f2, f3, f4, f5, f6, f7, f8, f9, f10, f11, f12, f13, f14, f15,
                                  f16, f17, f18, f19, f20, f21] = c;
    [[maybe_unused]] const auto& [l1, l2, l3, l4, l5, l6, l7, l8, l9] = ListenSpec{};
    [[maybe_unused]] const auto& [a1, a2, a3, a4] = AppSpec{};
    [[maybe_unused]] const auto& [h1, h2, h3, h4, h5] = c.limits;
    [[maybe_unused]] const auto& [t1, t2, t3, t4, t5, t6, t7] = c.timeouts;
    [[maybe_unused]] const auto& [g1, g2, g3, g4] = c.log;
    [[maybe_unused]] const auto& [m1] = c.metrics;
    [[maybe_unused]] const auto& [d1, d2, d3, d4, d5] = c.database;
}

inline void check_same(const ListenSpec& a, const ListenSpec& b) {
    CHECK(a.address == b.address);
    CHECK(a.is_unix == b.is_unix);
    CHECK(a.host == b.host);
    CHECK(a.port == b.port);
    CHECK(a.path == b.path);
    CHECK(a.protocol == b.protocol);
    CHECK(a.backlog == b.backlog);
    CHECK(a.mode == b.mode);
    CHECK(a.name == b.name);
}

inline void check_same(const Config& a, const Config& b, bool compare_source = true) {
    if (compare_source) CHECK(a.source == b.source);
    CHECK(a.workers == b.workers);
    REQUIRE(a.listen.size() == b.listen.size());
    for (size_t i = 0; i < a.listen.size(); ++i) check_same(a.listen[i], b.listen[i]);
    REQUIRE(a.apps.size() == b.apps.size());
    for (size_t i = 0; i < a.apps.size(); ++i) {
        CHECK(a.apps[i].name == b.apps[i].name);
        CHECK(a.apps[i].plugin == b.apps[i].plugin);
        CHECK(a.apps[i].mount == b.apps[i].mount);
        CHECK(a.apps[i].settings_json == b.apps[i].settings_json);
    }
    CHECK(a.limits.request_line == b.limits.request_line);
    CHECK(a.limits.header_fields == b.limits.header_fields);
    CHECK(a.limits.header_size == b.limits.header_size);
    CHECK(a.limits.body == b.limits.body);
    CHECK(a.limits.uwsgi_buffer == b.limits.uwsgi_buffer);
    CHECK(a.timeouts.header == b.timeouts.header);
    CHECK(a.timeouts.body == b.timeouts.body);
    CHECK(a.timeouts.keepalive == b.timeouts.keepalive);
    CHECK(a.timeouts.write == b.timeouts.write);
    CHECK(a.timeouts.graceful == b.timeouts.graceful);
    CHECK(a.timeouts.worker == b.timeouts.worker);
    CHECK(a.timeouts.request == b.timeouts.request);
    CHECK(a.log.level == b.log.level);
    CHECK(a.log.access == b.log.access);
    CHECK(a.log.error == b.log.error);
    CHECK(a.log.access_format == b.log.access_format);
    CHECK(a.metrics.listen == b.metrics.listen);
    CHECK(a.database.url == b.database.url);
    CHECK(a.database.enabled == b.database.enabled);
    CHECK(a.database.pool == b.database.pool);
    CHECK(a.database.connect_timeout == b.database.connect_timeout);
    CHECK(a.database.query_timeout == b.database.query_timeout);
    CHECK(a.user == b.user);
    CHECK(a.group == b.group);
    CHECK(a.pidfile == b.pidfile);
    CHECK(a.allow_root == b.allow_root);
    CHECK(a.server_header == b.server_header);
    CHECK(a.max_connections == b.max_connections);
    CHECK(a.max_requests == b.max_requests);
    CHECK(a.max_requests_jitter == b.max_requests_jitter);
    CHECK(a.forwarded_allow_ips == b.forwarded_allow_ips);
    CHECK(a.control_socket == b.control_socket);
    CHECK(a.reload_watch == b.reload_watch);
    CHECK(a.reload_debounce == b.reload_debounce);
}

}  // namespace quiver::test
