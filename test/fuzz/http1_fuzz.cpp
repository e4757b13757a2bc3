// SPDX-License-Identifier: MIT
// libFuzzer target for Http1Codec. Seed with test/corpus/http1/*/*.http. Each
// input is a (possibly pipelined) stream fed whole, at data-chosen cuts and
// (when short) byte by byte, with default and with tiny limits; every way must
// give the same requests and errors, and every FeedResult must keep the
// contract (fuzz_driver.hpp).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "test/fuzz/fuzz_driver.hpp"
#include "workers/codec/http1.hpp"

using quiver::Http1Limits;
using quiver::worker::Http1Codec;
namespace fz = quiver::worker::fuzz;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    Http1Limits tiny;
    tiny.request_line = 40;
    tiny.header_fields = 4;
    tiny.header_size = 32;
    tiny.body = 24;
    for (const Http1Limits& limits : {Http1Limits{}, tiny}) {
        std::string whole = fz::run<Http1Codec>(limits, in, {});
        if (fz::run<Http1Codec>(limits, in, fz::data_cuts(in)) != whole)
            fz::violated("cutting the input changes the outcome");
        if (size <= 1024 && fz::run<Http1Codec>(limits, in, fz::every_byte(in)) != whole)
            fz::violated("byte-at-a-time changes the outcome");
    }
    return 0;
}
