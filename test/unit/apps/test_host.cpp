// SPDX-License-Identifier: MIT
// The test host's services (see test_host.hpp): each follows plugin.h's rules,
// notably "a callback never runs inside the call that registered it".
#include "test_host.hpp"

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace test {

TestHost* TestHost::current_ = nullptr;

TestHost::TestHost() {
    current_ = this;
    table_.abi_version = QV_ABI_VERSION;
    table_.struct_size = sizeof(qv_host_t);
    table_.ctx = this;
    table_.log = &on_log;
    table_.respond = &on_respond;
    table_.stream_start = &on_stream_start;
    table_.stream_write = &on_stream_write;
    table_.stream_end = &on_stream_end;
    table_.on_cancel = &on_set_cancel;
    table_.timer_start = &on_timer_start;
    table_.timer_cancel = &on_timer_cancel;
    table_.now_ms = &on_now;
    table_.db_query = &on_db_query;
    table_.db_cancel = &on_db_cancel;
    table_.db_batch = &on_db_batch;
    table_.db_session_begin = &on_session_begin;
    table_.db_session_end = &on_session_end;
    table_.worker_id = 3;
    table_.generation = 7;
}

std::unique_ptr<qv_request> TestHost::make_request(
    std::string method, std::string path, std::string query, std::string mount,
    std::vector<std::pair<std::string, std::string>> headers, std::string body, int version) {
    auto r = std::make_unique<qv_request>();
    r->method = std::move(method);
    r->path = std::move(path);
    r->query = std::move(query);
    r->mount = std::move(mount);
    r->body = std::move(body);
    r->target = r->query.empty() ? r->path : r->path + "?" + r->query;
    r->id = "req-" + std::to_string(++seq_);
    r->in_headers = std::move(headers);
    for (const auto& [n, v] : r->in_headers) {
        r->header_table.push_back({{n.data(), n.size()}, {v.data(), v.size()}});
    }
    const auto s = [](const std::string& x) { return qv_str_t{x.data(), x.size()}; };
    qv_request_info_t& i = r->info;
    i.struct_size = sizeof(qv_request_info_t);
    i.http_version = static_cast<uint32_t>(version);
    i.method = s(r->method);
    i.target = s(r->target);
    i.path = s(r->path);
    i.query = s(r->query);
    i.mount = s(r->mount);
    i.headers = r->header_table.data();
    i.header_count = r->header_table.size();
    i.body = s(r->body);
    i.remote_addr = qv_str_t{"127.0.0.1", 9};
    i.scheme = qv_str_t{"http", 4};
    i.request_id = s(r->id);
    return r;
}

bool TestHost::run_one() {
    auto it = std::min_element(timers_.begin(), timers_.end(), [](const auto& a, const auto& b) {
        return a->due != b->due ? a->due < b->due : a->seq < b->seq;
    });
    if (it == timers_.end()) return false;
    std::unique_ptr<qv_timer> t = std::move(*it);
    timers_.erase(it);
    now = std::max(now, t->due);
    t->cb(t->arg);
    return true;
}

int TestHost::run() {
    int n = 0;
    while (run_one()) {
        if (++n > 100000) throw std::runtime_error("test loop does not settle");
    }
    return n;
}

std::size_t TestHost::pending_timers() const { return timers_.size(); }

void TestHost::cancel(qv_request* r) {
    r->cancelled = true;
    const qv_cancel_cb cb = std::exchange(r->cancel_cb, nullptr);
    if (cb != nullptr && !r->finished) cb(r->cancel_arg);
}

void TestHost::complete(qv_db_query* q, const DbReply& given) {
    auto it = std::find_if(queries.begin(), queries.end(),
                           [&](const auto& p) { return p.get() == q; });
    if (it == queries.end()) throw std::logic_error("complete: unknown query");
    std::unique_ptr<qv_db_query> owned = std::move(*it);
    queries.erase(it);
    DbReply reply = given;  // what the plugin sees lives only during the callback
    std::vector<qv_str_t> cols, vals;
    for (const std::string& c : reply.columns) cols.push_back({c.data(), c.size()});
    for (const auto& v : reply.values) {
        vals.push_back(v ? qv_str_t{v->data(), v->size()} : qv_str_t{nullptr, 0});
    }
    qv_db_result_t res{};
    res.status = reply.status;
    res.ncols = static_cast<int>(cols.size());
    res.nrows = cols.empty() ? 0 : static_cast<int>(vals.size() / cols.size());
    res.columns = cols.data();
    res.values = vals.data();
    res.affected = reply.affected;
    res.error = {reply.error.data(), reply.error.size()};
    res.sqlstate = {reply.sqlstate.data(), reply.sqlstate.size()};
    owned->cb(owned->arg, &res);
    // Poison the bytes: a plugin that kept views instead of copying reads garbage.
    for (std::string& c : reply.columns) c.assign(c.size(), 'X');
    for (auto& v : reply.values) {
        if (v) v->assign(v->size(), 'X');
    }
    reply.error.assign(reply.error.size(), 'X');
    done_queries.push_back(std::move(owned));
}

void TestHost::grant_session(std::size_t index, int status) {
    const auto [cb, arg] = session_waiters.at(index);
    session_waiters.erase(session_waiters.begin() + static_cast<std::ptrdiff_t>(index));
    if (status != QV_DB_OK) {
        cb(arg, nullptr, status);
        return;
    }
    sessions.push_back(std::make_unique<qv_db_session>());
    sessions.back()->id = static_cast<int>(sessions.size());
    cb(arg, sessions.back().get(), QV_DB_OK);
}

void TestHost::on_log(void* ctx, int level, const char* msg, size_t len) {
    self(ctx)->logs.push_back(std::to_string(level) + " " + std::string(msg, len));
}

int TestHost::finish(qv_request* r) {
    ++r->finish_calls;
    if (r->finished) return QV_EALREADY;
    r->finished = true;
    r->order = ++finished_count;
    r->cancel_cb = nullptr;
    return r->cancelled ? QV_ECANCELED : QV_OK;
}

namespace {
bool header_ok(const qv_header_t& h) {
    const std::string_view n(h.name.ptr, h.name.len), v(h.value.ptr, h.value.len);
    if (n.empty() || v.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos) {
        return false;
    }
    if (n.find_first_of(" :\t\r\n\"(),/;<=>?@[\\]{}") != std::string_view::npos) return false;
    // The host owns message framing (plugin.h, respond).
    const auto lower = [](std::string_view x) {
        std::string l(x);
        for (char& c : l) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        return l;
    };
    return lower(n) != "content-length" && lower(n) != "transfer-encoding";
}
}  // namespace

int TestHost::on_respond(qv_request_t* r, int status, const qv_header_t* headers, size_t n,
                         const char* body, size_t body_len) {
    for (size_t i = 0; i < n; ++i) {
        if (!header_ok(headers[i])) {
            current_->finish(r);
            r->status = 500;
            return QV_EINVAL;
        }
    }
    const int rc = current_->finish(r);
    if (rc == QV_EALREADY) return rc;
    r->status = status;
    for (size_t i = 0; i < n; ++i) {
        r->headers.emplace_back(std::string(headers[i].name.ptr, headers[i].name.len),
                                std::string(headers[i].value.ptr, headers[i].value.len));
    }
    r->out.assign(body == nullptr ? "" : std::string(body, body_len));
    return rc;
}

int TestHost::on_stream_start(qv_request_t* r, int status, const qv_header_t* headers,
                              size_t n) {
    if (r->finished || r->streamed) return QV_EALREADY;
    if (r->cancelled) return QV_ECANCELED;
    r->streamed = true;
    r->status = status;
    for (size_t i = 0; i < n; ++i) {
        r->headers.emplace_back(std::string(headers[i].name.ptr, headers[i].name.len),
                                std::string(headers[i].value.ptr, headers[i].value.len));
    }
    return QV_OK;
}

int TestHost::on_stream_write(qv_request_t* r, const char* data, size_t len) {
    if (r->finished || !r->streamed) return QV_EALREADY;
    if (r->cancelled) return QV_ECANCELED;
    r->chunks.emplace_back(data, len);
    r->out.append(data, len);
    return QV_OK;
}

int TestHost::on_stream_end(qv_request_t* r) {
    if (!r->streamed) return QV_EINVAL;
    return current_->finish(r);
}

void TestHost::on_set_cancel(qv_request_t* r, qv_cancel_cb cb, void* arg) {
    r->cancel_cb = cb;
    r->cancel_arg = arg;
}

int TestHost::on_timer_start(void* ctx, uint64_t ms, qv_timer_cb cb, void* arg,
                             qv_timer_t** out) {
    TestHost* h = self(ctx);
    if (h->timer_start_rc != QV_OK) return h->timer_start_rc;
    auto t = std::make_unique<qv_timer>(qv_timer{h->now + ms, ++h->seq_, cb, arg});
    if (out != nullptr) *out = t.get();
    h->timers_.push_back(std::move(t));
    return QV_OK;
}

void TestHost::on_timer_cancel(qv_timer_t* t) {
    TestHost* h = current_;
    auto it = std::find_if(h->timers_.begin(), h->timers_.end(),
                           [&](const auto& p) { return p.get() == t; });
    if (it == h->timers_.end()) throw std::logic_error("timer_cancel: not a pending timer");
    h->timers_.erase(it);
    ++h->timers_cancelled;
}

uint64_t TestHost::on_now(void* ctx) { return self(ctx)->now; }

int TestHost::on_db_query(void* ctx, qv_db_session_t* session, const char* sql, size_t sql_len,
                          const qv_str_t* params, size_t n, qv_db_cb cb, void* arg,
                          qv_db_query_t** out) {
    TestHost* h = self(ctx);
    if (h->db_start_rc != QV_OK) return h->db_start_rc;
    auto q = std::make_unique<qv_db_query>();
    q->sql.assign(sql, sql_len);
    for (size_t i = 0; i < n; ++i) {
        q->params.push_back(params[i].ptr == nullptr
                                ? std::nullopt
                                : std::optional<std::string>(std::string(params[i].ptr,
                                                                         params[i].len)));
    }
    q->session = session;
    q->cb = cb;
    q->arg = arg;
    if (out != nullptr) *out = q.get();
    h->queries.push_back(std::move(q));
    return QV_OK;
}

// Each statement becomes a pending query, as db_query's; `batch` tells them apart.
int TestHost::on_db_batch(void* ctx, const qv_db_stmt_t* stmts, size_t n, qv_db_cb cb,
                          void* const* args, qv_db_query_t** outs) {
    TestHost* h = self(ctx);
    if (h->db_start_rc != QV_OK) return h->db_start_rc;
    if (n == 0 || n > QV_DB_BATCH_MAX) return QV_EINVAL;
    ++h->batches;
    for (size_t i = 0; i < n; ++i) {
        qv_db_query_t* out = nullptr;
        on_db_query(ctx, nullptr, stmts[i].sql, stmts[i].sql_len, stmts[i].params,
                    stmts[i].param_count, cb, args[i], &out);
        out->batch = h->batches;
        if (outs != nullptr) outs[i] = out;
    }
    return QV_OK;
}

namespace {
void run_cancelled_query(void* arg) {
    auto* q = static_cast<qv_db_query*>(arg);
    DbReply r;
    r.status = QV_DB_CANCELED;
    r.error = "canceling statement due to user request";
    TestHost::current()->complete(q, r);
}
}  // namespace

void TestHost::on_db_cancel(qv_db_query_t* q) {
    TestHost* h = current_;
    if (q->cancel_requested) return;
    q->cancel_requested = true;
    ++h->queries_cancelled;
    // The callback runs with QV_DB_CANCELED on a later loop turn.
    h->timers_.push_back(std::make_unique<qv_timer>(
        qv_timer{h->now, ++h->seq_, &run_cancelled_query, q}));
}

int TestHost::on_session_begin(void* ctx, qv_db_session_cb cb, void* arg) {
    TestHost* h = self(ctx);
    if (h->db_start_rc != QV_OK) return h->db_start_rc;
    h->session_waiters.emplace_back(cb, arg);
    return QV_OK;
}

void TestHost::on_session_end(qv_db_session_t* s) {
    if (s->ended) throw std::logic_error("db_session_end: twice");
    s->ended = true;
    ++current_->sessions_ended;
}

}  // namespace test
