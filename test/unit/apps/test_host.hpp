// SPDX-License-Identifier: MIT
// A real qv_host_t for SDK tests: a manual event queue with virtual time that
// runs timer callbacks on later "loop turns", requests that record how they
// were finished, and a database whose queries the test completes by hand.
#pragma once

#include <quiver/plugin.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

// The host's opaque types, as this test host defines them.
struct qv_request {
    std::string method, path, query, mount, body, target, id;
    std::vector<std::pair<std::string, std::string>> in_headers;
    std::vector<qv_header_t> header_table;
    qv_request_info_t info{};

    // How the plugin finished it.
    int finish_calls = 0;
    bool finished = false;
    bool cancelled = false;
    int status = 0;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string out;  // the whole body, or the streamed chunks joined
    std::vector<std::string> chunks;
    bool streamed = false;
    int order = 0;  // finishing order across requests, from 1
    qv_cancel_cb cancel_cb = nullptr;
    void* cancel_arg = nullptr;

    std::string header(std::string_view name) const {
        for (const auto& [n, v] : headers) {
            if (n == name) return v;
        }
        return "<none>";
    }
};

struct qv_timer {
    std::uint64_t due;
    std::uint64_t seq;
    qv_timer_cb cb;
    void* arg;
    bool cancelled = false;
};

struct qv_db_query {
    std::string sql;
    std::vector<std::optional<std::string>> params;  // copied: nullopt is NULL
    qv_db_session_t* session;
    qv_db_cb cb;
    void* arg;
    bool cancel_requested = false;
    int batch = 0;  // which db_batch call sent it (1, 2, ...); 0 = db_query
};

struct qv_db_session {
    int id;
    bool ended = false;
};

namespace test {

// A result the test hands to a query's callback; it owns everything the
// qv_db_result_t points to.
struct DbReply {
    int status = QV_DB_OK;
    std::vector<std::string> columns;
    std::vector<std::optional<std::string>> values;  // row-major
    std::uint64_t affected = 0;
    std::string error, sqlstate;
};

class TestHost {
public:
    TestHost();
    TestHost(const TestHost&) = delete;
    TestHost& operator=(const TestHost&) = delete;

    static TestHost* current() { return current_; }
    const qv_host_t* table() const { return &table_; }
    qv_host_t& mutable_table() { return table_; }

    std::unique_ptr<qv_request> make_request(
        std::string method, std::string path, std::string query = "", std::string mount = "/",
        std::vector<std::pair<std::string, std::string>> headers = {}, std::string body = "",
        int version = 11);

    // Runs the earliest due timer (advancing virtual time); false when none.
    bool run_one();
    // Runs timers until none is left (bounded).
    int run();
    std::size_t pending_timers() const;

    // The host cancels a request: a loop turn that calls its cancel callback.
    void cancel(qv_request* r);

    // Database: queries wait in `queries` until the test completes them.
    void complete(qv_db_query* q, const DbReply& reply);
    void grant_session(std::size_t index, int status = QV_DB_OK);

    std::uint64_t now = 0;
    std::vector<std::string> logs;
    std::vector<std::unique_ptr<qv_db_query>> queries;  // started, not completed
    std::vector<std::unique_ptr<qv_db_query>> done_queries;
    std::vector<std::pair<qv_db_session_cb, void*>> session_waiters;
    std::vector<std::unique_ptr<qv_db_session>> sessions;
    int db_start_rc = QV_OK;  // what db_query / db_batch / db_session_begin return
    int batches = 0;          // db_batch calls accepted
    int timer_start_rc = QV_OK;
    int finished_count = 0;
    int timers_cancelled = 0;
    int queries_cancelled = 0;
    int sessions_ended = 0;

private:
    static void on_log(void* ctx, int level, const char* msg, size_t len);
    static int on_respond(qv_request_t* req, int status, const qv_header_t* headers,
                          size_t header_count, const char* body, size_t body_len);
    static int on_stream_start(qv_request_t* req, int status, const qv_header_t* headers,
                               size_t header_count);
    static int on_stream_write(qv_request_t* req, const char* data, size_t len);
    static int on_stream_end(qv_request_t* req);
    static void on_set_cancel(qv_request_t* req, qv_cancel_cb cb, void* arg);
    static int on_timer_start(void* ctx, uint64_t ms, qv_timer_cb cb, void* arg,
                              qv_timer_t** out);
    static void on_timer_cancel(qv_timer_t* t);
    static uint64_t on_now(void* ctx);
    static int on_db_query(void* ctx, qv_db_session_t* session, const char* sql, size_t sql_len,
                           const qv_str_t* params, size_t n, qv_db_cb cb, void* arg,
                           qv_db_query_t** out);
    static int on_db_batch(void* ctx, const qv_db_stmt_t* stmts, size_t n, qv_db_cb cb,
                           void* const* args, qv_db_query_t** outs);
    static void on_db_cancel(qv_db_query_t* q);
    static int on_session_begin(void* ctx, qv_db_session_cb cb, void* arg);
    static void on_session_end(qv_db_session_t* s);

    static TestHost* self(void* ctx) { return static_cast<TestHost*>(ctx); }
    int finish(qv_request* r);

    qv_host_t table_{};
    std::vector<std::unique_ptr<qv_timer>> timers_;
    std::uint64_t seq_ = 0;
    static TestHost* current_;  // for callbacks that get no ctx (respond, ...)
};

}  // namespace test
