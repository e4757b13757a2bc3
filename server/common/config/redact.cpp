// SPDX-License-Identifier: MIT
// Redaction of libpq connection strings (PostgreSQL docs, §34.1.1).
#include "server/common/config/redact.hpp"

#include <cctype>

namespace quiver {

namespace {

constexpr std::string_view kMask = "***";

bool starts_with_ci(std::string_view s, std::string_view prefix) {
    if (s.size() < prefix.size()) return false;
    for (size_t i = 0; i < prefix.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
    return true;
}

std::string redact_uri(std::string_view s, size_t scheme_end) {
    std::string out(s.substr(0, scheme_end));
    size_t auth_end = s.find_first_of("/?", scheme_end);
    if (auth_end == std::string_view::npos) auth_end = s.size();
    std::string_view auth = s.substr(scheme_end, auth_end - scheme_end);
    size_t at = auth.rfind('@');
    if (at != std::string_view::npos) {
        std::string_view userinfo = auth.substr(0, at);
        size_t colon = userinfo.find(':');
        out.append(userinfo.substr(0, colon));
        if (colon != std::string_view::npos) out.append(":").append(kMask);
        out.append(auth.substr(at));
    } else {
        out.append(auth);
    }
    // Query parameters: password=... up to the next '&'.
    std::string_view rest = s.substr(auth_end);
    size_t q = rest.find('?');
    if (q == std::string_view::npos) return out.append(rest);
    out.append(rest.substr(0, q + 1));
    std::string_view query = rest.substr(q + 1);
    bool first = true;
    while (true) {
        size_t amp = query.find('&');
        std::string_view param = query.substr(0, amp);
        if (!first) out.push_back('&');
        first = false;
        if (starts_with_ci(param, "password=")) out.append("password=").append(kMask);
        else out.append(param);
        if (amp == std::string_view::npos) break;
        query.remove_prefix(amp + 1);
    }
    return out;
}

// keyword = value pairs separated by spaces; a value is a run of non-spaces
// or a single-quoted string with backslash escapes.
std::string redact_keywords(std::string_view s) {
    std::string out;
    size_t i = 0;
    while (i < s.size()) {
        if (std::isspace(static_cast<unsigned char>(s[i]))) {
            out.push_back(s[i++]);
            continue;
        }
        size_t key_start = i;
        while (i < s.size() && s[i] != '=' && !std::isspace(static_cast<unsigned char>(s[i]))) ++i;
        std::string_view key = s.substr(key_start, i - key_start);
        out.append(key);
        while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) out.push_back(s[i++]);
        if (i >= s.size() || s[i] != '=') continue;  // malformed: libpq will say so
        out.push_back(s[i++]);
        while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) out.push_back(s[i++]);
        size_t value_start = i;
        if (i < s.size() && s[i] == '\'') {
            for (++i; i < s.size() && s[i] != '\''; ++i)
                if (s[i] == '\\' && i + 1 < s.size()) ++i;
            if (i < s.size()) ++i;  // the closing quote
        } else {
            while (i < s.size() && !std::isspace(static_cast<unsigned char>(s[i]))) ++i;
        }
        if (key == "password") out.append(kMask);
        else out.append(s.substr(value_start, i - value_start));
    }
    return out;
}

}  // namespace

std::string redact_conninfo(std::string_view conninfo) {
    for (std::string_view scheme : {"postgresql://", "postgres://"})
        if (starts_with_ci(conninfo, scheme)) return redact_uri(conninfo, scheme.size());
    return redact_keywords(conninfo);
}

}  // namespace quiver
