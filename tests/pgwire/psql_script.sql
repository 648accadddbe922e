-- psql -f script for tests/integration/test_pgwire_clients.py; the expected
-- output (psql -X, LC_ALL=C.UTF-8) is psql_script.out next to this file,
-- taken from PostgreSQL 15 holding the same pgtypes table.
\pset null '(null)'
SELECT id, c_str FROM pgtypes WHERE id IN (1, 2) ORDER BY id;
\set n 3
SELECT count(*) AS n FROM pgtypes WHERE id <= :n;
\x on
SELECT id, c_int, c_double, c_ts FROM pgtypes WHERE id = 1;
\x off
SELECT c_bool, count(*) FROM pgtypes GROUP BY c_bool ORDER BY c_bool;
SELECT id, c_mvint, c_mvstr FROM pgtypes WHERE id BETWEEN 1 AND 4 ORDER BY id DESC LIMIT 3;
SELECT 'it''s' AS quoted, 1 + 2 AS sum, NULL AS nothing;
\echo done
