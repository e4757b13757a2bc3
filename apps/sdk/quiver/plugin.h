/* SPDX-License-Identifier: MIT */
/*
 * quiver plugin ABI, version 1: the only contract between the quiver worker
 * (the host) and an application plugin (a shared object). Plain C: no C++
 * types and no exceptions cross it. App authors normally use the C++ SDK in
 * <quiver/app.hpp>, which is built on this header.
 *
 * A plugin exports exactly one symbol, `quiver_plugin_v1`, a function that
 * returns a pointer to a static qv_plugin_t. The host checks `abi_version`
 * and `struct_size` before it touches anything else, and refuses the file
 * with a message that names it when they do not match.
 *
 * Threads: a worker runs one event loop on one thread. Every call below, in
 * both directions, happens on that thread. No callback is ever invoked
 * synchronously from inside the call that registered it: it runs on a later
 * turn of the loop.
 *
 * Errors: functions return QV_OK (0) or a negative QV_E* code. When a
 * function that takes a callback returns an error, the callback is never
 * called; otherwise it is called exactly once.
 */
#ifndef QUIVER_PLUGIN_H
#define QUIVER_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define QV_ABI_VERSION 1u

/* Return codes. */
#define QV_OK 0
#define QV_EINVAL (-22)     /* an argument is malformed (e.g. CR/LF in a header) */
#define QV_ENOMEM (-12)     /* allocation failed */
#define QV_ECANCELED (-125) /* the request was cancelled (client gone, deadline) */
#define QV_EALREADY (-114)  /* the request was already finished */
#define QV_EUNAVAIL (-11)   /* the service is unavailable now (database down) */
#define QV_ETIMEDOUT (-110) /* the operation ran past its deadline */
#define QV_ENOTSUP (-95)    /* the host does not offer this service */

/* Log levels, syslog numbering. */
#define QV_LOG_ERROR 3
#define QV_LOG_WARNING 4
#define QV_LOG_INFO 6
#define QV_LOG_DEBUG 7

/* A byte string that is not NUL-terminated. `ptr` may be NULL when len is 0. */
typedef struct qv_str {
    const char* ptr;
    size_t len;
} qv_str_t;

/* One header field, name as received (case preserved). */
typedef struct qv_header {
    qv_str_t name;
    qv_str_t value;
} qv_header_t;

/* Filled by a failing call: a static message and an optional detail. */
typedef struct qv_error {
    int code;           /* QV_E* */
    char message[256];  /* NUL-terminated, human readable */
} qv_error_t;

/* Opaque host objects. */
typedef struct qv_request qv_request_t; /* one request; see lifetime below */
typedef struct qv_timer qv_timer_t;     /* one pending timer */
typedef struct qv_db_query qv_db_query_t; /* one pending database query */
typedef struct qv_db_session qv_db_session_t; /* one pinned database connection */

/*
 * What the host knows of a request. Every qv_str_t points into memory that
 * the host keeps valid until the request is finished (qv_host_t.respond or
 * .stream_end). `path` is the request target's path exactly as received (not
 * percent-decoded; for an absolute-form target it is the path part only),
 * `query` the raw query without '?' ("" when absent).
 */
typedef struct qv_request_info {
    uint32_t struct_size;     /* sizeof(qv_request_info_t) as the host knows it */
    uint32_t http_version;    /* 10 or 11 */
    qv_str_t method;          /* "GET", "POST", ... */
    qv_str_t target;          /* the raw request-target */
    qv_str_t path;
    qv_str_t query;
    qv_str_t mount;           /* the mount prefix that matched ("/" at the root) */
    const qv_header_t* headers;
    size_t header_count;
    qv_str_t body;            /* the whole body, chunked encoding removed */
    qv_str_t remote_addr;     /* client address (after forwarded_allow_ips) */
    qv_str_t scheme;          /* "http" or "https" */
    qv_str_t request_id;      /* unique within the worker's life */
    void* reserved[4];
} qv_request_info_t;

/* Database results (see qv_host_t.db_query). */
#define QV_DB_OK 0          /* rows (possibly none) or a command completed */
#define QV_DB_ERROR 1       /* the server refused the query; see sqlstate */
#define QV_DB_UNAVAILABLE 2 /* no connection could serve it (fail fast) */
#define QV_DB_TIMEOUT 3     /* ran past the query deadline and was cancelled */
#define QV_DB_CANCELED 4    /* cancelled by qv_host_t.db_cancel */

/*
 * A result, valid only during the callback that receives it. `values` is
 * row-major, nrows * ncols entries, in PostgreSQL text format; a NULL field
 * has ptr == NULL. `error` and `sqlstate` are set when status != QV_DB_OK.
 */
typedef struct qv_db_result {
    int status;                 /* QV_DB_* */
    int nrows;
    int ncols;
    const qv_str_t* columns;    /* ncols column names */
    const qv_str_t* values;     /* nrows * ncols fields */
    uint64_t affected;          /* rows affected by INSERT/UPDATE/DELETE */
    qv_str_t error;             /* message when status != QV_DB_OK */
    qv_str_t sqlstate;          /* five characters when the server gave one */
    void* reserved[2];
} qv_db_result_t;

/* One statement of qv_host_t.db_batch: what db_query takes. */
typedef struct qv_db_stmt {
    const char* sql;
    size_t sql_len;
    const qv_str_t* params; /* param_count entries; ptr == NULL is SQL NULL */
    size_t param_count;
} qv_db_stmt_t;

/* The most statements one db_batch call takes. */
#define QV_DB_BATCH_MAX 1000

typedef void (*qv_timer_cb)(void* arg);
typedef void (*qv_db_cb)(void* arg, const qv_db_result_t* result);
typedef void (*qv_db_session_cb)(void* arg, qv_db_session_t* session, int status);
typedef void (*qv_cancel_cb)(void* arg);

/*
 * Services the host offers, passed to `create`. The table and the pointers in
 * it stay valid until `destroy` returns. Entries past what `struct_size`
 * covers do not exist; entries that are NULL are not offered by this host.
 *
 * Request lifetime: a qv_request_t handed to `handle` stays valid until the
 * plugin finishes it, exactly once, with `respond` or `stream_end`. When the
 * client goes away or the request deadline passes first, the host calls the
 * cancel callback set with `on_cancel` (if any); finishing calls then return
 * QV_ECANCELED, and the plugin must still finish the request to release it.
 */
typedef struct qv_host {
    uint32_t abi_version;  /* QV_ABI_VERSION */
    uint32_t struct_size;  /* sizeof(qv_host_t) */
    void* ctx;             /* first argument of the context-taking calls */

    /* Log one line (no trailing newline needed) under the plugin's name. */
    void (*log)(void* ctx, int level, const char* msg, size_t len);

    /* Finish a request with a whole response. The host adds Date, Server,
     * Content-Length and Connection; it refuses (QV_EINVAL, and answers 500
     * itself) header names that are not tokens, values with CR, LF or NUL,
     * and a Content-Length or Transfer-Encoding that the plugin set. */
    int (*respond)(qv_request_t* req, int status, const qv_header_t* headers,
                   size_t header_count, const char* body, size_t body_len);

    /* Start a streamed response: chunked for HTTP/1.1, close-delimited for
     * HTTP/1.0. Then any number of stream_write, then stream_end (finishes). */
    int (*stream_start)(qv_request_t* req, int status, const qv_header_t* headers,
                        size_t header_count);
    int (*stream_write)(qv_request_t* req, const char* data, size_t len);
    int (*stream_end)(qv_request_t* req);

    /* Called at most once, when the request is cancelled before it is
     * finished. Replaces an earlier registration; cb NULL removes it. */
    void (*on_cancel)(qv_request_t* req, qv_cancel_cb cb, void* arg);

    /* One-shot timer. `out` receives a handle usable with timer_cancel until
     * the callback runs. A cancelled timer's callback never runs. */
    int (*timer_start)(void* ctx, uint64_t timeout_ms, qv_timer_cb cb, void* arg,
                       qv_timer_t** out);
    void (*timer_cancel)(qv_timer_t* timer);

    /* Milliseconds of the loop's monotonic clock (cached per loop turn). */
    uint64_t (*now_ms)(void* ctx);

    /*
     * Run one SQL statement with text parameters ($1, $2, ...; a param with
     * ptr == NULL is SQL NULL). The host prepares each distinct SQL text once
     * per connection and pipelines queries from concurrent requests. With
     * `session` NULL any pooled connection runs it; with a session from
     * db_session_begin, that pinned connection runs it (for transactions).
     * `out` (may be NULL) receives a handle for db_cancel, valid until the
     * callback runs. The host copies `sql` and the params before returning:
     * they need to live only for the call. Returns QV_ENOTSUP when no
     * database is configured.
     */
    int (*db_query)(void* ctx, qv_db_session_t* session, const char* sql, size_t sql_len,
                    const qv_str_t* params, size_t param_count, qv_db_cb cb, void* arg,
                    qv_db_query_t** out);
    /* Cancel a pending query: its callback runs later (never inside this
     * call) with QV_DB_CANCELED. Calling it after the callback ran is a bug. */
    void (*db_cancel)(qv_db_query_t* query);
    /* Pin one connection for a transaction; cb gets the session or NULL with
     * a QV_DB_* status. Release it with db_session_end (which issues
     * ROLLBACK first if a transaction is still open). */
    int (*db_session_begin)(void* ctx, qv_db_session_cb cb, void* arg);
    void (*db_session_end)(qv_db_session_t* session);

    /* The worker's identity, for logs and app-level diagnostics. */
    int worker_id;
    uint32_t generation;

    /* Private to the host; plugins must not use it. (Hosts before db_batch
     * named it reserved[0], and stored a non-NULL pointer there: that is why
     * new entries take the slots after it.) */
    void* host_private;

    /*
     * Run `count` statements (1..QV_DB_BATCH_MAX, else QV_EINVAL) as one
     * batch: pipelined back to back on ONE pooled connection with a single
     * Sync after the last, so they run in one implicit transaction (one
     * snapshot) and cost the server one commit and one flush, where
     * db_query costs one per statement. Each statement is still its own
     * Bind/Execute (prepared once per connection, like db_query's).
     * Statement i's callback is `cb` with args[i] (`args` has `count`
     * entries, NULL ones allowed); the callbacks run in
     * statement order as the results come back (the server flushes them at
     * the Sync, or when its output buffer fills: a slow statement delays the
     * results before it). If statement k fails, k gets its error and every
     * later statement gets QV_DB_ERROR with the message "not run: an earlier
     * statement of its batch failed" (nothing of them ran; the transaction
     * rolled back, so earlier statements' writes are undone too). If a
     * statement cannot be sent (a NUL byte in it), none is sent and the
     * others get QV_DB_ERROR "not run: another statement of its batch is
     * invalid". No database: QV_ENOTSUP; pool down, query_timeout (one
     * deadline for the batch): as for db_query. The host copies everything
     * before returning. `outs` (may be NULL) receives `count` handles for
     * db_cancel, each valid until its callback runs: cancelling a statement
     * not yet sent cancels only its callback (it still runs, its result is
     * discarded); once sent, the server-side cancel of db_query applies and
     * aborts the rest of the batch. NULL in hosts that predate it.
     */
    int (*db_batch)(void* ctx, const qv_db_stmt_t* stmts, size_t count, qv_db_cb cb,
                    void* const* args, qv_db_query_t** outs);

    void* reserved[6];
} qv_host_t;

/*
 * The plugin's table. `create` receives the app's `settings` from the
 * configuration as a JSON text and returns an app instance in *app (or fills
 * err and returns a negative code: the host refuses the plugin, naming the
 * file and err->message). `handle` is called once per request and must not
 * block: it either finishes the request at once or later from a callback.
 * `destroy` is called once, after every request given to the instance has
 * been finished or cancelled; no timer or database callback reaches the
 * instance after it returns.
 */
typedef struct qv_plugin {
    uint32_t abi_version;  /* QV_ABI_VERSION */
    uint32_t struct_size;  /* sizeof(qv_plugin_t) */
    const char* name;      /* short name, e.g. "hello" */
    const char* version;   /* the app's own version string, shown by status */

    int (*create)(const qv_host_t* host, const char* settings_json, size_t settings_len,
                  void** app, qv_error_t* err);
    void (*handle)(void* app, qv_request_t* req, const qv_request_info_t* info);
    void (*destroy)(void* app);

    void* reserved[8];
} qv_plugin_t;

/* The one exported entry point of a plugin. */
typedef const qv_plugin_t* (*qv_plugin_entry_fn)(void);
#define QV_PLUGIN_ENTRY_SYMBOL "quiver_plugin_v1"

#ifdef __cplusplus
}
#endif

#endif /* QUIVER_PLUGIN_H */
