// SPDX-License-Identifier: MIT
// quiver-gen-docs: prints the generated docs without the full server, for
// conf/regenerate (the same text as quiver --settings-reference etc.).
#include <cstdio>
#include <string>
#include <string_view>

#include "server/common/config/help.hpp"

int main(int argc, char** argv) {
    std::string_view what = argc == 2 ? argv[1] : "";
    std::string text;
    if (what == "settings-reference")
        text = quiver::settings_reference_md();
    else if (what == "annotated-config")
        text = quiver::annotated_yaml();
    else if (what == "help")
        text = quiver::help_text();
    else {
        std::fprintf(stderr, "usage: quiver-gen-docs settings-reference|annotated-config|help\n");
        return 2;
    }
    if (std::fwrite(text.data(), 1, text.size(), stdout) != text.size() ||
        std::fflush(stdout) != 0) {
        std::perror("quiver-gen-docs: write");
        return 1;
    }
    return 0;
}
