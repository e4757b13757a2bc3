// SPDX-License-Identifier: MIT
// YAML output driven by the settings table: the canonical dump of a resolved
// Config, and the annotated file of defaults (conf/quiver.yaml).
#pragma once

#include <string>
#include <string_view>

#include "server/common/config/settings.hpp"

namespace quiver::config {

enum class Style : uint8_t {
    kResolved,   // every setting explicit, no per-setting comments
    kAnnotated,  // documented defaults; the database section commented out
};

std::string emit_yaml(const Draft& draft, Style style);

// `text` word-wrapped to `width` columns, each line prefixed with `prefix`.
// Lines starting with "- " continue under the item's text.
std::string wrap(std::string_view text, std::string_view prefix, size_t width);

}  // namespace quiver::config
