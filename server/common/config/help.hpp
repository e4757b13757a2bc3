// SPDX-License-Identifier: MIT
// Texts generated from the settings table: --help, the Markdown settings
// reference (conf/settings.md) and the annotated defaults (conf/quiver.yaml).
#pragma once

#include <string>

namespace quiver {

// Usage, modes, commands, then every setting's flag, variable, default and
// one-line doc grouped by section (like gunicorn --help). 80 columns.
std::string help_text();

// The Markdown reference: per setting its type, default, flag, variable and
// long doc. Checked in as conf/settings.md.
std::string settings_reference_md();

// A commented YAML file with every default; loads as it is and gives the
// defaults. Checked in as conf/quiver.yaml.
std::string annotated_yaml();

}  // namespace quiver
