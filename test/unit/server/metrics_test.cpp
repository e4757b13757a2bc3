// SPDX-License-Identifier: MIT
// /metrics against the Prometheus text exposition format 0.0.4: every line
// is parsed here (HELP/TYPE once per family, before its samples, label
// escaping, cumulative histograms ending in +Inf), and bucket_quantile_ms
// against histogram_quantile's interpolation.
#include "server/metrics.hpp"

#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "quiver_build.h"
#include "server/status_sampler.hpp"

namespace quiver::server::test {
namespace {

struct Sample {
    std::string name;
    std::vector<std::pair<std::string, std::string>> labels;  // unescaped values
    std::string value;
    std::string label(std::string_view k) const {
        for (const auto& [n, v] : labels)
            if (n == k) return v;
        return "\x01" "absent";
    }
};

struct Family {
    std::string type, help;
    std::vector<Sample> samples;
};

struct Exposition {
    std::vector<std::string> order;  // family names as they appear
    std::map<std::string, Family> families;
    std::string error;  // the first violation, "" when none

    // Samples of `name` whose labels include all of `match`.
    std::vector<const Sample*> find(
        std::string_view family, std::string_view name,
        std::vector<std::pair<std::string, std::string>> match = {}) const {
        std::vector<const Sample*> out;
        auto it = families.find(std::string(family));
        if (it == families.end()) return out;
        for (const Sample& s : it->second.samples) {
            if (s.name != name) continue;
            bool ok = true;
            for (const auto& [k, v] : match) ok = ok && s.label(k) == v;
            if (ok) out.push_back(&s);
        }
        return out;
    }
    std::string value(std::string_view family, std::string_view name,
                      std::vector<std::pair<std::string, std::string>> match = {}) const {
        auto v = find(family, name, std::move(match));
        return v.size() == 1 ? v[0]->value : std::to_string(v.size()).append(" samples");
    }
};

bool metric_name(std::string_view n) {
    if (n.empty()) return false;
    for (size_t i = 0; i < n.size(); ++i) {
        char c = n[i];
        bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
        if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
    }
    return true;
}

bool label_name(std::string_view n) {
    return n.find(':') == std::string_view::npos && metric_name(n);
}

bool float_value(std::string_view v) {
    if (v == "+Inf" || v == "-Inf" || v == "NaN") return true;
    std::string s(v);
    char* end = nullptr;
    std::strtod(s.c_str(), &end);
    return !s.empty() && end == s.c_str() + s.size();
}

// The family a sample name belongs to, given the TYPE lines seen.
std::string family_of(const std::map<std::string, Family>& fams, const std::string& name) {
    if (fams.count(name)) return name;
    for (std::string_view suffix : {"_bucket", "_sum", "_count"}) {
        if (name.size() > suffix.size() && name.ends_with(suffix)) {
            std::string base = name.substr(0, name.size() - suffix.size());
            auto it = fams.find(base);
            if (it != fams.end() && it->second.type == "histogram") return base;
        }
    }
    return "";
}

Exposition parse(const std::string& text) {
    Exposition e;
    auto fail = [&](const std::string& why, std::string_view line) {
        if (e.error.empty()) e.error = why + ": " + std::string(line);
    };
    if (text.empty() || text.back() != '\n') fail("does not end with a line feed", "");
    std::string current;  // the family whose samples are being read
    std::set<std::string> closed;
    size_t pos = 0;
    while (pos < text.size()) {
        size_t nl = text.find('\n', pos);
        if (nl == std::string::npos) nl = text.size();
        std::string_view line(text.data() + pos, nl - pos);
        pos = nl + 1;
        if (line.empty()) continue;
        if (line.starts_with("# HELP ") || line.starts_with("# TYPE ")) {
            bool help = line[2] == 'H';
            std::string_view rest = line.substr(7);
            size_t sp = rest.find(' ');
            std::string name(rest.substr(0, sp));
            std::string_view arg = sp == std::string_view::npos ? "" : rest.substr(sp + 1);
            if (!metric_name(name)) fail("bad metric name", line);
            if (name != current) {
                if (closed.count(name)) fail("family split in two", line);
                if (!current.empty()) closed.insert(current);
                current = name;
                e.order.push_back(name);
            }
            Family& f = e.families[name];
            if (help) {
                if (!f.help.empty()) fail("second HELP", line);
                if (!f.samples.empty()) fail("HELP after samples", line);
                if (arg.empty()) fail("empty HELP", line);
                for (size_t i = 0; i < arg.size(); ++i)
                    if (arg[i] == '\\' &&
                        (i + 1 >= arg.size() || (arg[i + 1] != '\\' && arg[i + 1] != 'n')))
                        fail("bad escape in HELP", line);
                    else if (arg[i] == '\\')
                        ++i;
                f.help = std::string(arg);
            } else {
                if (!f.type.empty()) fail("second TYPE", line);
                if (!f.samples.empty()) fail("TYPE after samples", line);
                if (arg != "counter" && arg != "gauge" && arg != "histogram" && arg != "summary" &&
                    arg != "untyped")
                    fail("unknown TYPE", line);
                f.type = std::string(arg);
            }
            continue;
        }
        if (line[0] == '#') continue;  // a comment
        Sample s;
        size_t i = 0;
        while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
        s.name = std::string(line.substr(0, i));
        if (!metric_name(s.name)) fail("bad sample name", line);
        if (i < line.size() && line[i] == '{') {
            ++i;
            while (i < line.size() && line[i] != '}') {
                size_t eq = line.find('=', i);
                if (eq == std::string_view::npos || eq + 1 >= line.size() || line[eq + 1] != '"') {
                    fail("bad label", line);
                    break;
                }
                std::string key(line.substr(i, eq - i));
                if (!label_name(key)) fail("bad label name", line);
                std::string val;
                size_t j = eq + 2;
                for (; j < line.size() && line[j] != '"'; ++j) {
                    if (line[j] != '\\') {
                        val.push_back(line[j]);
                        continue;
                    }
                    char n = j + 1 < line.size() ? line[j + 1] : '\0';
                    if (n == '\\')
                        val.push_back('\\');
                    else if (n == '"')
                        val.push_back('"');
                    else if (n == 'n')
                        val.push_back('\n');
                    else
                        fail("bad escape in a label value", line);
                    ++j;
                }
                if (j >= line.size()) {
                    fail("unterminated label value", line);
                    break;
                }
                for (const auto& [k, v] : s.labels)
                    if (k == key) fail("repeated label", line);
                s.labels.push_back({key, val});
                i = j + 1;
                if (i < line.size() && line[i] == ',') ++i;
            }
            ++i;  // '}'
        }
        if (i >= line.size() || line[i] != ' ') {
            fail("no value", line);
            continue;
        }
        std::string_view rest = line.substr(i + 1);
        std::string_view value =
            rest.substr(0, rest.find(' '));  // an optional timestamp may follow
        if (!float_value(value)) fail("bad value", line);
        s.value = std::string(value);
        std::string fam = family_of(e.families, s.name);
        if (fam.empty())
            fail("sample without a TYPE line", line);
        else if (fam != current)
            fail("sample outside its family's block", line);
        else
            e.families[fam].samples.push_back(std::move(s));
    }
    return e;
}

// Checks every histogram: per label set, `le` ascending, counts cumulative,
// the last bucket +Inf, _count equal to it, one _sum.
void check_histograms(const Exposition& e) {
    for (const auto& [name, f] : e.families) {
        if (f.type != "histogram") continue;
        INFO("histogram ", name);
        std::map<std::string, std::vector<const Sample*>> series;  // labels but le -> buckets
        auto key_of = [](const Sample& s) {
            std::string k;
            for (const auto& [n, v] : s.labels)
                if (n != "le") k += n + "=" + v + ",";
            return k;
        };
        for (const Sample& s : f.samples)
            if (s.name == name + "_bucket") series[key_of(s)].push_back(&s);
        CHECK_FALSE(series.empty());
        for (const auto& [key, buckets] : series) {
            INFO("series {", key, "}");
            REQUIRE(buckets.size() >= 2);
            double prev_le = -INFINITY, prev_count = 0;
            for (const Sample* b : buckets) {
                std::string le = b->label("le");
                REQUIRE(float_value(le));
                double l = le == "+Inf" ? INFINITY : std::strtod(le.c_str(), nullptr);
                CHECK(l > prev_le);
                double c = std::strtod(b->value.c_str(), nullptr);
                CHECK(c >= prev_count);
                prev_le = l;
                prev_count = c;
            }
            CHECK(buckets.back()->label("le") == "+Inf");
            int counts = 0, sums = 0;
            for (const Sample& s : f.samples) {
                if (key_of(s) != key) continue;
                if (s.name == name + "_count") {
                    ++counts;
                    CHECK(s.value == buckets.back()->value);
                }
                if (s.name == name + "_sum") ++sums;
            }
            CHECK(counts == 1);
            CHECK(sums == 1);
        }
    }
}

struct Fixture {
    Scoreboard sb;
    MasterCounters mc;
    MetricsInput in;
    Fixture() {
        auto r = Scoreboard::create(4);
        REQUIRE(r);
        sb = std::move(*r);
        in.scoreboard = &sb;
        in.counters = &mc;
        in.apps = {"hello", "echo"};
        in.generation = 3;
        in.workers.push_back({0, 0, 101, 3, "ready", 0});
        in.workers.push_back({1, 2, 102, 2, "retiring", 0});
    }
};

double num(const std::string& v) { return std::strtod(v.c_str(), nullptr); }

}  // namespace

TEST_CASE("escape_label: backslash, double quote and line feed (format 0.0.4)") {
    std::string out;
    escape_label(out, "plain value: 1.5 {x=y}, 'q'");
    CHECK(out == "plain value: 1.5 {x=y}, 'q'");
    out.clear();
    escape_label(out, "a\\b\"c\nd\te\xc3\xa9");
    CHECK(out == "a\\\\b\\\"c\\nd\te\xc3\xa9");
}

TEST_CASE("app_label: no app, configured apps, the shared overflow entry") {
    std::vector<std::string> apps = {"a", "b"};
    CHECK(app_label(apps, 0) == "");
    CHECK(app_label(apps, 1) == "a");
    CHECK(app_label(apps, 2) == "b");
    std::vector<std::string> many;
    for (size_t i = 0; i < kMaxApps + 3; ++i) many.push_back("app" + std::to_string(i));
    CHECK(app_label(many, kMaxApps - 2) == "app" + std::to_string(kMaxApps - 3));
    CHECK(app_label(many, kMaxApps - 1) == "_other");
}

TEST_CASE("render_metrics: a valid exposition with the scoreboard's numbers") {
    Fixture fx;
    ScoreSlot& s0 = fx.sb.slot(0);
    ScoreSlot& s2 = fx.sb.slot(2);
    ScoreSlot& unused = fx.sb.slot(1);  // no live worker: must not count
    s0.apps[1].requests[0][2] = 5;      // hello GET 2xx
    s2.apps[1].requests[0][2] = 4;
    s0.apps[2].requests[2][5] = 2;  // echo POST 5xx
    s0.apps[0].requests[9][4] = 1;  // no app, other method, 4xx
    s0.apps[1].requests[0][0] = 1;  // hello GET, closed without a status
    unused.apps[1].requests[0][2] = 1000;
    fx.mc.retired.app_requests[1][0][2] = 3;
    // hello's latency: 2 at <=100us, 3 at <=1ms, 1 past the last bound.
    s0.apps[1].duration[0] = 2;
    s0.apps[1].duration[3] = 3;
    s0.apps[1].duration[kLatencyBuckets - 1] = 1;
    s0.apps[1].duration_sum_us = 12'345'678;
    // A sum large enough that 9 significant digits would lose microseconds.
    fx.mc.retired.pg_duration[5] = 7;
    fx.mc.retired.pg_duration_sum_us = 1'234'567'890'123;
    s0.in_flight = 2;
    s2.in_flight = 1;
    s0.connections_by_protocol[0] = 4;
    s2.connections_by_protocol[1] = 1;
    s0.accepted = 10;
    fx.mc.retired.accepted = 5;
    s0.bytes_in = 100;
    s0.bytes_out = 2000;
    fx.mc.restarts[static_cast<size_t>(RestartReason::kCrash)] = 2;
    fx.mc.reloads[static_cast<size_t>(ReloadResult::kRefused)] = 1;
    s0.pg.up = 3;
    s0.pg.pinned = 1;
    s2.pg.down = 2;
    s0.pg.queries[0] = 11;

    std::string text = render_metrics(fx.in);
    Exposition e = parse(text);
    INFO(text);
    REQUIRE(e.error == "");

    SUBCASE("every family has HELP and TYPE; counters end in _total") {
        for (const auto& [name, f] : e.families) {
            INFO(name);
            CHECK_FALSE(f.help.empty());
            CHECK_FALSE(f.type.empty());
            CHECK(name.starts_with("quiver_"));
            CHECK((f.type == "counter") == name.ends_with("_total"));
            if (f.type != "histogram")
                for (const Sample& s : f.samples) CHECK(s.name == name);
        }
        CHECK(e.families.at("quiver_build_info").type == "gauge");
        CHECK(e.value("quiver_build_info", "quiver_build_info", {{"version", QUIVER_VERSION}}) ==
              "1");
        CHECK(e.value("quiver_generation", "quiver_generation") == "3");
    }
    SUBCASE("requests by app, method and status class: live workers plus retired ones") {
        auto v = [&](std::string app, std::string method, std::string cls) {
            return e.value("quiver_requests_total", "quiver_requests_total",
                           {{"app", app}, {"method", method}, {"status_class", cls}});
        };
        CHECK(v("hello", "GET", "2xx") == "12");
        CHECK(v("hello", "GET", "1xx") == "0");
        CHECK(v("hello", "GET", "other") == "1");
        CHECK(v("echo", "GET", "2xx") == "0");  // a configured app shows GET from the start
        CHECK(v("echo", "POST", "5xx") == "2");
        CHECK(v("", "other", "4xx") == "1");
        CHECK(e.find("quiver_requests_total", "quiver_requests_total",
                     {{"app", "echo"}, {"method", "PUT"}})
                  .empty());
    }
    SUBCASE("histograms are cumulative, end in +Inf, and _count matches") {
        check_histograms(e);
        const std::string h = "quiver_request_duration_seconds";
        auto bucket = [&](std::string le) {
            return e.value(h, h + "_bucket", {{"app", "hello"}, {"le", le}});
        };
        CHECK(bucket("0.0001") == "2");
        CHECK(bucket("0.00025") == "2");
        CHECK(bucket("0.001") == "5");
        CHECK(bucket("10") == "5");
        CHECK(bucket("+Inf") == "6");
        CHECK(e.value(h, h + "_count", {{"app", "hello"}}) == "6");
        CHECK(num(e.value(h, h + "_sum", {{"app", "hello"}})) ==
              doctest::Approx(12.345678).epsilon(1e-12));
        // Every le is one of the scoreboard's bounds, in seconds.
        auto all = e.find(h, h + "_bucket", {{"app", "hello"}});
        REQUIRE(all.size() == kLatencyBuckets);
        for (size_t b = 0; b + 1 < kLatencyBuckets; ++b)
            CHECK(num(all[b]->label("le")) ==
                  doctest::Approx(kLatencyBoundsUs[b] / 1e6).epsilon(1e-12));
        // Configured apps without requests still have a (zero) histogram.
        CHECK(e.value(h, h + "_count", {{"app", "echo"}}) == "0");

        const std::string pg = "quiver_pg_query_duration_seconds";
        CHECK(e.value(pg, pg + "_count") == "7");
        CHECK(e.value(pg, pg + "_bucket", {{"le", "0.005"}}) == "7");
        CHECK(e.value(pg, pg + "_bucket", {{"le", "0.0025"}}) == "0");
        // _sum keeps microsecond precision however large it grows.
        CHECK(std::fabs(num(e.value(pg, pg + "_sum")) - 1234567.890123) < 1e-7);
    }
    SUBCASE("gauges and counters") {
        CHECK(e.value("quiver_requests_in_flight", "quiver_requests_in_flight") == "3");
        CHECK(e.value("quiver_connections", "quiver_connections", {{"protocol", "http"}}) == "4");
        CHECK(e.value("quiver_connections", "quiver_connections", {{"protocol", "uwsgi"}}) == "1");
        CHECK(e.value("quiver_connections_accepted_total", "quiver_connections_accepted_total") ==
              "15");
        CHECK(e.value("quiver_received_bytes_total", "quiver_received_bytes_total") == "100");
        CHECK(e.value("quiver_sent_bytes_total", "quiver_sent_bytes_total") == "2000");
        CHECK(e.value("quiver_worker_restarts_total", "quiver_worker_restarts_total",
                      {{"reason", "crash"}}) == "2");
        CHECK(e.value("quiver_worker_restarts_total", "quiver_worker_restarts_total",
                      {{"reason", "reload"}}) == "0");
        CHECK(e.value("quiver_reloads_total", "quiver_reloads_total", {{"result", "refused"}}) ==
              "1");
        CHECK(e.value("quiver_pg_queries_total", "quiver_pg_queries_total", {{"result", "ok"}}) ==
              "11");
        CHECK(e.value("quiver_pg_connections", "quiver_pg_connections", {{"state", "idle"}}) ==
              "2");
        CHECK(e.value("quiver_pg_connections", "quiver_pg_connections", {{"state", "pinned"}}) ==
              "1");
        CHECK(e.value("quiver_pg_connections", "quiver_pg_connections", {{"state", "down"}}) ==
              "2");
        CHECK(e.value("quiver_workers", "quiver_workers",
                      {{"state", "ready"}, {"generation", "3"}}) == "1");
        CHECK(e.value("quiver_workers", "quiver_workers",
                      {{"state", "retiring"}, {"generation", "2"}}) == "1");
        CHECK(e.value("quiver_workers", "quiver_workers",
                      {{"state", "starting"}, {"generation", "3"}}) == "0");
        // No listener given: no listen queue families.
        CHECK(e.families.count("quiver_listen_queue_length") == 0);
    }
}

TEST_CASE("render_metrics: label values with \\ \" and newline round-trip") {
    Fixture fx;
    fx.in.apps = {"we\"ird\\app\nname"};
    fx.in.workers[0].state = "ready";
    fx.sb.slot(0).apps[1].requests[0][2] = 1;
    std::string text = render_metrics(fx.in);
    Exposition e = parse(text);
    INFO(text);
    REQUIRE(e.error == "");
    CHECK(e.value("quiver_requests_total", "quiver_requests_total",
                  {{"app", "we\"ird\\app\nname"}, {"status_class", "2xx"}}) == "1");
    CHECK(text.find("app=\"we\\\"ird\\\\app\\nname\"") != std::string::npos);
    check_histograms(e);
}

TEST_CASE("render_metrics: listen queue of real loopback and unix listeners") {
    int tcp = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(tcp >= 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(tcp, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(tcp, 7) == 0);

    int ux = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(ux >= 0);
    sockaddr_un u{};
    u.sun_family = AF_UNIX;
    std::string path = "/tmp/quiver-metrics-test-" + std::to_string(::getpid()) + ".sock";
    ::unlink(path.c_str());
    std::snprintf(u.sun_path, sizeof u.sun_path, "%s", path.c_str());
    REQUIRE(::bind(ux, reinterpret_cast<sockaddr*>(&u), sizeof u) == 0);
    REQUIRE(::listen(ux, 5) == 0);

    Fixture fx;
    fx.in.listeners = {
        {"127.0.0.1:0", tcp, false}, {"unix:" + path, ux, true}, {"gone", -1, false}};
    std::string text = render_metrics(fx.in);
    Exposition e = parse(text);
    INFO(text);
    CHECK(e.error == "");
    const std::string len = "quiver_listen_queue_length", lim = "quiver_listen_queue_limit";
    CHECK(e.value(len, len, {{"listener", "127.0.0.1:0"}}) == "0");
    CHECK(e.value(lim, lim, {{"listener", "127.0.0.1:0"}}) == "7");
    CHECK(e.value(len, len, {{"listener", "unix:" + path}}) == "0");
    CHECK(e.value(lim, lim, {{"listener", "unix:" + path}}) == "5");
    CHECK(e.find(len, len, {{"listener", "gone"}}).empty());
    CHECK(e.families.at(len).type == "gauge");
    CHECK(e.families.at(lim).type == "gauge");

    uint64_t l = 1, m = 1;
    CHECK_FALSE(listen_queue({"x", -1, false}, &l, &m));
    ::close(tcp);
    ::close(ux);
    ::unlink(path.c_str());
}

TEST_CASE("bucket_quantile_ms: histogram_quantile's linear interpolation") {
    uint64_t b[kLatencyBuckets] = {};
    CHECK(bucket_quantile_ms(b, 0.5) == 0);  // empty

    b[0] = 10;  // (0, 100us]
    CHECK(bucket_quantile_ms(b, 0.5) == doctest::Approx(0.05));
    CHECK(bucket_quantile_ms(b, 1.0) == doctest::Approx(0.1));

    b[0] = 0;
    b[3] = 100;  // (500us, 1ms]
    CHECK(bucket_quantile_ms(b, 0.5) == doctest::Approx(0.75));
    CHECK(bucket_quantile_ms(b, 0.99) == doctest::Approx(0.995));

    b[3] = 0;
    b[0] = 50;
    b[4] = 50;  // (1ms, 2.5ms]
    CHECK(bucket_quantile_ms(b, 0.5) == doctest::Approx(0.1));
    CHECK(bucket_quantile_ms(b, 0.75) == doctest::Approx(1.75));
    CHECK(bucket_quantile_ms(b, 0.99) == doctest::Approx(2.47));

    // Empty buckets between two filled ones: the rank stays in the lower one.
    uint64_t gap[kLatencyBuckets] = {};
    gap[0] = 10;
    gap[5] = 10;  // (2.5ms, 5ms]
    CHECK(bucket_quantile_ms(gap, 0.5) == doctest::Approx(0.1));
    CHECK(bucket_quantile_ms(gap, 0.6) == doctest::Approx(2.5 + 2.5 * 0.2));

    // A quantile in the +Inf bucket is the highest finite bound.
    uint64_t inf[kLatencyBuckets] = {};
    inf[0] = 1;
    inf[kLatencyBuckets - 1] = 99;
    const double top = kLatencyBoundsUs[kLatencyBuckets - 2] / 1000.0;
    CHECK(bucket_quantile_ms(inf, 0.5) == doctest::Approx(top));
    CHECK(bucket_quantile_ms(inf, 0.99) == doctest::Approx(top));
    CHECK(bucket_quantile_ms(inf, 0.01) == doctest::Approx(0.1));
}

}  // namespace quiver::server::test
