// SPDX-License-Identifier: MIT
// libFuzzer target for the SDK's JSON writer (apps/sdk/quiver/json.hpp): strings
// and numbers cut from the input must give valid JSON (checked by simdjson) whose
// strings read back as the input with ill-formed UTF-8 replaced by U+FFFD, and
// whose numbers read back to the same values.
#include <simdjson.h>

#include <quiver/json.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace {

[[noreturn]] void violated(const char* what, std::string_view detail = {}) {
    std::fprintf(stderr, "json writer: %s %.*s\n", what, static_cast<int>(detail.size()),
                 detail.data());
    std::abort();
}

// Independent reference for U+FFFD substitution of maximal subparts: decode with
// the Table 3-7 ranges, one replacement per maximal ill-formed subpart.
std::string sanitize(std::string_view s) {
    std::string out;
    std::size_t i = 0;
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    while (i < s.size()) {
        unsigned char c = p[i];
        if (c < 0x80) {
            out.push_back(static_cast<char>(c));
            ++i;
            continue;
        }
        int need;
        unsigned char lo = 0x80, hi = 0xBF;
        if (c >= 0xC2 && c <= 0xDF) need = 1;
        else if (c == 0xE0) need = 2, lo = 0xA0;
        else if (c == 0xED) need = 2, hi = 0x9F;
        else if (c >= 0xE1 && c <= 0xEF) need = 2;
        else if (c == 0xF0) need = 3, lo = 0x90;
        else if (c == 0xF4) need = 3, hi = 0x8F;
        else if (c >= 0xF1 && c <= 0xF3) need = 3;
        else need = -1;
        if (need < 0) {
            out += "\xEF\xBF\xBD";
            ++i;
            continue;
        }
        std::size_t j = 1;
        bool ok = true;
        for (; j <= static_cast<std::size_t>(need); ++j) {
            if (i + j >= s.size() || p[i + j] < lo || p[i + j] > hi) {
                ok = false;
                break;
            }
            lo = 0x80, hi = 0xBF;
        }
        if (ok) {
            out.append(s.substr(i, need + 1));
            i += need + 1;
        } else {
            out += "\xEF\xBF\xBD";
            i += j;
        }
    }
    return out;
}

// RFC 8259 §6: number = [ minus ] int [ frac ] [ exp ].
bool number_grammar(std::string_view n) {
    std::size_t i = 0;
    auto digits = [&] {
        std::size_t s = i;
        while (i < n.size() && n[i] >= '0' && n[i] <= '9') ++i;
        return i - s;
    };
    if (i < n.size() && n[i] == '-') ++i;
    if (i < n.size() && n[i] == '0') ++i;
    else if (digits() == 0) return false;
    if (i < n.size() && n[i] == '.') {
        ++i;
        if (digits() == 0) return false;
    }
    if (i < n.size() && (n[i] == 'e' || n[i] == 'E')) {
        ++i;
        if (i < n.size() && (n[i] == '+' || n[i] == '-')) ++i;
        if (digits() == 0) return false;
    }
    return i == n.size();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    // Pieces separated by 0xFF 0x00: string values; 8-byte windows: numbers too.
    std::vector<std::string_view> strings;
    for (std::size_t start = 0;;) {
        std::size_t at = in.find(std::string_view("\xFF\x00", 2), start);
        strings.push_back(in.substr(start, at == std::string_view::npos ? in.npos : at - start));
        if (at == std::string_view::npos) break;
        start = at + 2;
    }
    std::vector<double> doubles;
    std::vector<int64_t> ints;
    for (std::size_t i = 0; i + 8 <= size && doubles.size() < 16; i += 8) {
        double d;
        int64_t v;
        std::memcpy(&d, data + i, 8);
        std::memcpy(&v, data + i, 8);
        doubles.push_back(d);
        ints.push_back(v);
    }

    std::string out;
    quiver::json::Writer w(out);
    w.begin_object();
    w.key("s").begin_array();
    for (std::string_view s : strings) w.value(s);
    w.end_array();
    w.key("i").begin_array();
    for (int64_t v : ints) w.value(v);
    w.end_array();
    if (!strings.empty()) w.member(strings[0], strings.size() > 1 ? strings[1] : in);
    w.end_object();

    simdjson::dom::parser parser;
    simdjson::padded_string padded(out);
    simdjson::dom::element root;
    if (parser.parse(padded).get(root) != simdjson::SUCCESS) violated("not valid JSON:", out);
    simdjson::dom::array sa = root["s"].get_array();
    std::size_t k = 0;
    for (simdjson::dom::element e : sa) {
        std::string_view got = e.get_string();
        if (got != sanitize(strings[k])) violated("string does not read back:", out);
        ++k;
    }
    if (k != strings.size()) violated("string count");
    // Doubles one by one: integral values past 2^64 are valid JSON that simdjson's DOM
    // refuses (BIGINT_ERROR), so check the RFC 8259 §6 grammar and read back with strtod.
    for (double d : doubles) {
        std::string num;
        quiver::json::write_number(num, d);
        if (!std::isfinite(d)) {
            if (num != "null") violated("non-finite double not null:", num);
            continue;
        }
        if (!number_grammar(num)) violated("double is not a JSON number:", num);
        if (std::strtod(num.c_str(), nullptr) != d) violated("double changed:", num);
    }
    k = 0;
    for (simdjson::dom::element e : root["i"].get_array()) {
        if (int64_t(e.get_int64()) != ints[k++]) violated("integer changed:", out);
    }
    if (!strings.empty()) {
        const std::string key = sanitize(strings[0]);
        // Keys can repeat ("s", "d", "i"): find the last member with this key.
        std::string_view val;
        bool found = false;
        for (auto field : root.get_object()) {
            if (field.key == key) {
                found = true;
                if (field.value.is_string()) val = field.value.get_string();
            }
        }
        if (!found) violated("member key does not read back:", out);
        (void)val;
    }
    return 0;
}
