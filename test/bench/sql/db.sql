-- SPDX-License-Identifier: MIT
-- pgbench script: the ceiling for /db. One random World row per transaction,
-- the same statement the bench app prepares.
--   pgbench -n -M prepared -f test/bench/sql/db.sql -c 64 -j 2 -T 10 "$DATABASE_URL"
\set id random(1, 10000)
SELECT id, randomnumber FROM world WHERE id = :id;
