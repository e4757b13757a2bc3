// SPDX-License-Identifier: MIT
// Proxy headers: which peers are trusted to say who the client is
// (forwarded_allow_ips, as in Gunicorn), and reading X-Forwarded-For,
// X-Forwarded-Proto and Forwarded (RFC 7239) from trusted peers only.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "workers/http/request.hpp"

namespace quiver::worker {

class TrustedProxies {
public:
    // Entries: IPv4/IPv6 addresses, CIDR blocks ("10.0.0.0/8"), or "*".
    // Returns the first entry that does not parse, or "" when all do.
    std::string set(const std::vector<std::string>& entries);
    bool contains(std::string_view ip) const;
    bool empty() const { return !any_ && nets_.empty(); }

private:
    struct Net {
        std::array<uint8_t, 16> addr{};  // IPv4 as v4-mapped IPv6
        int prefix = 128;
    };
    std::vector<Net> nets_;
    bool any_ = false;
};

// Parses an IP literal (IPv4, IPv6, "[v6]", with an optional ":port" on
// IPv4 and bracketed IPv6) into v4-mapped IPv6 bytes. False when it is not one.
bool parse_ip(std::string_view s, std::array<uint8_t, 16>* out, std::string* canonical);

// When the request's peer (req.remote_addr; `peer_trusted` for peers that
// need no address check, such as a unix socket) is trusted, replaces
// remote_addr with the client named by X-Forwarded-For or Forwarded (the
// rightmost address that is not itself a trusted proxy) and scheme with
// X-Forwarded-Proto or Forwarded's proto. Untrusted peers' headers are ignored.
void apply_forwarded(Request& req, const TrustedProxies& trusted, bool peer_trusted);

}  // namespace quiver::worker
