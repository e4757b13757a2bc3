// SPDX-License-Identifier: MIT
// YAML 1.2 core schema scalar resolution (https://yaml.org/spec/1.2.2/#1032-tag-resolution)
// with JSON output: the typing rules for app settings, apart from YAML parsing.
#include "server/common/config/json.hpp"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>

#include "server/common/config/values.hpp"

namespace quiver::config {

namespace {

constexpr std::string_view kTagStr = "tag:yaml.org,2002:str";
constexpr std::string_view kTagInt = "tag:yaml.org,2002:int";
constexpr std::string_view kTagFloat = "tag:yaml.org,2002:float";
constexpr std::string_view kTagBool = "tag:yaml.org,2002:bool";
constexpr std::string_view kTagNull = "tag:yaml.org,2002:null";

bool all_of(std::string_view s, std::string_view set) {
    return !s.empty() && s.find_first_not_of(set) == std::string_view::npos;
}

bool is_core_bool(std::string_view v, bool& b) {
    if (v == "true" || v == "True" || v == "TRUE") return b = true, true;
    if (v == "false" || v == "False" || v == "FALSE") return b = false, true;
    return false;
}

enum class Num { kNo, kYes, kOutOfRange };

// [-+]?[0-9]+ | 0o[0-7]+ | 0x[0-9a-fA-F]+, as a JSON integer within 64 bits.
Num core_int(std::string_view v, std::string& json) {
    int base = 10;
    std::string_view digits = v;
    bool negative = false;
    if (v.starts_with("0o") && all_of(v.substr(2), "01234567")) {
        base = 8, digits = v.substr(2);
    } else if (v.starts_with("0x") && all_of(v.substr(2), "0123456789abcdefABCDEF")) {
        base = 16, digits = v.substr(2);
    } else {
        if (!digits.empty() && (digits[0] == '-' || digits[0] == '+')) {
            negative = digits[0] == '-';
            digits.remove_prefix(1);
        }
        if (!all_of(digits, "0123456789")) return Num::kNo;
    }
    uint64_t magnitude = 0;
    auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), magnitude, base);
    (void)p;
    if (ec != std::errc{} || (negative && magnitude > (uint64_t{1} << 63))) return Num::kOutOfRange;
    json.clear();
    if (negative && magnitude != 0) json.push_back('-');
    json += std::to_string(magnitude);
    return Num::kYes;
}

// [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?, as a JSON number.
Num core_float(std::string_view v, std::string& json) {
    std::string_view s = v;
    std::string out;
    if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
        if (s[0] == '-') out += '-';
        s.remove_prefix(1);
    }
    size_t i = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    std::string_view int_part = s.substr(0, i);
    std::string_view frac;
    bool dot = i < s.size() && s[i] == '.';
    if (dot) {
        size_t j = ++i;
        while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
        frac = s.substr(j, i - j);
    }
    if (int_part.empty() && frac.empty()) return Num::kNo;
    std::string_view exp = s.substr(i);
    if (!exp.empty()) {
        if (exp[0] != 'e' && exp[0] != 'E') return Num::kNo;
        std::string_view e = exp.substr(1);
        if (!e.empty() && (e[0] == '-' || e[0] == '+')) e.remove_prefix(1);
        if (!all_of(e, "0123456789")) return Num::kNo;
    }
    size_t nz = int_part.find_first_not_of('0');
    out += nz == std::string_view::npos ? "0" : std::string(int_part.substr(nz));
    if (dot) out.append(".").append(frac.empty() ? std::string_view("0") : frac);
    out += exp;
    if (!std::isfinite(std::strtod(out.c_str(), nullptr))) return Num::kOutOfRange;
    json = std::move(out);
    return Num::kYes;
}

bool is_core_special_float(std::string_view v) {
    if (!v.empty() && (v[0] == '-' || v[0] == '+')) v.remove_prefix(1);
    return v == ".inf" || v == ".Inf" || v == ".INF" || v == ".nan" || v == ".NaN" ||
           v == ".NAN";
}

bool is_core_null(std::string_view v) {
    return v.empty() || v == "~" || v == "null" || v == "Null" || v == "NULL";
}

}  // namespace

Result<void> append_scalar_json(std::string& out, std::string_view tag, std::string_view v) {
    auto as_string = [&]() -> Result<void> {
        if (auto ok = check_utf8(v); !ok) return ok;
        append_quoted(out, v);
        return {};
    };
    if (tag == "!" || tag == kTagStr) return as_string();
    bool plain = tag == "?";
    if (!plain && tag != kTagInt && tag != kTagFloat && tag != kTagBool && tag != kTagNull)
        return invalid("unsupported tag " + shown(tag) + " (quote the value to pass a string)");
    if ((plain || tag == kTagNull) && is_core_null(v)) {
        out += "null";
        return {};
    }
    if (tag == kTagNull) return invalid("!!null needs null, ~ or nothing, got " + shown(v));
    bool b = false;
    if ((plain || tag == kTagBool) && is_core_bool(v, b)) {
        out += b ? "true" : "false";
        return {};
    }
    if (tag == kTagBool) return invalid("!!bool needs true or false, got " + shown(v));
    std::string number;
    Num kind = core_int(v, number);
    if (kind == Num::kNo && tag != kTagInt) kind = core_float(v, number);
    if (kind == Num::kYes) {
        out += number;
        return {};
    }
    if (kind == Num::kOutOfRange)
        return invalid(shown(v) + " is out of range for a JSON number (quote it to pass a string)");
    if (tag != kTagInt && is_core_special_float(v))
        return invalid(shown(v) + " has no JSON form (quote it to pass a string)");
    if (!plain) return invalid("expected a number for the tag " + shown(tag) + ", got " + shown(v));
    return as_string();
}

}  // namespace quiver::config
