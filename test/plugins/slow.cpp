// SPDX-License-Identifier: MIT
// Test plugin "slow": answers after a host timer (GET /slow?ms=N), at once
// (GET /fast), or as a stream of three chunks 10 ms apart (GET /stream);
// GET /spin never returns (a stuck loop, for the worker heartbeat), GET
// /pgsleep?s=N runs `SELECT pg_sleep(N)` (for request deadlines), and GET
// /crash dereferences NULL (a plugin that segfaults on one path).
#include <quiver/app.hpp>

#include <charconv>
#include <chrono>
#include <string>

namespace {

class Slow {
public:
    explicit Slow(quiver::AppContext& ctx) : ctx_(ctx) {
        ctx.router.get("/slow", &Slow::slow);
        ctx.router.get("/fast", &Slow::fast);
        ctx.router.get("/stream", &Slow::stream);
        ctx.router.get("/spin", &Slow::spin);
        ctx.router.get("/pgsleep", &Slow::pgsleep);
        ctx.router.get("/crash", &Slow::crash);
    }

    quiver::Response spin(quiver::Request&) {
        for (volatile unsigned long i = 0;; i = i + 1) {
        }
    }

    quiver::Response crash(quiver::Request&) {
        volatile int* p = nullptr;
        *p = 1;
        return quiver::Response::text("unreachable");
    }

    quiver::Task<quiver::Response> pgsleep(quiver::Request& req) {
        const std::string s = req.query_param("s").value_or("1");
        auto r = co_await ctx_.db.query("SELECT pg_sleep($1::float8)", s);
        if (!r.ok()) co_return quiver::Response::text("db: " + std::string(r.error()) + "\n", 503);
        co_return quiver::Response::text("slept " + s);
    }

    quiver::Task<quiver::Response> slow(quiver::Request& req) {
        const std::string ms_text = req.query_param("ms").value_or("0");
        long ms = 0;
        const auto r = std::from_chars(ms_text.data(), ms_text.data() + ms_text.size(), ms);
        if (r.ec != std::errc() || r.ptr != ms_text.data() + ms_text.size() || ms < 0 ||
            ms > 600000) {
            co_return quiver::Response::text("ms: must be an integer in 0..600000\n", 400);
        }
        const int rc = co_await quiver::sleep(ctx_, std::chrono::milliseconds(ms));
        if (rc != QV_OK) co_return quiver::Response::text("timer refused\n", 500);
        co_return quiver::Response::text("slow " + std::to_string(ms));
    }

    quiver::Response fast(quiver::Request&) { return quiver::Response::text("fast"); }

    quiver::Task<void> stream(quiver::Request& req) {
        quiver::Stream s = req.stream(200, {{"Content-Type", "text/plain; charset=utf-8"}});
        if (!s.ok()) co_return;  // the SDK answers 500
        for (int i = 1; i <= 3; ++i) {
            if (i > 1) co_await quiver::sleep(ctx_, std::chrono::milliseconds(10));
            const std::string chunk = "chunk " + std::to_string(i) + "\n";
            s.write(chunk);
        }
        s.end();
    }

private:
    quiver::AppContext& ctx_;
};

}  // namespace

QUIVER_PLUGIN(Slow, "slow", "1.0.0")
