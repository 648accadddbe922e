"""PostgreSQL wire protocol (issue 7) with the real clients: psycopg2,
psql, libpq (tests/pgwire/pqcheck.c), pgbench, raw sockets for malformed
input, and 300 concurrent connections.

One server for the module (the conftest `server` fixture starts it with
`--pg 127.0.0.1:<port>`).  Two tables are pushed over HTTP:

  pgtypes  one column of every Waybill type (INT, LONG, FLOAT, DOUBLE,
	   BIG_DECIMAL, BOOLEAN, TIMESTAMP, STRING, JSON, BYTES, multi-value
	   INT and STRING), NROWS rows with ids 1..NROWS: row 1 is KNOWN_ROW
	   (pqcheck.c holds the same values), row 2 has every single-value
	   column NULL, the others come from gen_row() and have a NULL here
	   and there.
  pgslow   SLOW_ROWS rows with the same key, so SLOW_SQL (a self join on
	   that key, billions of pairs) runs until cancelled.

Type mapping expected over the wire (what PostgreSQL would say for the
equivalent table): INT int4, LONG int8, FLOAT float4, DOUBLE float8,
BIG_DECIMAL numeric, BOOLEAN bool, TIMESTAMP timestamp (or timestamptz),
STRING text (or varchar), JSON json (or jsonb), BYTES bytea, multi-value
INT int4[], multi-value STRING text[] (or varchar[]).

Expected protocol behaviour was taken from PostgreSQL 15 itself: the same
tests run against a real server when WB_PGWIRE_REFERENCE=PORT names a
PostgreSQL on 127.0.0.1:PORT (user waybill, database waybill, trust auth,
max_connections >= 350); the tables are then created with SQL.  That is
how the psql outputs below were obtained.

Nothing here is skipped when the server lacks a feature: such a test
fails and says what was missing.
"""
import csv
import io
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from conftest import REPO, ndjson, schema, simple_table_config

psycopg2 = pytest.importorskip("psycopg2")
import psycopg2.errors  # noqa: E402
import psycopg2.extensions  # noqa: E402
import psycopg2.extras  # noqa: E402

PGDIR = REPO / "tests" / "pgwire"
REFERENCE = os.environ.get("WB_PGWIRE_REFERENCE")	# port of a real PostgreSQL

NROWS = 200
SLOW_ROWS = 50000
SLOW_SQL = "SELECT count(*) FROM pgslow a JOIN pgslow b ON a.k = b.k"
COLS = ["id", "c_int", "c_long", "c_float", "c_double", "c_dec", "c_bool", "c_ts", "c_str",
	"c_json", "c_bytes", "c_mvint", "c_mvstr"]
SV_COLS = COLS[1:11]		# the nullable single-value columns
COL_LIST = ", ".join(COLS)

KNOWN_ROW = {
	"id": 1, "c_int": -123456, "c_long": -8000000000123, "c_float": 1.5,
	"c_double": 3.141592653589793, "c_dec": Decimal("12345.625"), "c_bool": True,
	"c_ts": datetime(2024, 2, 29, 13, 45, 30, 123000), "c_str": "h\u00e9llo, w\u00f6rld",
	"c_json": {"a": 1, "b": [True, None]}, "c_bytes": b"\x00\xff\x10",
	"c_mvint": [3, -1, 7], "c_mvstr": ["x", "y z"],
}
STRS = ["plain", "with, comma", 'quote " inside', "back\\slash", "tab\there", "new\nline",
	"\u00fcn\u00ef \u2713 \u65e5\u672c", "", "semi;colon"]
TS0 = datetime(2025, 1, 1)


def gen_row(i):
	if i == 1:
		return dict(KNOWN_ROW)
	if i == 2:
		r = {c: None for c in SV_COLS}
		r.update(id=2, c_mvint=[0], c_mvstr=["n"])
		return r
	r = {"id": i, "c_int": (i * 7919) % 20001 - 10000, "c_long": i * 1000003 * (-1) ** i,
	     "c_float": i / 4.0, "c_double": i * 1.25, "c_dec": Decimal(i) / 8,
	     "c_bool": i % 3 == 0, "c_ts": TS0 + timedelta(milliseconds=i * 3600500),
	     "c_str": STRS[i % len(STRS)] + " %d" % i, "c_json": {"i": i, "even": i % 2 == 0},
	     "c_bytes": bytes([i % 256, (i * 7) % 256]), "c_mvint": [i, -i], "c_mvstr": ["s%d" % i, "t"]}
	if i % 10 == 5:
		r[SV_COLS[(i // 10) % len(SV_COLS)]] = None
	return r


ROWS = [gen_row(i) for i in range(1, NROWS + 1)]


def epoch_ms(dt):
	return int((dt.replace(tzinfo=timezone.utc) - datetime(1970, 1, 1, tzinfo=timezone.utc))
		   / timedelta(milliseconds=1))


def wb_json_row(r):
	out = {}
	for c, v in r.items():
		if v is None:
			continue
		if isinstance(v, Decimal):
			v = float(v)
		elif isinstance(v, datetime):
			v = epoch_ms(v)
		elif isinstance(v, bytes):
			v = v.hex()
		out[c] = v
	return out


# -- the server under test -----------------------------------------------------

class Target:
	"""Where the tests connect: Waybill's PG port, or a reference PostgreSQL."""

	def __init__(self, port, server=None):
		self.host = "127.0.0.1"
		self.port = port
		self.server = server		# conftest Server, None for the reference

	def connect(self, **kw):
		args = dict(host=self.host, port=self.port, user="waybill", dbname="waybill",
			    connect_timeout=10)
		args.update(kw)
		return psycopg2.connect(**args)

	@property
	def dsn(self):
		return "host=%s port=%d user=waybill dbname=waybill connect_timeout=10" % (self.host, self.port)

	def check_alive(self):
		"""The server still answers a fresh connection (and, for Waybill,
		is running with no sanitizer report in its log)."""
		if self.server is not None:
			assert self.server.alive(), "waybill exited"
			self.server.check_log()
		c = self.connect()
		try:
			cur = c.cursor()
			cur.execute("SELECT 1")
			assert cur.fetchall() == [(1,)]
		finally:
			c.close()


def create_waybill_tables(server):
	sch = schema("pgtypes",
		     dims=[("id", "INT"), ("c_int", "INT"), ("c_long", "LONG"), ("c_float", "FLOAT"),
			   ("c_double", "DOUBLE"), ("c_bool", "BOOLEAN"), ("c_str", "STRING"),
			   ("c_json", "JSON"), ("c_bytes", "BYTES"), ("c_mvint", "INT", False),
			   ("c_mvstr", "STRING", False)],
		     metrics=[("c_dec", "BIG_DECIMAL")],
		     datetimes=[("c_ts", "TIMESTAMP", "1:MILLISECONDS:TIMESTAMP", "1:MILLISECONDS")])
	server.add_schema(sch)
	server.add_table(simple_table_config("pgtypes"))
	ans = server.ingest("pgtypes", ndjson([wb_json_row(r) for r in ROWS]), fmt="ndjson")
	assert ans["accepted"] == NROWS and ans["rejected"] == 0, ans
	server.add_schema(schema("pgslow", dims=[("k", "INT")], metrics=[("v", "INT")]))
	server.add_table(simple_table_config("pgslow"))
	body = ("".join('{"k":0,"v":%d}\n' % i for i in range(SLOW_ROWS))).encode()
	ans = server.ingest("pgslow", body, fmt="ndjson")
	assert ans["accepted"] == SLOW_ROWS, ans
	assert server.count("pgtypes") == NROWS


def create_reference_tables(t):
	c = t.connect()
	c.autocommit = True
	cur = c.cursor()
	cur.execute("DROP TABLE IF EXISTS pgtypes, pgslow")
	cur.execute("CREATE TABLE pgtypes (id int, c_int int, c_long bigint, c_float real, "
		    "c_double double precision, c_dec numeric, c_bool boolean, c_ts timestamp, "
		    "c_str text, c_json json, c_bytes bytea, c_mvint int[], c_mvstr text[])")
	cur.executemany("INSERT INTO pgtypes VALUES (%s)" % ", ".join(["%s"] * len(COLS)),
			[[psycopg2.extras.Json(r[c]) if c == "c_json" and r[c] is not None else r[c]
			  for c in COLS] for r in ROWS])
	cur.execute("CREATE TABLE pgslow (k int, v int)")
	cur.execute("INSERT INTO pgslow SELECT 0, g FROM generate_series(0, %d) g" % (SLOW_ROWS - 1))
	cur.execute("ANALYZE")
	c.close()


@pytest.fixture(scope="module")
def pg(request):
	if REFERENCE:
		t = Target(int(REFERENCE))
		create_reference_tables(t)
		return t
	server = request.getfixturevalue("server")
	create_waybill_tables(server)
	t = Target(server.pg_port, server)
	deadline = time.monotonic() + 10		# the listener may come up after /health
	while True:
		try:
			t.connect().close()
			break
		except psycopg2.OperationalError as e:
			if time.monotonic() > deadline:
				pytest.fail("no PostgreSQL wire protocol on 127.0.0.1:%d: %s" % (t.port, e))
			time.sleep(0.2)
	return t


@pytest.fixture
def conn(pg):
	c = pg.connect()
	try:
		yield c
	finally:
		c.close()


def norm_ts(v):
	"""timestamp -> naive datetime; timestamptz -> the same in UTC."""
	if isinstance(v, datetime) and v.tzinfo is not None:
		return v.astimezone(timezone.utc).replace(tzinfo=None)
	return v


def check_value(col, want, got, where):
	if want is None:
		assert got is None, "%s: want NULL, got %r" % (where, got)
		return
	if col in ("id", "c_int", "c_long"):
		assert type(got) is int and got == want, "%s: %r (%s), want int %r" % (where, got, type(got).__name__, want)
	elif col in ("c_float", "c_double"):
		assert type(got) is float and got == want, "%s: %r (%s), want float %r" % (where, got, type(got).__name__, want)
	elif col == "c_dec" and not REFERENCE:
		# Waybill stores BIG_DECIMAL as DOUBLE and sends float8 (docs/postgres.md)
		assert type(got) is float and got == float(want), "%s: %r (%s), want float %r" % (where, got, type(got).__name__, want)
	elif col == "c_dec":
		assert isinstance(got, Decimal) and got == want, "%s: %r, want Decimal %r" % (where, got, want)
	elif col == "c_bool":
		assert got is want, "%s: %r, want %r" % (where, got, want)
	elif col == "c_ts":
		assert isinstance(got, datetime) and norm_ts(got) == want, "%s: %r, want %r" % (where, got, want)
	elif col == "c_str":
		assert got == want, "%s: %r, want %r" % (where, got, want)
	elif col == "c_json":
		if isinstance(got, str):
			got = json.loads(got)
		assert got == want, "%s: %r, want %r" % (where, got, want)
	elif col == "c_bytes":
		assert isinstance(got, (bytes, memoryview)) and bytes(got) == want, "%s: %r, want %r" % (where, got, want)
	elif col in ("c_mvint", "c_mvstr"):
		assert isinstance(got, list) and got == want, "%s: %r, want list %r" % (where, got, want)


# -- psycopg2 ------------------------------------------------------------------

def test_psycopg2_connect(pg, conn):
	assert conn.server_version >= 90000, conn.server_version
	assert conn.get_parameter_status("client_encoding") == "UTF8"
	assert conn.get_parameter_status("integer_datetimes") == "on"
	assert conn.get_parameter_status("standard_conforming_strings") == "on"
	assert (conn.get_parameter_status("DateStyle") or "").startswith("ISO")
	assert conn.get_parameter_status("TimeZone") is not None
	assert conn.get_backend_pid() != 0, "no BackendKeyData"
	assert conn.info.dbname == "waybill" and conn.info.user == "waybill"


def test_psycopg2_typed_results(pg, conn):
	cur = conn.cursor()
	cur.execute("SELECT %s FROM pgtypes ORDER BY id" % COL_LIST)
	assert [d.name for d in cur.description] == COLS
	got = cur.fetchall()
	assert len(got) == NROWS, "%d rows, want %d" % (len(got), NROWS)
	for want, row in zip(ROWS, got):
		for col, g in zip(COLS, row):
			check_value(col, want[col], g, "id %s %s" % (want["id"], col))


def test_psycopg2_type_oids(pg, conn):
	want = {"id": {23}, "c_int": {23}, "c_long": {20}, "c_float": {700}, "c_double": {701},
		"c_dec": {1700} if REFERENCE else {701}, "c_bool": {16}, "c_ts": {1114, 1184}, "c_str": {25, 1043},
		"c_json": {114, 3802}, "c_bytes": {17}, "c_mvint": {1007}, "c_mvstr": {1009, 1015}}
	cur = conn.cursor()
	cur.execute("SELECT %s FROM pgtypes WHERE id = 1" % COL_LIST)
	got = {d.name: d.type_code for d in cur.description}
	bad = {c: (got.get(c), sorted(w)) for c, w in want.items() if got.get(c) not in w}
	assert not bad, "type oids (got, want one of): %r" % bad


def test_psycopg2_nulls_of_every_type(pg, conn):
	cur = conn.cursor()
	cur.execute("SELECT %s FROM pgtypes WHERE id = 2" % ", ".join(SV_COLS))
	row = cur.fetchone()
	assert row == tuple([None] * len(SV_COLS)), dict(zip(SV_COLS, row))
	cur.execute("SELECT count(*) FROM pgtypes WHERE c_str IS NULL")
	assert cur.fetchone()[0] == sum(1 for r in ROWS if r["c_str"] is None)


def test_psycopg2_parameters(pg, conn):
	"""psycopg2 interpolates parameters client side: ints, strings (quotes
	doubled), '...'::timestamp, '\\x...'::bytea, Decimal, bool, NULL, ARRAY[...]."""
	cur = conn.cursor()
	k = KNOWN_ROW
	cur.execute("SELECT id FROM pgtypes WHERE c_int = %s AND c_str = %s AND c_long = %s",
		    (k["c_int"], k["c_str"], k["c_long"]))
	assert cur.fetchall() == [(1,)]
	cur.execute("SELECT id FROM pgtypes WHERE c_ts = %s AND c_bool = %s", (k["c_ts"], True))
	assert cur.fetchall() == [(1,)]
	cur.execute("SELECT id FROM pgtypes WHERE c_bytes = %s", (k["c_bytes"],))
	assert cur.fetchall() == [(1,)]
	cur.execute("SELECT id FROM pgtypes WHERE c_dec = %s", (k["c_dec"],))
	assert cur.fetchall() == [(1,)]
	cur.execute("SELECT id FROM pgtypes WHERE c_str = %s", ("x' OR '1'='1",))
	assert cur.fetchall() == []
	want = sorted(r["id"] for r in ROWS if r["c_str"] == 'quote " inside %d' % r["id"])
	cur.execute("SELECT id FROM pgtypes WHERE c_str LIKE %s ORDER BY id", ('quote " inside%',))
	assert [r[0] for r in cur.fetchall()] == want
	cur.execute("SELECT id FROM pgtypes WHERE id IN %s ORDER BY id", ((3, 4, 5),))
	assert cur.fetchall() == [(3,), (4,), (5,)]
	cur.execute("SELECT %(a)s + 1, %(b)s, %(c)s", {"a": 41, "b": "it's", "c": None})
	assert cur.fetchone() == (42, "it's", None)


def test_psycopg2_several_statements(pg, conn):
	cur = conn.cursor()
	cur.execute("SELECT 1; SELECT id, c_str FROM pgtypes WHERE id = 1")
	assert cur.fetchall() == [(1, KNOWN_ROW["c_str"])]
	cur.execute("SET application_name = 'multi'; SELECT count(*) FROM pgtypes")
	assert cur.fetchall() == [(NROWS,)]


@pytest.mark.parametrize("sql,code", [
	("SELECT * FROM no_such_table_xyz", "42P01"),
	("SELECT no_such_column FROM pgtypes", "42703"),
	("SELECT * FORM pgtypes", "42601"),
	("SELECT c_int / 0 FROM pgtypes WHERE id = 1", "22012"),
])
def test_psycopg2_errors(pg, sql, code):
	c = pg.connect()
	try:
		cur = c.cursor()
		with pytest.raises(psycopg2.Error) as ei:
			cur.execute(sql)
		e = ei.value
		assert e.pgcode == code, "%s: pgcode %s (%s), want %s" % (sql, e.pgcode, e.pgerror, code)
		assert type(e) is psycopg2.errors.lookup(code), type(e)
		assert e.diag.severity == "ERROR" and e.diag.message_primary, (e.diag.severity, e.diag.message_primary)
		# psycopg2 opened a transaction (BEGIN): it is now failed, as in PostgreSQL
		assert c.get_transaction_status() == psycopg2.extensions.TRANSACTION_STATUS_INERROR
		with pytest.raises(psycopg2.errors.InFailedSqlTransaction):
			cur.execute("SELECT 1")
		c.rollback()
		cur.execute("SELECT id FROM pgtypes WHERE id = 1")
		assert cur.fetchall() == [(1,)]
		c.commit()
		# and in autocommit mode the next statement just works
		c.autocommit = True
		with pytest.raises(psycopg2.Error):
			cur.execute(sql)
		cur.execute("SELECT 7")
		assert cur.fetchall() == [(7,)]
	finally:
		c.close()


def test_psycopg2_transaction_status(pg, conn):
	TS = psycopg2.extensions
	assert conn.get_transaction_status() == TS.TRANSACTION_STATUS_IDLE
	cur = conn.cursor()
	cur.execute("SELECT 1")
	assert conn.get_transaction_status() == TS.TRANSACTION_STATUS_INTRANS
	conn.commit()
	assert conn.get_transaction_status() == TS.TRANSACTION_STATUS_IDLE
	cur.execute("SELECT 1")
	conn.rollback()
	assert conn.get_transaction_status() == TS.TRANSACTION_STATUS_IDLE


def test_psycopg2_server_side_cursor(pg, conn):
	"""DECLARE "c" CURSOR WITHOUT HOLD FOR ...; FETCH FORWARD n FROM "c";
	CLOSE "c" -- inside BEGIN ... COMMIT."""
	cur = conn.cursor(name="c")
	cur.execute("SELECT id, c_str FROM pgtypes ORDER BY id")
	seen = []
	first = cur.fetchmany(50)
	assert len(first) == 50, len(first)
	seen += first
	while True:
		part = cur.fetchmany(64)
		if not part:
			break
		seen += part
	assert [r[0] for r in seen] == list(range(1, NROWS + 1))
	assert seen[0] == (1, KNOWN_ROW["c_str"])
	cur.close()
	conn.commit()
	# iteration fetches itersize rows at a time
	cur = conn.cursor(name="c2")
	cur.itersize = 30
	cur.execute("SELECT id FROM pgtypes WHERE id > %s ORDER BY id", (100,))
	assert [r[0] for r in cur] == list(range(101, NROWS + 1))
	cur.close()
	# fetchone / fetchall, and two cursors open at once
	a = conn.cursor(name="ca")
	b = conn.cursor(name="cb")
	a.execute("SELECT id FROM pgtypes ORDER BY id")
	b.execute("SELECT id FROM pgtypes WHERE id <= 3 ORDER BY id DESC")
	assert a.fetchone() == (1,)
	assert b.fetchall() == [(3,), (2,), (1,)]
	assert a.fetchone() == (2,)
	a.close()
	b.close()
	conn.commit()


def test_declare_fetch_sql(pg):
	"""The statements psycopg2's named cursors send, typed by hand."""
	c = pg.connect()
	c.autocommit = True
	cur = c.cursor()
	try:
		cur.execute("BEGIN")
		cur.execute("DECLARE k CURSOR FOR SELECT id FROM pgtypes WHERE id <= 5 ORDER BY id")
		cur.execute("FETCH 2 FROM k")
		assert cur.fetchall() == [(1,), (2,)]
		cur.execute("FETCH FORWARD 10 FROM k")
		assert cur.fetchall() == [(3,), (4,), (5,)]
		cur.execute("FETCH 1 FROM k")
		assert cur.fetchall() == []
		cur.execute("CLOSE k")
		cur.execute("COMMIT")
		with pytest.raises(psycopg2.Error) as ei:	# outside a transaction block
			cur.execute("DECLARE k2 CURSOR FOR SELECT 1")
		assert ei.value.pgcode == "25P01", (ei.value.pgcode, ei.value.pgerror)
		with pytest.raises(psycopg2.Error) as ei:
			cur.execute("FETCH 1 FROM nosuchcursor")
		assert ei.value.pgcode == "34000", (ei.value.pgcode, ei.value.pgerror)
	finally:
		c.close()


def copy_text_field(v):
	if v is None:
		return "\\N"
	if isinstance(v, bool):
		return "t" if v else "f"
	if isinstance(v, bytes):
		return "\\\\x" + v.hex()
	s = str(v)
	return s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def test_copy_to_stdout_text(pg, conn):
	cur = conn.cursor()
	f = io.BytesIO()
	cur.copy_expert("COPY (SELECT id, c_int, c_bool, c_str, c_bytes FROM pgtypes ORDER BY id) TO STDOUT", f)
	want = "".join("\t".join(copy_text_field(r[c]) for c in ("id", "c_int", "c_bool", "c_str", "c_bytes")) + "\n"
		       for r in ROWS)
	got = f.getvalue().decode("utf-8")
	assert got.splitlines()[:3] == want.splitlines()[:3]
	assert got == want
	assert cur.rowcount == NROWS, cur.rowcount	# from the "COPY n" command tag


def test_copy_to_stdout_csv_header(pg, conn):
	cur = conn.cursor()
	f = io.BytesIO()
	cur.copy_expert("COPY (SELECT id, c_int, c_str, c_ts FROM pgtypes WHERE id <= 20 ORDER BY id) "
			"TO STDOUT WITH (FORMAT csv, HEADER)", f)
	text = f.getvalue().decode("utf-8")
	lines = text.split("\n")
	assert lines[0] == "id,c_int,c_str,c_ts", lines[0]
	# NULL is an empty unquoted field, "" an empty quoted one
	out = io.StringIO(newline="")
	w = csv.writer(out, lineterminator="\n")
	w.writerow(["id", "c_int", "c_str", "c_ts"])
	for r in ROWS[:20]:
		ts = r["c_ts"]
		w.writerow([r["id"], "" if r["c_int"] is None else r["c_int"], r["c_str"],
			    "" if ts is None else ts.isoformat(sep=" ", timespec="milliseconds").rstrip("0").rstrip(".")])
	assert text == out.getvalue()


def test_cancel(pg):
	c = pg.connect()
	try:
		cur = c.cursor()
		timer = threading.Timer(0.5, c.cancel)
		t0 = time.monotonic()
		timer.start()
		with pytest.raises(psycopg2.extensions.QueryCanceledError) as ei:
			cur.execute(SLOW_SQL)
		el = time.monotonic() - t0
		timer.join()
		assert ei.value.pgcode == "57014"
		assert el < 5, "the cancelled query ended %.1f s after it started (cancel at 0.5 s)" % el
		assert "user request" in str(ei.value), str(ei.value)
		c.rollback()
		cur.execute("SELECT 5")
		assert cur.fetchall() == [(5,)]
	finally:
		c.close()


def test_statement_timeout(pg):
	c = pg.connect()
	c.autocommit = True
	try:
		cur = c.cursor()
		cur.execute("SET statement_timeout = '300ms'")
		t0 = time.monotonic()
		with pytest.raises(psycopg2.extensions.QueryCanceledError) as ei:
			cur.execute(SLOW_SQL)
		assert ei.value.pgcode == "57014"
		assert time.monotonic() - t0 < 5
		assert "statement timeout" in str(ei.value), str(ei.value)
		cur.execute("SET statement_timeout = 0")
		cur.execute("SELECT 6")
		assert cur.fetchall() == [(6,)]
	finally:
		c.close()


@pytest.mark.parametrize("name,value,shown", [
	("application_name", "'wbtest'", "wbtest"),
	("DateStyle", "'ISO, MDY'", "ISO, MDY"),
	("TimeZone", "'UTC'", "UTC"),
	("extra_float_digits", "3", "3"),
	("search_path", "public", "public"),
	("statement_timeout", "'5s'", "5s"),
	("client_encoding", "'UTF8'", "UTF8"),
])
def test_set_show(pg, name, value, shown):
	c = pg.connect()
	c.autocommit = True
	try:
		cur = c.cursor()
		cur.execute("SHOW %s" % name)
		assert cur.description[0].name == name, cur.description[0].name	# the canonical spelling, as PostgreSQL
		assert len(cur.fetchall()) == 1
		cur.execute("SET %s = %s" % (name, value))
		assert cur.statusmessage == "SET", cur.statusmessage
		cur.execute("SHOW %s" % name)
		assert cur.fetchall() == [(shown,)]
		cur.execute("SELECT current_setting(%s)", (name,))
		assert cur.fetchall() == [(shown,)]
		if name in ("application_name", "DateStyle", "TimeZone", "client_encoding"):
			# GUC_REPORT parameters come back as ParameterStatus
			assert c.get_parameter_status(name) == shown, c.get_parameter_status(name)
		cur.execute("RESET %s" % name)
		cur.execute("SET SESSION %s TO %s" % (name, value))
		cur.execute("SHOW %s" % name)
		assert cur.fetchall() == [(shown,)]
	finally:
		c.close()


def test_startup_parameters(pg):
	c = pg.connect(application_name="from-startup", options="-c extra_float_digits=2")
	try:
		cur = c.cursor()
		cur.execute("SHOW application_name")
		assert cur.fetchall() == [("from-startup",)]
		assert c.get_parameter_status("application_name") == "from-startup"
		cur.execute("SHOW extra_float_digits")
		assert cur.fetchall() == [("2",)]
	finally:
		c.close()


def test_version_and_session_functions(pg, conn):
	cur = conn.cursor()
	cur.execute("SELECT version()")
	v = cur.fetchone()[0]
	assert re.match(r"PostgreSQL \d+(\.\d+)? ", v), v
	cur.execute("SELECT current_database(), current_schema(), current_user")
	assert cur.fetchone() == ("waybill", "public", "waybill")


def test_empty_query(pg, conn):
	"""';' is an EmptyQueryResponse; psycopg2 turns it into ProgrammingError
	("can't execute an empty query") and the connection stays usable."""
	cur = conn.cursor()
	with pytest.raises(psycopg2.ProgrammingError, match="empty query"):
		cur.execute(";")
	assert conn.get_transaction_status() == psycopg2.extensions.TRANSACTION_STATUS_INTRANS
	cur.execute("SELECT 3")
	assert cur.fetchall() == [(3,)]


def test_command_tags(pg, conn):
	cur = conn.cursor()
	cur.execute("SELECT id FROM pgtypes WHERE id <= 7")
	assert cur.statusmessage == "SELECT 7", cur.statusmessage
	assert cur.rowcount == 7


# -- psql --------------------------------------------------------------------

def psql(pg, *args, input=None, timeout=60):
	env = dict(os.environ, PGCONNECT_TIMEOUT="10", LC_ALL="C.UTF-8", PAGER="", PSQL_PAGER="",
		   PGTZ="UTC")
	env.pop("PGPASSWORD", None)
	r = subprocess.run(["psql", "-X", "-h", pg.host, "-p", str(pg.port), "-U", "waybill", "-d", "waybill",
			    "-P", "pager=off"] + list(args), input=input, capture_output=True, timeout=timeout,
			   env=env)
	return r.returncode, r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace")


needs_psql = pytest.mark.skipif(shutil.which("psql") is None, reason="psql not installed (postgresql-client-15)")


@needs_psql
def test_psql_aligned(pg):
	rc, out, err = psql(pg, "-c", "SELECT id, c_int, c_str, c_bool FROM pgtypes WHERE id <= 2 ORDER BY id")
	assert rc == 0, err
	assert out == (" id |  c_int  |    c_str     | c_bool \n"
		       "----+---------+--------------+--------\n"
		       "  1 | -123456 | h\u00e9llo, w\u00f6rld | t\n"
		       "  2 |         |              | \n"
		       "(2 rows)\n\n"), out


@needs_psql
def test_psql_unaligned_tuples_only(pg):
	rc, out, err = psql(pg, "-A", "-t", "-c",
			    "SELECT id, c_long, c_float, c_dec, c_ts, c_bytes, c_mvint, c_mvstr FROM pgtypes WHERE id <= 2 ORDER BY id")
	assert rc == 0, err
	assert out == ("1|-8000000000123|1.5|12345.625|2024-02-29 13:45:30.123|\\x00ff10|{3,-1,7}|{x,\"y z\"}\n"
		       "2||||||{0}|{n}\n"), out


@needs_psql
def test_psql_multi_statement(pg):
	rc, out, err = psql(pg, "-c", "SELECT 1 AS a; SELECT 'x' AS b, count(*) FROM pgtypes")
	assert rc == 0, err
	assert out == (" a \n---\n 1\n(1 row)\n\n"
		       " b | count \n---+-------\n x |   %d\n(1 row)\n\n" % NROWS), out


@needs_psql
def test_psql_script_file(pg, tmp_path):
	rc, out, err = psql(pg, "-f", str(PGDIR / "psql_script.sql"))
	assert rc == 0, err
	want = (PGDIR / "psql_script.out").read_text()
	assert out == want, "psql -f tests/pgwire/psql_script.sql:\n%s\nstderr:\n%s" % (out, err)


@needs_psql
def test_psql_copy(pg):
	rc, out, err = psql(pg, "-c", r"\copy (SELECT id, c_str, c_bytes FROM pgtypes WHERE id <= 3 ORDER BY id) to stdout")
	assert rc == 0, err
	want = "".join("\t".join(copy_text_field(r[c]) for c in ("id", "c_str", "c_bytes")) + "\n" for r in ROWS[:3])
	assert out == want, out
	rc, out, err = psql(pg, "-c", r"\copy (SELECT id, c_str FROM pgtypes WHERE id IN (1, 14) ORDER BY id) "
			    r"to stdout with (format csv, header)")
	assert rc == 0, err
	assert out == 'id,c_str\n1,"h\u00e9llo, w\u00f6rld"\n14,"new\nline 14"\n', out


@needs_psql
def test_psql_on_error_stop(pg):
	script = "SELECT 1 AS first;\nSELECT * FROM no_such_table_xyz;\nSELECT 2 AS after_error;\n"
	rc, out, err = psql(pg, "-v", "ON_ERROR_STOP=1", input=script.encode())
	assert rc == 3, (rc, out, err)
	assert "first" in out and "after_error" not in out, out
	assert "ERROR:" in err and "no_such_table_xyz" in err, err
	rc, out, err = psql(pg, input=script.encode())
	assert rc == 0, (rc, err)
	assert "first" in out and "after_error" in out, out
	assert "ERROR:" in err, err


@needs_psql
def test_psql_error_position(pg):
	rc, out, err = psql(pg, "-c", "SELECT * FORM pgtypes")
	assert rc == 1, (rc, err)
	assert err == ('ERROR:  syntax error at or near "FORM"\n'
		       "LINE 1: SELECT * FORM pgtypes\n"
		       "                 ^\n"), err


# psql's backslash commands run pg_catalog queries (the catalog emulation).

@needs_psql
def test_psql_dt(pg):
	rc, out, err = psql(pg, "-c", r"\dt")
	assert rc == 0 and not err, err
	assert "List of relations" in out, out
	lines = [re.sub(r"\s+", " ", ln.strip()) for ln in out.splitlines()]
	assert "Schema | Name | Type | Owner" in lines, out
	assert "public | pgtypes | table | waybill" in lines, out
	assert "public | pgslow | table | waybill" in lines, out


PG_TYPE_NAMES = {
	"id": {"integer"}, "c_int": {"integer"}, "c_long": {"bigint"}, "c_float": {"real"},
	"c_double": {"double precision"}, "c_dec": {"numeric"} if REFERENCE else {"double precision"},
	"c_bool": {"boolean"},
	"c_ts": {"timestamp without time zone", "timestamp with time zone"},
	"c_str": {"text", "character varying"}, "c_json": {"json", "jsonb"}, "c_bytes": {"bytea"},
	"c_mvint": {"integer[]"}, "c_mvstr": {"text[]", "character varying[]"},
}


@needs_psql
def test_psql_d_table(pg):
	rc, out, err = psql(pg, "-c", r"\d pgtypes")
	assert rc == 0 and not err, err
	assert 'Table "public.pgtypes"' in out, out
	cols = {}
	for ln in out.splitlines():
		parts = [p.strip() for p in ln.split("|")]
		if len(parts) >= 2 and parts[0] in PG_TYPE_NAMES:
			cols[parts[0]] = parts[1]
	bad = {c: cols.get(c) for c, w in PG_TYPE_NAMES.items() if cols.get(c) not in w}
	assert not bad, "\\d pgtypes: columns with missing or wrong types %r:\n%s" % (bad, out)


@needs_psql
def test_psql_l(pg):
	rc, out, err = psql(pg, "-c", r"\l")
	assert rc == 0 and not err, err
	assert "List of databases" in out, out
	assert any(ln.split("|")[0].strip() == "waybill" for ln in out.splitlines() if "|" in ln), out


@needs_psql
def test_psql_dn(pg):
	rc, out, err = psql(pg, "-c", r"\dn")
	assert rc == 0 and not err, err
	assert "List of schemas" in out, out
	assert any(ln.split("|")[0].strip() == "public" for ln in out.splitlines() if "|" in ln), out


# -- libpq ---------------------------------------------------------------------

PQ_CHECKS = ["connect", "text_types", "binary_types", "binary_ints", "nulls", "params", "prepared",
	     "single_row", "errors", "simple_forms", "cancel"]


@pytest.fixture(scope="module")
def pqcheck_output(pg, tmp_path_factory):
	cc = shutil.which("cc") or shutil.which("gcc")
	assert cc, "no C compiler"
	assert os.path.exists("/usr/include/postgresql/libpq-fe.h"), "libpq-dev is not installed"
	exe = tmp_path_factory.mktemp("pq") / "pqcheck"
	r = subprocess.run([cc, "-std=gnu17", "-Wall", "-Wextra", "-Werror", str(PGDIR / "pqcheck.c"),
			    "-I/usr/include/postgresql", "-lpq", "-o", str(exe)], capture_output=True, text=True)
	assert r.returncode == 0, "pqcheck.c does not build:\n" + r.stderr
	env = dict(os.environ)
	if not REFERENCE:
		env["PQCHECK_WAYBILL_TYPES"] = "1"	# float8 for BIG_DECIMAL, no int2
	r = subprocess.run([str(exe), pg.dsn, "pgtypes", str(NROWS), SLOW_SQL], capture_output=True,
			   text=True, timeout=120, env=env)
	assert r.returncode in (0, 1), "pqcheck exited %d:\n%s\n%s" % (r.returncode, r.stdout, r.stderr)
	lines = {}
	for ln in r.stdout.splitlines():
		m = re.match(r"(OK|FAIL) (\w+)(?:: (.*))?$", ln)
		if m:
			lines[m.group(2)] = (m.group(1), m.group(3))
	return lines, r.stdout + r.stderr


@pytest.mark.parametrize("check", PQ_CHECKS)
def test_libpq(pqcheck_output, check):
	lines, full = pqcheck_output
	assert check in lines, "pqcheck printed nothing for %s:\n%s" % (check, full)
	st, why = lines[check]
	assert st == "OK", "pqcheck %s: %s" % (check, why)


# -- pgbench -------------------------------------------------------------------

@pytest.mark.skipif(shutil.which("pgbench") is None, reason="pgbench not installed (postgresql-15)")
@pytest.mark.parametrize("mode", ["simple", "extended", "prepared"])
def test_pgbench(pg, mode):
	env = dict(os.environ, PGCONNECT_TIMEOUT="10")
	r = subprocess.run(["pgbench", "-n", "-f", str(PGDIR / "pgbench.sql"), "-D", "nrows=%d" % NROWS,
			    "-M", mode, "-c", "4", "-j", "2", "-T", "3", "-h", pg.host, "-p", str(pg.port),
			    "-U", "waybill", "waybill"], capture_output=True, text=True, timeout=60, env=env)
	out = r.stdout + r.stderr
	assert r.returncode == 0, "pgbench -M %s exited %d:\n%s" % (mode, r.returncode, out)
	m = re.search(r"number of transactions actually processed: (\d+)", out)
	assert m and int(m.group(1)) > 0, out
	m = re.search(r"number of failed transactions: (\d+)", out)
	assert m is None or int(m.group(1)) == 0, out
	assert "error" not in r.stderr.lower(), out


# -- malformed input on raw sockets ------------------------------------------------

def startup_packet(params, version=(3, 0)):
	body = struct.pack("!HH", *version)
	for k, v in params.items():
		body += k.encode() + b"\0" + v.encode() + b"\0"
	body += b"\0"
	return struct.pack("!I", len(body) + 4) + body


def msg(t, body=b""):
	return t + struct.pack("!I", len(body) + 4) + body


def read_messages(s, timeout=5.0, until=None):
	"""Reads backend messages until EOF, a message of type `until`, or the
	timeout.  Returns ([(type, body)], how) with how in 'eof', 'until',
	'timeout', 'reset'."""
	s.settimeout(timeout)
	buf = b""
	out = []
	deadline = time.monotonic() + timeout
	while True:
		while len(buf) >= 5:
			(n,) = struct.unpack("!I", buf[1:5])
			if len(buf) < 1 + n:
				break
			out.append((buf[:1], buf[5:1 + n]))
			buf = buf[1 + n:]
			if until and out[-1][0] == until:
				return out, "until"
		left = deadline - time.monotonic()
		if left <= 0:
			return out, "timeout"
		s.settimeout(left)
		try:
			d = s.recv(65536)
		except socket.timeout:
			return out, "timeout"
		except ConnectionResetError:
			return out, "reset"
		if not d:
			if buf:
				out.append((b"?", buf))		# a partial message, then EOF
			return out, "eof"
		buf += d


def error_fields(body):
	f = {}
	for part in body.split(b"\0"):
		if part:
			f[part[:1].decode()] = part[1:].decode("utf-8", "replace")
	return f


def raw_connect(pg):
	s = socket.create_connection((pg.host, pg.port), timeout=5)
	return s


def raw_session(pg):
	"""A raw socket past startup (trust auth), at the first ReadyForQuery."""
	s = raw_connect(pg)
	s.sendall(startup_packet({"user": "waybill", "database": "waybill"}))
	m, how = read_messages(s, until=b"Z")
	assert how == "until", (m, how)
	return s


def assert_error_or_close(s, what, timeout=5.0):
	"""What the server sends until it closes: nothing, or an ErrorResponse
	(then EOF).  A hang (no close within the timeout) fails."""
	m, how = read_messages(s, timeout=timeout)
	assert how in ("eof", "reset"), "%s: the server neither answered nor closed in %ss (got %r)" % (what, timeout, m)
	types = [t for t, _ in m]
	assert types in ([], [b"E"]), "%s: got messages %r" % (what, m)
	return error_fields(m[0][1]) if m else None


ROBUST = {}


def robust(f):
	ROBUST[f.__name__] = f
	return f


@robust
def startup_length_below_8(pg):
	s = raw_connect(pg)
	s.sendall(struct.pack("!I", 4))
	assert_error_or_close(s, "startup length 4")


@robust
def startup_length_huge(pg):
	s = raw_connect(pg)
	s.sendall(struct.pack("!I", 0x7FFFFFF0) + struct.pack("!HH", 3, 0))
	assert_error_or_close(s, "startup length 2 GB")


@robust
def message_length_below_4(pg):
	s = raw_session(pg)
	s.sendall(b"Q" + struct.pack("!I", 2) + b"\0\0\0\0")
	assert_error_or_close(s, "Query with length 2")


@robust
def message_length_above_1gb(pg):
	s = raw_session(pg)
	s.sendall(b"Q" + struct.pack("!I", 0x40000010) + b"SELECT 1\0")
	assert_error_or_close(s, "Query with length 1 GB + 16")


@robust
def message_length_negative(pg):
	s = raw_session(pg)
	s.sendall(b"P" + struct.pack("!I", 0xFFFFFFFF) + b"\0\0\0")
	assert_error_or_close(s, "Parse with length 0xffffffff")


@robust
def unknown_message_type(pg):
	s = raw_session(pg)
	s.sendall(msg(b"z", b"whatever"))
	f = assert_error_or_close(s, "message type 'z'")
	if f:
		assert f.get("C") == "08P01", f


@robust
def truncated_then_close(pg):
	s = raw_session(pg)
	s.sendall(b"Q" + struct.pack("!I", 100) + b"SELECT")
	s.close()
	s = raw_connect(pg)
	s.sendall(startup_packet({"user": "waybill"})[:7])
	s.close()


@robust
def bind_unknown_statement(pg):
	s = raw_session(pg)
	s.sendall(msg(b"B", b"\0nosuchstmt\0" + struct.pack("!HHH", 0, 0, 0)) + msg(b"S"))
	m, how = read_messages(s, until=b"Z")
	assert [t for t, _ in m] == [b"E", b"Z"], m
	assert error_fields(m[0][1]).get("C") == "26000", m
	# the session goes on
	s.sendall(msg(b"Q", b"SELECT 1\0"))
	m, how = read_messages(s, until=b"Z")
	assert [t for t, _ in m] == [b"T", b"D", b"C", b"Z"], m
	s.close()


@robust
def execute_unknown_portal(pg):
	s = raw_session(pg)
	s.sendall(msg(b"E", b"nosuchportal\0" + struct.pack("!I", 0)) + msg(b"S"))
	m, how = read_messages(s, until=b"Z")
	assert [t for t, _ in m] == [b"E", b"Z"], m
	assert error_fields(m[0][1]).get("C") == "34000", m
	s.close()


@robust
def bind_wrong_parameter_count(pg):
	s = raw_session(pg)
	s.sendall(msg(b"P", b"s1\0SELECT $1::int\0" + struct.pack("!H", 0)) +
		  msg(b"B", b"\0s1\0" + struct.pack("!HH", 0, 0) + struct.pack("!H", 0)) + msg(b"S"))
	m, how = read_messages(s, until=b"Z")
	assert [t for t, _ in m] == [b"1", b"E", b"Z"], m
	assert error_fields(m[1][1]).get("C") == "08P01", m
	s.close()


@robust
def protocol_2(pg):
	"""PostgreSQL answers a 2.0 client in the 2.0 format: 'E', a message
	text and NUL, no length word ("FATAL:  unsupported frontend protocol
	2.0: server supports 3.0 to 3.0"); a 3.0 ErrorResponse 0A000 is fine too."""
	s = raw_connect(pg)
	s.sendall(startup_packet({"user": "waybill"}, version=(2, 0)))
	m, how = read_messages(s)
	assert how in ("eof", "reset"), "protocol 2.0: no close (%r)" % (m,)
	if len(m) == 1 and m[0][0] == b"?":
		assert m[0][1].startswith(b"E") and m[0][1].endswith(b"\0") and b"protocol" in m[0][1], m
	else:
		assert [t for t, _ in m] == [b"E"] and error_fields(m[0][1]).get("C") == "0A000", m


@robust
def protocol_4(pg):
	s = raw_connect(pg)
	s.sendall(startup_packet({"user": "waybill"}, version=(4, 0)))
	f = assert_error_or_close(s, "protocol 4.0")
	assert f and f.get("C") == "0A000", f


@robust
def protocol_3_5(pg):
	"""A newer minor version: NegotiateProtocolVersion ('v'), then startup."""
	s = raw_connect(pg)
	s.sendall(startup_packet({"user": "waybill", "_pq_.x": "1"}, version=(3, 5)))
	m, how = read_messages(s, until=b"Z")
	assert how == "until" and m[0][0] == b"v", m
	newest, n = struct.unpack("!II", m[0][1][:8])
	# PostgreSQL 15 sends its full newest version number, 3.0 = 0x00030000
	assert newest == 0x00030000 and n == 1 and m[0][1][8:] == b"_pq_.x\0", m[0]
	s.close()


@robust
def startup_without_user(pg):
	s = raw_connect(pg)
	s.sendall(startup_packet({"database": "waybill"}))
	f = assert_error_or_close(s, "startup without user")
	assert f and f.get("C") == "28000", f


@robust
def ssl_request(pg):
	s = raw_connect(pg)
	s.sendall(struct.pack("!II", 8, 80877103))
	s.settimeout(5)
	assert s.recv(1) == b"N"
	s.sendall(startup_packet({"user": "waybill", "database": "waybill"}))
	m, how = read_messages(s, until=b"Z")
	assert how == "until", m
	types = [t for t, _ in m]
	assert types[0] == b"R" and m[0][1] == struct.pack("!I", 0), m[:1]	# AuthenticationOk
	assert b"S" in types and b"K" in types, types
	s.sendall(msg(b"Q", b"SELECT 1\0"))
	m, how = read_messages(s, until=b"Z")
	assert [t for t, _ in m] == [b"T", b"D", b"C", b"Z"], m
	s.sendall(msg(b"X"))
	s.close()


@robust
def gssenc_request(pg):
	s = raw_connect(pg)
	s.sendall(struct.pack("!II", 8, 80877104))
	s.settimeout(5)
	r = s.recv(1)
	if REFERENCE and r == b"G":		# a PostgreSQL built with GSSAPI accepts
		return
	assert r == b"N", r
	s.sendall(startup_packet({"user": "waybill", "database": "waybill"}))
	m, how = read_messages(s, until=b"Z")
	assert how == "until" and m[0][0] == b"R", m
	s.close()


@robust
def ssl_request_twice(pg):
	s = raw_connect(pg)
	s.sendall(struct.pack("!II", 8, 80877103))
	s.settimeout(5)
	assert s.recv(1) == b"N"
	s.sendall(struct.pack("!II", 8, 80877103))
	assert_error_or_close(s, "a second SSLRequest")


@robust
def cancel_request_bogus(pg):
	s = raw_connect(pg)
	s.sendall(struct.pack("!IIII", 16, 80877102, 12345, 67890))
	assert_error_or_close(s, "CancelRequest with an unknown key")


@robust
def http_request(pg):
	s = raw_connect(pg)
	s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	assert_error_or_close(s, "HTTP GET")


@robust
def garbage_after_startup(pg):
	s = raw_session(pg)
	s.sendall(bytes(range(256)) * 4)
	assert_error_or_close(s, "1 KB of garbage")


@robust
def terminate(pg):
	s = raw_session(pg)
	s.sendall(msg(b"X"))
	m, how = read_messages(s)
	assert m == [] and how in ("eof", "reset"), (m, how)


@pytest.mark.parametrize("case", sorted(ROBUST))
def test_malformed_input(pg, case):
	ROBUST[case](pg)
	pg.check_alive()


# -- message sequences (as PostgreSQL 15 sends them) ---------------------------------

def parse(sql, name=b"", types=()):
	return msg(b"P", name + b"\0" + sql.encode() + b"\0" + struct.pack("!H", len(types)) +
		   b"".join(struct.pack("!I", t) for t in types))


def bind(portal=b"", stmt=b"", params=(), result_formats=()):
	body = portal + b"\0" + stmt + b"\0" + struct.pack("!H", 0) + struct.pack("!H", len(params))
	for p in params:
		body += struct.pack("!i", -1) if p is None else struct.pack("!I", len(p)) + p
	body += struct.pack("!H", len(result_formats)) + b"".join(struct.pack("!H", f) for f in result_formats)
	return msg(b"B", body)


def execute(portal=b"", limit=0):
	return msg(b"E", portal + b"\0" + struct.pack("!I", limit))


def describe(kind, name=b""):
	return msg(b"D", kind + name + b"\0")


def exchange(s, data):
	s.sendall(data)
	m, how = read_messages(s, until=b"Z")
	assert how == "until", "no ReadyForQuery: %r (%s)" % (m, how)
	return m


def types_of(m):
	return b"".join(t for t, _ in m).decode()


def test_startup_sequence(pg):
	s = raw_connect(pg)
	s.sendall(startup_packet({"user": "waybill", "database": "waybill"}))
	m, how = read_messages(s, until=b"Z")
	assert how == "until", m
	assert m[0] == (b"R", struct.pack("!I", 0)), m[0]		# AuthenticationOk (trust)
	assert m[-2][0] == b"K" and len(m[-2][1]) == 8, m[-2]		# BackendKeyData
	assert m[-1] == (b"Z", b"I"), m[-1]
	params = {b.split(b"\0")[0].decode(): b.split(b"\0")[1].decode() for t, b in m if t == b"S"}
	for k in ("server_version", "server_encoding", "client_encoding", "application_name",
		  "DateStyle", "IntervalStyle", "TimeZone", "integer_datetimes", "is_superuser",
		  "session_authorization", "standard_conforming_strings"):
		assert k in params, "no ParameterStatus %s (got %r)" % (k, params)
	assert params["client_encoding"] == "UTF8" and params["server_encoding"] == "UTF8", params
	assert params["integer_datetimes"] == "on" and params["standard_conforming_strings"] == "on", params
	assert re.match(r"\d+(\.\d+)?", params["server_version"]), params
	assert params["session_authorization"] == "waybill", params
	assert set(types_of(m)) == set("RSKZ"), types_of(m)
	s.close()


def test_extended_row_limit_portal_suspended(pg):
	s = raw_session(pg)
	m = exchange(s, parse("SELECT id FROM pgtypes WHERE id <= 5 ORDER BY id") + bind() + describe(b"P") +
		     execute(limit=2) + execute() + msg(b"S"))
	assert types_of(m) == "12TDDsDDDCZ", m
	assert [int(b[6:]) for t, b in m if t == b"D"] == [1, 2, 3, 4, 5], m
	assert m[-2] == (b"C", b"SELECT 3\0"), m[-2]		# rows of this Execute
	s.close()


def test_extended_error_skips_to_sync(pg):
	s = raw_session(pg)
	m = exchange(s, parse("SELECT * FROM no_such_table_xyz") + bind() + execute() +
		     parse("SELECT 2") + bind() + execute() + msg(b"S"))
	assert types_of(m) == "EZ", m
	assert error_fields(m[0][1]).get("C") == "42P01", m
	m = exchange(s, parse("SELECT c_int / 0 FROM pgtypes WHERE id = 1") + bind() + execute() +
		     parse("SELECT 2") + bind() + execute() + msg(b"S"))
	assert types_of(m) in ("12EZ", "1EZ"), m	# PostgreSQL: at Execute (12EZ)
	assert error_fields(m[-2][1]).get("C") == "22012", m
	m = exchange(s, parse("SELECT 2") + bind() + execute() + msg(b"S"))
	assert types_of(m) == "12DCZ", m
	s.close()


def test_simple_query_stops_at_error(pg):
	s = raw_session(pg)
	m = exchange(s, msg(b"Q", b"SELECT 1; SELECT * FROM no_such_table_xyz; SELECT 2\0"))
	assert types_of(m) == "TDCEZ", m
	assert m[-1] == (b"Z", b"I")
	m = exchange(s, msg(b"Q", b"SELECT 1;;\0"))
	assert types_of(m) == "TDCZ", m
	m = exchange(s, msg(b"Q", b"\0"))
	assert types_of(m) == "IZ", m
	m = exchange(s, msg(b"Q", b" ; \0"))
	assert types_of(m) == "IZ", m
	s.close()


def test_transaction_states(pg):
	s = raw_session(pg)
	m = exchange(s, msg(b"Q", b"BEGIN\0"))
	assert m == [(b"C", b"BEGIN\0"), (b"Z", b"T")], m
	m = exchange(s, msg(b"Q", b"SELECT c_int / 0 FROM pgtypes WHERE id = 1\0"))
	assert types_of(m) == "TEZ" or types_of(m) == "EZ", m
	assert m[-1] == (b"Z", b"E"), m
	m = exchange(s, msg(b"Q", b"SELECT 1\0"))
	assert types_of(m) == "EZ" and error_fields(m[0][1]).get("C") == "25P02", m
	m = exchange(s, msg(b"Q", b"ROLLBACK\0"))
	assert m == [(b"C", b"ROLLBACK\0"), (b"Z", b"I")], m
	m = exchange(s, msg(b"Q", b"BEGIN; SELECT 1; COMMIT\0"))
	assert types_of(m) == "CTDCCZ" and m[-1] == (b"Z", b"I"), m
	s.close()


def test_extended_describe_and_close(pg):
	s = raw_session(pg)
	m = exchange(s, parse("SELECT id, c_str FROM pgtypes WHERE id = $1", b"st") + describe(b"S", b"st") +
		     msg(b"S"))
	assert types_of(m) == "1tTZ", m
	assert m[1][1] == struct.pack("!HI", 1, 23), m[1]		# one parameter, int4
	# Flush sends what is pending without a Sync
	s.sendall(bind(b"p1", b"st", [b"1"], [1]) + msg(b"H"))
	m, how = read_messages(s, until=b"2")
	assert types_of(m) == "2", m
	m = exchange(s, execute(b"p1") + msg(b"C", b"Pp1\0") + msg(b"C", b"Sst\0") + msg(b"S"))
	assert types_of(m) == "DC33Z", m
	name = KNOWN_ROW["c_str"].encode()
	assert m[0][1] == (struct.pack("!HIi", 2, 4, 1) + struct.pack("!I", len(name)) + name), m[0]	# binary
	m = exchange(s, bind(b"", b"st", [b"1"]) + msg(b"S"))
	assert types_of(m) == "EZ" and error_fields(m[0][1]).get("C") == "26000", m
	# the empty query, extended
	m = exchange(s, parse("") + bind() + describe(b"P") + execute() + msg(b"S"))
	assert types_of(m) == "12nIZ", m
	# a SET through the extended protocol reports the new value
	m = exchange(s, parse("SET application_name = 'xt'") + bind() + describe(b"P") + execute() + msg(b"S"))
	assert types_of(m) == "12nCSZ", m
	assert m[-2][1] == b"application_name\0xt\0", m
	s.close()


# -- many connections ------------------------------------------------------------

def test_300_concurrent_connections(pg):
	n = 300
	conns = []
	try:
		with ThreadPoolExecutor(16) as ex:
			conns = list(ex.map(lambda _: pg.connect(), range(n)))
		assert len(conns) == n

		def run(i):
			c = conns[i]
			cur = c.cursor()
			want = ROWS[i % NROWS]
			cur.execute("SELECT id, c_str, c_long FROM pgtypes WHERE id = %s", (want["id"],))
			got = cur.fetchall()
			c.rollback()
			return got == [(want["id"], want["c_str"], want["c_long"])], got
		barrier_ok = []
		with ThreadPoolExecutor(50) as ex:
			for ok, got in ex.map(run, range(n)):
				barrier_ok.append(ok)
		assert all(barrier_ok), "%d of %d connections got a wrong answer" % (barrier_ok.count(False), n)
	finally:
		for c in conns:
			c.close()
	pg.check_alive()
