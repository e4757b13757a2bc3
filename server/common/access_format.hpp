// SPDX-License-Identifier: MIT
// log.access_format: `combined`, `json`, or a format string of named fields
// (`$remote_addr - [$time_local] "$request" $status`). Parsed once, by the
// config check (so a bad field is a config error) and by each worker.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "server/common/result.hpp"

namespace quiver {

enum class AccessField : uint8_t {
    kLiteral,      // text between fields
    kRemoteAddr,
    kTimeLocal,    // 26/Nov/2026:20:43:05 +0000 (Apache's %t without brackets)
    kTimeIso,      // 2026-11-26T20:43:05Z
    kMethod,
    kPath,
    kQuery,
    kRequest,      // request line: METHOD TARGET HTTP/1.x
    kProtocol,     // HTTP/1.0 or HTTP/1.1
    kStatus,
    kBytes,        // response body bytes
    kDurationUs,
    kUserAgent,
    kReferer,
    kRequestId,
    kPid,
    kApp,
    kHost,
};

struct AccessFieldName {
    std::string_view name;
    AccessField field;
};

inline constexpr AccessFieldName kAccessFields[] = {
    {"remote_addr", AccessField::kRemoteAddr}, {"time_local", AccessField::kTimeLocal},
    {"time_iso8601", AccessField::kTimeIso},   {"method", AccessField::kMethod},
    {"path", AccessField::kPath},              {"query", AccessField::kQuery},
    {"request", AccessField::kRequest},        {"protocol", AccessField::kProtocol},
    {"status", AccessField::kStatus},          {"bytes", AccessField::kBytes},
    {"duration_us", AccessField::kDurationUs}, {"user_agent", AccessField::kUserAgent},
    {"referer", AccessField::kReferer},        {"request_id", AccessField::kRequestId},
    {"pid", AccessField::kPid},                {"app", AccessField::kApp},
    {"host", AccessField::kHost},
};

struct AccessPiece {
    AccessField field;
    std::string text;  // kLiteral only
};

// `$name` (or `${name}` when a letter follows) is a field; `$$` is a dollar
// sign; everything else is copied. Unknown names are an error naming them.
inline Result<std::vector<AccessPiece>> parse_access_format(std::string_view f) {
    std::vector<AccessPiece> out;
    auto literal = [&](std::string_view t) {
        if (t.empty()) return;
        if (out.empty() || out.back().field != AccessField::kLiteral)
            out.push_back({AccessField::kLiteral, {}});
        out.back().text.append(t);
    };
    // Upper case is read as part of a name (and so rejected as unknown) rather
    // than ending it, so that `$Status` is reported as the field it looks like.
    auto is_name = [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    };
    size_t i = 0;
    while (i < f.size()) {
        size_t d = f.find('$', i);
        if (d == std::string_view::npos) {
            literal(f.substr(i));
            break;
        }
        literal(f.substr(i, d - i));
        if (d + 1 < f.size() && f[d + 1] == '$') {
            literal("$");
            i = d + 2;
            continue;
        }
        std::string_view name;
        if (d + 1 < f.size() && f[d + 1] == '{') {
            size_t close = f.find('}', d + 2);
            if (close == std::string_view::npos)
                return unexpected(Errc::kInvalid, {}, "unterminated ${ in the access format");
            name = f.substr(d + 2, close - d - 2);
            i = close + 1;
        } else {
            size_t e = d + 1;
            while (e < f.size() && is_name(f[e])) ++e;
            name = f.substr(d + 1, e - d - 1);
            i = e;
        }
        if (name.empty()) return unexpected(Errc::kInvalid, {}, "'$' without a field name (write $$ for a dollar sign)");
        bool found = false;
        for (const AccessFieldName& n : kAccessFields) {
            if (n.name == name) {
                out.push_back({n.field, {}});
                found = true;
                break;
            }
        }
        if (!found) {
            std::string known;
            for (const AccessFieldName& n : kAccessFields) known += (known.empty() ? "" : ", ") + std::string(n.name);
            return unexpected(Errc::kInvalid, {}, "unknown access log field $" + std::string(name) + " (fields: " + known + ")");
        }
    }
    return out;
}

// Checks a log.access_format value: combined, json, or a format string.
inline Result<void> check_access_format(std::string_view v) {
    if (v == "combined" || v == "json") return {};
    if (v.find('$') == std::string_view::npos)
        return unexpected(Errc::kInvalid, {}, "expected combined, json or a format string with $fields");
    auto r = parse_access_format(v);
    if (!r) return unexpected(r.error());
    return {};
}

}  // namespace quiver
