// SPDX-License-Identifier: MIT
// Mount-prefix routing. A handful of mounts per server: a linear scan over a
// list sorted longest-first beats any index here.
#include "workers/router.hpp"

#include <algorithm>

namespace quiver::worker {

std::string Router::normalise_mount(std::string_view m) {
    std::string s(m);
    if (s.empty() || s[0] != '/') s.insert(s.begin(), '/');
    while (s.size() > 1 && s.back() == '/') s.pop_back();
    return s;
}

bool Router::covers(std::string_view mount, std::string_view path) {
    if (mount.size() == 1) return true;  // "/" covers everything
    if (path.substr(0, mount.size()) != mount) return false;
    return path.size() == mount.size() || path[mount.size()] == '/' || path[mount.size()] == '?';
}

void Router::add(App* app) {
    app->mount = normalise_mount(app->mount);
    apps_.push_back(app);
    std::stable_sort(apps_.begin(), apps_.end(),
                     [](const App* a, const App* b) { return a->mount.size() > b->mount.size(); });
}

App* Router::match(std::string_view path) const {
    for (App* a : apps_)
        if (covers(a->mount, path)) return a;
    return nullptr;
}

}  // namespace quiver::worker
