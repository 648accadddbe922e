"""PostgreSQL catalog emulation: the introspection queries real clients send.

Every statement of tests/pgcat/*.sql (format in tests/pgcat/README.md) runs
over POST /query/sql against a table with every type and multi-value
columns, and must succeed with the expected rows.  Also checks errors on
bad input (unknown relation in ::regclass) and a few catalog facts
directly (type OIDs, session functions, visibility).
"""
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import ndjson

PGCAT = Path(__file__).resolve().parents[1] / "pgcat"
TABLE = "pgcat_all"

SCHEMA = {
	"schemaName": TABLE,
	"dimensionFieldSpecs": [
		{"name": "carrier", "dataType": "STRING"},
		{"name": "flightnum", "dataType": "INT"},
		{"name": "cancelled", "dataType": "BOOLEAN"},
		{"name": "payload", "dataType": "JSON"},
		{"name": "raw", "dataType": "BYTES"},
		{"name": "tags", "dataType": "STRING", "singleValueField": False},
		{"name": "ids", "dataType": "INT", "singleValueField": False},
	],
	"metricFieldSpecs": [
		{"name": "distance", "dataType": "LONG"},
		{"name": "delay", "dataType": "FLOAT"},
		{"name": "price", "dataType": "DOUBLE"},
	],
	"dateTimeFieldSpecs": [
		{"name": "ts", "dataType": "TIMESTAMP", "format": "1:MILLISECONDS:TIMESTAMP",
		 "granularity": "1:MILLISECONDS"},
	],
}

ROW = {"carrier": "AA", "flightnum": 1, "cancelled": False, "payload": {"a": 1}, "raw": "00ff",
       "tags": ["x", "y"], "ids": [1, 2], "distance": 100, "delay": 1.5, "price": 9.99,
       "ts": 1700000000000}


# A table with primaryKeyColumns (an upsert table): its key shows as a
# PRIMARY KEY (pg_index, pg_constraint, information_schema).
PK_TABLE = "pgcat_pk"
PK_SCHEMA = {
	"schemaName": PK_TABLE,
	"dimensionFieldSpecs": [
		{"name": "region", "dataType": "STRING"},
		{"name": "id", "dataType": "LONG"},
		{"name": "status", "dataType": "STRING"},
	],
	"dateTimeFieldSpecs": [
		{"name": "ts", "dataType": "TIMESTAMP", "format": "1:MILLISECONDS:EPOCH",
		 "granularity": "1:MILLISECONDS"},
	],
	"primaryKeyColumns": ["id", "region"],
}


def load_cases():
	"""(id, directives, sql) for every statement of every file."""
	cases = []
	for f in sorted(PGCAT.glob("*.sql")):
		text = f.read_text()
		for i, block in enumerate(re.split(r"^-- next$", text, flags=re.M)):
			lines = block.strip("\n").split("\n")
			dirs, sql = [], []
			for ln in lines:
				m = re.match(r"^-- ([a-z-]+): ?(.*)$", ln)
				if m and not sql:
					dirs.append((m.group(1), m.group(2)))
				elif (ln.startswith("-- ") or not ln.strip()) and not sql:
					continue
				else:
					sql.append(ln)
			body = "\n".join(sql).strip()
			if not body:
				continue
			assert any(k == "source" for k, _ in dirs), "%s #%d has no -- source:" % (f.name, i)
			cases.append(pytest.param(dirs, body, id="%s-%d" % (f.stem, i)))
	return cases


@pytest.fixture(scope="module")
def pg(server):
	server.add_schema(SCHEMA)
	cfg = {"tableName": TABLE, "tableType": "REALTIME",
	       "segmentsConfig": {"schemaName": TABLE, "replication": "1"},
	       "tenants": {}, "tableIndexConfig": {"loadMode": "MMAP"}, "metadata": {}}
	server.add_table(cfg)
	server.ingest(TABLE, ndjson([ROW]))
	server.add_schema(PK_SCHEMA)
	server.add_table({"tableName": PK_TABLE, "tableType": "REALTIME",
			  "segmentsConfig": {"schemaName": PK_TABLE, "timeColumnName": "ts", "replication": "1"},
			  "tenants": {}, "tableIndexConfig": {"loadMode": "MMAP"}, "metadata": {},
			  "upsertConfig": {"mode": "FULL"}})
	oid = server.scalar("SELECT oid FROM pg_catalog.pg_class WHERE relname = '%s'" % TABLE)
	return server, oid


def subst(sql, server, oid):
	"""{oid}: pgcat_all's pg_class.oid; {pk_oid}: pgcat_pk's; {pk_index_oid}:
	its primary key index's (pgcat_pk_pkey)."""
	if "{pk_index_oid}" in sql:
		ix = server.scalar("SELECT oid FROM pg_catalog.pg_class WHERE relname = '%s_pkey'" % PK_TABLE)
		sql = sql.replace("{pk_index_oid}", str(ix))
	if "{pk_oid}" in sql:
		pk = server.scalar("SELECT oid FROM pg_catalog.pg_class WHERE relname = '%s'" % PK_TABLE)
		sql = sql.replace("{pk_oid}", str(pk))
	return sql.replace("{oid}", str(oid))


@pytest.mark.parametrize("dirs,sql", load_cases())
def test_client_query(pg, dirs, sql):
	server, oid = pg
	d = {}
	for k, v in dirs:
		d.setdefault(k, []).append(v)
	if "known-failure" in d:
		pytest.xfail(d["known-failure"][0])
	resp = server.query(subst(sql, server, oid))
	exc = resp.get("exceptions")
	if "expect-error" in d:
		assert exc, "expected an error, got %r" % resp.get("resultTable")
		assert d["expect-error"][0] in json.dumps(exc), exc
		return
	assert not exc, "failed: %s\n%s" % (exc, sql)
	rows = resp["resultTable"]["rows"]
	cols = resp["resultTable"]["dataSchema"]["columnNames"]
	if "expect-count" in d:
		assert len(rows) == int(d["expect-count"][0]), rows
	if "expect-rows" in d:
		assert rows == json.loads(d["expect-rows"][0]), rows
	for want in d.get("expect-contains", []):
		w = json.loads(want)
		assert any(r[:len(w)] == w for r in rows), "%r not in %r" % (w, rows)
	if "expect-columns" in d:
		assert cols == json.loads(d["expect-columns"][0]), cols


def test_regclass_errors(pg):
	server, oid = pg
	resp = server.query("SELECT 'nosuch'::regclass")
	assert resp["exceptions"], resp
	assert 'relation \\"nosuch\\" does not exist' in json.dumps(resp["exceptions"])
	assert server.scalar("SELECT '%s'::regclass::oid" % TABLE) == oid
	assert server.scalar("SELECT %d::regclass" % oid) == TABLE
	assert server.scalar("SELECT 'pg_class'::regclass") > 0
	resp = server.query("SELECT 'nosuchtype'::regtype")
	assert resp["exceptions"], resp
	# text::regclass of an expression: the name is looked up per row
	assert server.scalar("SELECT format('%%I.%%I', 'public', relname)::regclass = oid FROM pg_class "
			     "WHERE relname = '%s'" % TABLE) is True
	assert server.scalar("SELECT ('pgcat' || '_pk_pkey')::regclass::oid = "
			     "(SELECT indexrelid FROM pg_index WHERE indrelid = '%s'::regclass)" % PK_TABLE) is True
	resp = server.query("SELECT ('no' || 'such')::regclass")
	assert resp["exceptions"] and 'relation \\"nosuch\\" does not exist' in json.dumps(resp["exceptions"]), resp


def test_types_and_session(pg):
	server, oid = pg
	rows = server.rows("SELECT attname, atttypid, format_type(atttypid, atttypmod) FROM pg_attribute "
			   "WHERE attrelid = %d ORDER BY attnum" % oid)
	got = {r[0]: (r[1], r[2]) for r in rows}
	assert got == {
		"carrier": (25, "text"), "flightnum": (23, "integer"), "cancelled": (16, "boolean"),
		"payload": (114, "json"), "raw": (17, "bytea"), "tags": (1009, "text[]"),
		"ids": (1007, "integer[]"), "distance": (20, "bigint"), "delay": (700, "real"),
		"price": (701, "double precision"), "ts": (1114, "timestamp without time zone")}
	r = server.rows("SELECT current_user, session_user, current_database(), current_catalog, "
			"current_schema(), version()")[0]
	assert r[:5] == ["waybill", "waybill", "waybill", "waybill", "public"]
	assert r[5].startswith("PostgreSQL 15.0 (Waybill)")
	assert server.scalar("SELECT current_setting('server_version_num')") == "150000"
	resp = server.query("SELECT current_setting('no_such_setting')")
	assert resp["exceptions"]
	assert server.rows("SHOW standard_conforming_strings") == [["on"]]
	# sys tables are not on the search path; public and pg_catalog are
	vis = dict(server.rows("SELECT relname, pg_table_is_visible(oid) FROM pg_class "
			       "WHERE relname IN ('%s', 'segments', 'pg_class')" % TABLE))
	assert vis == {TABLE: True, "segments": False, "pg_class": True}
	# unqualified and qualified catalog names
	assert server.scalar("SELECT count(*) FROM pg_catalog.pg_namespace WHERE nspname = 'public'") == 1
	assert server.scalar("SELECT count(*) FROM information_schema.tables WHERE table_name = '%s'"
			     % TABLE) == 1


def test_correlated_and_arrays(pg):
	server, oid = pg
	rows = server.rows("SELECT a.attname, (SELECT t.typname FROM pg_type t WHERE t.oid = a.atttypid) "
			   "FROM pg_attribute a WHERE a.attrelid = %d AND a.attnum <= 2 ORDER BY a.attnum" % oid)
	assert rows == [["carrier", "text"], ["flightnum", "int4"]]
	assert server.rows("SELECT unnest(ids) AS i, generate_subscripts(ids, 1) AS o FROM %s" % TABLE) == \
		[[1, 1], [2, 2]]
	assert server.rows("SELECT i FROM generate_series(1, 3) AS i") == [[1], [2], [3]]
	assert server.scalar("SELECT count(*) FROM %s WHERE 'y' = ANY (tags)" % TABLE) == 1
	assert server.scalar("SELECT array_to_string(tags || tags, ',') FROM %s" % TABLE) == "x,y,x,y"
	assert server.scalar("SELECT ids::text FROM %s" % TABLE) == "1 2"
	assert server.scalar("SELECT tags[2] FROM %s" % TABLE) == "y"


def test_field_of_plain_column(pg):
	"""(col).x of a column that holds no record fails as in PostgreSQL."""
	server, _ = pg
	resp = server.query("SELECT (carrier).x FROM %s" % TABLE)
	assert resp["exceptions"], resp
	assert "which is not a composite type" in json.dumps(resp["exceptions"]), resp
	# a _pg_expandarray record of a derived table has x and n
	assert server.rows("SELECT (r.k).x, (r.k).n FROM (SELECT information_schema._pg_expandarray(ids) AS k "
			   "FROM %s) r" % TABLE) == [[1, 1], [2, 2]]


def run_psql(server, *args):
	env = dict(os.environ, PGCONNECT_TIMEOUT="10", PGTZ="UTC")
	env.pop("PGPASSWORD", None)
	r = subprocess.run(["psql", "-X", "-h", "127.0.0.1", "-p", str(server.pg_port), "-U", "waybill",
			    "-d", "waybill", "-P", "pager=off"] + list(args), capture_output=True, timeout=60, env=env)
	return r.returncode, r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace")


@pytest.mark.skipif(shutil.which("psql") is None, reason="psql not installed (postgresql-client-15)")
def test_psql_describe_index(pg):
	"""psql's `\\d <index>` (a correlated EXISTS in the select list): the
	same output as PostgreSQL 15 gives for this table's primary key."""
	server, _ = pg
	rc, out, err = run_psql(server, "-c", "\\d pgcat_pk_pkey")
	assert rc == 0, err
	assert out == ('    Index "public.pgcat_pk_pkey"\n'
		       ' Column |  Type  | Key? | Definition \n'
		       '--------+--------+------+------------\n'
		       ' id     | bigint | yes  | id\n'
		       ' region | text   | yes  | region\n'
		       'primary key, btree, for table "public.pgcat_pk"\n\n'), out


@pytest.mark.parametrize("dirs,sql", load_cases())
def test_client_query_over_wire(pg, dirs, sql):
	"""The same statements as the clients send them: over the PostgreSQL
	wire (psycopg2, simple protocol), with PostgreSQL's column names."""
	import psycopg2
	server, oid = pg
	d = {}
	for k, v in dirs:
		d.setdefault(k, []).append(v)
	if "known-failure" in d:
		pytest.xfail(d["known-failure"][0])
	conn = psycopg2.connect(host="127.0.0.1", port=server.pg_port, user="waybill", dbname="waybill",
				connect_timeout=10)
	conn.autocommit = True
	try:
		cur = conn.cursor()
		q = subst(sql, server, oid)	# no parameters: psycopg2 leaves % alone
		if "expect-error" in d:
			with pytest.raises(psycopg2.Error) as ei:
				cur.execute(q)
			assert d["expect-error"][0] in str(ei.value), ei.value
			return
		cur.execute(q)
		rows = [list(r) for r in cur.fetchall()] if cur.description else []
		cols = [c.name for c in cur.description] if cur.description else []
	finally:
		conn.close()
	if "expect-count" in d:
		assert len(rows) == int(d["expect-count"][0]), rows
	if "expect-rows" in d:
		assert rows == json.loads(d["expect-rows"][0]), rows
	for want in d.get("expect-contains", []):
		w = json.loads(want)
		assert any(r[:len(w)] == w for r in rows), "%r not in %r" % (w, rows)
	if "expect-columns" in d:
		assert cols == json.loads(d["expect-columns"][0]), cols


def test_format(pg):
	server, oid = pg
	assert server.rows("SELECT format('%s-%I-%L-%%', 'a', 'B c', 'it''s'), format('%I.%I', 'public', 'x1'), "
			   "format('%L', NULL), format('[%s]', NULL)") == [["a-\"B c\"-'it''s'-%", "public.x1", "NULL", "[]"]]
	assert server.rows("SELECT format(NULL)") == [[None]]
	for bad, why in (("format('%d', 1)", "only %s, %I, %L"), ("format('%s')", "too few arguments"),
			 ("format('%I', NULL)", "identifier"), ("format('abc%')", "unterminated")):
		resp = server.query("SELECT " + bad)
		assert resp["exceptions"] and why in json.dumps(resp["exceptions"]), (bad, resp)
