// SPDX-License-Identifier: MIT
// Setting text <-> values: numbers with units, addresses, IPs, names, mount
// prefixes, paths, quoting. Pure functions; the loader adds locations.
#include "server/common/config/values.hpp"

#include <arpa/inet.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cstring>
#include <filesystem>

namespace quiver::config {

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_alnum(char c) { return is_digit(c) || is_alpha(c); }

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

struct Unit {
    std::string_view name;
    uint64_t factor;
};

constexpr uint64_t kKiB = 1024;
constexpr std::array<Unit, 14> kSizeUnits = {{
    {"", 1}, {"B", 1},
    {"k", kKiB}, {"K", kKiB}, {"KiB", kKiB},
    {"m", kKiB << 10}, {"M", kKiB << 10}, {"MiB", kKiB << 10},
    {"g", kKiB << 20}, {"G", kKiB << 20}, {"GiB", kKiB << 20},
    {"t", kKiB << 30}, {"T", kKiB << 30}, {"TiB", kKiB << 30},
}};

constexpr std::array<Unit, 5> kDurationUnits = {{
    {"ms", 1}, {"s", 1000}, {"m", 60'000}, {"h", 3'600'000}, {"d", 86'400'000},
}};

// Reads the leading digits of `text` at `pos` into `value`; false on overflow.
bool read_digits(std::string_view text, size_t& pos, uint64_t& value) {
    size_t start = pos;
    while (pos < text.size() && is_digit(text[pos])) ++pos;
    auto [p, ec] = std::from_chars(text.data() + start, text.data() + pos, value);
    (void)p;
    return ec == std::errc{};
}

bool mul_overflows(uint64_t a, uint64_t b) { return b != 0 && a > UINT64_MAX / b; }

// Decodes one UTF-8 sequence at s[i]; returns its length, 0 if invalid.
size_t utf8_sequence(std::string_view s, size_t i, uint32_t& cp) {
    auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
    unsigned char c = b(0);
    size_t len;
    if (c < 0x80) { cp = c; return 1; }
    if (c >= 0xC2 && c <= 0xDF) { len = 2; cp = c & 0x1F; }
    else if (c >= 0xE0 && c <= 0xEF) { len = 3; cp = c & 0x0F; }
    else if (c >= 0xF0 && c <= 0xF4) { len = 4; cp = c & 0x07; }
    else return 0;
    if (i + len > s.size()) return 0;
    for (size_t k = 1; k < len; ++k) {
        if ((b(k) & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (b(k) & 0x3F);
    }
    // Overlong forms, surrogates and code points past U+10FFFF are invalid.
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF))) return 0;
    if (cp >= 0xD800 && cp <= 0xDFFF) return 0;
    return len;
}

bool valid_ipv4(const std::string& s) {
    in_addr a;
    return inet_pton(AF_INET, s.c_str(), &a) == 1;
}

bool valid_ipv6(const std::string& s) {
    in6_addr a;
    return inet_pton(AF_INET6, s.c_str(), &a) == 1;
}

// RFC 1123 host name: dot-separated labels of letters, digits and '-'.
bool valid_hostname(std::string_view h) {
    if (h.empty() || h.size() > 253) return false;
    size_t start = 0;
    while (start <= h.size()) {
        size_t dot = h.find('.', start);
        std::string_view label = h.substr(start, dot == std::string_view::npos ? h.npos
                                                                                : dot - start);
        if (label.empty() || label.size() > 63) return false;
        if (label.front() == '-' || label.back() == '-') return false;
        for (char c : label)
            if (!is_alnum(c) && c != '-') return false;
        if (dot == std::string_view::npos) break;
        start = dot + 1;
    }
    return true;
}

Result<uint16_t> parse_port(std::string_view text, std::string_view address) {
    uint64_t port = 0;
    size_t pos = 0;
    if (text.empty() || !read_digits(text, pos, port) || pos != text.size())
        return invalid("expected a port number after ':' in " + shown(address));
    if (port < 1 || port > 65535)
        return invalid("port " + std::string(text) + " is out of range 1..65535");
    return static_cast<uint16_t>(port);
}

}  // namespace

Result<uint64_t> parse_uint(std::string_view text) {
    uint64_t v = 0;
    size_t pos = 0;
    if (text.empty() || !is_digit(text[0]))
        return invalid("expected a whole number, got " + shown(text));
    if (!read_digits(text, pos, v)) return invalid(shown(text) + " is too large");
    if (pos != text.size()) return invalid("expected a whole number, got " + shown(text));
    return v;
}

Result<uint64_t> parse_size(std::string_view text) {
    uint64_t v = 0;
    size_t pos = 0;
    if (text.empty() || !is_digit(text[0]))
        return invalid("expected a size such as 8190, 64KiB or 1MiB, got " + shown(text));
    if (!read_digits(text, pos, v)) return invalid(shown(text) + " is too large");
    if (pos < text.size() && text[pos] == '.')
        return invalid("expected a whole number of bytes or units, got " + shown(text));
    size_t unit_start = pos;
    while (unit_start < text.size() && text[unit_start] == ' ') ++unit_start;
    std::string_view unit = text.substr(unit_start);
    for (const Unit& u : kSizeUnits) {
        if (u.name != unit || (unit.empty() && unit_start != pos)) continue;
        if (mul_overflows(v, u.factor)) return invalid(shown(text) + " is too large");
        return v * u.factor;
    }
    std::string lu = lower(unit);
    if (lu == "kb" || lu == "mb" || lu == "gb" || lu == "tb") {
        std::string binary = std::string(1, static_cast<char>(std::toupper(lu[0]))) + "iB";
        return invalid(shown(text) + " is ambiguous (1000 or 1024?): write " +
                       std::string(text.substr(0, pos)) + binary + " or a number of bytes");
    }
    return invalid("unknown unit " + shown(unit) + " in " + shown(text) +
                   ": use B, KiB, MiB, GiB, TiB (or k, m, g, t)");
}

Result<uint64_t> parse_duration(std::string_view text) {
    static constexpr std::string_view kExpected =
        "expected a duration such as 500ms, 10s, 2m or 1h, got ";
    if (text.empty() || !is_digit(text[0])) return invalid(std::string(kExpected) + shown(text));
    uint64_t total = 0;
    size_t pos = 0;
    if (text.find_first_not_of("0123456789") == std::string_view::npos) {
        // A bare number is seconds, as gunicorn's timeouts are.
        if (!read_digits(text, pos, total) || mul_overflows(total, 1000))
            return invalid(shown(text) + " is too large");
        return total * 1000;
    }
    while (pos < text.size()) {
        uint64_t n = 0;
        if (!is_digit(text[pos])) return invalid(std::string(kExpected) + shown(text));
        if (!read_digits(text, pos, n)) return invalid(shown(text) + " is too large");
        if (pos < text.size() && (text[pos] == '.' || text[pos] == ','))
            return invalid("fractions are not supported in " + shown(text) +
                           ": use a smaller unit (1500ms, 90s)");
        size_t unit_start = pos;
        while (pos < text.size() && is_alpha(text[pos])) ++pos;
        std::string_view unit = text.substr(unit_start, pos - unit_start);
        if (unit.empty()) return invalid(std::string(kExpected) + shown(text));
        uint64_t factor = 0;
        for (const Unit& u : kDurationUnits)
            if (u.name == unit) factor = u.factor;
        if (factor == 0)
            return invalid("unknown unit " + shown(unit) + " in " + shown(text) +
                           ": use ms, s, m, h or d");
        if (mul_overflows(n, factor) || total + n * factor < total)
            return invalid(shown(text) + " is too large");
        total += n * factor;
    }
    return total;
}

Result<bool> parse_bool(std::string_view text) {
    std::string t = lower(text);
    if (t == "true" || t == "yes" || t == "on" || t == "1") return true;
    if (t == "false" || t == "no" || t == "off" || t == "0") return false;
    return invalid("expected true or false, got " + shown(text));
}

Result<uint32_t> parse_mode(std::string_view text) {
    std::string_view digits = text;
    if (digits.size() > 2 && digits[0] == '0' && (digits[1] == 'o' || digits[1] == 'O'))
        digits.remove_prefix(2);
    if (digits.empty() || digits.size() > 12 ||
        digits.find_first_not_of("01234567") != std::string_view::npos)
        return invalid("expected octal permission bits such as 0660, got " + shown(text));
    uint32_t mode = 0;
    for (char c : digits) mode = mode * 8 + static_cast<uint32_t>(c - '0');
    if (mode > 0777) return invalid("permission bits " + shown(text) + " are beyond 0777");
    return mode;
}

std::string format_size(uint64_t bytes) {
    static constexpr std::array<Unit, 4> kUnits = {
        {{"TiB", kKiB << 30}, {"GiB", kKiB << 20}, {"MiB", kKiB << 10}, {"KiB", kKiB}}};
    if (bytes != 0)
        for (const Unit& u : kUnits)
            if (bytes % u.factor == 0)
                return std::to_string(bytes / u.factor) + std::string(u.name);
    return std::to_string(bytes);
}

std::string format_duration(uint64_t ms) {
    if (ms == 0) return "0s";
    for (auto it = kDurationUnits.rbegin(); it != kDurationUnits.rend(); ++it)
        if (ms % it->factor == 0) return std::to_string(ms / it->factor) + std::string(it->name);
    return std::to_string(ms) + "ms";
}

std::string format_mode(uint32_t mode) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%04o", mode & 07777);
    return buf;
}

Result<ListenSpec> parse_address(std::string_view text, const std::string& base_dir) {
    static constexpr std::string_view kForms =
        "expected HOST:PORT, [IPv6]:PORT, :PORT (all interfaces) or unix:PATH, got ";
    ListenSpec spec;
    if (text.starts_with("unix:")) {
        std::string_view path = text.substr(5);
        if (path.empty()) return invalid("missing socket path after \"unix:\"");
        if (path[0] == '@') return invalid("abstract unix sockets are not supported");
        spec.is_unix = true;
        spec.path = resolve_path(path, base_dir);
        if (auto ok = check_socket_path(spec.path); !ok) return unexpected(ok.error());
        spec.address = "unix:" + spec.path;
        return spec;
    }
    spec.address = std::string(text);
    std::string_view host, port;
    if (text.starts_with("[")) {
        size_t close = text.find(']');
        if (close == std::string_view::npos) return invalid("missing ']' in " + shown(text));
        host = text.substr(1, close - 1);
        std::string_view after = text.substr(close + 1);
        if (!after.starts_with(":")) return invalid("expected :PORT after ']' in " + shown(text));
        port = after.substr(1);
        // A zone index ("fe80::1%eth0") follows the address itself.
        std::string bare(host.substr(0, host.find('%')));
        if (!valid_ipv6(bare) || host.ends_with("%"))
            return invalid("bad IPv6 address " + shown(host) + " in " + shown(text));
    } else {
        size_t colon = text.rfind(':');
        if (colon == std::string_view::npos) {
            if (!text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos)
                return invalid(std::string(kForms) + shown(text) + " (write :" +
                               std::string(text) + " for all interfaces)");
            return invalid(std::string(kForms) + shown(text));
        }
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
        if (host.find(':') != std::string_view::npos)
            return invalid("IPv6 addresses need brackets: [" + std::string(host) + "]:" +
                           std::string(port));
        if (host == "*") host = {};
        if (!host.empty()) {
            std::string h(host);
            bool dotted = h.find_first_not_of("0123456789.") == std::string::npos;
            if (dotted ? !valid_ipv4(h) : !valid_hostname(h))
                return invalid("bad host " + shown(host) + " in " + shown(text));
        }
    }
    auto p = parse_port(port, text);
    if (!p) return unexpected(p.error());
    spec.host = std::string(host);
    spec.port = *p;
    return spec;
}

std::string endpoint_key(const ListenSpec& spec) {
    if (spec.is_unix) return "unix:" + spec.path;
    std::string host = spec.host.empty() ? "0.0.0.0" : spec.host;
    char buf[INET6_ADDRSTRLEN];
    in_addr a4;
    in6_addr a6;
    if (inet_pton(AF_INET, host.c_str(), &a4) == 1 && inet_ntop(AF_INET, &a4, buf, sizeof buf))
        host = buf;
    else if (inet_pton(AF_INET6, host.c_str(), &a6) == 1 &&
             inet_ntop(AF_INET6, &a6, buf, sizeof buf))
        host = "[" + std::string(buf) + "]";
    else
        host = lower(host);
    return host + ":" + std::to_string(spec.port);
}

Result<void> check_utf8(std::string_view s) {
    for (size_t i = 0; i < s.size();) {
        uint32_t cp;
        size_t n = utf8_sequence(s, i, cp);
        if (n == 0) return invalid("not valid UTF-8 (at byte " + std::to_string(i) + ")");
        i += n;
    }
    return {};
}

Result<void> check_text(std::string_view s) {
    for (size_t i = 0; i < s.size(); ++i) {
        auto c = static_cast<unsigned char>(s[i]);
        if (c < 0x20 || c == 0x7F) {
            char buf[48];
            std::snprintf(buf, sizeof buf, "contains control character 0x%02x", c);
            return invalid(buf);
        }
    }
    return check_utf8(s);
}

Result<void> check_ip_or_cidr(std::string_view s) {
    if (s == "*") return {};
    auto bad = [&] {
        return invalid("expected an IP address or CIDR block such as 10.0.0.0/8 or ::1, or *,"
                       " got " + shown(s));
    };
    size_t slash = s.find('/');
    std::string addr(s.substr(0, slash));
    bool v6 = addr.find(':') != std::string::npos;
    if (v6 ? !valid_ipv6(addr) : !valid_ipv4(addr)) return bad();
    if (slash != std::string_view::npos) {
        std::string_view bits = s.substr(slash + 1);
        uint64_t n = 0;
        size_t pos = 0;
        if (bits.empty() || bits.size() > 3 || !read_digits(bits, pos, n) || pos != bits.size())
            return bad();
        if (n > (v6 ? 128u : 32u))
            return invalid("prefix length /" + std::string(bits) + " is too long for " +
                           (v6 ? "IPv6" : "IPv4"));
    }
    return {};
}

Result<void> check_field_value(std::string_view s) {
    // RFC 9110 §5.5: field-value = *field-content, no leading or trailing whitespace;
    // obs-text is allowed there but is refused here: a Server header is ASCII.
    if (s.size() > 1024) return invalid("is longer than 1024 bytes");
    for (char c : s)
        if (!(c == ' ' || c == '\t' || (c > 0x20 && c < 0x7F)))
            return invalid("must be printable ASCII (an HTTP field value), got " + shown(s));
    if (!s.empty() &&
        (s.front() == ' ' || s.front() == '\t' || s.back() == ' ' || s.back() == '\t'))
        return invalid("must not start or end with whitespace");
    return {};
}

Result<void> check_account(std::string_view s) {
    if (s.empty()) return {};
    if (s.find_first_not_of("0123456789") == std::string_view::npos) {
        auto id = parse_uint(s);
        if (!id || *id >= UINT32_MAX) return invalid("numeric id " + shown(s) + " is too large");
        return {};
    }
    bool ok = s.size() <= 32 && s[0] != '-';
    for (size_t i = 0; ok && i < s.size(); ++i) {
        char c = s[i];
        ok = is_alnum(c) || c == '.' || c == '_' || c == '-' || (c == '$' && i + 1 == s.size());
    }
    if (!ok)
        return invalid("expected a user or group name (letters, digits, '.', '_', '-'; at most "
                       "32) or a numeric id, got " + shown(s));
    return {};
}

Result<void> check_app_name(std::string_view s) {
    bool ok = !s.empty() && s.size() <= 64 && s != "." && s != "..";
    for (char c : s) ok = ok && (is_alnum(c) || c == '.' || c == '_' || c == '-');
    if (!ok) return invalid("expected 1 to 64 letters, digits, '.', '_' or '-', got " + shown(s));
    return {};
}

Result<void> check_listener_name(std::string_view s) {
    bool ok = !s.empty() && s.size() <= 255;
    for (char c : s) ok = ok && c > 0x20 && c < 0x7F;
    if (!ok) return invalid("expected 1 to 255 printable ASCII characters without spaces, got " +
                            shown(s));
    return {};
}

Result<void> check_mount(std::string_view s) {
    if (!s.starts_with("/")) return invalid("must start with '/', got " + shown(s));
    if (s.size() > 1 && s.ends_with("/"))
        return invalid("must not end with '/': write " + shown(s.substr(0, s.size() - 1)));
    // RFC 3986 §3.3 path characters: unreserved, pct-encoded, sub-delims, ':', '@', '/'.
    static constexpr std::string_view kAllowed = "-._~!$&'()*+,;=:@/%";
    for (size_t i = 0; i < s.size(); ++i) {
        char c = s[i];
        if (!is_alnum(c) && kAllowed.find(c) == std::string_view::npos)
            return invalid("character " + shown(s.substr(i, 1)) + " is not allowed in a path "
                           "(percent-encode it), in " + shown(s));
        if (c == '%' &&
            (i + 2 >= s.size() || !std::isxdigit(static_cast<unsigned char>(s[i + 1])) ||
             !std::isxdigit(static_cast<unsigned char>(s[i + 2]))))
            return invalid("bad percent-encoding in " + shown(s));
    }
    for (size_t start = 1; start < s.size();) {
        size_t slash = s.find('/', start);
        std::string_view seg = s.substr(start, slash == s.npos ? s.npos : slash - start);
        if (seg.empty() || seg == "." || seg == "..")
            return invalid("empty, '.' and '..' segments are not allowed, in " + shown(s));
        if (slash == s.npos) break;
        start = slash + 1;
    }
    return {};
}

Result<void> check_socket_path(std::string_view s) {
    constexpr size_t kMax = sizeof(sockaddr_un::sun_path) - 1;
    if (s.size() > kMax)
        return invalid("socket path " + shown(s) + " is " + std::to_string(s.size()) +
                       " bytes; a unix socket allows " + std::to_string(kMax));
    return {};
}

std::string resolve_path(std::string_view path, const std::string& base_dir) {
    std::filesystem::path p(path);
    if (p.is_relative() && !base_dir.empty()) p = std::filesystem::path(base_dir) / p;
    return p.lexically_normal().string();
}

Result<std::string> current_dir() {
    std::string buf(PATH_MAX, '\0');
    if (!getcwd(buf.data(), buf.size()))
        return unexpected(Errc::kSystem, {}, std::string("getcwd: ") + std::strerror(errno));
    buf.resize(std::strlen(buf.c_str()));
    return buf;
}

void append_quoted(std::string& out, std::string_view s) {
    static constexpr char kHex[] = "0123456789abcdef";
    auto escape_u = [&](uint32_t cp) {
        out += "\\u";
        for (int shift = 12; shift >= 0; shift -= 4) out += kHex[(cp >> shift) & 0xF];
    };
    out += '"';
    for (size_t i = 0; i < s.size();) {
        uint32_t cp = 0;
        size_t n = utf8_sequence(s, i, cp);
        if (n == 0) {  // callers validate; never emit invalid UTF-8 anyway
            escape_u(0xFFFD);
            ++i;
            continue;
        }
        switch (cp) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
            // C0, DEL, C1, line/paragraph separators and BOM are not printable YAML.
            if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0x2028 || cp == 0x2029 ||
                cp == 0xFEFF)
                escape_u(cp);
            else
                out.append(s.substr(i, n));
        }
        i += n;
    }
    out += '"';
}

std::string quoted(std::string_view s) {
    std::string out;
    append_quoted(out, s);
    return out;
}

std::string shown(std::string_view s) {
    constexpr size_t kMax = 80;
    bool cut = s.size() > kMax;
    if (cut) {
        s = s.substr(0, kMax);
        // Do not split a UTF-8 sequence.
        while (!s.empty() && (static_cast<unsigned char>(s.back()) & 0xC0) == 0x80)
            s.remove_suffix(1);
        if (!s.empty() && static_cast<unsigned char>(s.back()) >= 0xC0) s.remove_suffix(1);
    }
    std::string out = quoted(s);
    if (cut) out += "...";
    return out;
}

size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<size_t> row(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= b.size(); ++j) {
            size_t up = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] != b[j - 1])});
            diag = up;
        }
    }
    return row[b.size()];
}

std::vector<std::string> split_list(std::string_view text) {
    std::vector<std::string> items;
    if (text.find_first_not_of(" \t") == std::string_view::npos) return items;
    size_t start = 0;
    while (true) {
        size_t comma = text.find(',', start);
        std::string_view item = text.substr(start, comma == text.npos ? text.npos : comma - start);
        size_t b = item.find_first_not_of(" \t");
        size_t e = item.find_last_not_of(" \t");
        items.emplace_back(b == item.npos ? std::string_view{} : item.substr(b, e - b + 1));
        if (comma == text.npos) break;
        start = comma + 1;
    }
    return items;
}

}  // namespace quiver::config
