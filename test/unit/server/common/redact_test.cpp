// SPDX-License-Identifier: MIT
// Passwords are masked in both libpq connection string forms; nothing else
// changes.
#include <doctest/doctest.h>

#include "server/common/config/redact.hpp"

namespace quiver {
namespace {

TEST_SUITE("config.redact") {

TEST_CASE("URIs: the password of user:password and of ?password=") {
    CHECK(redact_conninfo("postgresql://app:s3cr%40t@db.local:5432/hello?sslmode=require") ==
          "postgresql://app:***@db.local:5432/hello?sslmode=require");
    CHECK(redact_conninfo("postgres://app:pw@[::1]/x") == "postgres://app:***@[::1]/x");
    CHECK(redact_conninfo("POSTGRESQL://a:b@h") == "POSTGRESQL://a:***@h");
    CHECK(redact_conninfo("postgresql://app@h/db?password=pw&application_name=q") ==
          "postgresql://app@h/db?password=***&application_name=q");
    CHECK(redact_conninfo("postgresql://h/db?sslmode=disable&password=pw") ==
          "postgresql://h/db?sslmode=disable&password=***");
    // An '@' inside the password: the last '@' ends the user info.
    CHECK(redact_conninfo("postgresql://u:p@ss@h/db") == "postgresql://u:***@h/db");
}

TEST_CASE("URIs without a password are unchanged") {
    for (const char* s : {"postgresql://", "postgresql://h", "postgresql://app@h:5/db",
                          "postgresql:///db?host=/run/postgresql", "postgresql://h/db?"})
        CHECK(redact_conninfo(s) == s);
}

TEST_CASE("keyword=value: plain and quoted values, spaces around '='") {
    CHECK(redact_conninfo("host=h user=u password=pw dbname=d") == "host=h user=u password=*** dbname=d");
    CHECK(redact_conninfo("password = pw host=h") == "password = *** host=h");
    CHECK(redact_conninfo("host=h password='a b\\' c' dbname=d") == "host=h password=*** dbname=d");
    CHECK(redact_conninfo("password=") == "password=***");
    // Only the password key, not keys that contain the word.
    CHECK(redact_conninfo("passfile=/x/.pgpass host=h") == "passfile=/x/.pgpass host=h");
    CHECK(redact_conninfo("application_name='password=x'") == "application_name='password=x'");
}

TEST_CASE("empty and malformed strings pass through") {
    CHECK(redact_conninfo("") == "");
    CHECK(redact_conninfo("host") == "host");
    CHECK(redact_conninfo("  host = h  ") == "  host = h  ");
}

}  // TEST_SUITE

}  // namespace
}  // namespace quiver
