// SPDX-License-Identifier: MIT
// libFuzzer target for UwsgiCodec. Seed with test/corpus/uwsgi/*/*.bin. Each
// packet is fed whole, at data-chosen cuts and byte by byte; every way must
// agree, and a request may only come from a packet whose declared sizes fit
// in the input (fuzz_driver.hpp checks the FeedResult contract).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "test/fuzz/fuzz_driver.hpp"
#include "workers/codec/uwsgi.hpp"

using quiver::Http1Limits;
using quiver::worker::CodecEvent;
using quiver::worker::UwsgiCodec;
namespace fz = quiver::worker::fuzz;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    Http1Limits small;
    small.body = 64;
    small.uwsgi_buffer = 256;
    for (const Http1Limits& limits : {Http1Limits{}, small}) {
        std::string whole = fz::run<UwsgiCodec>(limits, in, {});
        if (fz::run<UwsgiCodec>(limits, in, fz::data_cuts(in)) != whole)
            fz::violated("cutting the input changes the outcome");
        if (size <= 4096 && fz::run<UwsgiCodec>(limits, in, fz::every_byte(in)) != whole)
            fz::violated("byte-at-a-time changes the outcome");
    }
    // A request needs the whole header, vars block and declared body.
    UwsgiCodec codec(Http1Limits{});
    quiver::worker::FeedResult r = codec.feed(in.data(), in.size());
    if (r.event == CodecEvent::kMessage) {
        size_t datasize = size >= 3 ? (data[1] | (size_t{data[2]} << 8)) : 0;
        if (size < 4 + datasize + codec.request().body.size())
            fz::violated("a request from a truncated packet");
        if (r.consumed != 4 + datasize + codec.request().body.size())
            fz::violated("consumed is not the packet's size");
    }
    return 0;
}
