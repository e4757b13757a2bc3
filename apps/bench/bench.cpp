// SPDX-License-Identifier: MIT
// bench: the TechEmpower Framework Benchmarks test types (json, plaintext, db,
// queries, fortunes, updates, cached-queries) and the 2015 asyncio benchmark's
// /agents, by their published rules. The logic lives in the files beside this
// one; here are the routes, the database round trips and the responses.
#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <quiver/app.hpp>
#include <string>
#include <string_view>

#include "agents.hpp"
#include "db_batch.hpp"
#include "db_sinks.hpp"
#include "fortunes.hpp"
#include "query_count.hpp"
#include "rng.hpp"
#include "world.hpp"
#include "world_cache.hpp"

namespace {

using quiver::Request;
using quiver::Response;
using quiver::Task;
using namespace bench;

constexpr std::string_view kPlain = "Hello, World!";
constexpr std::string_view kTypeJson = "application/json";
constexpr std::string_view kTypeText = "text/plain";
constexpr std::string_view kTypeHtml = "text/html; charset=utf-8";
constexpr std::string_view kTypeError = "text/plain; charset=utf-8";
constexpr std::string_view kBody503 = "Service Unavailable: database unavailable\n";
constexpr std::string_view kBody500 = "Internal Server Error\n";

// A deadlock or serialization failure: the UPDATE is retried.
constexpr int kUpdateAttempts = 3;
bool retryable(std::string_view sqlstate) noexcept {
    return sqlstate == "40P01" || sqlstate == "40001";
}

// Unavailability is logged at most this often per worker (with a count).
constexpr std::uint64_t kUnavailableLogMs = 10'000;

constexpr std::array<std::string_view, 2> kSettingKeys = {"cache_capacity", "batch"};

void check_setting_keys(const quiver::Settings& s) {
    simdjson::dom::object obj;
    if (!s.empty() && s.root().get_object().get(obj) == simdjson::SUCCESS) {
        for (const simdjson::dom::key_value_pair field : obj) {
            if (std::find(kSettingKeys.begin(), kSettingKeys.end(), field.key) ==
                kSettingKeys.end()) {
                throw quiver::ConfigError("settings: unknown key '" + std::string(field.key) +
                                          "' (known: cache_capacity, batch)");
            }
        }
    }
}

std::size_t cache_capacity(const quiver::Settings& s) {
    check_setting_keys(s);
    return static_cast<std::size_t>(s.get_int("cache_capacity", 10000, 1, 10'000'000));
}

// `batch` (default true): the World reads of /queries and /updates go out as
// one db_batch, the same shape as pgbench's pipeline ceiling (\startpipeline,
// N SELECTs, \endpipeline): one Sync, so the backend commits and flushes once
// per request instead of once per read. They are still N separate SELECT
// statements, each with its own Bind/Execute (TechEmpower's rule against
// consolidating them with IN is kept; pg_stat_statements still counts N
// calls). `batch: false` gives every read its own Sync (db_query) again.
bool use_db_batch(const quiver::Settings& s) { return s.get_bool("batch", true); }

// Bodies are rendered into Bench::out_ and borrowed by the Response
// (body_view). That is safe because a handler renders after its last
// co_await and returns at once, and the SDK hands the response to the host,
// which copies it, before anything else runs on this loop.
class Bench {
public:
    explicit Bench(quiver::AppContext& ctx)
        : host_(ctx.host),
          rng_(Rng::entropy_seed()),
          batches_(ctx.host.raw(), 256, use_db_batch(ctx.settings)),
          cache_(cache_capacity(ctx.settings)) {
        out_.reserve(64 * 1024);
        ctx.router.get("/plaintext", &Bench::plaintext);
        ctx.router.get("/json", &Bench::json);
        ctx.router.get("/db", &Bench::db);
        ctx.router.get("/queries", &Bench::queries);
        ctx.router.get("/fortunes", &Bench::fortunes);
        ctx.router.get("/updates", &Bench::updates);
        ctx.router.get("/cached-queries", &Bench::cached_queries);
        ctx.router.get("/cached-worlds", &Bench::cached_queries);  // TechEmpower's older name
        ctx.router.get("/agents", &Bench::agents);
    }

    Response plaintext(Request&) const { return body(kTypeText, kPlain); }

    Response json(Request&) {
        out_.clear();
        quiver::json::Writer(out_).begin_object().member("message", kPlain).end_object();
        return body(kTypeJson, out_);
    }

    Task<Response> db(Request& req) {
        auto b = batches_.acquire();
        b->worlds.resize(1);
        b->start(1, &sink_world);
        send_world(*b, 0, rng_.between(1, kWorldRows));
        co_await b->wait();
        if (!b->ok()) co_return failure(req, *b);
        out_.clear();
        append_world(out_, b->worlds[0]);
        co_return body(kTypeJson, out_);
    }

    Task<Response> queries(Request& req) {
        const auto n = static_cast<std::size_t>(query_count(req.query(), "queries"));
        auto b = batches_.acquire();
        b->worlds.resize(n);
        b->start(n, &sink_world);
        for (std::size_t i = 0; i < n; ++i) queue_world(*b, i, rng_.between(1, kWorldRows));
        b->submit();
        co_await b->wait();
        if (!b->ok()) co_return failure(req, *b);
        co_return worlds_body(b->worlds);
    }

    Task<Response> fortunes(Request& req) {
        auto b = batches_.acquire();
        b->start(1, &sink_fortunes);
        b->send(0, kFortunesSql, nullptr, 0);
        co_await b->wait();
        if (!b->ok()) co_return failure(req, *b);
        add_and_sort(b->fortunes);
        out_.clear();
        page_.render(out_, b->fortunes);
        co_return body(kTypeHtml, out_);
    }

    Task<Response> updates(Request& req) {
        const auto n = static_cast<std::size_t>(query_count(req.query(), "queries"));
        auto b = batches_.acquire();
        b->ids.resize(n);
        draw_distinct_ids(rng_, b->ids);
        b->worlds.resize(n);
        b->start(n, &sink_world);
        for (std::size_t i = 0; i < n; ++i) queue_world(*b, i, b->ids[i]);
        b->submit();
        co_await b->wait();
        if (!b->ok()) co_return failure(req, *b);

        for (World& w : b->worlds) w.random_number = draw_new_number(rng_, w.random_number);
        b->param_a.clear();
        b->param_b.clear();
        append_update_arrays(b->param_a, b->param_b, b->worlds);
        for (int attempt = 1;; ++attempt) {
            const qv_str_t params[2] = {{b->param_a.data(), b->param_a.size()},
                                        {b->param_b.data(), b->param_b.size()}};
            b->start(1, &sink_command);
            b->send(0, kUpdateSql, params, 2);
            co_await b->wait();
            if (b->ok() || attempt == kUpdateAttempts || !retryable(b->sqlstate())) break;
        }
        if (!b->ok()) co_return failure(req, *b);
        co_return worlds_body(b->worlds);
    }

    Task<Response> cached_queries(Request& req) {
        const auto n = static_cast<std::size_t>(query_count(req.query(), "count", "queries"));
        auto b = batches_.acquire();
        b->worlds.resize(n);
        b->ids.clear();  // positions of the misses in b->worlds
        for (std::size_t i = 0; i < n; ++i) {
            const std::int32_t id = rng_.between(1, kWorldRows);
            const auto hit = cache_.get(id);
            b->worlds[i] = World{id, hit.value_or(0)};
            if (!hit) b->ids.push_back(static_cast<std::int32_t>(i));
        }
        if (!b->ids.empty()) {
            // One query for every missing row, then fill the cache.
            b->fetched.clear();
            for (const std::int32_t pos : b->ids) b->fetched.push_back(b->worlds[pos]);
            std::sort(b->fetched.begin(), b->fetched.end(),
                      [](World x, World y) { return x.id < y.id; });
            b->fetched.erase(std::unique(b->fetched.begin(), b->fetched.end(),
                                         [](World x, World y) { return x.id == y.id; }),
                             b->fetched.end());
            b->param_a.clear();
            append_id_array(b->param_a, b->fetched);
            b->fetched.clear();
            const qv_str_t param{b->param_a.data(), b->param_a.size()};
            b->start(1, &sink_worlds);
            b->send(0, kWorldsByIdsSql, &param, 1);
            co_await b->wait();
            if (!b->ok()) co_return failure(req, *b);
            std::sort(b->fetched.begin(), b->fetched.end(),
                      [](World x, World y) { return x.id < y.id; });
            for (const World& w : b->fetched) cache_.put(w.id, w.random_number);
            for (const std::int32_t pos : b->ids) {
                World& w = b->worlds[pos];
                const auto it =
                    std::lower_bound(b->fetched.begin(), b->fetched.end(), w.id,
                                     [](World x, std::int32_t id) { return x.id < id; });
                if (it == b->fetched.end() || it->id != w.id) {
                    co_return error(req, "cached-queries: no world row with a drawn id");
                }
                w.random_number = it->random_number;
            }
        }
        co_return worlds_body(b->worlds);
    }

    Task<Response> agents(Request& req) {
        auto b = batches_.acquire();
        b->start(1, &sink_agents);
        b->send(0, kAgentsSql, nullptr, 0);
        co_await b->wait();
        if (!b->ok()) co_return failure(req, *b);
        out_.swap(b->text);  // rendered by the sink; both buffers keep their capacity
        co_return body(kTypeJson, out_);
    }

private:
    static Response body(std::string_view type, std::string_view bytes) noexcept {
        Response r(200);
        r.header_view("Content-Type", type).body_view(bytes);
        return r;
    }

    Response worlds_body(const std::vector<World>& rows) {
        out_.clear();
        append_worlds(out_, rows);
        return body(kTypeJson, out_);
    }

    static void send_world(DbBatch& b, std::size_t index, std::int32_t id) noexcept {
        char buf[12];
        const auto end = std::to_chars(buf, buf + sizeof buf, id).ptr;
        const qv_str_t param{buf, static_cast<std::size_t>(end - buf)};
        b.send(index, kWorldSql, &param, 1);
    }

    static void queue_world(DbBatch& b, std::size_t index, std::int32_t id) noexcept {
        char buf[12];
        const auto end = std::to_chars(buf, buf + sizeof buf, id).ptr;
        const qv_str_t param{buf, static_cast<std::size_t>(end - buf)};
        b.queue(index, kWorldSql, &param, 1);
    }

    Response failure(Request& req, const DbBatch& b) {
        if (b.outcome() == DbOutcome::kUnavailable) {
            note_unavailable(b.error());
            Response r(503);
            r.header_view("Content-Type", kTypeError).body_view(kBody503);
            return r;
        }
        std::string why = "database error: ";
        why.append(b.error());
        if (!b.sqlstate().empty()) why.append(" (SQLSTATE ").append(b.sqlstate()).append(")");
        return error(req, why);
    }

    // 500 and one log line naming the request.
    Response error(Request& req, std::string_view why) {
        std::string line = "request ";
        line.append(req.request_id()).append(": ").append(req.method()).append(" ");
        line.append(req.path()).append(": ").append(why);
        host_.error(line);
        Response r(500);
        r.header_view("Content-Type", kTypeError).body_view(kBody500);
        return r;
    }

    void note_unavailable(std::string_view why) {
        ++unavailable_;
        const std::uint64_t now = host_.now_ms();
        if (logged_unavailable_ && now - last_unavailable_log_ < kUnavailableLogMs) return;
        std::string line = "database unavailable (";
        line.append(why).append("): answering 503; ");
        line.append(std::to_string(unavailable_)).append(" such response(s) since the last report");
        host_.warning(line);
        logged_unavailable_ = true;
        last_unavailable_log_ = now;
        unavailable_ = 0;
    }

    quiver::Host host_;
    Rng rng_;
    DbBatchPool batches_;
    WorldCache cache_;
    FortunesPage page_;
    std::string out_;
    std::uint64_t unavailable_ = 0;
    std::uint64_t last_unavailable_log_ = 0;
    bool logged_unavailable_ = false;
};

}  // namespace

QUIVER_PLUGIN(Bench, "bench", "1.0.0")
