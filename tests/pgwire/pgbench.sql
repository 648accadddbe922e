-- pgbench custom script for Waybill's PostgreSQL wire protocol (issue 7),
-- run by tests/integration/test_pgwire_clients.py against the test's
-- pgtypes table: pgbench -n -f tests/pgwire/pgbench.sql -D nrows=N
-- (-M simple | extended | prepared).  One transaction = a lookup of a
-- random row by id, then a group-by over the table.
\set id random(1, :nrows)
SELECT id, c_int, c_long, c_str, c_ts FROM pgtypes WHERE id = :id;
SELECT c_bool, count(*), sum(c_double) FROM pgtypes GROUP BY c_bool;
