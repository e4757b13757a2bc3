// SPDX-License-Identifier: MIT
// libFuzzer target for the config loader: any bytes given as YAML text to
// load_config_text must give a Config or an Error; never a crash or an exception.
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <sstream>
#include <string>
#include <string_view>

#include "server/common/config/load.hpp"

namespace {

// Known third-party defect, not ours: yaml-cpp 0.7.0 (Debian 12) loops forever
// in YAML::LoadAll when a document starts with a token the document parser
// cannot consume, e.g. a stray "," ("," or ",\n" alone; jbeder/yaml-cpp issue
// #1040, fixed upstream by pull request #1319 after 0.8.0). HandleNextDocument
// then returns true without advancing, and LoadAll appends null documents
// until memory runs out. Production never runs LoadAll on untrusted timing:
// server/config_guard.cpp parses in a child with a deadline. Here the same
// yaml-cpp event parser is run first, bounded: an input is skipped only when
// two documents in a row start at the same offset, which is exactly that loop
// (a real document always consumes at least one token). Everything else,
// including every other yaml-cpp error, goes on to load_config_text.
class Marks final : public YAML::EventHandler {
public:
    int last_pos = -1;
    bool stuck = false;
    void OnDocumentStart(const YAML::Mark& mark) override {
        if (mark.pos == last_pos) stuck = true;
        last_pos = mark.pos;
    }
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
    void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
    void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
    void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                         YAML::EmitterStyle::value) override {}
    void OnSequenceEnd() override {}
    void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                    YAML::EmitterStyle::value) override {}
    void OnMapEnd() override {}
};

bool yaml_cpp_loadall_loops(std::string_view yaml) {
    std::istringstream in{std::string(yaml)};
    Marks marks;
    try {
        YAML::Parser parser(in);
        while (parser.HandleNextDocument(marks)) {
            if (marks.stuck) return true;
        }
    } catch (const YAML::Exception&) {
        // A parse error: load_config_text must report it as an Error.
    }
    return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view yaml(reinterpret_cast<const char*>(data), size);
    if (yaml_cpp_loadall_loops(yaml)) return -1;  // -1: not added to the corpus
    try {
        auto r = quiver::load_config_text(yaml, "fuzz.yaml", "/tmp");
        if (r) {
            // A loaded config must also dump (the --check / reload path).
            (void)quiver::dump_config(*r);
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "load_config_text threw: %s\n", e.what());
        std::abort();
    } catch (...) {
        std::fprintf(stderr, "load_config_text threw a non-std exception\n");
        std::abort();
    }
    return 0;
}
