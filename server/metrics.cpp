// SPDX-License-Identifier: MIT
// Prometheus text format 0.0.4: HELP and TYPE per family, base units
// (seconds, bytes), counters ending in _total, bounded label sets.
#include "server/metrics.hpp"

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "quiver_build.h"

namespace quiver::server {

namespace {

using Labels = std::initializer_list<std::pair<std::string_view, std::string_view>>;

class Writer {
public:
    explicit Writer(std::string& out) : o_(out) {}

    void family(std::string_view name, std::string_view type, std::string_view help) {
        o_.append("# HELP ").append(name).append(" ").append(help).append("\n");
        o_.append("# TYPE ").append(name).append(" ").append(type).append("\n");
    }
    void sample(std::string_view name, Labels labels, uint64_t v) {
        head(name, labels);
        o_.append(std::to_string(v)).append("\n");
    }
    // Microseconds as exact decimal seconds ("12.345678"): a printf("%g")
    // of a growing _sum would lose sub-second precision, and rate() with it.
    void sample_seconds(std::string_view name, Labels labels, uint64_t us) {
        head(name, labels);
        char b[48];
        int n = std::snprintf(b, sizeof b, "%llu.%06llu", static_cast<unsigned long long>(us / 1000000),
                              static_cast<unsigned long long>(us % 1000000));
        while (b[n - 1] == '0') --n;  // 1.500000 -> 1.5, 3.000000 -> 3
        if (b[n - 1] == '.') --n;
        o_.append(b, static_cast<size_t>(n)).append("\n");
    }
    // Buckets are per bucket (not cumulative) as the scoreboard keeps them.
    void histogram(std::string_view name, std::string_view label, std::string_view value,
                   const uint64_t* buckets, uint64_t sum_us) {
        uint64_t cum = 0;
        std::string bucket = std::string(name) + "_bucket";
        for (size_t b = 0; b < kLatencyBuckets; ++b) {
            cum += buckets[b];
            char le[32];
            if (b + 1 < kLatencyBuckets)
                std::snprintf(le, sizeof le, "%g", static_cast<double>(kLatencyBoundsUs[b]) / 1e6);
            else
                std::snprintf(le, sizeof le, "+Inf");
            if (label.empty()) sample(bucket, {{"le", le}}, cum);
            else sample(bucket, {{label, value}, {"le", le}}, cum);
        }
        std::string n(name);
        if (label.empty()) {
            sample_seconds(n + "_sum", {}, sum_us);
            sample(n + "_count", {}, cum);
        } else {
            sample_seconds(n + "_sum", {{label, value}}, sum_us);
            sample(n + "_count", {{label, value}}, cum);
        }
    }

private:
    void head(std::string_view name, Labels labels) {
        o_.append(name);
        if (labels.size() > 0) {
            o_.push_back('{');
            bool first = true;
            for (const auto& [k, v] : labels) {
                if (!first) o_.push_back(',');
                first = false;
                o_.append(k).append("=\"");
                escape_label(o_, v);
                o_.push_back('"');
            }
            o_.push_back('}');
        }
        o_.push_back(' ');
    }
    std::string& o_;
};

uint64_t ld(const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); }
uint64_t ld(const std::atomic<uint32_t>& a) { return a.load(std::memory_order_relaxed); }

bool unix_queue(int fd, uint64_t* length, uint64_t* limit) {
    struct stat st;
    if (::fstat(fd, &st) != 0) return false;
    int nl = ::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (nl < 0) return false;
    struct {
        nlmsghdr nh;
        unix_diag_req req;
    } msg{};
    msg.nh.nlmsg_len = sizeof msg;
    msg.nh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    msg.nh.nlmsg_flags = NLM_F_REQUEST;
    msg.req.sdiag_family = AF_UNIX;
    msg.req.udiag_states = ~0u;
    msg.req.udiag_ino = static_cast<uint32_t>(st.st_ino);
    msg.req.udiag_show = UDIAG_SHOW_RQLEN;
    msg.req.udiag_cookie[0] = msg.req.udiag_cookie[1] = ~0u;  // INET_DIAG_NOCOOKIE
    sockaddr_nl sa{};
    sa.nl_family = AF_NETLINK;
    bool ok = false;
    if (::sendto(nl, &msg, sizeof msg, 0, reinterpret_cast<sockaddr*>(&sa), sizeof sa) ==
        static_cast<ssize_t>(sizeof msg)) {
        alignas(nlmsghdr) char buf[8192];
        ssize_t n = ::recv(nl, buf, sizeof buf, 0);
        auto* h = reinterpret_cast<nlmsghdr*>(buf);
        if (n > 0 && NLMSG_OK(h, static_cast<unsigned>(n)) && h->nlmsg_type == SOCK_DIAG_BY_FAMILY) {
            auto* m = static_cast<unix_diag_msg*>(NLMSG_DATA(h));
            int len = static_cast<int>(h->nlmsg_len - NLMSG_LENGTH(sizeof *m));
            for (auto* a = reinterpret_cast<rtattr*>(m + 1); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
                if (a->rta_type != UNIX_DIAG_RQLEN) continue;
                unix_diag_rqlen q;
                std::memcpy(&q, RTA_DATA(a), sizeof q);
                *length = q.udiag_rqueue;  // listeners: connections waiting for accept
                *limit = q.udiag_wqueue;   // listeners: the backlog
                ok = true;
            }
        }
    }
    ::close(nl);
    return ok;
}

}  // namespace

void escape_label(std::string& out, std::string_view v) {
    for (char c : v) {
        if (c == '\\') out.append("\\\\");
        else if (c == '"') out.append("\\\"");
        else if (c == '\n') out.append("\\n");
        else out.push_back(c);
    }
}

std::string app_label(const std::vector<std::string>& apps, size_t i) {
    if (i == 0) return "";
    if (i == kMaxApps - 1 && apps.size() > kMaxApps - 1) return "_other";
    return i - 1 < apps.size() ? apps[i - 1] : "_unknown";
}

bool listen_queue(const ListenerView& l, uint64_t* length, uint64_t* limit) {
    if (l.fd < 0) return false;
    if (l.is_unix) return unix_queue(l.fd, length, limit);
    // On a listening TCP socket the kernel reports the accept queue in
    // tcpi_unacked and its limit in tcpi_sacked.
    tcp_info ti{};
    socklen_t len = sizeof ti;
    if (::getsockopt(l.fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0) return false;
    if (ti.tcpi_state != 10 /* TCP_LISTEN */) return false;
    *length = ti.tcpi_unacked;
    *limit = ti.tcpi_sacked;
    return true;
}

std::string render_metrics(const MetricsInput& in) {
    std::string out;
    out.reserve(32 * 1024);
    Writer w(out);
    const MasterCounters& mc = *in.counters;
    ScoreTotals t = mc.retired;  // plus every live worker
    uint64_t in_flight = 0, conns[2] = {0, 0};
    uint64_t pg_state[4] = {0, 0, 0, 0};
    for (const WorkerView& v : in.workers) {
        const ScoreSlot& s = in.scoreboard->slot(static_cast<size_t>(v.score_slot));
        t.add(s);
        in_flight += ld(s.in_flight);
        conns[0] += ld(s.connections_by_protocol[0]);
        conns[1] += ld(s.connections_by_protocol[1]);
        pg_state[0] += ld(s.pg.up) - std::min(ld(s.pg.up), ld(s.pg.pinned));
        pg_state[1] += ld(s.pg.pinned);
        pg_state[2] += ld(s.pg.connecting);
        pg_state[3] += ld(s.pg.down);
    }

    w.family("quiver_build_info", "gauge", "quiver's version; always 1.");
    w.sample("quiver_build_info", {{"version", QUIVER_VERSION}}, 1);
    w.family("quiver_generation", "gauge", "The worker generation now serving (1 + successful reloads).");
    w.sample("quiver_generation", {}, in.generation);

    w.family("quiver_requests_total", "counter",
             "Responses finished, by app, method (other = outside the standard set) and status class.");
    for (size_t a = 0; a < kMaxApps; ++a) {
        bool configured = a >= 1 && a - 1 < in.apps.size();
        std::string app = app_label(in.apps, a);
        for (size_t m = 0; m < kMethods; ++m) {
            uint64_t row = 0;
            for (size_t c = 0; c < kStatusClasses; ++c) row += t.app_requests[a][m][c];
            // Every configured app shows GET by class from the start (so rate()
            // sees the first requests); other rows once they have a count.
            if (row == 0 && !(configured && m == 0)) continue;
            for (size_t c = 1; c < kStatusClasses; ++c) {
                char cls[4] = {static_cast<char>('0' + c), 'x', 'x', 0};
                w.sample("quiver_requests_total", {{"app", app}, {"method", kMethodNames[m]}, {"status_class", cls}},
                         t.app_requests[a][m][c]);
            }
            if (t.app_requests[a][m][0])
                w.sample("quiver_requests_total", {{"app", app}, {"method", kMethodNames[m]}, {"status_class", "other"}},
                         t.app_requests[a][m][0]);
        }
    }
    w.family("quiver_request_duration_seconds", "histogram",
             "Time from a complete request head to a finished response, by app.");
    for (size_t a = 0; a < kMaxApps; ++a) {
        bool configured = a >= 1 && a - 1 < in.apps.size();
        uint64_t n = 0;
        for (uint64_t b : t.app_duration[a]) n += b;
        if (!configured && n == 0) continue;
        w.histogram("quiver_request_duration_seconds", "app", app_label(in.apps, a), t.app_duration[a],
                    t.app_duration_sum_us[a]);
    }
    w.family("quiver_requests_in_flight", "gauge", "Requests handed to apps and not finished yet.");
    w.sample("quiver_requests_in_flight", {}, in_flight);
    w.family("quiver_connections", "gauge", "Client connections open now, by listener protocol.");
    w.sample("quiver_connections", {{"protocol", "http"}}, conns[0]);
    w.sample("quiver_connections", {{"protocol", "uwsgi"}}, conns[1]);
    w.family("quiver_connections_accepted_total", "counter", "Client connections accepted.");
    w.sample("quiver_connections_accepted_total", {}, t.accepted);
    w.family("quiver_received_bytes_total", "counter", "Bytes read from client connections.");
    w.sample("quiver_received_bytes_total", {}, t.bytes_in);
    w.family("quiver_sent_bytes_total", "counter", "Bytes written to client connections.");
    w.sample("quiver_sent_bytes_total", {}, t.bytes_out);

    w.family("quiver_workers", "gauge", "Worker processes by state and generation.");
    {
        // (state, generation) pairs, few: a linear list.
        std::vector<std::pair<std::pair<std::string, uint32_t>, uint64_t>> groups;
        for (const WorkerView& v : in.workers) {
            auto key = std::make_pair(std::string(v.state), v.generation);
            auto it = std::find_if(groups.begin(), groups.end(), [&](auto& g) { return g.first == key; });
            if (it == groups.end()) groups.push_back({key, 1});
            else ++it->second;
        }
        for (const char* st : {"starting", "ready", "retiring"}) {
            auto key = std::make_pair(std::string(st), in.generation);
            if (std::find_if(groups.begin(), groups.end(), [&](auto& g) { return g.first == key; }) == groups.end())
                groups.push_back({key, 0});
        }
        for (const auto& [key, n] : groups)
            w.sample("quiver_workers", {{"state", key.first}, {"generation", std::to_string(key.second)}}, n);
    }
    w.family("quiver_worker_restarts_total", "counter",
             "Workers replaced, by reason: crash, timeout (heartbeat or start), max_requests, reload.");
    for (size_t r = 0; r < kRestartReasons; ++r)
        w.sample("quiver_worker_restarts_total", {{"reason", kRestartReasonNames[r]}}, mc.restarts[r]);
    w.family("quiver_reloads_total", "counter",
             "Reloads by result: ok, failed (a new worker did not start), refused (bad config).");
    for (size_t r = 0; r < kReloadResults; ++r)
        w.sample("quiver_reloads_total", {{"result", kReloadResultNames[r]}}, mc.reloads[r]);

    w.family("quiver_pg_queries_total", "counter", "PostgreSQL queries finished, by result.");
    for (size_t r = 0; r < kPgResults; ++r)
        w.sample("quiver_pg_queries_total", {{"result", kPgResultNames[r]}}, t.pg_queries[r]);
    w.family("quiver_pg_query_duration_seconds", "histogram",
             "Time from a query's submission to its result, queueing included.");
    w.histogram("quiver_pg_query_duration_seconds", "", "", t.pg_duration, t.pg_duration_sum_us);
    w.family("quiver_pg_connections", "gauge",
             "PostgreSQL pool connections by state: idle (up, shared by pipelined queries), pinned "
             "(held by a transaction), connecting, down.");
    const char* pg_names[4] = {"idle", "pinned", "connecting", "down"};
    for (size_t i = 0; i < 4; ++i) w.sample("quiver_pg_connections", {{"state", pg_names[i]}}, pg_state[i]);

    bool any_queue = false;
    for (const ListenerView& l : in.listeners) {
        uint64_t len = 0, limit = 0;
        if (!listen_queue(l, &len, &limit)) continue;
        if (!any_queue) {
            w.family("quiver_listen_queue_length", "gauge",
                     "Connections the kernel completed that no worker accepted yet, by listener.");
            any_queue = true;
        }
        w.sample("quiver_listen_queue_length", {{"listener", l.address}}, len);
    }
    if (any_queue) {
        w.family("quiver_listen_queue_limit", "gauge", "The listen backlog the kernel applies, by listener.");
        for (const ListenerView& l : in.listeners) {
            uint64_t len = 0, limit = 0;
            if (listen_queue(l, &len, &limit)) w.sample("quiver_listen_queue_limit", {{"listener", l.address}}, limit);
        }
    }
    return out;
}

}  // namespace quiver::server
