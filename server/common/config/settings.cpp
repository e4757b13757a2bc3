// SPDX-License-Identifier: MIT
// The settings table. To add a setting: add its field to config.hpp, one entry
// here, then run conf/regenerate. Parsing, --help and the docs follow.
#include "server/common/config/settings.hpp"

#include <array>

#include "server/common/access_format.hpp"
#include "server/common/config/values.hpp"

namespace quiver::config {

namespace {

constexpr uint64_t kSecond = 1000;
constexpr uint64_t kWeek = 7 * 24 * 3600 * kSecond;
constexpr uint64_t kKiB = 1024;
constexpr uint64_t kMiB = 1024 * kKiB;
constexpr uint64_t kTiB = kMiB * kMiB;

Result<void> check_metrics_listen(std::string_view v) {
    if (v.empty()) return {};
    auto a = parse_address(v, "");
    if (!a) return unexpected(a.error());
    if (a->is_unix) return invalid("the metrics listener takes host:port, not a unix socket");
    return {};
}

constexpr std::string_view kLogLevels[] = {"error", "warning", "info", "debug"};

constexpr Setting kTable[] = {
    // ---- server
    {.name = "workers", .section = "Server", .type = Type::kAutoInt,
     .field = cfg<&Config::workers>(), .default_text = "auto", .min = 1, .max = 1024,
     .flag = "--workers", .short_flag = "-w", .metavar = "INT|auto",
     .doc = "Number of worker processes; auto = one per CPU quiver may run on.",
     .long_doc = "Each worker is one process with one event loop, so one worker keeps one CPU "
                 "busy. `auto` counts the CPUs in quiver's affinity mask (what a container or "
                 "`taskset` allows), else the online CPUs. Start more only when handlers wait "
                 "on something other than the database; start fewer to leave CPUs to "
                 "PostgreSQL or Nginx on the same host."},
    {.name = "listen", .section = "Server", .type = Type::kListenList,
     .field = cfg<&Config::listen>(), .default_text = "127.0.0.1:8000",
     .flag = "--bind", .short_flag = "-b", .metavar = "ADDRESS", .aliases = "bind",
     .doc = "Address to listen on: HOST:PORT, [IPv6]:PORT, :PORT or unix:PATH (repeatable).",
     .long_doc = "A list; each listener is an address, or a mapping with these keys:\n\n"
                 "- `address` (required): `HOST:PORT`, `[IPv6]:PORT`, `:PORT` or `*:PORT` "
                 "for all interfaces, or `unix:PATH`. A relative unix path is relative to the "
                 "config file's folder (to the working directory in a flag or variable).\n"
                 "- `protocol`: `http` (HTTP/1.1: clients, or Nginx's `proxy_pass`) or "
                 "`uwsgi` (Nginx's `uwsgi_pass`). Default `http`.\n"
                 "- `backlog`: listen queue length. Default: the top-level `backlog`.\n"
                 "- `mode`: permission bits of a unix socket file, in octal (`\"0660\"`). "
                 "Default `0660`.\n"
                 "- `name`: matches systemd's `FileDescriptorName=` when sockets are "
                 "inherited. Default: the address.\n\n"
                 "The flag (repeated) and the variable (comma-separated) give addresses only "
                 "and replace the file's list. Two listeners on one endpoint are refused."},
    {.name = "backlog", .section = "Server", .type = Type::kInt,
     .field = field<&Draft::backlog>(), .default_text = "1024", .min = 1, .max = 65535,
     .flag = "--backlog", .metavar = "INT",
     .doc = "Listen queue length for listeners that do not set their own.",
     .long_doc = "The `backlog` of listen(2): connections the kernel completes and queues "
                 "before a worker accepts them. The kernel caps it at "
                 "`net.core.somaxconn`.",
     .dumped = false},
    {.name = "max_connections", .section = "Server", .type = Type::kInt,
     .field = cfg<&Config::max_connections>(), .default_text = "10000", .min = 1,
     .max = 1'000'000, .flag = "--max-connections", .metavar = "INT",
     .aliases = "worker_connections",
     .doc = "Most connections one worker holds open at once.",
     .long_doc = "A worker that holds this many connections, idle kept-alive ones included, "
                 "stops accepting until one closes; other workers keep accepting. Keep the "
                 "open-files limit (`LimitNOFILE=`) above it."},
    {.name = "max_requests", .section = "Server", .type = Type::kInt,
     .field = cfg<&Config::max_requests>(), .default_text = "0", .min = 0,
     .max = 1'000'000'000, .flag = "--max-requests", .metavar = "INT",
     .doc = "Requests a worker serves before it is replaced; 0 = never.",
     .long_doc = "Recycling bounds the harm of a slow leak in an app: past the count the "
                 "master starts a replacement and retires the worker gracefully."},
    {.name = "max_requests_jitter", .section = "Server", .type = Type::kInt,
     .field = cfg<&Config::max_requests_jitter>(), .default_text = "0", .min = 0,
     .max = 1'000'000'000, .flag = "--max-requests-jitter", .metavar = "INT",
     .doc = "Adds a random 0..N to max_requests per worker.",
     .long_doc = "Spreads recycling so that workers started together are not replaced "
                 "together. Ignored while `max_requests` is 0."},
    {.name = "user", .section = "Server", .type = Type::kString, .field = cfg<&Config::user>(),
     .default_text = "", .check = check_account, .flag = "--user", .short_flag = "-u",
     .metavar = "USER",
     .doc = "Run workers as this user (name or uid); empty = keep the current one.",
     .long_doc = "The master binds the sockets first, so a service started as root can "
                 "listen on port 80 and still run app code unprivileged."},
    {.name = "group", .section = "Server", .type = Type::kString, .field = cfg<&Config::group>(),
     .default_text = "", .check = check_account, .flag = "--group", .short_flag = "-g",
     .metavar = "GROUP",
     .doc = "Run workers with this group (name or gid); empty = the user's group.",
     .long_doc = "Used with `user`; when empty, the user's primary group applies."},
    {.name = "allow_root", .section = "Server", .type = Type::kBool,
     .field = cfg<&Config::allow_root>(), .default_text = "false", .flag = "--allow-root",
     .metavar = "BOOL",
     .doc = "Let workers run app code as root when no `user` is set.",
     .long_doc = "Started as root without `user`, quiver refuses to start workers (they would "
                 "run plugins with every privilege) unless this is true. Set `user` instead "
                 "wherever you can."},
    {.name = "pidfile", .section = "Server", .type = Type::kPath,
     .field = cfg<&Config::pidfile>(), .default_text = "", .flag = "--pid", .short_flag = "-p",
     .metavar = "FILE", .aliases = "pid",
     .doc = "Write the master's process id to this file; empty = none.",
     .long_doc = "A relative path is relative to the config file's folder."},
    {.name = "control_socket", .section = "Server", .type = Type::kPath,
     .field = cfg<&Config::control_socket>(), .default_text = "", .check = check_socket_path,
     .flag = "--control-socket", .metavar = "FILE",
     .doc = "Unix socket where the master answers reload, status and stop; empty = none.",
     .long_doc = "`quiver reload|status|stop -c FILE` reads the same configuration to find "
                 "it. A relative path is relative to the config file's folder."},
    // ---- http
    {.name = "server_header", .section = "HTTP", .type = Type::kString,
     .field = cfg<&Config::server_header>(), .default_text = "quiver",
     .check = check_field_value, .flag = "--server-header", .metavar = "TEXT",
     .doc = "Value of the Server response header; empty = no header.",
     .long_doc = "Printable ASCII (an HTTP field value, RFC 9110 §5.5). An app may still set "
                 "its own."},
    {.name = "forwarded_allow_ips", .section = "HTTP", .type = Type::kStringList,
     .field = cfg<&Config::forwarded_allow_ips>(), .default_text = "127.0.0.1,::1",
     .check = check_ip_or_cidr, .flag = "--forwarded-allow-ips", .metavar = "LIST",
     .doc = "Peers trusted to set X-Forwarded-For/-Proto: IPs, CIDR blocks, or *.",
     .long_doc = "Requests from these peers may give the client's address and scheme in "
                 "`X-Forwarded-For` and `X-Forwarded-Proto`; from any other peer those "
                 "headers are ignored. `*` trusts every peer: use it only when nothing but "
                 "the proxy can connect. The flag and the variable are comma-separated."},
    // ---- apps
    {.name = "apps", .section = "Apps", .type = Type::kAppList, .field = cfg<&Config::apps>(),
     .default_text = "",
     .doc = "Application plugins to load and the path prefixes they serve.",
     .long_doc = "A list; each app is a mapping with these keys:\n\n"
                 "- `plugin` (required): the plugin's shared object. A relative path is "
                 "relative to the config file's folder; the file must exist when the "
                 "configuration is loaded.\n"
                 "- `name`: unique, for logs and metrics (letters, digits, `.`, `_`, `-`). "
                 "Default: the plugin's file name up to its first dot (`hello` for "
                 "`hello.so`).\n"
                 "- `mount`: the path prefix the app serves: starts with `/`, no trailing `/`. "
                 "The longest matching prefix wins; two apps cannot share one. Default `/`.\n"
                 "- `settings`: any mapping, handed to the plugin as JSON text. Unquoted "
                 "scalars become JSON numbers, booleans and null by the YAML 1.2 core schema "
                 "(`8`, `0x1F`, `1.5`, `true`, `null`, `~`); quoted scalars stay strings.\n\n"
                 "Apps can only be given in the configuration file."},
    // ---- reload
    {.name = "reload.watch", .section = "Reload", .type = Type::kBool,
     .field = cfg<&Config::reload_watch>(), .default_text = "false", .flag = "--reload-watch",
     .metavar = "BOOL",
     .doc = "Reload when an app's plugin file changes, as on HUP.",
     .long_doc = "The master watches the folder of each plugin and reloads once the folder "
                 "has been quiet for `reload.debounce`. Deploy by renaming the new file into "
                 "place (`install`, `mv`): a reader never sees half a file."},
    {.name = "reload.debounce", .section = "Reload", .type = Type::kDuration,
     .field = cfg<&Config::reload_debounce>(), .default_text = "500ms", .min = 1,
     .max = 3'600'000, .flag = "--reload-debounce", .metavar = "DURATION",
     .doc = "Quiet time after a plugin file change before the reload starts.",
     .long_doc = "A copy writes a file in many pieces; waiting for quiet keeps the reload "
                 "from loading a partial file."},
    // ---- limits
    {.name = "limits.request_line", .section = "Limits", .type = Type::kSize,
     .field = cfg<&Config::limits, &Http1Limits::request_line>(), .default_text = "8190",
     .min = 64, .max = kMiB, .flag = "--limit-request-line", .metavar = "SIZE",
     .aliases = "limit_request_line",
     .doc = "Longest request line (method, target, version); 414 past it."},
    {.name = "limits.header_fields", .section = "Limits", .type = Type::kInt,
     .field = cfg<&Config::limits, &Http1Limits::header_fields>(), .default_text = "100",
     .min = 1, .max = 10000, .flag = "--limit-request-fields", .metavar = "INT",
     .aliases = "limit_request_fields",
     .doc = "Most header fields in one request; 431 past it."},
    {.name = "limits.header_size", .section = "Limits", .type = Type::kSize,
     .field = cfg<&Config::limits, &Http1Limits::header_size>(), .default_text = "8190",
     .min = 64, .max = kMiB, .flag = "--limit-request-field-size", .metavar = "SIZE",
     .aliases = "limit_request_field_size",
     .doc = "Longest header field line; 431 past it."},
    {.name = "limits.body", .section = "Limits", .type = Type::kSize,
     .field = cfg<&Config::limits, &Http1Limits::body>(), .default_text = "1MiB", .min = 0,
     .max = kTiB, .flag = "--limit-request-body", .metavar = "SIZE",
     .aliases = "client_max_body_size",
     .doc = "Largest request body; 413 past it.",
     .long_doc = "A declared Content-Length is checked before the body is read; a chunked "
                 "body is checked as it arrives. 0 refuses every non-empty body."},
    {.name = "limits.uwsgi_buffer", .section = "Limits", .type = Type::kSize,
     .field = cfg<&Config::limits, &Http1Limits::uwsgi_buffer>(), .default_text = "64KiB",
     .min = kKiB, .max = 64 * kKiB, .flag = "--uwsgi-buffer-size", .metavar = "SIZE",
     .aliases = "buffer_size",
     .doc = "Largest uwsgi vars block (the request head Nginx sends).",
     .long_doc = "The uwsgi protocol gives the block's size in 16 bits, so 64KiB admits "
                 "every request Nginx can send."},
    // ---- timeouts
    {.name = "timeouts.header", .section = "Timeouts", .type = Type::kDuration,
     .field = cfg<&Config::timeouts, &Timeouts::header>(), .default_text = "10s", .min = 1,
     .max = kWeek, .flag = "--header-timeout", .metavar = "DURATION",
     .doc = "From a request's first byte to the end of its head; 408 past it.",
     .long_doc = "Bounds slow-header clients (slowloris)."},
    {.name = "timeouts.body", .section = "Timeouts", .type = Type::kDuration,
     .field = cfg<&Config::timeouts, &Timeouts::body>(), .default_text = "30s", .min = 1,
     .max = kWeek, .flag = "--body-timeout", .metavar = "DURATION",
     .doc = "From the end of a request's head to the end of its body; 408 past it."},
    {.name = "timeouts.keepalive", .section = "Timeouts", .type = Type::kDuration,
     .field = cfg<&Config::timeouts, &Timeouts::keepalive>(), .default_text = "5s", .min = 1,
     .max = kWeek, .flag = "--keep-alive", .metavar = "DURATION", .aliases = "keepalive",
     .doc = "Idle time allowed between requests on a kept-alive connection.",
     .long_doc = "Behind a proxy that keeps connections to quiver open, make it longer than "
                 "the proxy's own idle timeout."},
    {.name = "timeouts.write", .section = "Timeouts", .type = Type::kDuration,
     .field = cfg<&Config::timeouts, &Timeouts::write>(), .default_text = "30s", .min = 1,
     .max = kWeek, .flag = "--write-timeout", .metavar = "DURATION",
     .doc = "Time a response may wait for the client to read it; the connection closes past it."},
    {.name = "timeouts.graceful", .section = "Timeouts", .type = Type::kDuration,
     .field = cfg<&Config::timeouts, &Timeouts::graceful>(), .default_text = "30s", .min = 1,
     .max = kWeek, .flag = "--graceful-timeout", .metavar = "DURATION",
     .aliases = "graceful_timeout",
     .doc = "Time in-flight requests get to finish on stop, reload or recycle.",
     .long_doc = "A retiring worker stops accepting, finishes in-flight requests and closes "
                 "idle connections; past this time it is killed."},
    {.name = "timeouts.worker", .section = "Timeouts", .type = Type::kDuration,
     .field = cfg<&Config::timeouts, &Timeouts::worker>(), .default_text = "30s", .min = 1,
     .max = kWeek, .flag = "--timeout", .short_flag = "-t", .metavar = "DURATION",
     .aliases = "timeout",
     .doc = "A worker whose event loop is silent this long is killed and replaced.",
     .long_doc = "Workers send a heartbeat from their loop; a handler that blocks the loop "
                 "longer than this costs the whole worker."},
    {.name = "timeouts.request", .section = "Timeouts", .type = Type::kDuration,
     .field = cfg<&Config::timeouts, &Timeouts::request>(), .default_text = "0s", .min = 0,
     .max = kWeek, .flag = "--request-timeout", .metavar = "DURATION",
     .doc = "Longest time a handler may take to respond; 504 past it. 0 = no limit."},
    // ---- log
    {.name = "log.level", .section = "Logging", .type = Type::kEnum,
     .field = cfg<&Config::log, &LogSettings::level>(), .default_text = "info",
     .choices = kLogLevels, .flag = "--log-level", .metavar = "LEVEL", .aliases = "loglevel",
     .doc = "Least severe message to log: error, warning, info or debug."},
    {.name = "log.access", .section = "Logging", .type = Type::kPath,
     .field = cfg<&Config::log, &LogSettings::access>(), .default_text = "",
     .flag = "--access-log", .metavar = "FILE", .aliases = "accesslog",
     .doc = "Access log file; - = standard output; empty = none.",
     .long_doc = "A relative path is relative to the config file's folder. USR1 reopens the "
                 "log files (after logrotate moved them)."},
    {.name = "log.access_format", .section = "Logging", .type = Type::kString,
     .field = cfg<&Config::log, &LogSettings::access_format>(), .default_text = "combined",
     .check = check_access_format, .flag = "--access-log-format", .metavar = "FORMAT",
     .aliases = "access_log_format",
     .doc = "Access log lines: combined (Apache), json, or a format string of $fields.",
     .long_doc = "`combined` is Apache's combined format. `json` writes one JSON object per "
                 "line (time, remote_addr, method, path, query, protocol, status, bytes, "
                 "duration_us, user_agent, referer, request_id, pid, app); control bytes and "
                 "invalid UTF-8 are escaped, so every line parses. A format string copies "
                 "its text and replaces `$name` or `${name}` (`$$` is a dollar sign) with one of: "
                 "remote_addr, time_local, time_iso8601, method, path, query, request, "
                 "protocol, status, bytes, duration_us, user_agent, referer, request_id, pid, "
                 "app, host; values are escaped as in `combined` (`\"`, `\\`, control and "
                 "non-ASCII bytes as `\\xHH`, as nginx writes them). The request id is the "
                 "request's `X-Request-Id` (1 to 64 of `A-Za-z0-9._~:/+=@-`) or the trace id "
                 "of a valid W3C `traceparent`, else one quiver generates; every response "
                 "carries it as `X-Request-Id`."},
    {.name = "log.error", .section = "Logging", .type = Type::kPath,
     .field = cfg<&Config::log, &LogSettings::error>(), .default_text = "-",
     .flag = "--error-log", .metavar = "FILE", .aliases = "errorlog",
     .doc = "Error log file; - = standard error.",
     .long_doc = "A relative path is relative to the config file's folder. Under systemd, "
                 "`-` reaches the journal."},
    // ---- metrics
    {.name = "metrics.listen", .section = "Metrics", .type = Type::kString,
     .field = cfg<&Config::metrics, &MetricsSettings::listen>(), .default_text = "",
     .check = check_metrics_listen, .flag = "--metrics-listen", .metavar = "HOST:PORT",
     .doc = "Address of the master's /metrics and /status listener; empty = off. A changed "
            "address takes effect on restart (or USR2), not on reload.",
     .long_doc = "The master serves `/metrics` (Prometheus text format 0.0.4) and `/status` "
                 "(an HTML page of the workers with charts of requests/s and p99 latency) "
                 "from the workers' shared-memory scoreboard; workers never wait on it. "
                 "It has no authentication: bind it to loopback or a private network."},
    // ---- database
    {.name = "database.url", .section = "Database", .type = Type::kString,
     .field = cfg<&Config::database, &DatabaseSettings::url>(), .default_text = "",
     .flag = "--database-url", .metavar = "URL",
     .doc = "PostgreSQL connection string (URI or key=value); empty = libpq's PG* variables.",
     .long_doc = "Anything libpq's PQconnectdb accepts: `postgresql://user@host/db` or "
                 "`host=/run/postgresql dbname=app`. Keep passwords in `~/.pgpass` or "
                 "`PGPASSWORD` rather than here."},
    {.name = "database.pool", .section = "Database", .type = Type::kInt,
     .field = cfg<&Config::database, &DatabaseSettings::pool>(), .default_text = "2", .min = 1,
     .max = 64, .flag = "--database-pool", .metavar = "INT",
     .doc = "Connections per worker.",
     .long_doc = "Connections are pipelined, so a few per worker carry many concurrent "
                 "queries. Mind PostgreSQL's `max_connections`: workers × pool in all."},
    {.name = "database.connect_timeout", .section = "Database", .type = Type::kDuration,
     .field = cfg<&Config::database, &DatabaseSettings::connect_timeout>(),
     .default_text = "5s", .min = 1, .max = kWeek, .flag = "--database-connect-timeout",
     .metavar = "DURATION",
     .doc = "Time allowed to open one database connection."},
    {.name = "database.query_timeout", .section = "Database", .type = Type::kDuration,
     .field = cfg<&Config::database, &DatabaseSettings::query_timeout>(),
     .default_text = "10s", .min = 1, .max = kWeek, .flag = "--database-query-timeout",
     .metavar = "DURATION",
     .doc = "Time allowed for one query; the app gets an error past it."},
    {.name = "database.enabled", .section = "Database", .type = Type::kBool,
     .field = cfg<&Config::database, &DatabaseSettings::enabled>(), .default_text = "false",
     .flag = "--database", .metavar = "BOOL",
     .doc = "Open the PostgreSQL pool; on as soon as any database setting is given.",
     .long_doc = "A `database` section in the file (even empty), or any `database.*` flag or "
                 "variable, turns the pool on; set this to false to keep it off anyway."},
};

}  // namespace

std::span<const Setting> settings() { return kTable; }

const Setting* find_setting(std::string_view dotted_name) {
    for (const Setting& s : kTable)
        if (s.name == dotted_name) return &s;
    return nullptr;
}

const Setting* find_flag(std::string_view flag) {
    if (flag.empty()) return nullptr;
    for (const Setting& s : kTable)
        if (s.flag == flag || s.short_flag == flag) return &s;
    return nullptr;
}

const Setting* find_env(std::string_view name) {
    for (const Setting& s : kTable)
        if (env_name(s) == name) return &s;
    return nullptr;
}

std::string env_name(const Setting& s) {
    std::string out = "QUIVER_";
    for (char c : s.name)
        out += c == '.' ? '_' : (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
    return out;
}

size_t index_of(const Setting& s) { return static_cast<size_t>(&s - kTable); }

bool is_section(std::string_view key) {
    for (const Setting& s : kTable)
        if (s.name.size() > key.size() && s.name.starts_with(key) && s.name[key.size()] == '.')
            return true;
    return false;
}

std::string describe_type(const Setting& s) {
    switch (s.type) {
    case Type::kInt:
        return "integer " + std::to_string(s.min) + ".." + std::to_string(s.max);
    case Type::kAutoInt:
        return "auto or integer " + std::to_string(s.min) + ".." + std::to_string(s.max);
    case Type::kSize:
        return "size " + format_size(s.min) + ".." + format_size(s.max);
    case Type::kDuration:
        return "duration " + format_duration(s.min) + ".." + format_duration(s.max);
    case Type::kString: return "string";
    case Type::kPath: return "path";
    case Type::kBool: return "boolean";
    case Type::kEnum: {
        std::string out = "one of ";
        for (size_t i = 0; i < s.choices.size(); ++i)
            out += (i ? ", " : "") + std::string(s.choices[i]);
        return out;
    }
    case Type::kListenList: return "list of listeners";
    case Type::kAppList: return "list of apps";
    case Type::kStringList: return "list of strings";
    }
    return "value";
}

}  // namespace quiver::config
