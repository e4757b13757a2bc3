// SPDX-License-Identifier: MIT
// The /agents JSON (see agents.hpp).
#include "agents.hpp"

#include <cstddef>
#include <quiver/json.hpp>

namespace bench {

namespace {

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

bool digits(std::string_view s, std::size_t from, std::size_t n) noexcept {
    if (from + n > s.size()) return false;
    for (std::size_t i = from; i < from + n; ++i) {
        if (!is_digit(s[i])) return false;
    }
    return true;
}

std::string_view field(const qv_db_result_t& r, int row, int col, bool& is_null) noexcept {
    const qv_str_t& v = r.values[static_cast<std::size_t>(row) * static_cast<std::size_t>(r.ncols) +
                                 static_cast<std::size_t>(col)];
    is_null = v.ptr == nullptr;
    return is_null ? std::string_view() : std::string_view(v.ptr, v.len);
}

}  // namespace

bool append_iso8601(std::string& out, std::string_view t) {
    // YYYY-MM-DD HH:MM:SS[.ffffff](+|-)HH[:MM[:SS]]
    const bool shape = t.size() >= 19 && digits(t, 0, 4) && t[4] == '-' && digits(t, 5, 2) &&
                       t[7] == '-' && digits(t, 8, 2) && t[10] == ' ' && digits(t, 11, 2) &&
                       t[13] == ':' && digits(t, 14, 2) && t[16] == ':' && digits(t, 17, 2);
    if (!shape) return false;
    std::size_t i = 19;
    if (i < t.size() && t[i] == '.') {
        ++i;
        while (i < t.size() && is_digit(t[i])) ++i;
    }
    const std::size_t zone = i;
    if (zone + 3 > t.size() || (t[zone] != '+' && t[zone] != '-') || !digits(t, zone + 1, 2)) {
        return false;
    }
    const std::string_view rest = t.substr(zone + 3);
    // PostgreSQL prints an offset with seconds (historical zones only),
    // which ISO 8601 cannot express: keep such text as it is.
    if (!(rest.empty() || (rest.size() == 3 && rest[0] == ':' && digits(rest, 1, 2)))) {
        return false;
    }
    out.append(t.substr(0, 10));
    out.push_back('T');
    out.append(t.substr(11, zone + 3 - 11));
    if (rest.empty()) {
        out.append(":00");
    } else {
        out.append(rest);
    }
    return true;
}

bool append_agents(std::string& out, const qv_db_result_t& r) {
    if (r.ncols != 6 || (r.nrows > 0 && r.values == nullptr)) return false;
    out.reserve(out.size() + 2 + static_cast<std::size_t>(r.nrows) * 128);
    out.push_back('[');
    for (int row = 0; row < r.nrows; ++row) {
        bool null = false;
        if (row != 0) out.push_back(',');
        const std::string_view id = field(r, row, 0, null);
        if (null || id.empty() || id.size() > 10 || !digits(id, 0, id.size())) return false;
        out.append("{\"id\":").append(id);
        static constexpr std::string_view kKeys[] = {
            ",\"number\":", ",\"name\":", ",\"context\":", ",\"status\":"};
        for (int col = 1; col <= 4; ++col) {
            out.append(kKeys[col - 1]);
            const std::string_view v = field(r, row, col, null);
            if (null) {
                out.append("null");
            } else {
                quiver::json::write_string(out, v);
            }
        }
        out.append(",\"since\":");
        const std::string_view since = field(r, row, 5, null);
        if (null) {
            out.append("null");
        } else {
            out.push_back('"');
            if (append_iso8601(out, since)) {
                out.push_back('"');  // digits, '-', ':', '.', 'T' and '+' only
            } else {
                out.pop_back();
                quiver::json::write_string(out, since);
            }
        }
        out.push_back('}');
    }
    out.push_back(']');
    return true;
}

}  // namespace bench
