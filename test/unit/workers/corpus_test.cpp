// SPDX-License-Identifier: MIT
// The data-driven corpus (test/corpus/README.md): every NNN.http / NNN.bin
// is fed whole and split every way, and must give what NNN.yaml says.
#include <doctest/doctest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "test/unit/workers/codec_driver.hpp"
#include "workers/codec/http1.hpp"
#include "workers/codec/uwsgi.hpp"

#ifndef QUIVER_SOURCE_ROOT
#error "QUIVER_SOURCE_ROOT must name the source tree (meson.project_source_root())"
#endif

namespace quiver::worker::test {
namespace {

namespace fs = std::filesystem;

std::string read_bytes(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

Http1Limits limits_from(const YAML::Node& y) {
    Http1Limits l;
    if (const YAML::Node& n = y["limits"]) {
        if (n["request_line"]) l.request_line = n["request_line"].as<uint32_t>();
        if (n["header_fields"]) l.header_fields = n["header_fields"].as<uint32_t>();
        if (n["header_size"]) l.header_size = n["header_size"].as<uint32_t>();
        if (n["body"]) l.body = n["body"].as<uint64_t>();
        if (n["uwsgi_buffer"]) l.uwsgi_buffer = n["uwsgi_buffer"].as<uint32_t>();
    }
    return l;
}

Message message_from(const YAML::Node& r) {
    Message m;
    m.method = r["method"].as<std::string>();
    m.target = r["target"].as<std::string>();
    m.path = r["path"].as<std::string>();
    m.query = r["query"].as<std::string>();
    std::string v = r["version"].as<std::string>();
    REQUIRE(v.size() == 3);
    m.major = v[0] - '0';
    m.minor = v[2] - '0';
    for (const YAML::Node& h : r["headers"])
        m.headers.emplace_back(h[0].as<std::string>(), h[1].as<std::string>());
    m.body = r["body"].as<std::string>();
    m.keep_alive = r["keep_alive"].as<bool>();
    m.expect_continue = r["expect_continue"].as<bool>();
    m.is_head = m.method == "HEAD";
    m.remote_addr = r["remote_addr"].as<std::string>();
    m.scheme = r["scheme"].as<std::string>();
    return m;
}

Outcome expected_from(const YAML::Node& y) {
    Outcome o;
    for (const YAML::Node& r : y["requests"]) o.messages.push_back(message_from(r));
    o.continues = y["continues"].as<int>();
    if (y["status"]) {
        o.error = true;
        o.status = y["status"].as<int>();
    }
    o.in_message = y["incomplete"].as<bool>();
    return o;
}

// Runs every case in dir; returns how many there were.
int run_dir(const fs::path& dir, const std::string& ext, bool uwsgi) {
    std::vector<fs::path> inputs;
    for (const auto& e : fs::directory_iterator(dir))
        if (e.path().extension() == ext) inputs.push_back(e.path());
    std::sort(inputs.begin(), inputs.end());
    for (const fs::path& in : inputs) {
        fs::path yml = in;
        yml.replace_extension(".yaml");
        INFO("case ", in.string());
        REQUIRE(fs::exists(yml));
        YAML::Node y = YAML::LoadFile(yml.string());
        Http1Limits limits = limits_from(y);
        CodecFactory make;
        if (uwsgi)
            make = [limits] { return std::make_unique<UwsgiCodec>(limits); };
        else
            make = [limits] { return std::make_unique<Http1Codec>(limits); };
        Outcome got = drive_all_splits(make, read_bytes(in));
        Outcome want = expected_from(y);
        got.reason.clear();  // the log text is not part of the contract
        CHECK(got.error == want.error);
        CHECK(got.status == want.status);
        CHECK(got.continues == want.continues);
        CHECK(got.in_message == want.in_message);
        REQUIRE(got.messages.size() == want.messages.size());
        for (size_t i = 0; i < want.messages.size(); ++i) {
            CAPTURE(i);
            const Message& g = got.messages[i];
            const Message& w = want.messages[i];
            CHECK(g.method == w.method);
            CHECK(g.target == w.target);
            CHECK(g.path == w.path);
            CHECK(g.query == w.query);
            CHECK(g.major == w.major);
            CHECK(g.minor == w.minor);
            CHECK(g.headers == w.headers);
            CHECK(g.body == w.body);
            CHECK(g.keep_alive == w.keep_alive);
            CHECK(g.expect_continue == w.expect_continue);
            CHECK(g.is_head == w.is_head);
            CHECK(g.remote_addr == w.remote_addr);
            CHECK(g.scheme == w.scheme);
        }
    }
    return static_cast<int>(inputs.size());
}

const fs::path kCorpus = fs::path(QUIVER_SOURCE_ROOT) / "test" / "corpus";

}  // namespace

TEST_SUITE("codec.corpus") {
    TEST_CASE("http1 valid") { CHECK(run_dir(kCorpus / "http1" / "valid", ".http", false) >= 30); }

    TEST_CASE("http1 invalid") {
        CHECK(run_dir(kCorpus / "http1" / "invalid", ".http", false) >= 40);
    }

    TEST_CASE("uwsgi valid") { CHECK(run_dir(kCorpus / "uwsgi" / "valid", ".bin", true) >= 8); }

    TEST_CASE("uwsgi invalid") {
        CHECK(run_dir(kCorpus / "uwsgi" / "invalid", ".bin", true) >= 12);
    }

}  // TEST_SUITE
}  // namespace quiver::worker::test
