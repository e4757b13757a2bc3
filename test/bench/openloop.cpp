// SPDX-License-Identifier: MIT
// openloop: an HTTP/1.1 load generator for the benchmark's production rounds. Open loop: requests
// are scheduled at fixed intervals and latency counts from the scheduled send time, so a stalled
// server is charged for every request it delayed (no coordinated omission). Closed loop (--rate 0):
// each connection sends its next request as soon as the previous answer is in.
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cinttypes>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

namespace {

using Nanos = int64_t;
constexpr Nanos kSecond = 1'000'000'000;

Nanos now_ns() noexcept {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return Nanos{ts.tv_sec} * kSecond + ts.tv_nsec;
}

// HDR-style histogram of microseconds: values below 128 exact, above that 64 sub-buckets per
// power of two (relative error under 1.6 %), up to 2^40 us.
class Histogram {
public:
    static constexpr int kSubBits = 6;
    static constexpr int kExact = 1 << (kSubBits + 1);
    static constexpr int kBuckets = kExact + (40 - kSubBits) * (1 << kSubBits);

    void record(uint64_t us) noexcept {
        counts_[index(us)]++;
        total_++;
        sum_ += us;
        max_ = std::max(max_, us);
    }
    uint64_t total() const noexcept { return total_; }
    uint64_t max() const noexcept { return max_; }
    double mean() const noexcept { return total_ ? double(sum_) / double(total_) : 0.0; }

    // The smallest bucket's upper bound with at least q of the values at or below it.
    uint64_t percentile(double q) const noexcept {
        if (total_ == 0) return 0;
        auto want = uint64_t(std::ceil(q / 100.0 * double(total_)));
        want = std::max<uint64_t>(want, 1);
        uint64_t seen = 0;
        for (int i = 0; i < kBuckets; ++i) {
            seen += counts_[i];
            if (seen >= want) return std::min(upper(i), max_);
        }
        return max_;
    }
    // Non-empty buckets as [upper_us, count] pairs.
    std::string buckets_json() const {
        std::string out = "[";
        for (int i = 0; i < kBuckets; ++i) {
            if (!counts_[i]) continue;
            char item[48];
            std::snprintf(item, sizeof item, "%s[%" PRIu64 ",%" PRIu64 "]", out.size() > 1 ? "," : "",
                          upper(i), counts_[i]);
            out += item;
        }
        return out + "]";
    }

private:
    static int index(uint64_t v) noexcept {
        if (v < uint64_t(kExact)) return int(v);
        int msb = 63 - __builtin_clzll(v);
        int shift = msb - kSubBits;
        int i = shift * (1 << kSubBits) + int(v >> shift);
        return std::min(i, kBuckets - 1);
    }
    static uint64_t upper(int i) noexcept {
        if (i < kExact) return uint64_t(i);
        int shift = (i - kExact) / (1 << kSubBits) + 1;
        uint64_t mantissa = uint64_t(i - shift * (1 << kSubBits));
        return ((mantissa + 1) << shift) - 1;
    }
    std::array<uint64_t, kBuckets> counts_{};
    uint64_t total_ = 0, sum_ = 0, max_ = 0;
};

struct Options {
    std::string host = "127.0.0.1", port = "80", path = "/";
    double rate = 0;  // requests per second over all connections; 0 = closed loop
    int connections = 16;
    double duration = 10, timeout = 5;
};

struct Stats {
    Histogram latency;
    uint64_t ok = 0, non2xx = 0, connect_errors = 0, read_errors = 0, timeouts = 0,
             parse_errors = 0, unsent = 0, reconnects = 0, bytes = 0;
};

// One keep-alive connection, one request in flight at a time.
struct Conn {
    int fd = -1;
    bool connected = false, busy = false;
    Nanos retry_at = 0;          // after a failed connect
    Nanos sched = 0, sent = 0;   // of the request in flight
    size_t written = 0;
    std::deque<Nanos> queue;     // scheduled, not yet sent (open loop)
    std::string in;
};

// Parses one whole response at the front of `in`. Returns bytes consumed (0 = incomplete,
// -1 = malformed); sets status and whether the server will close.
long parse_response(std::string_view in, int& status, bool& close) {
    size_t head_end = in.find("\r\n\r\n");
    if (head_end == std::string_view::npos) return in.size() > 65536 ? -1 : 0;
    if (in.size() < 12 || in.substr(0, 7) != "HTTP/1.") return -1;
    status = std::atoi(std::string(in.substr(9, 3)).c_str());
    if (status < 100 || status > 599) return -1;
    close = in.substr(0, 8) == "HTTP/1.0";
    long content_length = -1;
    bool chunked = false;
    size_t pos = in.find("\r\n") + 2;
    while (pos < head_end) {
        size_t eol = in.find("\r\n", pos);
        std::string line(in.substr(pos, eol - pos));
        pos = eol + 2;
        size_t colon = line.find(':');
        if (colon == std::string::npos) continue;
        std::string name = line.substr(0, colon), value = line.substr(colon + 1);
        for (auto& c : name) c = char(std::tolower(static_cast<unsigned char>(c)));
        for (auto& c : value) c = char(std::tolower(static_cast<unsigned char>(c)));
        if (name == "content-length") content_length = std::atol(value.c_str());
        else if (name == "transfer-encoding") chunked = value.find("chunked") != std::string::npos;
        else if (name == "connection") {
            if (value.find("close") != std::string::npos) close = true;
            if (value.find("keep-alive") != std::string::npos) close = false;
        }
    }
    size_t body = head_end + 4;
    if (!chunked) {
        if (content_length < 0) return -1;  // read-until-close bodies are not used by any target
        return in.size() >= body + size_t(content_length) ? long(body + content_length) : 0;
    }
    while (true) {
        size_t eol = in.find("\r\n", body);
        if (eol == std::string_view::npos) return 0;
        long size = std::strtol(std::string(in.substr(body, eol - body)).c_str(), nullptr, 16);
        if (size < 0) return -1;
        body = eol + 2;
        if (size == 0) {
            size_t end = in.find("\r\n\r\n", body - 2);
            return end == std::string_view::npos ? 0 : long(end + 4);
        }
        if (in.size() < body + size_t(size) + 2) return 0;
        body += size_t(size) + 2;
    }
}

class Runner {
public:
    Runner(const Options& o, const sockaddr_storage& addr, socklen_t len)
        : opt_(o), addr_(addr), addr_len_(len), conns_(size_t(o.connections)) {
        request_ = "GET " + o.path + " HTTP/1.1\r\nHost: " + o.host + ":" + o.port +
                   "\r\nUser-Agent: quiver-openloop\r\nAccept: */*\r\n\r\n";
        epfd_ = epoll_create1(EPOLL_CLOEXEC);
    }

    int run() {
        for (auto& c : conns_) open(c, 0);
        // Let every connection finish its handshake before the clock starts.
        Nanos ready_by = now_ns() + 5 * kSecond;
        while (now_ns() < ready_by && !all_connected()) poll_once(now_ns() + kSecond / 100);
        start_ = now_ns();
        end_ = start_ + Nanos(opt_.duration * double(kSecond));
        const Nanos drain_end = end_ + Nanos(opt_.timeout * double(kSecond));
        const Nanos interval = opt_.rate > 0 ? Nanos(double(kSecond) / opt_.rate) : 0;
        uint64_t next = 0;
        while (true) {
            Nanos now = now_ns();
            if (interval) {
                for (Nanos t = start_ + Nanos(next) * interval; t <= now && t < end_;
                     t = start_ + Nanos(++next) * interval)
                    conns_[next % conns_.size()].queue.push_back(t);
            }
            bool pending = false;
            for (auto& c : conns_) {
                expire(c, now);
                if (c.fd < 0 && c.retry_at <= now && now < drain_end &&
                    (now < end_ || !c.queue.empty()))
                    open(c, now);
                if (c.connected && !c.busy) {
                    if (interval && !c.queue.empty() && now < drain_end) {
                        send(c, c.queue.front(), now);
                        c.queue.pop_front();
                    } else if (!interval && now < end_) {
                        send(c, now, now);
                    }
                }
                pending = pending || c.busy || (!c.queue.empty() && now < drain_end);
            }
            if (now >= end_ && (!pending || now >= drain_end)) break;
            Nanos wake = now + kSecond / 1000;
            if (interval && start_ + Nanos(next) * interval < end_)
                wake = std::min(wake, start_ + Nanos(next) * interval);
            poll_once(wake);
        }
        last_ = std::max(last_, end_);
        for (auto& c : conns_) {
            if (c.busy) stats_.timeouts++;
            stats_.unsent += c.queue.size();
        }
        return report(next);
    }

private:
    bool all_connected() const {
        for (auto& c : conns_)
            if (!c.connected) return false;
        return true;
    }

    void open(Conn& c, Nanos now) {
        c.in.clear();
        c.connected = c.busy = false;
        c.fd = socket(addr_.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        int one = 1;
        setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (connect(c.fd, reinterpret_cast<const sockaddr*>(&addr_), addr_len_) != 0 &&
            errno != EINPROGRESS) {
            fail_connect(c, now);
            return;
        }
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP;
        ev.data.ptr = &c;
        epoll_ctl(epfd_, EPOLL_CTL_ADD, c.fd, &ev);
    }

    void fail_connect(Conn& c, Nanos now) {
        stats_.connect_errors++;
        close_fd(c);
        c.retry_at = now + kSecond / 100;
    }

    void close_fd(Conn& c) {
        if (c.fd >= 0) ::close(c.fd);
        c.fd = -1;
        c.connected = c.busy = false;
        c.in.clear();
    }

    // The request in flight failed: count it, reconnect.
    void fail_request(Conn& c, uint64_t& counter, Nanos now) {
        if (c.busy) counter++;
        close_fd(c);
        c.retry_at = now;
    }

    void watch(Conn& c, bool writable) {
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLRDHUP | (writable ? EPOLLOUT : 0u);
        ev.data.ptr = &c;
        epoll_ctl(epfd_, EPOLL_CTL_MOD, c.fd, &ev);
    }

    void expire(Conn& c, Nanos now) {
        if (c.busy && now - c.sent > Nanos(opt_.timeout * double(kSecond)))
            fail_request(c, stats_.timeouts, now);
    }

    void send(Conn& c, Nanos sched, Nanos now) {
        c.busy = true;
        c.sched = sched;
        c.sent = now;
        c.written = 0;
        flush(c, now);
    }

    void flush(Conn& c, Nanos now) {
        while (c.busy && c.written < request_.size()) {
            ssize_t n = ::send(c.fd, request_.data() + c.written, request_.size() - c.written,
                               MSG_NOSIGNAL);
            if (n < 0) {
                if (errno == EINTR) continue;
                if (errno == EAGAIN) {
                    watch(c, true);  // the rest when the socket drains
                    return;
                }
                fail_request(c, stats_.read_errors, now);
                return;
            }
            c.written += size_t(n);
        }
    }

    void on_event(Conn& c, uint32_t events, Nanos now) {
        if (!c.connected) {
            int err = 0;
            socklen_t len = sizeof err;
            getsockopt(c.fd, SOL_SOCKET, SO_ERROR, &err, &len);
            if (err != 0 || (events & (EPOLLERR | EPOLLHUP))) {
                fail_connect(c, now);
                return;
            }
            c.connected = true;
            watch(c, false);
            return;
        }
        if (c.busy && c.written < request_.size()) {
            flush(c, now);
            if (c.busy && c.written == request_.size()) watch(c, false);
        }
        if (!(events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) return;
        char buf[65536];
        while (c.fd >= 0) {
            ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
            if (n > 0) {
                stats_.bytes += uint64_t(n);
                c.in.append(buf, size_t(n));
                if (!consume(c, now)) return;
                continue;
            }
            if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
            // Closed by the server (or reset): an error only if a request was waiting.
            if (!c.busy) stats_.reconnects++;
            fail_request(c, stats_.read_errors, now);
            return;
        }
    }

    // Handles a complete response if there is one; false when the connection was closed.
    bool consume(Conn& c, Nanos now) {
        int status = 0;
        bool close = false;
        long used = parse_response(c.in, status, close);
        if (used == 0) return true;
        if (used < 0 || !c.busy) {
            stats_.parse_errors++;
            fail_request(c, stats_.read_errors, now);
            return false;
        }
        c.in.erase(0, size_t(used));
        c.busy = false;
        stats_.latency.record(uint64_t((now - c.sched) / 1000));
        last_ = now;
        if (status >= 200 && status < 300) stats_.ok++;
        else stats_.non2xx++;
        if (close) {
            stats_.reconnects++;
            close_fd(c);
            c.retry_at = now;
            return false;
        }
        return true;
    }

    void poll_once(Nanos wake) {
        epoll_event events[256];
        Nanos wait = std::max<Nanos>(0, wake - now_ns());
        timespec ts{time_t(wait / kSecond), long(wait % kSecond)};
        int n = epoll_pwait2(epfd_, events, 256, &ts, nullptr);
        Nanos now = now_ns();
        for (int i = 0; i < n; ++i) {
            auto* c = static_cast<Conn*>(events[i].data.ptr);
            if (c->fd >= 0) on_event(*c, events[i].events, now);
        }
    }

    int report(uint64_t scheduled) {
        const Histogram& h = stats_.latency;
        double elapsed = double(std::max(last_, end_) - start_) / double(kSecond);
        double window = double(end_ - start_) / double(kSecond);
        uint64_t errors = stats_.connect_errors + stats_.read_errors + stats_.timeouts +
                          stats_.unsent;
        std::printf(
            "{\"mode\": \"%s\", \"target_rate\": %.1f, \"connections\": %d, \"duration_s\": %.3f, "
            "\"elapsed_s\": %.3f, \"scheduled\": %" PRIu64 ", \"requests\": %" PRIu64 ", "
            "\"rps\": %.1f, \"ok\": %" PRIu64 ", \"non2xx\": %" PRIu64 ", "
            "\"connect_errors\": %" PRIu64 ", \"read_errors\": %" PRIu64 ", "
            "\"timeouts\": %" PRIu64 ", \"unsent\": %" PRIu64 ", \"errors\": %" PRIu64 ", "
            "\"reconnects\": %" PRIu64 ", \"bytes\": %" PRIu64 ", \"latency_us\": {\"mean\": %.1f, "
            "\"p50\": %" PRIu64 ", \"p90\": %" PRIu64 ", \"p99\": %" PRIu64 ", \"p99.9\": %" PRIu64
            ", \"p99.99\": %" PRIu64 ", \"max\": %" PRIu64 "}, \"histogram\": %s}\n",
            opt_.rate > 0 ? "open" : "closed", opt_.rate, opt_.connections, window, elapsed,
            opt_.rate > 0 ? scheduled : h.total(), h.total(), double(h.total()) / elapsed,
            stats_.ok, stats_.non2xx, stats_.connect_errors, stats_.read_errors, stats_.timeouts,
            stats_.unsent, errors, stats_.reconnects, stats_.bytes, h.mean(), h.percentile(50),
            h.percentile(90), h.percentile(99), h.percentile(99.9), h.percentile(99.99), h.max(),
            h.buckets_json().c_str());
        return h.total() ? 0 : 1;
    }

    Options opt_;
    sockaddr_storage addr_;
    socklen_t addr_len_;
    std::vector<Conn> conns_;
    std::string request_;
    int epfd_;
    Nanos start_ = 0, end_ = 0, last_ = 0;
    Stats stats_;
};

[[noreturn]] void usage(const char* why) {
    std::fprintf(stderr,
                 "openloop: %s\n"
                 "usage: openloop --url http://HOST:PORT/PATH [--rate REQ_PER_S (0 = closed loop)]\n"
                 "                [--connections N] [--duration S] [--timeout S]\n"
                 "Prints one JSON object: counts, errors, latency percentiles (us, from the\n"
                 "scheduled send time in open loop) and the histogram's non-empty buckets.\n",
                 why);
    std::exit(2);
}

double number(const char* flag, const char* text, double lo, double hi) {
    char* end = nullptr;
    double v = std::strtod(text, &end);
    if (!end || *end || !(v >= lo && v <= hi)) {
        std::fprintf(stderr, "openloop: %s must be a number in %g..%g, not '%s'\n", flag, lo, hi,
                     text);
        std::exit(2);
    }
    return v;
}

void parse_url(std::string_view url, Options& o) {
    if (url.substr(0, 7) != "http://") usage("--url must start with http://");
    url.remove_prefix(7);
    size_t slash = url.find('/');
    std::string_view authority = url.substr(0, slash);
    o.path = slash == std::string_view::npos ? "/" : std::string(url.substr(slash));
    size_t colon = authority.rfind(':');
    if (colon == std::string_view::npos) usage("--url needs an explicit port");
    o.host = std::string(authority.substr(0, colon));
    o.port = std::string(authority.substr(colon + 1));
    if (o.host.empty() || o.port.empty()) usage("--url needs HOST:PORT");
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    bool have_url = false;
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        if (i + 1 >= argc) usage(("missing value after " + std::string(a)).c_str());
        const char* v = argv[++i];
        if (a == "--url") { parse_url(v, o); have_url = true; }
        else if (a == "--rate") o.rate = number("--rate", v, 0, 1e7);
        else if (a == "--connections") o.connections = int(number("--connections", v, 1, 10000));
        else if (a == "--duration") o.duration = number("--duration", v, 0.1, 86400);
        else if (a == "--timeout") o.timeout = number("--timeout", v, 0.01, 600);
        else usage(("unknown option " + std::string(a)).c_str());
    }
    if (!have_url) usage("--url is required");
    addrinfo hints{}, *res = nullptr;
    hints.ai_socktype = SOCK_STREAM;
    if (int rc = getaddrinfo(o.host.c_str(), o.port.c_str(), &hints, &res); rc != 0 || !res) {
        std::fprintf(stderr, "openloop: cannot resolve %s:%s: %s\n", o.host.c_str(), o.port.c_str(),
                     gai_strerror(rc));
        return 2;
    }
    sockaddr_storage addr{};
    std::memcpy(&addr, res->ai_addr, res->ai_addrlen);
    socklen_t len = res->ai_addrlen;
    freeaddrinfo(res);
    Runner runner(o, addr, len);
    return runner.run();
}
