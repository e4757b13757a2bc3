-- SPDX-License-Identifier: MIT
-- The benchmark database: TechEmpower's World and Fortune tables (same names,
-- columns and rows as their PostgreSQL setup script) and the agents tables
-- behind the bench app's /agents endpoint. Run as a superuser inside the
-- hello_world database (packaging/pg-dev does); safe to run again: it drops
-- and recreates everything it owns.

\set ON_ERROR_STOP on
SET client_min_messages = warning;

BEGIN;

DROP TABLE IF EXISTS world, fortune, agent_login_status, agentfeatures CASCADE;

-- TechEmpower: 10,000 rows, randomNumber uniform in 1..10000.
CREATE TABLE world (
    id integer NOT NULL,
    randomnumber integer NOT NULL DEFAULT 0,
    PRIMARY KEY (id)
);
INSERT INTO world (id, randomnumber)
SELECT x.id, least(floor(random() * 10000 + 1), 10000)
FROM generate_series(1, 10000) AS x(id);

-- TechEmpower: the 12 standard fortunes (the app adds a 13th at request time).
CREATE TABLE fortune (
    id integer NOT NULL,
    message varchar(2048) NOT NULL,
    PRIMARY KEY (id)
);
INSERT INTO fortune (id, message) VALUES
    (1, 'fortune: No such file or directory'),
    (2, 'A computer scientist is someone who fixes things that aren''t broken.'),
    (3, 'After enough decimal places, nobody gives a damn.'),
    (4, 'A bad random number generator: 1, 1, 1, 1, 1, 4.33e+67, 1, 1, 1'),
    (5, 'A computer program does what you tell it to do, not what you want it to do.'),
    (6, 'Emacs is a nice operating system, but I prefer UNIX. — Tom Christaensen'),
    (7, 'Any program using lots of global variables is a good candidate for being refactored.'),
    (8, 'A list is only as strong as its weakest link. — Donald Knuth'),
    (9, 'Feature: A bug with seniority.'),
    (10, 'Computers make very fast, very accurate mistakes.'),
    (11, '<script>alert("This should not be displayed in a browser alert box.");</script>'),
    (12, 'フレームワークのベンチマーク');

-- The 2015 asyncio benchmark's /agents endpoint: 50 call-centre agents
-- (numbers 300..349) and one login status each. The endpoint runs
--   SELECT a.id, a.number, a.name, a.context, s.status, s.since
--   FROM agentfeatures a LEFT JOIN agent_login_status s ON s.agent_id = a.id
--   ORDER BY a.id
-- and answers a JSON array of 50 objects, about 6 KB (6,009 bytes as compact
-- JSON with `since` in ISO 8601). Rows are deterministic so that the response
-- size is the same on every machine.
CREATE TABLE agentfeatures (
    id serial PRIMARY KEY,
    number varchar(16) NOT NULL UNIQUE,
    name text NOT NULL,
    context text NOT NULL
);
INSERT INTO agentfeatures (number, name, context)
SELECT (300 + n)::text,
       'Agent ' || (300 + n)::text,
       (ARRAY['sales', 'support', 'billing', 'escalation', 'outbound'])[n % 5 + 1]
FROM generate_series(0, 49) AS g(n)
ORDER BY n;

CREATE TABLE agent_login_status (
    id serial PRIMARY KEY,
    agent_id integer NOT NULL REFERENCES agentfeatures (id),
    status text NOT NULL,
    since timestamptz NOT NULL
);
INSERT INTO agent_login_status (agent_id, status, since)
SELECT a.id,
       (ARRAY['available', 'on_call', 'paused', 'logged_out'])[a.id % 4 + 1],
       timestamptz '2015-03-02 08:00:00+00' + (a.id * interval '97 seconds')
FROM agentfeatures a
ORDER BY a.id;
CREATE INDEX agent_login_status_agent_id ON agent_login_status (agent_id);

GRANT ALL PRIVILEGES ON world, fortune, agentfeatures, agent_login_status
    TO benchmarkdbuser;
GRANT ALL PRIVILEGES ON ALL SEQUENCES IN SCHEMA public TO benchmarkdbuser;

COMMIT;

-- Query statistics for the benchmark reports (needs
-- shared_preload_libraries = 'pg_stat_statements', as pg-dev sets).
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
GRANT pg_read_all_stats TO benchmarkdbuser;
GRANT EXECUTE ON FUNCTION pg_stat_statements_reset(oid, oid, bigint) TO benchmarkdbuser;

ANALYZE world, fortune, agentfeatures, agent_login_status;
