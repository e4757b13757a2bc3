// SPDX-License-Identifier: MIT
// echo_json: the request as JSON (see echo_json.hpp).
#include "echo_json.hpp"

#include <quiver/json.hpp>

#include <string_view>

namespace echo {

void append_echo_json(std::string& out, const quiver::Request& req) {
    // "1.0" / "1.1" from the host's 10 / 11.
    const int v = req.http_version();
    const char version[3] = {static_cast<char>('0' + (v / 10) % 10), '.',
                             static_cast<char>('0' + v % 10)};
    std::size_t size = 96 + req.path().size() + req.query().size() + req.body().size();
    for (const quiver::Header h : req.headers()) size += h.name.size() + h.value.size() + 8;
    out.reserve(out.size() + size);

    quiver::json::Writer w(out);
    w.begin_object();
    w.member("method", req.method());
    w.member("path", req.path());
    w.member("query", req.query());
    w.member("version", std::string_view(version, sizeof version));
    w.key("headers").begin_array();
    for (const quiver::Header h : req.headers()) {
        w.begin_array().value(h.name).value(h.value).end_array();
    }
    w.end_array();
    w.member("body", req.body());
    w.end_object();
}

std::string echo_json(const quiver::Request& req) {
    std::string out;
    append_echo_json(out, req);
    return out;
}

}  // namespace echo
