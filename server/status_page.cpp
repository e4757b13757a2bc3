// SPDX-License-Identifier: MIT
// /status (HTML + inline SVG) and the `status --watch` text view.
#include "server/status_page.hpp"

#include <algorithm>
#include <cstdio>

#include "quiver_build.h"

namespace quiver::server {

namespace {

std::string fmt(const char* f, double v) {
    char b[64];
    std::snprintf(b, sizeof b, f, v);
    return b;
}

std::string html_escape(const std::string& s) {
    std::string o;
    for (char c : s) {
        switch (c) {
            case '<': o += "&lt;"; break;
            case '>': o += "&gt;"; break;
            case '&': o += "&amp;"; break;
            case '"': o += "&quot;"; break;
            default: o.push_back(c);
        }
    }
    return o;
}

std::string mib(uint64_t bytes) { return fmt("%.1f", static_cast<double>(bytes) / (1024.0 * 1024.0)); }

}  // namespace

std::string svg_chart(const std::vector<double>& values, int w, int h, const std::string& title,
                      const std::string& unit) {
    double top = 0;
    for (double v : values) top = std::max(top, v);
    if (top <= 0) top = 1;
    const int pad = 4, label = 14;
    const double plot_h = h - label - 2 * pad;
    std::string pts;
    size_t n = values.size();
    for (size_t i = 0; i < n; ++i) {
        double x = pad + (n > 1 ? (w - 2.0 * pad) * static_cast<double>(i) / static_cast<double>(n - 1) : 0);
        double y = label + pad + plot_h * (1.0 - values[i] / top);
        pts += fmt("%.1f", x) + "," + fmt("%.1f", y) + " ";
    }
    std::string s = "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(w) +
                    "\" height=\"" + std::to_string(h) + "\" viewBox=\"0 0 " + std::to_string(w) + " " +
                    std::to_string(h) + "\" role=\"img\" aria-label=\"" + html_escape(title) + "\">";
    s += "<rect x=\"0\" y=\"0\" width=\"" + std::to_string(w) + "\" height=\"" + std::to_string(h) +
         "\" fill=\"#f8f8f8\" stroke=\"#ccc\"/>";
    s += "<text x=\"" + std::to_string(pad) + "\" y=\"11\" font-size=\"11\" font-family=\"sans-serif\">" +
         html_escape(title) + " (max " + fmt("%.1f", top) + " " + html_escape(unit) + ", last " +
         std::to_string(n) + " s)</text>";
    if (n > 0)
        s += "<polyline fill=\"none\" stroke=\"#1f6fb2\" stroke-width=\"1.5\" points=\"" + pts + "\"/>";
    s += "</svg>";
    return s;
}

std::string render_status_html(const StatusHeader& h, const StatusSampler& s) {
    std::string o;
    o += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
         "<meta http-equiv=\"refresh\" content=\"2\"><title>quiver status</title><style>"
         "body{font-family:sans-serif;margin:1em}table{border-collapse:collapse}"
         "th,td{padding:2px 8px;border-bottom:1px solid #ddd;text-align:right}"
         "th:nth-child(3),td:nth-child(3){text-align:left}.charts svg{margin-right:1em}"
         "</style></head><body>\n";
    o += "<h1>quiver " QUIVER_VERSION "</h1>\n<p>master pid " + std::to_string(h.master_pid) + ", generation " +
         std::to_string(h.generation) + (h.reloading ? ", reloading" : "") + "; last reload: " +
         html_escape(h.last_reload.empty() ? "none" : h.last_reload) + "</p>\n";
    const TotalSample& t = s.total();
    o += "<p id=\"totals\">" + fmt("%.0f", t.rps) + " req/s, p99 " + fmt("%.2f", t.p99_ms) + " ms</p>\n";
    std::vector<double> rps, p99;
    for (const TotalSample& x : s.history()) {
        rps.push_back(x.rps);
        p99.push_back(x.p99_ms);
    }
    o += "<div class=\"charts\">" + svg_chart(rps, 480, 140, "requests/s", "req/s") +
         svg_chart(p99, 480, 140, "p99 latency", "ms") + "</div>\n";
    o += "<table id=\"workers\"><thead><tr><th>slot</th><th>pid</th><th>state</th><th>gen</th><th>req/s</th>"
         "<th>p50 ms</th><th>p99 ms</th><th>conns</th><th>in flight</th><th>requests</th><th>RSS MiB</th>"
         "<th>age s</th></tr></thead><tbody>\n";
    for (const WorkerSample& w : s.workers()) {
        o += "<tr><td>" + std::to_string(w.slot) + "</td><td>" + std::to_string(w.pid) + "</td><td>" +
             html_escape(w.state) + "</td><td>" + std::to_string(w.generation) + "</td><td>" + fmt("%.0f", w.rps) +
             "</td><td>" + fmt("%.2f", w.p50_ms) + "</td><td>" + fmt("%.2f", w.p99_ms) + "</td><td>" +
             std::to_string(w.connections) + "</td><td>" + std::to_string(w.in_flight) + "</td><td>" +
             std::to_string(w.requests) + "</td><td>" + mib(w.rss_bytes) + "</td><td>" + std::to_string(w.age_s) +
             "</td></tr>\n";
    }
    o += "</tbody></table>\n</body></html>\n";
    return o;
}

std::string render_status_text(const StatusHeader& h, const StatusSampler& s) {
    std::string o = "quiver " QUIVER_VERSION " master " + std::to_string(h.master_pid) + "  generation " +
                    std::to_string(h.generation) + (h.reloading ? " (reloading)" : "") + "  last reload: " +
                    (h.last_reload.empty() ? std::string("none") : h.last_reload) + "\n\n";
    char line[256];
    std::snprintf(line, sizeof line, "%-5s %-8s %-9s %4s %9s %8s %8s %6s %9s %12s %8s\n", "slot", "pid", "state",
                  "gen", "req/s", "p50 ms", "p99 ms", "conns", "inflight", "requests", "RSS MiB");
    o += line;
    uint64_t conns = 0, req = 0, rss = 0, infl = 0;
    for (const WorkerSample& w : s.workers()) {
        std::snprintf(line, sizeof line, "%-5d %-8d %-9s %4u %9.0f %8.2f %8.2f %6llu %9llu %12llu %8s\n", w.slot,
                      w.pid, w.state.c_str(), w.generation, w.rps, w.p50_ms, w.p99_ms,
                      static_cast<unsigned long long>(w.connections), static_cast<unsigned long long>(w.in_flight),
                      static_cast<unsigned long long>(w.requests), mib(w.rss_bytes).c_str());
        o += line;
        conns += w.connections;
        req += w.requests;
        rss += w.rss_bytes;
        infl += w.in_flight;
    }
    const TotalSample& t = s.total();
    std::snprintf(line, sizeof line, "%-5s %-8s %-9s %4s %9.0f %8s %8.2f %6llu %9llu %12llu %8s\n", "total", "",
                  "", "", t.rps, "", t.p99_ms, static_cast<unsigned long long>(conns),
                  static_cast<unsigned long long>(infl), static_cast<unsigned long long>(req), mib(rss).c_str());
    o += line;
    return o;
}

}  // namespace quiver::server
