// SPDX-License-Identifier: MIT
// Plugin loading (private memfd copy + dlopen), ABI checks, and the
// services table (respond, streaming, cancel, timers, log, clock).
#include "workers/plugin/host.hpp"

#include <dlfcn.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>

#include <quiver/plugin.h>

#include "server/common/log.hpp"
#include "workers/net/connection.hpp"
#include "workers/pg/pool.hpp"
#include "workers/worker.hpp"

// The opaque handles of plugin.h are our own objects seen through a cast.
struct qv_timer {
    uv_timer_t handle;
    qv_timer_cb cb;
    void* arg;
};

namespace quiver::worker {

// ABI 1's qv_host_t ended with `void* reserved[8]`: the entries that took
// slots from it must leave its size, and the host's own pointer, where they were.
static_assert(sizeof(qv_host_t) == offsetof(qv_host_t, host_private) + 8 * sizeof(void*));
static_assert(offsetof(qv_host_t, db_batch) == offsetof(qv_host_t, host_private) + sizeof(void*));

int finish_detached(Exchange* ex);

namespace {

Exchange* exchange_of(qv_request_t* r) { return reinterpret_cast<Exchange*>(r); }
qv_request_t* request_of(Exchange* ex) { return reinterpret_cast<qv_request_t*>(ex); }
App* app_of(void* ctx) { return static_cast<App*>(ctx); }

qv_str_t qs(std::string_view s) { return qv_str_t{s.data(), s.size()}; }

// Converts and checks the app's headers. Returns the first problem or nullptr.
const char* convert_headers(const qv_header_t* in, size_t n, std::vector<OutHeader>& out) {
    out.clear();
    out.reserve(n);
    for (size_t i = 0; i < n; ++i) {
        std::string_view name(in[i].name.ptr ? in[i].name.ptr : "", in[i].name.len);
        std::string_view value(in[i].value.ptr ? in[i].value.ptr : "", in[i].value.len);
        if (const char* why = check_header(name, value)) return why;
        out.push_back(OutHeader{name, value});
    }
    return nullptr;
}

thread_local std::vector<OutHeader> t_headers;

void refuse(Exchange* ex, const char* why) {
    log::error("app ", ex->app ? ex->app->name : std::string("?"), ": response to ",
               ex->req.method_v(), " ", ex->req.path_v(), " refused: ", why);
    ex->conn->respond_error(ex, 500);
}

// ---- services table ---------------------------------------------------------

void svc_log(void* ctx, int level, const char* msg, size_t len) {
    App* app = app_of(ctx);
    log::Level l = level <= QV_LOG_ERROR ? log::Level::kError
                   : level == QV_LOG_WARNING ? log::Level::kWarning
                   : level >= QV_LOG_DEBUG ? log::Level::kDebug
                                           : log::Level::kInfo;
    if (!log::enabled(l)) return;
    std::string s = "app ";
    s += app->name;
    s += ": ";
    s.append(msg ? msg : "", msg ? len : 0);
    log::write(l, s);
}

// The app gives a request back. Returns QV_OK when the connection still
// waits for this response; otherwise the exchange was answered already (504)
// or its client is gone, and the app's response is dropped.
int release_from_app(Exchange* ex) {
    if (!ex->held) return QV_EALREADY;
    ex->held = false;
    Worker* w = reinterpret_cast<Worker*>(ex->app->host.host_private);
    w->deadline_remove(ex);
    if (ex->conn == nullptr) return finish_detached(ex);
    if (ex->state == Exchange::State::kDone) return QV_ECANCELED;  // 504 sent; the queue frees it
    return QV_OK;
}

bool gone(const Exchange* ex) { return ex->conn == nullptr || ex->state == Exchange::State::kDone; }

int svc_respond(qv_request_t* r, int status, const qv_header_t* headers, size_t n,
                const char* body, size_t body_len) {
    Exchange* ex = exchange_of(r);
    if (ex->held && ex->state == Exchange::State::kStreaming) return QV_EINVAL;  // use stream_end
    if (int rc = release_from_app(ex); rc != QV_OK) return rc;
    if (status < 200 || status > 599) {
        refuse(ex, "status outside 200..599");
        return QV_EINVAL;
    }
    if (const char* why = convert_headers(headers, n, t_headers)) {
        refuse(ex, why);
        return QV_EINVAL;
    }
    ex->conn->respond(ex, status, t_headers.data(), t_headers.size(),
                      std::string_view(body ? body : "", body ? body_len : 0));
    return QV_OK;
}

int svc_stream_start(qv_request_t* r, int status, const qv_header_t* headers, size_t n) {
    Exchange* ex = exchange_of(r);
    if (!ex->held) return QV_EALREADY;
    if (gone(ex)) return QV_ECANCELED;  // still finished by stream_end
    if (ex->state != Exchange::State::kHandling) return QV_EALREADY;
    if (status < 200 || status > 599) {
        refuse(ex, "status outside 200..599");
        return QV_EINVAL;
    }
    if (const char* why = convert_headers(headers, n, t_headers)) {
        refuse(ex, why);
        return QV_EINVAL;
    }
    ex->conn->stream_start(ex, status, t_headers.data(), t_headers.size());
    return QV_OK;
}

int svc_stream_write(qv_request_t* r, const char* data, size_t len) {
    Exchange* ex = exchange_of(r);
    if (!ex->held) return QV_EALREADY;
    if (gone(ex)) return QV_ECANCELED;
    if (ex->state != Exchange::State::kStreaming) return QV_EINVAL;
    ex->conn->stream_write(ex, std::string_view(data ? data : "", data ? len : 0));
    return QV_OK;
}

int svc_stream_end(qv_request_t* r) {
    Exchange* ex = exchange_of(r);
    if (int rc = release_from_app(ex); rc != QV_OK) return rc;
    if (ex->state == Exchange::State::kHandling) {
        // stream_end without a start (e.g. a refused start already answered
        // 500, or an app giving up): nothing valid was sent, answer 500.
        ex->conn->respond_error(ex, 500);
        return QV_EINVAL;
    }
    ex->conn->stream_end(ex);
    return QV_OK;
}

void svc_on_cancel(qv_request_t* r, qv_cancel_cb cb, void* arg) {
    Exchange* ex = exchange_of(r);
    ex->cancel_cb = cb;
    ex->cancel_arg = arg;
}

void on_timer_fire(uv_timer_t* t) noexcept {
    auto* timer = reinterpret_cast<qv_timer*>(t);
    qv_timer_cb cb = timer->cb;
    void* arg = timer->arg;
    timer->cb = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(t),
             [](uv_handle_t* h) noexcept { delete reinterpret_cast<qv_timer*>(h); });
    if (cb) cb(arg);
}

int svc_timer_start(void* ctx, uint64_t timeout_ms, qv_timer_cb cb, void* arg, qv_timer_t** out) {
    App* app = app_of(ctx);
    if (!cb) return QV_EINVAL;
    auto* t = new (std::nothrow) qv_timer{};
    if (!t) return QV_ENOMEM;
    Worker* w = reinterpret_cast<Worker*>(app->host.host_private);
    uv_timer_init(w->loop(), &t->handle);
    t->cb = cb;
    t->arg = arg;
    uv_timer_start(&t->handle, on_timer_fire, timeout_ms, 0);
    if (out) *out = t;
    return QV_OK;
}

void svc_timer_cancel(qv_timer_t* t) {
    if (!t || !t->cb) return;
    t->cb = nullptr;
    uv_timer_stop(&t->handle);
    uv_close(reinterpret_cast<uv_handle_t*>(&t->handle),
             [](uv_handle_t* h) noexcept { delete reinterpret_cast<qv_timer*>(h); });
}

uint64_t svc_now_ms(void* ctx) {
    Worker* w = reinterpret_cast<Worker*>(app_of(ctx)->host.host_private);
    return w->now_ms();
}

// ---- database ------------------------------------------------------------------

// One pending query or session request of a plugin: its callback and the pool
// handle. Pooled; freed right after the plugin's callback returns.
struct DbCall {
    qv_db_cb cb = nullptr;
    qv_db_session_cb session_cb = nullptr;
    void* arg = nullptr;
    pg::Query* query = nullptr;
    DbCall* next = nullptr;
};

thread_local pg::Pool* t_pool = nullptr;
thread_local DbCall* t_free_calls = nullptr;
thread_local std::vector<qv_str_t> t_columns;
thread_local std::vector<qv_str_t> t_values;

DbCall* new_call() {
    if (DbCall* c = t_free_calls) {
        t_free_calls = c->next;
        *c = DbCall{};
        return c;
    }
    return new DbCall{};
}

void free_call(DbCall* c) {
    c->next = t_free_calls;
    t_free_calls = c;
}

void on_db_result(void* arg, const pg::ResultView& r) noexcept {
    auto* call = static_cast<DbCall*>(arg);
    qv_db_result_t out{};
    out.status = r.status;
    out.error = qs(r.error);
    out.sqlstate = qs(r.sqlstate);
    if (r.status == pg::kStatusOk && r.res) {
        const PGresult* res = r.res;
        int nrows = PQntuples(res), ncols = PQnfields(res);
        t_columns.resize(static_cast<size_t>(ncols));
        for (int c = 0; c < ncols; ++c) {
            const char* name = PQfname(res, c);
            t_columns[static_cast<size_t>(c)] = qv_str_t{name, std::strlen(name)};
        }
        t_values.resize(static_cast<size_t>(nrows) * static_cast<size_t>(ncols));
        for (int i = 0; i < nrows; ++i)
            for (int c = 0; c < ncols; ++c) {
                qv_str_t& v = t_values[static_cast<size_t>(i) * static_cast<size_t>(ncols) + static_cast<size_t>(c)];
                if (PQgetisnull(res, i, c)) v = qv_str_t{nullptr, 0};
                else v = qv_str_t{PQgetvalue(res, i, c), static_cast<size_t>(PQgetlength(res, i, c))};
            }
        out.nrows = nrows;
        out.ncols = ncols;
        out.columns = t_columns.data();
        out.values = t_values.data();
        const char* affected = PQcmdTuples(const_cast<PGresult*>(res));
        out.affected = affected && *affected ? std::strtoull(affected, nullptr, 10) : 0;
    }
    qv_db_cb cb = call->cb;
    void* cb_arg = call->arg;
    free_call(call);
    cb(cb_arg, &out);
}

int svc_db_query(void*, qv_db_session_t* session, const char* sql, size_t sql_len,
                 const qv_str_t* params, size_t n, qv_db_cb cb, void* arg, qv_db_query_t** out) {
    if (!t_pool) return QV_ENOTSUP;
    if (!sql || !cb || (n && !params)) return QV_EINVAL;
    constexpr size_t kStackParams = 32;
    std::string_view views_small[kStackParams];
    bool nulls_small[kStackParams];
    std::vector<std::string_view> views_big;
    std::unique_ptr<bool[]> nulls_big;
    std::string_view* views = views_small;
    bool* nulls = nulls_small;
    if (n > kStackParams) {
        views_big.resize(n);
        nulls_big.reset(new bool[n]);
        views = views_big.data();
        nulls = nulls_big.get();
    }
    for (size_t i = 0; i < n; ++i) {
        nulls[i] = params[i].ptr == nullptr;
        views[i] = nulls[i] ? std::string_view() : std::string_view(params[i].ptr, params[i].len);
    }
    DbCall* call = new_call();
    call->cb = cb;
    call->arg = arg;
    call->query = t_pool->query(reinterpret_cast<pg::Session*>(session), std::string_view(sql, sql_len),
                                views, nulls, n, on_db_result, call);
    if (out) *out = reinterpret_cast<qv_db_query_t*>(call);
    return QV_OK;
}

// Scratch for db_batch: every statement's parameter views, then the batch.
thread_local std::vector<std::string_view> t_batch_views;
thread_local std::vector<char> t_batch_nulls;  // bool, without vector<bool>'s packing
thread_local std::vector<pg::BatchStatement> t_batch_stmts;
thread_local std::vector<void*> t_batch_args;
thread_local std::vector<pg::Query*> t_batch_queries;

int svc_db_batch(void*, const qv_db_stmt_t* stmts, size_t count, qv_db_cb cb, void* const* args,
                 qv_db_query_t** outs) {
    if (!t_pool) return QV_ENOTSUP;
    if (!stmts || !cb || !args || count == 0 || count > QV_DB_BATCH_MAX) return QV_EINVAL;
    size_t total = 0;
    for (size_t i = 0; i < count; ++i) {
        if (!stmts[i].sql || (stmts[i].param_count && !stmts[i].params)) return QV_EINVAL;
        total += stmts[i].param_count;
    }
    static_assert(sizeof(char) == sizeof(bool));
    t_batch_views.resize(total);
    t_batch_nulls.resize(total);
    t_batch_stmts.resize(count);
    t_batch_args.resize(count);
    t_batch_queries.resize(count);
    size_t at = 0;
    for (size_t i = 0; i < count; ++i) {
        const qv_db_stmt_t& st = stmts[i];
        for (size_t k = 0; k < st.param_count; ++k) {
            const qv_str_t& p = st.params[k];
            t_batch_nulls[at + k] = p.ptr == nullptr;
            t_batch_views[at + k] = p.ptr ? std::string_view(p.ptr, p.len) : std::string_view();
        }
        t_batch_stmts[i] = pg::BatchStatement{
            std::string_view(st.sql, st.sql_len), t_batch_views.data() + at,
            reinterpret_cast<const bool*>(t_batch_nulls.data()) + at, st.param_count};
        at += st.param_count;
        DbCall* call = new_call();
        call->cb = cb;
        call->arg = args[i];
        t_batch_args[i] = call;
    }
    t_pool->batch(t_batch_stmts.data(), count, on_db_result, t_batch_args.data(),
                  t_batch_queries.data());
    for (size_t i = 0; i < count; ++i) {
        auto* call = static_cast<DbCall*>(t_batch_args[i]);
        call->query = t_batch_queries[i];
        if (outs) outs[i] = reinterpret_cast<qv_db_query_t*>(call);
    }
    return QV_OK;
}

void svc_db_cancel(qv_db_query_t* q) {
    auto* call = reinterpret_cast<DbCall*>(q);
    if (t_pool && call && call->query) t_pool->cancel(call->query);
}

void on_db_session(void* arg, pg::Session* s, int status) noexcept {
    auto* call = static_cast<DbCall*>(arg);
    qv_db_session_cb cb = call->session_cb;
    void* cb_arg = call->arg;
    free_call(call);
    cb(cb_arg, reinterpret_cast<qv_db_session_t*>(s), status);
}

int svc_db_session_begin(void*, qv_db_session_cb cb, void* arg) {
    if (!t_pool) return QV_ENOTSUP;
    if (!cb) return QV_EINVAL;
    DbCall* call = new_call();
    call->session_cb = cb;
    call->arg = arg;
    t_pool->begin_session(on_db_session, call);
    return QV_OK;
}

void svc_db_session_end(qv_db_session_t* s) {
    if (t_pool && s) t_pool->end_session(reinterpret_cast<pg::Session*>(s));
}

// ---- loading ----------------------------------------------------------------

// Copies the plugin into an anonymous memfd so that the worker runs its own
// private copy: replacing or rewriting the file later cannot change the code
// this worker has mapped.
Result<int> private_copy(const std::string& path) {
    int src = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (src < 0) return unexpected(Errc::kNotFound, "cannot open", log::errno_text(errno));
    struct stat st;
    if (::fstat(src, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(src);
        return unexpected(Errc::kInvalid, "not a regular file");
    }
    int dst = ::memfd_create("quiver-plugin", MFD_CLOEXEC);
    if (dst < 0) {
        int err = errno;
        ::close(src);
        return unexpected(Errc::kSystem, "memfd_create() failed", log::errno_text(err));
    }
    off_t off = 0;
    while (off < st.st_size) {
        ssize_t n = ::sendfile(dst, src, &off, static_cast<size_t>(st.st_size - off));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            int err = n < 0 ? errno : EIO;
            ::close(src);
            ::close(dst);
            return unexpected(Errc::kSystem, "copying the plugin failed", log::errno_text(err));
        }
    }
    ::close(src);
    return dst;
}

}  // namespace

int finish_detached(Exchange* ex) {
    Worker* w = reinterpret_cast<Worker*>(ex->app->host.host_private);
    w->exchange_finished(ex);
    w->free_exchange(ex);
    return QV_ECANCELED;
}

PluginHost::PluginHost(Worker* worker) : worker_(worker) {}

void PluginHost::set_pool(pg::Pool* pool) { t_pool = pool; }

PluginHost::~PluginHost() {
    unload_all();
    for (auto& c : copies_) ::close(c.second);
}

Result<void> PluginHost::copy_all(const std::vector<AppSpec>& specs) {
    for (const AppSpec& spec : specs) {
        auto copy = private_copy(spec.plugin);
        if (!copy)
            return unexpected(Errc::kInvalid, "plugin refused",
                              "plugin " + spec.plugin + " (app " + spec.name + "): " + copy.error().message());
        copies_.emplace_back(spec.plugin, *copy);
    }
    return {};
}

Result<App*> PluginHost::load(const AppSpec& spec) {
    auto fail = [&](std::string why) -> Result<App*> {
        return unexpected(Errc::kInvalid, "plugin refused", "plugin " + spec.plugin + " (app " +
                                                                spec.name + "): " + why);
    };
    int memfd = -1;
    for (auto it = copies_.begin(); it != copies_.end(); ++it)
        if (it->first == spec.plugin) {
            memfd = it->second;
            copies_.erase(it);
            break;
        }
    if (memfd < 0) {
        auto copy = private_copy(spec.plugin);
        if (!copy) return fail(copy.error().message());
        memfd = *copy;
    }
    std::string proc_path = "/proc/self/fd/" + std::to_string(memfd);
    void* dl = ::dlopen(proc_path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!dl) {
        const char* e = ::dlerror();
        ::close(memfd);
        std::string why = e ? e : "dlopen failed";
        // dlerror names the /proc path; point at the real file instead.
        if (auto pos = why.find(proc_path); pos != std::string::npos) why.replace(pos, proc_path.size(), spec.plugin);
        return fail(why);
    }
    auto unload = [&] {
        ::dlclose(dl);
        ::close(memfd);
    };
    auto entry = reinterpret_cast<qv_plugin_entry_fn>(::dlsym(dl, QV_PLUGIN_ENTRY_SYMBOL));
    if (!entry) {
        unload();
        return fail("no " QV_PLUGIN_ENTRY_SYMBOL " symbol: not a quiver plugin (or built for another ABI)");
    }
    const qv_plugin_t* p = entry();
    if (!p) {
        unload();
        return fail(QV_PLUGIN_ENTRY_SYMBOL "() returned NULL");
    }
    // NOTE: `p` points into the library: read it before any unload().
    if (uint32_t abi = p->abi_version; abi != QV_ABI_VERSION) {
        unload();
        return fail("is not binary compatible: plugin ABI version " + std::to_string(abi) +
                    ", this quiver speaks " + std::to_string(QV_ABI_VERSION));
    }
    if (uint32_t size = p->struct_size; size < offsetof(qv_plugin_t, reserved) || !p->create ||
                                        !p->handle || !p->destroy) {
        unload();
        return fail("plugin table is incomplete (struct_size " + std::to_string(size) + ")");
    }
    auto app = std::make_unique<App>();
    app->name = spec.name;
    app->mount = spec.mount;
    app->plugin_path = spec.plugin;
    app->version = p->version ? p->version : "";
    app->plugin = p;
    app->dl = dl;
    app->memfd = memfd;
    app->owner = this;
    qv_host_t& h = app->host;
    h.abi_version = QV_ABI_VERSION;
    h.struct_size = sizeof(qv_host_t);
    h.ctx = app.get();
    h.log = svc_log;
    h.respond = svc_respond;
    h.stream_start = svc_stream_start;
    h.stream_write = svc_stream_write;
    h.stream_end = svc_stream_end;
    h.on_cancel = svc_on_cancel;
    h.timer_start = svc_timer_start;
    h.timer_cancel = svc_timer_cancel;
    h.now_ms = svc_now_ms;
    h.db_query = svc_db_query;
    h.db_cancel = svc_db_cancel;
    h.db_session_begin = svc_db_session_begin;
    h.db_session_end = svc_db_session_end;
    h.db_batch = svc_db_batch;
    h.worker_id = worker_->slot();
    h.generation = worker_->generation();
    // host_private is the host's own: the worker, for the services.
    h.host_private = worker_;

    qv_error_t err{};
    void* instance = nullptr;
    int rc = p->create(&app->host, spec.settings_json.data(), spec.settings_json.size(), &instance, &err);
    if (rc < 0 || !instance) {
        unload();
        err.message[sizeof err.message - 1] = '\0';
        return fail(std::string("create failed: ") + (err.message[0] ? err.message : "no reason given") +
                    " (code " + std::to_string(rc) + ")");
    }
    app->instance = instance;
    log::info("app ", app->name, " loaded from ", spec.plugin, " (", p->name ? p->name : "?", " ",
              app->version, ") at ", spec.mount);
    apps_.push_back(std::move(app));
    return apps_.back().get();
}

void PluginHost::handle(App* app, Exchange* ex) {
    ex->app = app;
    const Request& rq = ex->req;
    qv_request_info_t& in = ex->info;
    in.struct_size = sizeof(qv_request_info_t);
    in.http_version = rq.http_major * 10u + rq.http_minor;
    in.method = qs(rq.method_v());
    in.target = qs(rq.target_v());
    in.path = qs(rq.path_v());
    in.query = qs(rq.query_v());
    in.mount = qs(app->mount);
    ex->qv_headers.resize(rq.headers.size());
    for (size_t i = 0; i < rq.headers.size(); ++i)
        ex->qv_headers[i] = qv_header_t{qs(rq.view(rq.headers[i].name)), qs(rq.view(rq.headers[i].value))};
    in.headers = ex->qv_headers.data();
    in.header_count = ex->qv_headers.size();
    in.body = qs(rq.body);
    in.remote_addr = qs(rq.remote_addr);
    in.scheme = qs(rq.scheme);
    in.request_id = qs(std::string_view(ex->id_text));
    app->plugin->handle(app->instance, request_of(ex), &in);
}

void PluginHost::cancel(Exchange* ex) {
    ex->canceled = true;
    qv_cancel_cb cb = ex->cancel_cb;
    ex->cancel_cb = nullptr;
    if (cb) cb(ex->cancel_arg);
}

void PluginHost::unload_all() {
    for (auto& app : apps_) {
        if (app->instance) app->plugin->destroy(app->instance);
        app->instance = nullptr;
        if (app->dl) ::dlclose(app->dl);
        app->dl = nullptr;
        if (app->memfd >= 0) ::close(app->memfd);
        app->memfd = -1;
    }
    apps_.clear();
}

}  // namespace quiver::worker
