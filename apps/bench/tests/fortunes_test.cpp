// SPDX-License-Identifier: MIT
// /fortunes: the added fortune, bytewise order, escaping and the exact page
// for TechEmpower's twelve rows.
#include "apps/bench/fortunes.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

using bench::Fortune;
using bench::FortunesPage;

namespace {

// TechEmpower's fortune table, as packaging/sql/schema.sql loads it.
std::vector<Fortune> standard_rows() {
    return {
        {1, "fortune: No such file or directory"},
        {2, "A computer scientist is someone who fixes things that aren't broken."},
        {3, "After enough decimal places, nobody gives a damn."},
        {4, "A bad random number generator: 1, 1, 1, 1, 1, 4.33e+67, 1, 1, 1"},
        {5, "A computer program does what you tell it to do, not what you want it to do."},
        {6, "Emacs is a nice operating system, but I prefer UNIX. \xE2\x80\x94 Tom Christaensen"},
        {7, "Any program using lots of global variables is a good candidate for being refactored."},
        {8, "A list is only as strong as its weakest link. \xE2\x80\x94 Donald Knuth"},
        {9, "Feature: A bug with seniority."},
        {10, "Computers make very fast, very accurate mistakes."},
        {11, "<script>alert(\"This should not be displayed in a browser alert box.\");</script>"},
        {12,
         "\xE3\x83\x95\xE3\x83\xAC\xE3\x83\xBC\xE3\x83\xA0\xE3\x83\xAF\xE3\x83\xBC\xE3\x82\xAF"
         "\xE3\x81\xAE\xE3\x83\x99\xE3\x83\xB3\xE3\x83\x81\xE3\x83\x9E\xE3\x83\xBC\xE3\x82\xAF"},
    };
}

}  // namespace

TEST_SUITE("bench.fortunes") {
    TEST_CASE("the added fortune joins and the order is bytewise") {
        std::vector<Fortune> rows = standard_rows();
        bench::add_and_sort(rows);
        REQUIRE(rows.size() == 13);
        std::vector<int> ids;
        for (const Fortune& f : rows) ids.push_back(f.id);
        CHECK(ids == std::vector<int>{11, 4, 5, 2, 8, 0, 3, 7, 10, 6, 9, 1, 12});
        CHECK(rows[5].message == "Additional fortune added at request time.");
    }

    TEST_CASE("bytes compare unsigned: UTF-8 sorts after ASCII, upper case before lower") {
        std::vector<Fortune> rows = {{1, "\xC3\xA9"}, {2, "z"}, {3, "Z"}, {4, "a"}};
        bench::add_and_sort(rows);
        std::vector<int> ids;
        for (const Fortune& f : rows) ids.push_back(f.id);
        CHECK(ids == std::vector<int>{0, 3, 4, 2, 1});
    }

    TEST_CASE("the page for TechEmpower's rows, byte for byte") {
        std::vector<Fortune> rows = standard_rows();
        bench::add_and_sort(rows);
        std::string out;
        FortunesPage().render(out, rows);
        const std::string expected =
            "<!DOCTYPE html><html><head><title>Fortunes</title></head><body><table>"
            "<tr><th>id</th><th>message</th></tr>"
            "<tr><td>11</td><td>&lt;script&gt;alert(&quot;This should not be displayed in a "
            "browser alert box.&quot;);&lt;/script&gt;</td></tr>"
            "<tr><td>4</td><td>A bad random number generator: 1, 1, 1, 1, 1, 4.33e+67, 1, 1, "
            "1</td></tr>"
            "<tr><td>5</td><td>A computer program does what you tell it to do, not what you want "
            "it to do.</td></tr>"
            "<tr><td>2</td><td>A computer scientist is someone who fixes things that aren&#39;t "
            "broken.</td></tr>"
            "<tr><td>8</td><td>A list is only as strong as its weakest link. \xE2\x80\x94 Donald "
            "Knuth</td></tr>"
            "<tr><td>0</td><td>Additional fortune added at request time.</td></tr>"
            "<tr><td>3</td><td>After enough decimal places, nobody gives a damn.</td></tr>"
            "<tr><td>7</td><td>Any program using lots of global variables is a good candidate "
            "for being refactored.</td></tr>"
            "<tr><td>10</td><td>Computers make very fast, very accurate mistakes.</td></tr>"
            "<tr><td>6</td><td>Emacs is a nice operating system, but I prefer UNIX. \xE2\x80\x94 "
            "Tom Christaensen</td></tr>"
            "<tr><td>9</td><td>Feature: A bug with seniority.</td></tr>"
            "<tr><td>1</td><td>fortune: No such file or directory</td></tr>"
            "<tr><td>12</td><td>\xE3\x83\x95\xE3\x83\xAC\xE3\x83\xBC\xE3\x83\xA0\xE3\x83\xAF"
            "\xE3\x83\xBC\xE3\x82\xAF\xE3\x81\xAE\xE3\x83\x99\xE3\x83\xB3\xE3\x83\x81\xE3\x83\x9E"
            "\xE3\x83\xBC\xE3\x82\xAF</td></tr>"
            "</table></body></html>";
        CHECK(out == expected);
    }

    TEST_CASE("every dangerous character is escaped, in every row") {
        std::vector<Fortune> rows = {{1, "&<>\"'"}, {2, "a&b"}};
        std::string out;
        FortunesPage().render(out, rows);
        CHECK(out.find("<td>&amp;&lt;&gt;&quot;&#39;</td>") != std::string::npos);
        CHECK(out.find("<td>a&amp;b</td>") != std::string::npos);
    }

    TEST_CASE("no rows: the table has its header only") {
        std::string out;
        FortunesPage().render(out, {});
        CHECK(out ==
              "<!DOCTYPE html><html><head><title>Fortunes</title></head><body><table>"
              "<tr><th>id</th><th>message</th></tr></table></body></html>");
    }

    TEST_CASE("another template over the same model") {
        std::vector<Fortune> rows = {{7, "<x>"}};
        std::string out;
        FortunesPage("{{#fortunes}}{{id}}={{{message}}}/{{message}};{{/fortunes}}")
            .render(out, rows);
        CHECK(out == "7=<x>/&lt;x&gt;;");
        CHECK_THROWS_AS(FortunesPage("{{#fortunes}}{{author}}{{/fortunes}}"), bench::TemplateError);
    }
}
