// SPDX-License-Identifier: MIT
// load_config(): defaults, YAML, QUIVER_* and flags in that order; every error
// kind with its exact "file:line:col: key: message"; paths; dump round trip.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>

#include "server/common/config/builder.hpp"
#include "server/common/config/load.hpp"
#include "server/common/config/values.hpp"
#include "test/unit/server/common/config_fixture.hpp"

namespace quiver {
namespace {

using test::error_of;
using test::load_yaml;
using test::TempDir;

// The error of loading `yaml` from dir/quiver.yaml, with the dir prefix cut.
// The folder holds a plugin file p.so.
std::string yaml_error(const std::string& yaml) {
    TempDir dir;
    dir.write("p.so", "");
    auto r = load_yaml(dir, yaml);
    std::string msg = error_of(r);
    if (msg.starts_with(dir.path() + "/")) msg.erase(0, dir.path().size() + 1);
    return msg;
}

TEST_SUITE("config.load") {

TEST_CASE("no file, no env, no flags: the table's defaults") {
    auto r = load_config({});
    REQUIRE_MESSAGE(r, error_of(r));
    const Config& c = *r;
    CHECK(c.source == "");
    CHECK(c.workers == std::clamp(config::available_cpus(), 1, 1024));
    REQUIRE(c.listen.size() == 1);
    CHECK(c.listen[0].address == "127.0.0.1:8000");
    CHECK(c.listen[0].host == "127.0.0.1");
    CHECK(c.listen[0].port == 8000);
    CHECK_FALSE(c.listen[0].is_unix);
    CHECK(c.listen[0].protocol == Protocol::kHttp);
    CHECK(c.listen[0].backlog == 1024);
    CHECK(c.listen[0].name == "127.0.0.1:8000");
    CHECK(c.apps.empty());
    CHECK_FALSE(c.database.enabled);
    // Every other field equals config.hpp's initialisers: the table and the
    // model agree on the defaults.
    Config expected;
    expected.workers = c.workers;
    expected.listen = c.listen;
    test::check_same(c, expected);
}

TEST_CASE("an empty file or one with only comments gives the defaults") {
    TempDir dir;
    auto empty = load_yaml(dir, "");
    auto comments = load_yaml(dir, "# nothing here\n\n# at all\n");
    auto nulled = load_yaml(dir, "~\n");
    auto defaults = load_config({});
    REQUIRE(empty);
    REQUIRE(comments);
    REQUIRE(nulled);
    REQUIRE(defaults);
    test::check_same(*empty, *defaults, false);
    test::check_same(*comments, *defaults, false);
    test::check_same(*nulled, *defaults, false);
    CHECK(empty->source == dir / "quiver.yaml");
}

TEST_CASE("every setting type converts from YAML") {
    TempDir dir;
    auto r = load_yaml(dir, R"(
workers: 3
listen:
  - 127.0.0.1:9000
  - address: "[::1]:9001"
    protocol: uwsgi
    backlog: 77
    name: v6
  - address: unix:/tmp/q.sock
    mode: "0600"
backlog: 300
max_connections: 500
max_requests: 1000
max_requests_jitter: 50
user: www-data
group: "33"
pidfile: /run/quiver.pid
allow_root: true
server_header: quiver/1 (test)
forwarded_allow_ips: [10.0.0.0/8, "::1", 192.168.1.7]
control_socket: run/ctl.sock
reload:
  watch: true
  debounce: 2s
limits:
  request_line: 4k
  header_fields: 64
  header_size: 16KiB
  body: 2 MiB
  uwsgi_buffer: 4096
timeouts:
  header: 1500ms
  body: 1m30s
  keepalive: 2
  write: 1h
  graceful: 45s
  worker: 2m
  request: 0
log:
  level: debug
  access: "-"
  error: /var/log/quiver/error.log
database:
  url: postgresql://app@db/app
  pool: 8
  connect_timeout: 3s
  query_timeout: 250ms
)");
    REQUIRE_MESSAGE(r, error_of(r));
    const Config& c = *r;
    CHECK(c.workers == 3);
    REQUIRE(c.listen.size() == 3);
    CHECK(c.listen[0].host == "127.0.0.1");
    CHECK(c.listen[0].port == 9000);
    CHECK(c.listen[0].backlog == 300);  // the top-level backlog
    CHECK(c.listen[1].host == "::1");
    CHECK(c.listen[1].port == 9001);
    CHECK(c.listen[1].protocol == Protocol::kUwsgi);
    CHECK(c.listen[1].backlog == 77);
    CHECK(c.listen[1].name == "v6");
    CHECK(c.listen[2].is_unix);
    CHECK(c.listen[2].path == "/tmp/q.sock");
    CHECK(c.listen[2].mode == 0600);
    CHECK(c.listen[2].name == "unix:/tmp/q.sock");
    CHECK(c.max_connections == 500);
    CHECK(c.max_requests == 1000);
    CHECK(c.max_requests_jitter == 50);
    CHECK(c.user == "www-data");
    CHECK(c.group == "33");
    CHECK(c.pidfile == "/run/quiver.pid");
    CHECK(c.allow_root);
    CHECK(c.server_header == "quiver/1 (test)");
    CHECK(c.forwarded_allow_ips == std::vector<std::string>{"10.0.0.0/8", "::1", "192.168.1.7"});
    CHECK(c.control_socket == dir / "run/ctl.sock");
    CHECK(c.reload_watch);
    CHECK(c.reload_debounce == 2000);
    CHECK(c.limits.request_line == 4096);
    CHECK(c.limits.header_fields == 64);
    CHECK(c.limits.header_size == 16384);
    CHECK(c.limits.body == 2u << 20);
    CHECK(c.limits.uwsgi_buffer == 4096);
    CHECK(c.timeouts.header == 1500);
    CHECK(c.timeouts.body == 90000);
    CHECK(c.timeouts.keepalive == 2000);
    CHECK(c.timeouts.write == 3600000);
    CHECK(c.timeouts.graceful == 45000);
    CHECK(c.timeouts.worker == 120000);
    CHECK(c.timeouts.request == 0);
    CHECK(c.log.level == "debug");
    CHECK(c.log.access == "-");
    CHECK(c.log.error == "/var/log/quiver/error.log");
    CHECK(c.database.enabled);
    CHECK(c.database.url == "postgresql://app@db/app");
    CHECK(c.database.pool == 8);
    CHECK(c.database.connect_timeout == 3000);
    CHECK(c.database.query_timeout == 250);
}

TEST_CASE("workers: auto is the CPU count; a number is kept") {
    TempDir dir;
    auto a = load_yaml(dir, "workers: auto\n");
    REQUIRE(a);
    CHECK(a->workers == std::clamp(config::available_cpus(), 1, 1024));
    CHECK(a->workers >= 1);
    auto n = load_config({"", {"QUIVER_WORKERS=1024"}, {}});
    REQUIRE(n);
    CHECK(n->workers == 1024);
}

TEST_CASE("a scalar list is comma-separated, like the variable") {
    TempDir dir;
    auto r = load_yaml(dir, "forwarded_allow_ips: \"*\"\nlisten: \":80, unix:q.sock\"\n");
    REQUIRE_MESSAGE(r, error_of(r));
    CHECK(r->forwarded_allow_ips == std::vector<std::string>{"*"});
    REQUIRE(r->listen.size() == 2);
    CHECK(r->listen[0].host == "");
    CHECK(r->listen[0].port == 80);
    CHECK(r->listen[1].path == dir / "q.sock");
    auto none = load_yaml(dir, "forwarded_allow_ips: []\n");
    REQUIRE(none);
    CHECK(none->forwarded_allow_ips.empty());
}

TEST_CASE("precedence: defaults < file < environment < flags") {
    TempDir dir;
    std::string file = dir.write("q.yaml",
                                 "workers: 2\nlimits:\n  body: 10k\nlisten: [\":81\", \":82\"]\n"
                                 "log:\n  level: warning\n");
    SUBCASE("file over defaults") {
        auto r = load_config({file, {}, {}});
        REQUIRE(r);
        CHECK(r->workers == 2);
        CHECK(r->limits.body == 10240);
        CHECK(r->listen.size() == 2);
        CHECK(r->log.level == "warning");
        CHECK(r->timeouts.header == 10000);
    }
    SUBCASE("environment over file; other variables ignored") {
        auto r = load_config({file,
                              {"PATH=/bin", "QUIVER_WORKERS=3", "QUIVER_LIMITS_BODY=1m",
                               "QUIVER_LISTEN=:90", "NOT_QUIVER_WORKERS=9", "HOME"},
                              {}});
        REQUIRE_MESSAGE(r, error_of(r));
        CHECK(r->workers == 3);
        CHECK(r->limits.body == 1u << 20);
        REQUIRE(r->listen.size() == 1);  // replaced, not appended
        CHECK(r->listen[0].port == 90);
        CHECK(r->log.level == "warning");
    }
    SUBCASE("flags over environment; repeated list flags add up") {
        auto r = load_config({file,
                              {"QUIVER_WORKERS=3", "QUIVER_LOG_LEVEL=error"},
                              {{"workers", "4"}, {"listen", ":91"}, {"listen", "[::]:92"},
                               {"workers", "5"}}});
        REQUIRE_MESSAGE(r, error_of(r));
        CHECK(r->workers == 5);  // the last flag wins
        CHECK(r->log.level == "error");
        REQUIRE(r->listen.size() == 2);
        CHECK(r->listen[0].port == 91);
        CHECK(r->listen[1].host == "::");
        CHECK(r->listen[1].port == 92);
    }
}

TEST_CASE("backlog: the top-level value reaches listeners without their own") {
    TempDir dir;
    auto r =
        load_config({dir.write("q.yaml", "listen:\n  - :81\n  - {address: \":82\", backlog: 5}\n"),
                     {},
                     {{"backlog", "2048"}}});
    REQUIRE_MESSAGE(r, error_of(r));
    CHECK(r->listen[0].backlog == 2048);
    CHECK(r->listen[1].backlog == 5);
}

TEST_CASE("database: any database setting turns the pool on unless enabled says no") {
    TempDir dir;
    auto section = load_yaml(dir, "database:\n");
    REQUIRE(section);
    CHECK(section->database.enabled);
    CHECK(section->database.pool == 2);
    auto env = load_config({"", {"QUIVER_DATABASE_URL=host=/run/postgresql"}, {}});
    REQUIRE(env);
    CHECK(env->database.enabled);
    CHECK(env->database.url == "host=/run/postgresql");
    auto flag = load_config({"", {}, {{"database.pool", "4"}}});
    REQUIRE(flag);
    CHECK(flag->database.enabled);
    auto off = load_yaml(dir, "database:\n  url: x\n  enabled: false\n");
    REQUIRE(off);
    CHECK_FALSE(off->database.enabled);
    auto env_off = load_config({dir.write("d.yaml", "database: {pool: 3}\n"),
                                {"QUIVER_DATABASE_ENABLED=no"}, {}});
    REQUIRE(env_off);
    CHECK_FALSE(env_off->database.enabled);
    auto bool_flag = load_config({"", {}, {{"database.enabled", "true"}}});
    REQUIRE(bool_flag);
    CHECK(bool_flag->database.enabled);
    auto untouched = load_yaml(dir, "workers: 1\n");
    REQUIRE(untouched);
    CHECK_FALSE(untouched->database.enabled);
}

TEST_CASE("relative paths: the file's folder in the file, the working directory elsewhere") {
    TempDir dir;
    dir.write("plugins/hello.so", "not really ELF");
    std::string file = dir.write("etc/quiver.yaml", R"(
listen: ["unix:run/q.sock", "unix:/abs/q.sock"]
pidfile: run/quiver.pid
log:
  access: ../log/access.log
  error: "-"
apps:
  - plugin: ../plugins/hello.so
)");
    auto r = load_config({file, {}, {}});
    REQUIRE_MESSAGE(r, error_of(r));
    std::string etc = dir / "etc";
    CHECK(r->source == file);
    CHECK(r->listen[0].path == etc + "/run/q.sock");
    CHECK(r->listen[0].address == "unix:" + etc + "/run/q.sock");
    CHECK(r->listen[1].path == "/abs/q.sock");
    CHECK(r->pidfile == etc + "/run/quiver.pid");
    CHECK(r->log.access == dir / "log/access.log");
    CHECK(r->log.error == "-");
    REQUIRE(r->apps.size() == 1);
    CHECK(r->apps[0].plugin == dir / "plugins/hello.so");
    CHECK(r->apps[0].name == "hello");
    CHECK(r->apps[0].mount == "/");
    CHECK(r->apps[0].settings_json == "{}");

    auto cwd = std::filesystem::current_path().string();
    auto env = load_config({file, {"QUIVER_PIDFILE=x/q.pid", "QUIVER_LISTEN=unix:s.sock"}, {}});
    REQUIRE(env);
    CHECK(env->pidfile == cwd + "/x/q.pid");
    CHECK(env->listen[0].path == cwd + "/s.sock");
}

TEST_CASE("a relative config path becomes an absolute source") {
    TempDir dir;
    dir.write("q.yaml", "workers: 1\n");
    auto rel = std::filesystem::relative(dir / "q.yaml").string();
    auto r = load_config({rel, {}, {}});
    REQUIRE_MESSAGE(r, error_of(r));
    CHECK(r->source == std::filesystem::path(dir / "q.yaml").lexically_normal().string());
}

TEST_CASE("apps: names, mounts and settings") {
    TempDir dir;
    dir.write("a.so", "");
    dir.write("lib/b.so.1", "");
    auto r = load_yaml(dir, R"(
apps:
  - name: api
    plugin: a.so
    mount: /api
    settings:
      greeting: Hello
      n: 3
  - plugin: lib/b.so.1
)");
    REQUIRE_MESSAGE(r, error_of(r));
    REQUIRE(r->apps.size() == 2);
    CHECK(r->apps[0].name == "api");
    CHECK(r->apps[0].mount == "/api");
    CHECK(r->apps[0].settings_json == R"({"greeting": "Hello", "n": 3})");
    CHECK(r->apps[1].name == "b");
    CHECK(r->apps[1].mount == "/");
}

TEST_CASE("errors name file:line:col, the key path and what is wrong") {
    // Each row: YAML, then the exact message after the folder.
    struct Case {
        const char* yaml;
        const char* message;
    };
    const Case cases[] = {
        {"workers: 4\nwokers: 2\n", "quiver.yaml:2:1: wokers: unknown key (did you mean workers?)"},
        {"limits:\n  bodyy: 1m\n",
         "quiver.yaml:2:3: limits.bodyy: unknown key (did you mean body?)"},
        {"limits:\n  nothing_like_it: 1\n", "quiver.yaml:2:3: limits.nothing_like_it: unknown key"},
        {"timeout: 30\n",
         "quiver.yaml:1:1: timeout: unknown key; quiver calls this timeouts.worker"},
        {"bind: :80\n", "quiver.yaml:1:1: bind: unknown key; quiver calls this listen"},
        {"body: 1m\n", "quiver.yaml:1:1: body: unknown key (did you mean limits.body?)"},
        {"limits.body: 1m\n",
         "quiver.yaml:1:1: limits.body: unknown key; write body inside a limits: mapping"},
        {"listen:\n  - adress: :80\n",
         "quiver.yaml:2:5: listen[0].adress: unknown key (did you mean address?)"},
        {"listen:\n  - protocol: http\n",
         "quiver.yaml:2:5: listen[0].address: required key is missing"},
        {"apps:\n  - plugin: p.so\n    mont: /\n",
         "quiver.yaml:3:5: apps[0].mont: unknown key (did you mean mount?)"},
        {"apps:\n  - plugin: p.so\n    url: /\n", "quiver.yaml:3:5: apps[0].url: unknown key"},
        {"apps:\n  - name: x\n", "quiver.yaml:2:5: apps[0].plugin: required key is missing"},
        {"workers: [1]\n",
         "quiver.yaml:1:10: workers: expected auto or integer 1..1024, got a list"},
        {"workers: 0\n", "quiver.yaml:1:10: workers: must be in 1..1024, got 0"},
        {"workers: many\n",
         "quiver.yaml:1:10: workers: expected auto or a whole number, got \"many\""},
        {"workers:\n", "quiver.yaml:1:1: workers: missing value: expected auto or integer 1..1024"},
        {"user:\n",
         "quiver.yaml:1:1: user: missing value: expected string (write \"\" for an empty one)"},
        {"limits: 5\n", "quiver.yaml:1:9: limits: expected a mapping, got a scalar"},
        {"limits:\n  body: 1XB\n",
         "quiver.yaml:2:9: limits.body: unknown unit \"XB\" in \"1XB\": use B, KiB, MiB, GiB, TiB "
         "(or k, m, g, t)"},
        {"limits:\n  body: 1MB\n",
         "quiver.yaml:2:9: limits.body: \"1MB\" is ambiguous (1000 or 1024?): write 1MiB or a "
         "number of bytes"},
        {"limits:\n  body: 2TiB\n", "quiver.yaml:2:9: limits.body: must be in 0..1TiB, got 2TiB"},
        {"limits:\n  uwsgi_buffer: 100k\n",
         "quiver.yaml:2:17: limits.uwsgi_buffer: must be in 1KiB..64KiB, got 100KiB"},
        {"timeouts:\n  graceful: 0\n",
         "quiver.yaml:2:13: timeouts.graceful: must be in 1ms..7d, got 0s"},
        {"timeouts:\n  header: 10sec\n",
         "quiver.yaml:2:11: timeouts.header: unknown unit \"sec\" in \"10sec\": use ms, s, m, h or "
         "d"},
        {"timeouts:\n  header: 1.5s\n",
         "quiver.yaml:2:11: timeouts.header: fractions are not supported in \"1.5s\": use a "
         "smaller unit (1500ms, 90s)"},
        {"log:\n  level: verbose\n",
         "quiver.yaml:2:10: log.level: expected one of error, warning, info, debug, got "
         "\"verbose\""},
        {"database:\n  enabled: maybe\n",
         "quiver.yaml:2:12: database.enabled: expected true or false, got \"maybe\""},
        {"database:\n  pool: 65\n", "quiver.yaml:2:9: database.pool: must be in 1..64, got 65"},
        {"reload:\n  debounce: 0ms\n",
         "quiver.yaml:2:13: reload.debounce: must be in 1ms..1h, got 0s"},
        {"reload: true\n", "quiver.yaml:1:9: reload: expected a mapping, got a scalar"},
        {"server_header: \"a\\r\\nSet-Cookie: x\"\n",
         "quiver.yaml:1:16: server_header: contains control character 0x0d"},
        {"forwarded_allow_ips: [10.0.0.0/33]\n",
         "quiver.yaml:1:23: forwarded_allow_ips[0]: prefix length /33 is too long for IPv4"},
        {"forwarded_allow_ips: [\"\"]\n",
         "quiver.yaml:1:23: forwarded_allow_ips[0]: empty list item"},
        {"forwarded_allow_ips: {a: 1}\n",
         "quiver.yaml:1:22: forwarded_allow_ips: expected a list or a comma-separated string, got "
         "a mapping"},
        {"listen: [localhost]\n",
         "quiver.yaml:1:10: listen[0]: expected HOST:PORT, [IPv6]:PORT, :PORT (all interfaces) or "
         "unix:PATH, got \"localhost\""},
        {"listen: [\"8000\"]\n",
         "quiver.yaml:1:10: listen[0]: expected HOST:PORT, [IPv6]:PORT, :PORT (all interfaces) or "
         "unix:PATH, got \"8000\" (write :8000 for all interfaces)"},
        {"listen:\n  - address: \"::1:80\"\n",
         "quiver.yaml:2:14: listen[0].address: IPv6 addresses need brackets: [::1]:80"},
        {"listen: [\"1.2.3.4:0\"]\n",
         "quiver.yaml:1:10: listen[0]: port 0 is out of range 1..65535"},
        {"listen: [\"1.2.3.4:65536\"]\n",
         "quiver.yaml:1:10: listen[0]: port 65536 is out of range 1..65535"},
        {"listen: [\"300.1.1.1:80\"]\n",
         "quiver.yaml:1:10: listen[0]: bad host \"300.1.1.1\" in \"300.1.1.1:80\""},
        {"listen: [\"[::g]:80\"]\n",
         "quiver.yaml:1:10: listen[0]: bad IPv6 address \"::g\" in \"[::g]:80\""},
        {"listen: [\"unix:\"]\n",
         "quiver.yaml:1:10: listen[0]: missing socket path after \"unix:\""},
        {"listen: []\n", "quiver.yaml:1:9: listen: at least one listener is required"},
        {"listen: [\":80\", \"0.0.0.0:80\"]\n",
         "quiver.yaml:1:17: listen[1]: duplicate listen address: \"0.0.0.0:80\" is the same "
         "endpoint as \":80\""},
        {"listen: [\"[::1]:80\", \"[0:0::1]:80\"]\n",
         "quiver.yaml:1:22: listen[1]: duplicate listen address: \"[0:0::1]:80\" is the same "
         "endpoint as \"[::1]:80\""},
        {"listen:\n  - {address: \":80\", name: a}\n  - {address: \":81\", name: a}\n",
         "quiver.yaml:3:5: listen[1]: duplicate listener name \"a\""},
        {"listen:\n  - {address: \":80\", mode: \"0600\"}\n",
         "quiver.yaml:2:28: listen[0].mode: only a unix socket has a mode"},
        {"listen:\n  - {address: \"unix:/q\", mode: \"0999\"}\n",
         "quiver.yaml:2:32: listen[0].mode: expected octal permission bits such as 0660, got "
         "\"0999\""},
        {"listen:\n  - {address: \":80\", protocol: h2}\n",
         "quiver.yaml:2:32: listen[0].protocol: expected http or uwsgi, got \"h2\""},
        {"listen:\n  - {address: \":80\", backlog: 0}\n",
         "quiver.yaml:2:31: listen[0].backlog: must be in 1..65535, got 0"},
        {"listen:\n  - [\":80\"]\n",
         "quiver.yaml:2:5: listen[0]: expected an address or a mapping with one, got a list"},
        {"apps: {}\n",
         "quiver.yaml:1:7: apps: expected a list of apps (write [] for none), got a mapping"},
        {"apps:\n  - plugin: p.so\n    mount: api\n",
         "quiver.yaml:3:12: apps[0].mount: must start with '/', got \"api\""},
        {"apps:\n  - plugin: p.so\n    mount: /api/\n",
         "quiver.yaml:3:12: apps[0].mount: must not end with '/': write \"/api\""},
        {"apps:\n  - plugin: /dev/null\n",
         "quiver.yaml:2:13: apps[0].plugin: /dev/null: not a regular file"},
        {"apps:\n  - {plugin: p.so, settings: [1]}\n",
         "quiver.yaml:2:30: apps[0].settings: expected a mapping, got a list"},
        {"workers: 1\nworkers: 2\n", "quiver.yaml:2:1: workers: duplicate key (first at line 1)"},
        {"limits:\n  body: 1k\n  body: 2k\n",
         "quiver.yaml:3:3: limits.body: duplicate key (first at line 2)"},
        {"[1, 2]\n", "quiver.yaml:1:1: (top level): expected a mapping of settings, got a list"},
        {"workers: 1\n---\nworkers: 2\n", "quiver.yaml:3:1: only one YAML document is allowed"},
        {"? [a]\n: 1\n", "quiver.yaml:1:3: (key): keys must be names, got a list"},
        {"workers: [1, 2\n", "quiver.yaml:2:1: end of sequence flow not found"},
        {"a: b: c\n", "quiver.yaml:1:5: illegal map value"},
        {"apps: []\napps: []\n", "quiver.yaml:2:1: apps: duplicate key (first at line 1)"},
        {"database:\n  url: \"a\\0b\"\n",
         "quiver.yaml:2:8: database.url: contains control character 0x00"},
        {"user: \"\xe9\"\n", "quiver.yaml:1:7: user: not valid UTF-8 (at byte 0)"},
        {"\xef\xbb\xbfworkers: 0\r\n", "quiver.yaml:1:10: workers: must be in 1..1024, got 0"},
    };
    for (const Case& c : cases) {
        std::string yaml = c.yaml;
        CAPTURE(yaml);
        CHECK(yaml_error(c.yaml) == c.message);
    }
}

TEST_CASE("socket paths must fit a unix socket address, after resolution") {
    std::string name(100, 's');
    CHECK(yaml_error("control_socket: /" + name + "\n") == "(no error)");
    TempDir dir;  // the folder's path makes the relative name too long
    CHECK(error_of(load_yaml(dir, "control_socket: " + name + "\n")) ==
          dir / "quiver.yaml:1:17: control_socket: socket path " + config::shown(dir / name) +
              " is " + std::to_string((dir / name).size()) + " bytes; a unix socket allows 107");
    CHECK(error_of(load_yaml(dir, "listen: [\"unix:" + name + "\"]\n")).find(
              "listen[0]: socket path") != std::string::npos);
}

TEST_CASE("a missing plugin file names the file and the errno text") {
    TempDir dir;
    auto r = load_yaml(dir, "apps:\n  - name: hello\n    plugin: ../build/hello.so\n");
    REQUIRE_FALSE(r);
    CHECK(r.error().code == Errc::kNotFound);
    std::string expected = dir / "quiver.yaml:3:13: apps[0].plugin: ";
    expected += std::filesystem::path(dir.path()).parent_path().string() +
                "/build/hello.so: No such file or directory";
    CHECK(r.error().message() == expected);
}

TEST_CASE("duplicate app names and mounts are refused") {
    TempDir dir;
    dir.write("a.so", "");
    dir.write("x/a.so", "");
    CHECK(error_of(load_yaml(dir, "apps:\n  - {name: a, plugin: a.so, mount: /a}\n"
                                  "  - {name: a, plugin: a.so, mount: /b}\n")) ==
          dir / "quiver.yaml:3:12: apps[1].name: app name \"a\" is already used by apps[0]");
    CHECK(error_of(load_yaml(dir, "apps:\n  - {plugin: a.so, mount: /a}\n"
                                  "  - {plugin: x/a.so, mount: /b}\n")) ==
          dir / "quiver.yaml:3:14: apps[1].plugin: app name \"a\" is already used by apps[0] "
                "(the name defaults to the plugin's file name: give one)");
    CHECK(error_of(load_yaml(dir, "apps:\n  - {name: a, plugin: a.so}\n"
                                  "  - {name: b, plugin: a.so, mount: /}\n")) ==
          dir / "quiver.yaml:3:36: apps[1].mount: mount \"/\" is already used by app \"a\"");
    CHECK(error_of(load_yaml(dir, "apps:\n  - {name: a, plugin: a.so}\n"
                                  "  - {name: b, plugin: a.so}\n")) ==
          dir / "quiver.yaml:3:5: apps[1].mount: mount \"/\" is already used by app \"a\"");
}

TEST_CASE("a missing or unreadable config file names the file and the errno text") {
    TempDir dir;
    auto missing = load_config({dir / "nope.yaml", {}, {}});
    REQUIRE_FALSE(missing);
    CHECK(missing.error().code == Errc::kNotFound);
    CHECK(missing.error().message() == dir / "nope.yaml: No such file or directory");
    auto folder = load_config({dir.path(), {}, {}});
    REQUIRE_FALSE(folder);
    CHECK(folder.error().message() == dir.path() + ": Is a directory");
}

TEST_CASE("environment errors name the variable") {
    CHECK(error_of(load_config({"", {"QUIVER_WORKERS=0"}, {}})) ==
          "QUIVER_WORKERS: must be in 1..1024, got 0");
    CHECK(error_of(load_config({"", {"QUIVER_WOKERS=2"}, {}})) ==
          "QUIVER_WOKERS: unknown setting (did you mean QUIVER_WORKERS?)");
    CHECK(error_of(load_config({"", {"QUIVER_LIMITS_BODYY=2"}, {}})) ==
          "QUIVER_LIMITS_BODYY: unknown setting (did you mean QUIVER_LIMITS_BODY?)");
    // Other tools' QUIVER_* variables, not near any setting's, are theirs.
    CHECK(load_config({"", {"QUIVER_BIN=/usr/sbin/quiver", "QUIVER_SOURCE_ROOT=/src"}, {}}));
    CHECK(error_of(load_config({"", {"QUIVER_LIMITS_BODY=lots"}, {}})) ==
          "QUIVER_LIMITS_BODY: expected a size such as 8190, 64KiB or 1MiB, got \"lots\"");
    CHECK(error_of(load_config({"", {"QUIVER_LISTEN=:80,:80"}, {}})) ==
          "QUIVER_LISTEN: duplicate listen address \":80\"");
    CHECK(error_of(load_config({"", {"QUIVER_LISTEN="}, {}})) ==
          "QUIVER_LISTEN: at least one listener is required");
    CHECK(error_of(load_config({"", {"QUIVER_APPS=x"}, {}})) ==
          "QUIVER_APPS: apps can only be given in the configuration file");
    CHECK(error_of(load_config({"", {"QUIVER_FORWARDED_ALLOW_IPS=10.0.0.1,,::1"}, {}})) ==
          "QUIVER_FORWARDED_ALLOW_IPS: empty list item");
    CHECK(error_of(load_config({"", {"QUIVER_USER=bad user"}, {}})) ==
          "QUIVER_USER: expected a user or group name (letters, digits, '.', '_', '-'; at most 32) "
          "or a numeric id, got \"bad user\"");
}

TEST_CASE("flag errors name the flag") {
    CHECK(error_of(load_config({"", {}, {{"workers", "x"}}})) ==
          "--workers: expected auto or a whole number, got \"x\"");
    CHECK(error_of(load_config({"", {}, {{"listen", "1.2.3.4:99999"}}})) ==
          "--bind: port 99999 is out of range 1..65535");
    CHECK(error_of(load_config({"", {}, {{"timeouts.worker", "0"}}})) ==
          "--timeout: must be in 1ms..7d, got 0s");
    CHECK(error_of(load_config({"", {}, {{"log.level", "loud"}}})) ==
          "--log-level: expected one of error, warning, info, debug, got \"loud\"");
    CHECK(error_of(load_config({"", {}, {{"apps", "x"}}})) ==
          "--apps: apps can only be given in the configuration file");
    CHECK(error_of(load_config({"", {}, {{"no.such", "1"}}})) == "--no.such: unknown setting");
}

TEST_CASE("the file is checked before the environment and the flags") {
    TempDir dir;
    auto r = load_config({dir.write("q.yaml", "workers: 0\n"), {"QUIVER_WORKERS=2"}, {}});
    CHECK(error_of(r) == dir / "q.yaml:1:10: workers: must be in 1..1024, got 0");
}

TEST_CASE("dump_config and load_config_text round-trip") {
    TempDir dir;
    dir.write("plugins/hello.so", "");
    dir.write("plugins/echo.so", "");
    std::string file = dir.write("quiver.yaml", R"(
workers: 3
listen:
  - :8080
  - {address: "unix:q.sock", protocol: uwsgi, mode: "0640", name: nginx}
  - "[::1]:8081"
backlog: 99
user: "1000"
pidfile: q.pid
server_header: ""
forwarded_allow_ips: "*"
control_socket: ctl.sock
reload: {watch: yes, debounce: 1s}
max_requests: 10
max_requests_jitter: 3
apps:
  - name: hello
    plugin: plugins/hello.so
    mount: /hello
    settings:
      text: "Tab\tquote\" backslash\\ newline\n é 日本 \u2028"
      nested: {list: [1, -2.5e3, .5, true, ~, "x"], "": 0x1F}
  - plugin: plugins/echo.so
limits:
  body: 0
  header_size: 8191
timeouts:
  request: 1m30s
  header: 1500ms
log:
  level: error
  access: access.log
database:
  url: "postgresql://u@h/db?sslmode=disable"
  enabled: false
)");
    auto original =
        load_config({file, {"QUIVER_TIMEOUTS_KEEPALIVE=7s"}, {{"max_connections", "77"}}});
    REQUIRE_MESSAGE(original, error_of(original));
    std::string text = dump_config(*original);
    CAPTURE(text);
    auto again = load_config_text(text, original->source, "/nonexistent");
    REQUIRE_MESSAGE(again, error_of(again));
    test::check_same(*original, *again);
    CHECK(dump_config(*again) == text);
    CHECK(again->timeouts.keepalive == 7000);
    CHECK(again->max_connections == 77);
    CHECK(again->listen[1].backlog == 99);
    CHECK_FALSE(again->database.enabled);
    CHECK(again->apps[0].settings_json ==
          R"({"text": "Tab\tquote\" backslash\\ newline\n é 日本 \u2028", )"
          R"("nested": {"list": [1, -2.5e3, 0.5, true, null, "x"], "": 31}})");

    SUBCASE("defaults round-trip too") {
        auto defaults = load_config({});
        REQUIRE(defaults);
        auto back = load_config_text(dump_config(*defaults), "", "/");
        REQUIRE_MESSAGE(back, error_of(back));
        test::check_same(*defaults, *back);
    }
}

TEST_CASE("load_config_text names its source in errors") {
    auto r = load_config_text("workers: -1\n", "<master>", "/");
    CHECK(error_of(r) == "<master>:1:10: workers: expected auto or a whole number, got \"-1\"");
}

}  // TEST_SUITE

}  // namespace
}  // namespace quiver
