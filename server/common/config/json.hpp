// SPDX-License-Identifier: MIT
// YAML scalars to JSON by the YAML 1.2 core schema, for app `settings`. Pure
// string work: load.cpp walks the YAML and calls this for each scalar.
#pragma once

#include <string>
#include <string_view>

#include "server/common/result.hpp"

namespace quiver::config {

// Appends the JSON form of one YAML scalar. `tag` is yaml-cpp's: "?" for a
// plain (unquoted) scalar, "!" for a quoted or block one, else a resolved tag
// such as "tag:yaml.org,2002:int". A plain scalar becomes null, a boolean, an
// integer or a float when it has the core schema's form for one, else a
// string; !!str, !!int, !!float, !!bool and !!null force the type. Numbers are
// normalised to JSON's grammar (".5" -> 0.5, "0x1F" -> 31). The error's detail
// says what is wrong: .inf/.nan and integers past 64 bits have no JSON form,
// other tags are refused. `text` must be valid UTF-8 for strings.
Result<void> append_scalar_json(std::string& out, std::string_view tag, std::string_view text);

}  // namespace quiver::config
