// SPDX-License-Identifier: MIT
// Support for the pg pool tests: the PostgreSQL cluster under test (from
// QUIVER_TEST_PG_URL, or a private one started with packaging/pg-dev), a loop
// driver with time bounds, and result capture.
#pragma once

#include <uv.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "workers/pg/pool.hpp"

namespace pgtest {

using quiver::DatabaseSettings;
using quiver::worker::pg::Pool;
using quiver::worker::pg::Query;
using quiver::worker::pg::ResultView;
using quiver::worker::pg::Session;

inline uint64_t now_ms() { return uv_hrtime() / 1000000; }

// The cluster under test. Started on first use, stopped at exit if we own it.
class Cluster {
public:
    static Cluster& get() {
        static Cluster c;
        return c;
    }
    const std::string& url() const { return url_; }
    bool owned() const { return owned_; }
    std::string pgdev() const { return std::string(QUIVER_SOURCE_ROOT) + "/packaging/pg-dev"; }

private:
    Cluster() {
        if (const char* u = std::getenv("QUIVER_TEST_PG_URL"); u != nullptr && *u != '\0') {
            url_ = u;
            return;
        }
        // A port and directory of its own, so a developer's cluster is never touched.
        setenv("PGDEV_PORT", "55433", 1);
        setenv("PGDEV_DIR", "/tmp/quiver-pgtest-55433", 1);
        owned_ = true;
        std::string cmd = "timeout 180 " + pgdev() + " start";
        FILE* f = popen(cmd.c_str(), "r");
        if (f == nullptr) return;
        char line[512];
        while (std::fgets(line, sizeof line, f) != nullptr) {
            url_ = line;
            while (!url_.empty() && (url_.back() == '\n' || url_.back() == '\r')) url_.pop_back();
        }
        if (pclose(f) != 0) url_.clear();
    }
    ~Cluster() {
        if (owned_) {
            std::string cmd = "timeout 120 " + pgdev() + " stop";
            if (std::system(cmd.c_str()) != 0) std::fprintf(stderr, "pg-dev stop failed\n");
        }
    }
    std::string url_;
    bool owned_ = false;
};

// One test's loop. run_until() bounds every wait.
class Loop {
public:
    Loop() { uv_loop_init(&loop_); }
    uv_loop_t* get() { return &loop_; }

    // Runs the loop until pred() holds or timeout_ms passes; returns pred().
    bool run_until(const std::function<bool()>& pred, uint64_t timeout_ms) {
        uv_timer_t tick;
        uv_timer_init(&loop_, &tick);
        uv_timer_start(&tick, [](uv_timer_t*) {}, 5, 5);  // wakes the loop to re-check
        const uint64_t end = now_ms() + timeout_ms;
        while (!pred() && now_ms() < end) uv_run(&loop_, UV_RUN_ONCE);
        uv_close(reinterpret_cast<uv_handle_t*>(&tick), nullptr);
        uv_run(&loop_, UV_RUN_NOWAIT);  // finish the close
        return pred();
    }
    void sleep(uint64_t ms) { run_until([] { return false; }, ms); }

    // Runs what is left and closes the loop: 0 when every handle was closed.
    int close() {
        uv_run(&loop_, UV_RUN_NOWAIT);
        return uv_loop_close(&loop_);
    }

private:
    uv_loop_t loop_;
};

// One captured result.
struct Res {
    int calls = 0;
    int status = -1;
    std::string error;
    std::string sqlstate;
    std::vector<std::vector<std::optional<std::string>>> rows;
    uint64_t at_ms = 0;

    bool done() const { return calls > 0; }
    std::optional<std::string> value(int row = 0, int col = 0) const {
        if (row >= static_cast<int>(rows.size())) return std::nullopt;
        if (col >= static_cast<int>(rows[row].size())) return std::nullopt;
        return rows[row][col];
    }
    std::string text(int row = 0, int col = 0) const { return value(row, col).value_or("<null>"); }

    static void on_result(void* arg, const ResultView& r) {
        auto* self = static_cast<Res*>(arg);
        ++self->calls;
        self->status = r.status;
        self->error = std::string(r.error);
        self->sqlstate = std::string(r.sqlstate);
        self->at_ms = now_ms();
        self->rows.clear();
        if (r.status == quiver::worker::pg::kStatusOk && r.res != nullptr) {
            for (int i = 0; i < PQntuples(r.res); ++i) {
                auto& row = self->rows.emplace_back();
                for (int j = 0; j < PQnfields(r.res); ++j) {
                    if (PQgetisnull(r.res, i, j)) {
                        row.emplace_back(std::nullopt);
                    } else {
                        const auto len = static_cast<size_t>(PQgetlength(r.res, i, j));
                        row.emplace_back(std::string(PQgetvalue(r.res, i, j), len));
                    }
                }
            }
        }
    }
};

// Issues one query with optional text parameters (nullopt = SQL NULL).
inline Query* run(Pool& pool, Res& out, std::string_view sql,
                  const std::vector<std::optional<std::string>>& params = {},
                  Session* s = nullptr) {
    std::vector<std::string_view> views;
    std::unique_ptr<bool[]> nulls(new bool[params.size() + 1]);  // vector<bool> has no data()
    for (size_t i = 0; i < params.size(); ++i) {
        views.emplace_back(params[i] ? std::string_view(*params[i]) : std::string_view());
        nulls[i] = !params[i].has_value();
    }
    return pool.query(s, sql, views.data(), nulls.get(), params.size(), Res::on_result, &out);
}

inline DatabaseSettings settings(int pool_size, uint64_t query_timeout = 10000,
                                 uint64_t connect_timeout = 5000) {
    DatabaseSettings s;
    s.url = Cluster::get().url();
    s.enabled = true;
    s.pool = pool_size;
    s.query_timeout = query_timeout;
    s.connect_timeout = connect_timeout;
    return s;
}

// Quiet logger: warnings and errors to stderr, the rest dropped.
inline void quiet_log(void*, quiver::worker::pg::LogLevel level, std::string_view msg) {
    if (level <= quiver::worker::pg::LogLevel::kWarning) {
        std::fprintf(stderr, "  [pg] %.*s\n", static_cast<int>(msg.size()), msg.data());
    }
}

// Closes the pool and checks the loop closes clean.
inline bool close_pool(Loop& loop, Pool& pool, uint64_t timeout_ms = 10000) {
    bool done = false;
    pool.close([](void* a) { *static_cast<bool*>(a) = true; }, &done);
    return loop.run_until([&] { return done; }, timeout_ms);
}

}  // namespace pgtest
