// SPDX-License-Identifier: MIT
// The resolved configuration: plain immutable structs. Only
// server/common/config/ builds them (from the settings table, YAML, QUIVER_*
// and argv); every component takes only its own slice and never sees YAML.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace quiver {

enum class Protocol { kHttp, kUwsgi };

// One listening socket.
struct ListenSpec {
    std::string address;   // as written: "127.0.0.1:8080", "[::1]:8080", "unix:/run/q.sock"
    // Resolved parts:
    bool is_unix = false;
    std::string host;      // IP literal or host name (TCP only); "" means any (0.0.0.0)
    uint16_t port = 0;     // TCP only
    std::string path;      // unix only (absolute after resolution)
    Protocol protocol = Protocol::kHttp;
    int backlog = 1024;
    uint32_t mode = 0660;  // unix only: permission bits of the socket file
    std::string name;      // for systemd LISTEN_FDNAMES matching; defaults to address
};

// One mounted application plugin.
struct AppSpec {
    std::string name;           // unique among apps
    std::string plugin;         // absolute path of the .so
    std::string mount = "/";    // longest matching prefix wins
    std::string settings_json = "{}";  // the `settings` subtree, as JSON text
};

// HTTP/1 limits (RFC 9112 leaves them to the server). Byte counts.
struct Http1Limits {
    uint32_t request_line = 8190;  // 414 past it
    uint32_t header_fields = 100;  // 431 past it
    uint32_t header_size = 8190;   // one field line; 431 past it
    uint64_t body = 1u << 20;      // 413 past it
    uint32_t uwsgi_buffer = 65536; // largest uwsgi vars block
};

// Every duration in milliseconds.
struct Timeouts {
    uint64_t header = 10000;     // first byte of a request to end of its head
    uint64_t body = 30000;       // end of head to end of body
    uint64_t keepalive = 5000;   // idle between requests on a kept-alive connection
    uint64_t write = 30000;      // a response that the client does not read
    uint64_t graceful = 30000;   // TERM / retire: in-flight work may finish within this
    uint64_t worker = 30000;     // a worker whose loop is silent this long is killed
    uint64_t request = 0;        // 0 = none; past it a request is answered 504
};

struct LogSettings {
    std::string level = "info";  // error | warning | info | debug
    std::string access;          // "" = off, "-" = stdout, else a file path
    std::string error = "-";     // "-" = stderr, else a file path
    std::string access_format = "combined";  // combined | json | a format string of $fields
};

struct MetricsSettings {
    std::string listen;          // "" = off; else host:port of the /metrics and /status listener
};

struct DatabaseSettings {
    std::string url;             // "" = libpq environment (PGHOST, ...) when enabled
    bool enabled = false;        // true when `database` appears in the config
    int pool = 2;                // connections per worker
    uint64_t connect_timeout = 5000;
    uint64_t query_timeout = 10000;
};

struct Config {
    std::string source;          // the config file's path ("" when none)
    int workers = 0;             // resolved: "auto" becomes the CPU count
    std::vector<ListenSpec> listen;
    std::vector<AppSpec> apps;
    Http1Limits limits;
    Timeouts timeouts;
    LogSettings log;
    MetricsSettings metrics;
    DatabaseSettings database;
    std::string user;            // "" = keep
    std::string group;
    std::string pidfile;
    bool allow_root = false;               // workers may run as root without `user`
    std::string server_header = "quiver";  // value of the Server header; "" = none
    uint32_t max_connections = 10000;      // per worker
    uint64_t max_requests = 0;             // 0 = never recycle
    uint64_t max_requests_jitter = 0;
    std::vector<std::string> forwarded_allow_ips = {"127.0.0.1", "::1"};
    std::string control_socket;            // "" = none; `quiver reload|status|stop` talk to it
    bool reload_watch = false;             // reload when a plugin file changes
    uint64_t reload_debounce = 500;        // ms of quiet after a change before reloading
};

using ConfigPtr = std::shared_ptr<const Config>;

}  // namespace quiver
