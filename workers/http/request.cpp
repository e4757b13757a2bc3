// SPDX-License-Identifier: MIT
// Request lookups. The struct itself is plain data (request.hpp); the codecs
// fill it and the connection hands it to the router.
#include "workers/http/request.hpp"

#include "workers/http/chars.hpp"

namespace quiver::worker {

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
        if (chars::to_lower(a[i]) != chars::to_lower(b[i])) return false;
    return true;
}

std::string_view Request::header(std::string_view name) const {
    for (const HeaderSpan& h : headers)
        if (h.name.len == name.size() && iequals(view(h.name), name)) return view(h.value);
    return {};
}

}  // namespace quiver::worker
