// SPDX-License-Identifier: MIT
// Renders the sampler: /status as one self-contained HTML page (a table and
// inline SVG charts, no scripts or fonts from elsewhere), and the terminal
// table of `quiver status --watch`.
#pragma once

#include <string>

#include "server/status_sampler.hpp"

namespace quiver::server {

struct StatusHeader {
    int master_pid = 0;
    uint32_t generation = 0;
    std::string last_reload;
    bool reloading = false;
};

std::string render_status_html(const StatusHeader& h, const StatusSampler& s);
std::string render_status_text(const StatusHeader& h, const StatusSampler& s);

// An SVG line chart of `values` (oldest first), `w`×`h` pixels, with the
// maximum labelled in `unit`.
std::string svg_chart(const std::vector<double>& values, int w, int h, const std::string& title,
                      const std::string& unit);

}  // namespace quiver::server
