"""Push-then-query round trips for every type, nulls and multi-value
columns, over NDJSON and CSV; SQL results compared with a Python oracle
computed from the very rows that were pushed."""
import base64
import csv
import io
import json
import random
import re
from datetime import datetime, timezone

import pytest

from conftest import schema, ndjson

N = 300
GROUPS = ["alpha", "beta", "gamma", "delta", "epsilon"]
COLS = ["id", "c_int", "c_long", "c_float", "c_double", "c_bool", "c_ts", "c_str",
	"c_json", "c_bytes", "c_mvint", "c_mvstr", "grp", "k", "m"]
TYPES = ["INT", "INT", "LONG", "FLOAT", "DOUBLE", "BOOLEAN", "TIMESTAMP", "STRING",
	 "JSON", "BYTES", "INT_ARRAY", "STRING_ARRAY", "STRING", "INT", "LONG"]
NULLABLE = ["c_int", "c_long", "c_float", "c_double", "c_bool", "c_ts", "c_str", "c_json", "c_bytes"]


def rt_schema(name):
	return schema(name,
		      dims=[("id", "INT"), ("c_int", "INT"), ("c_long", "LONG"), ("c_float", "FLOAT"),
			    ("c_double", "DOUBLE"), ("c_bool", "BOOLEAN"), ("c_str", "STRING"),
			    ("c_json", "JSON"), ("c_bytes", "BYTES"), ("c_mvint", "INT", False),
			    ("c_mvstr", "STRING", False), ("grp", "STRING"), ("k", "INT")],
		      metrics=[("m", "LONG")],
		      datetimes=[("c_ts", "TIMESTAMP", "1:MILLISECONDS:TIMESTAMP", "1:MILLISECONDS")])


def gen_rows(seed, csv_safe=False):
	rnd = random.Random(seed)
	specials_int = [0, 1, -1, 2 ** 31 - 1, -2 ** 31 + 1]
	specials_long = [2 ** 53 - 1, -2 ** 40 - 3, -(2 ** 53 - 1), 0]
	strs = ["", "plain", "with, comma", 'quote " inside', "back\\slash", "ünïcødé ✓ 日本",
		"semi;colon", "tab\there", "emoji 🚚"]
	if not csv_safe:
		strs.append("new\nline")
	rows = []
	for i in range(N):
		r = {"id": i,
		     "c_int": specials_int[i] if i < len(specials_int) else rnd.randint(-10 ** 6, 10 ** 6),
		     "c_long": specials_long[i] if i < len(specials_long) else rnd.randint(-2 ** 40, 2 ** 40),
		     "c_float": rnd.randint(-4000, 4000) / 8.0,		# exact in float32
		     "c_double": rnd.uniform(-1e6, 1e6) if i % 7 else rnd.choice([0.1, 1e-300, 1.7976931348623157e308, -2.5]),
		     "c_bool": rnd.random() < 0.5,
		     "c_ts": rnd.randint(0, 4102444800000),
		     "c_str": rnd.choice(strs) + ("" if i % 3 else " %d" % i),
		     "c_json": {"a": i, "b": [1, "two", None], "c": {"d": rnd.random() < 0.5}},
		     "c_bytes": bytes(rnd.randrange(256) for _ in range(rnd.randint(1, 12))).hex(),
		     "c_mvint": [rnd.randint(-100, 100) for _ in range(rnd.randint(1, 4))],
		     "c_mvstr": [rnd.choice(["x", "y", "zz", "ünï"]) for _ in range(rnd.randint(1, 3))],
		     "grp": GROUPS[rnd.randrange(len(GROUPS))],
		     "k": rnd.randrange(10),
		     "m": rnd.randint(0, 1000)}
		# nulls: every 5th row drops a column, every 7th sets one to JSON null
		if i % 5 == 4:
			del r[NULLABLE[(i // 5) % len(NULLABLE)]]
		if i % 7 == 6:
			r[NULLABLE[(i // 7) % len(NULLABLE)]] = None
		rows.append(r)
	return rows


def expected(r, col):
	return r.get(col)


def ts_ms(v):
	"""Accepts epoch millis or a 'YYYY-MM-DD HH:MM:SS[.fff]' UTC string."""
	if v is None or isinstance(v, int):
		return v
	m = re.fullmatch(r"(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]00(:?00)?)?", v)
	assert m, "TIMESTAMP value in unknown form: %r" % v
	dt = datetime.strptime(m.group(1) + " " + m.group(2), "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc)
	frac = m.group(3) or ".0"
	return int(dt.timestamp()) * 1000 + int(round(float(frac) * 1000))


def bytes_hex(v):
	if v is None:
		return None
	assert isinstance(v, str), v
	return v.lower()


def compare_rows(pushed, got_rows, schema_types, cols=COLS):
	assert len(got_rows) == len(pushed), "row count %d != %d" % (len(got_rows), len(pushed))
	for want, got in zip(pushed, got_rows):
		assert len(got) == len(cols)
		for c, t, g in zip(cols, schema_types, got):
			w = expected(want, c)
			where = "row id=%s column %s (%s)" % (want["id"], c, t)
			if w is None:
				assert g is None, "%s: want NULL, got %r" % (where, g)
				continue
			if t == "TIMESTAMP":
				assert ts_ms(g) == w, "%s: %r != %r" % (where, g, w)
			elif t == "JSON":
				assert isinstance(g, str), "%s: JSON comes back as text, got %r" % (where, g)
				assert json.loads(g) == w, "%s: %r != %r" % (where, g, w)
			elif t == "BYTES":
				assert bytes_hex(g) == w, "%s: %r != %r" % (where, g, w)
			elif t == "BOOLEAN":
				assert g is w, "%s: %r != %r" % (where, g, w)
			elif t in ("INT", "LONG", "INT_ARRAY"):
				assert g == w and type(g) == type(w), "%s: %r != %r" % (where, g, w)
			else:
				assert g == w, "%s: %r != %r" % (where, g, w)


def to_csv(rows, cols):
	out = io.StringIO()
	w = csv.writer(out, lineterminator="\n")
	w.writerow(cols)
	for r in rows:
		line = []
		for c in cols:
			v = r.get(c)
			if v is None:
				line.append(None)		# unquoted empty field = NULL
			elif isinstance(v, bool):
				line.append("true" if v else "false")
			elif isinstance(v, list):
				line.append(";".join(str(x) for x in v))
			elif isinstance(v, dict):
				line.append(json.dumps(v))
			elif isinstance(v, float):
				line.append(repr(v))
			else:
				line.append(v)
		w.writerow(["" if x is None else x for x in line])
	return out.getvalue().encode("utf-8")


@pytest.fixture(scope="module")
def loaded(server):
	"""Three tables with the same logical rows: NDJSON, CSV, CSV by content type."""
	rows_nd = gen_rows(1)
	server.create(rt_schema("rt_nd"))
	resp = server.ingest("rt_nd", ndjson(rows_nd), fmt="ndjson")
	assert resp == {"accepted": N, "rejected": 0, "errors": []} or \
		(resp["accepted"] == N and resp["rejected"] == 0 and not resp["errors"]), resp

	# CSV: no JSON nulls for strings (an empty CSV field can't say NULL
	# for a string); string-typed nulls are only a missing column.
	rows_csv = gen_rows(2, csv_safe=True)
	for r in rows_csv:
		for c in ("c_str", "c_json", "c_bytes"):
			if c in r and r[c] is None:
				del r[c]
			if c == "c_str" and r.get(c) == "":
				r[c] = "e"
	csv_cols = [c for c in COLS if c != "c_json"]	# c_json absent: all NULL
	for r in rows_csv:
		r.pop("c_json", None)
		for c in ("c_str", "c_bytes"):
			if c not in r:
				r[c] = "n/a" if c == "c_str" else "00"
	server.create(rt_schema("rt_csv"))
	resp = server.ingest("rt_csv", to_csv(rows_csv, csv_cols), fmt="csv")
	assert resp["accepted"] == N and resp["rejected"] == 0, resp
	server.create(rt_schema("rt_csv2"))
	resp = server.ingest("rt_csv2", to_csv(rows_csv, csv_cols), content_type="text/csv")
	assert resp["accepted"] == N and resp["rejected"] == 0, resp
	return {"rt_nd": rows_nd, "rt_csv": rows_csv, "rt_csv2": rows_csv}


@pytest.mark.parametrize("table", ["rt_nd", "rt_csv", "rt_csv2"])
def test_select_all_round_trip(server, loaded, table):
	resp = server.query("SELECT %s FROM %s ORDER BY id" % (", ".join(COLS), table))
	assert not resp["exceptions"], resp["exceptions"]
	ds = resp["resultTable"]["dataSchema"]
	assert ds["columnNames"] == COLS
	assert ds["columnDataTypes"] == TYPES
	compare_rows(loaded[table], resp["resultTable"]["rows"], TYPES)
	assert resp["totalDocs"] == N
	assert resp["numServersQueried"] >= 1 and resp["numServersResponded"] == resp["numServersQueried"]
	assert resp["partialResult"] is False
	assert isinstance(resp["timeUsedMs"], int)


def test_content_type_ndjson_and_default(server, loaded):
	rows = gen_rows(3)[:50]
	server.create(rt_schema("rt_ct"))
	assert server.ingest("rt_ct", ndjson(rows), content_type="application/x-ndjson")["accepted"] == 50
	assert server.ingest("rt_ct", ndjson(rows))["accepted"] == 50
	assert server.count("rt_ct") == 100


def test_get_query_endpoint(server, loaded):
	r = server.get("/query/sql", params={"sql": "SELECT count(*) FROM rt_nd"})
	assert r.status_code == 200
	j = r.json()
	assert j["resultTable"]["rows"] == [[N]]
	assert j["resultTable"]["dataSchema"]["columnDataTypes"] == ["LONG"]


def test_long_beyond_2_53(server, loaded):
	"""LONG and TIMESTAMP keep all 64 bits, sent as JSON numbers (as Pinot
	reads them) or as strings, over NDJSON and CSV."""
	vals = [2 ** 63 - 1, -2 ** 63, 2 ** 53 + 1, -(2 ** 53 + 1), 1234567890123456789]
	server.create(schema("big_nd", dims=[("id", "INT"), ("l", "LONG")]))
	body = "".join('{"id": %d, "l": %d}\n' % (i, v) for i, v in enumerate(vals))
	body += "".join('{"id": %d, "l": "%d"}\n' % (i + 10, v) for i, v in enumerate(vals))
	resp = server.ingest("big_nd", body.encode())
	assert resp["accepted"] == 2 * len(vals), resp
	got = server.rows("SELECT id, l FROM big_nd ORDER BY id")
	assert got == [[i, v] for i, v in enumerate(vals)] + [[i + 10, v] for i, v in enumerate(vals)]
	server.create(schema("big_csv", dims=[("id", "INT"), ("l", "LONG")]))
	body = "id,l\n" + "".join("%d,%d\n" % (i, v) for i, v in enumerate(vals))
	assert server.ingest("big_csv", body.encode(), fmt="csv")["accepted"] == len(vals)
	assert server.rows("SELECT id, l FROM big_csv ORDER BY id") == [[i, v] for i, v in enumerate(vals)]


def test_unknown_table_ingest_404(server, loaded):
	r = server.post("/tables/noSuchTable/ingest", data=b'{"id": 1}\n')
	assert r.status_code == 404, r.text


# -- the oracle ---------------------------------------------------------------

def nn(rows, c):
	return [r[c] for r in rows if r.get(c) is not None]


def approx(a, b):
	return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


@pytest.mark.parametrize("table", ["rt_nd", "rt_csv"])
def test_oracle_queries(server, loaded, table):
	rows = loaded[table]
	T = table

	# no implicit LIMIT
	got = server.rows("SELECT id FROM %s" % T)
	assert sorted(x[0] for x in got) == list(range(N))

	# COUNT types and NULL handling
	resp = server.query("SELECT count(*), count(c_int), count(c_str) FROM %s" % T)
	assert resp["resultTable"]["dataSchema"]["columnDataTypes"][0] == "LONG"
	assert resp["resultTable"]["rows"] == [[N, len(nn(rows, "c_int")), len(nn(rows, "c_str"))]]
	assert server.count(T, "WHERE c_int IS NULL") == N - len(nn(rows, "c_int"))
	assert server.count(T, "WHERE c_double IS NOT NULL") == len(nn(rows, "c_double"))

	# WHERE
	assert server.count(T, "WHERE c_int > 0") == sum(1 for v in nn(rows, "c_int") if v > 0)
	assert server.count(T, "WHERE grp = 'beta' AND k < 5") == \
		sum(1 for r in rows if r["grp"] == "beta" and r["k"] < 5)
	assert server.count(T, "WHERE grp IN ('alpha', 'gamma') OR m BETWEEN 100 AND 200") == \
		sum(1 for r in rows if r["grp"] in ("alpha", "gamma") or 100 <= r["m"] <= 200)
	assert server.count(T, "WHERE c_bool = true") == sum(1 for v in nn(rows, "c_bool") if v)
	assert server.count(T, "WHERE NOT (k <> 3)") == sum(1 for r in rows if r["k"] == 3)
	got = server.rows("SELECT id FROM %s WHERE c_long >= 0 ORDER BY id" % T)
	assert [x[0] for x in got] == [r["id"] for r in rows if r.get("c_long") is not None and r["c_long"] >= 0]

	# ORDER BY / LIMIT
	want = sorted((r for r in rows if r.get("c_double") is not None), key=lambda r: (-r["c_double"], r["id"]))[:7]
	got = server.rows("SELECT id, c_double FROM %s WHERE c_double IS NOT NULL ORDER BY c_double DESC, id LIMIT 7" % T)
	assert got == [[r["id"], r["c_double"]] for r in want]
	got = server.rows("SELECT id FROM %s ORDER BY k, id DESC LIMIT 12" % T)
	assert [x[0] for x in got] == [r["id"] for r in sorted(rows, key=lambda r: (r["k"], -r["id"]))][:12]

	# integer division (PostgreSQL semantics)
	got = server.rows("SELECT id / 3, m / 7 FROM %s WHERE id < 20 ORDER BY id" % T)
	assert got == [[r["id"] // 3, r["m"] // 7] for r in rows if r["id"] < 20]

	# GROUP BY with aggregates
	got = server.rows("SELECT grp, count(*), sum(m), min(c_int), max(c_double), avg(m) "
			  "FROM %s GROUP BY grp ORDER BY grp" % T)
	assert [g[0] for g in got] == sorted(set(r["grp"] for r in rows))
	for g in got:
		rs = [r for r in rows if r["grp"] == g[0]]
		assert g[1] == len(rs), g
		assert g[2] == sum(r["m"] for r in rs), g
		assert g[3] == min(nn(rs, "c_int")), g
		assert g[4] == max(nn(rs, "c_double")), g
		assert approx(g[5], sum(r["m"] for r in rs) / len(rs)), g

	# HAVING
	counts = {}
	for r in rows:
		counts[r["k"]] = counts.get(r["k"], 0) + 1
	thr = sorted(counts.values())[len(counts) // 2]
	got = server.rows("SELECT k, count(*) FROM %s GROUP BY k HAVING count(*) >= %d ORDER BY k" % (T, thr))
	assert got == [[k, c] for k, c in sorted(counts.items()) if c >= thr]

	# COUNT(DISTINCT)
	assert server.scalar("SELECT count(DISTINCT grp) FROM %s" % T) == len(set(r["grp"] for r in rows))
	assert server.scalar("SELECT count(DISTINCT c_int) FROM %s" % T) == len(set(nn(rows, "c_int")))
	got = server.rows("SELECT grp, count(DISTINCT k) FROM %s GROUP BY grp ORDER BY grp" % T)
	assert got == [[g, len(set(r["k"] for r in rows if r["grp"] == g))]
		       for g in sorted(set(r["grp"] for r in rows))]

	# LONG sums stay exact near 2^53
	assert server.scalar("SELECT sum(c_long) FROM %s WHERE id < 2" % T) == \
		sum(r["c_long"] for r in rows[:2] if r.get("c_long") is not None)

	# string predicates over unicode
	s = next(r["c_str"] for r in rows if r.get("c_str") and "ü" in r["c_str"])
	assert server.count(T, "WHERE c_str = '%s'" % s.replace("'", "''")) == \
		sum(1 for r in rows if r.get("c_str") == s)


def test_sys_tables(server, loaded):
	resp = server.query("SELECT * FROM sys.tables")
	assert not resp["exceptions"], resp["exceptions"]
	flat = [v for row in resp["resultTable"]["rows"] for v in row]
	for t in ("rt_nd", "rt_csv", "rt_csv2"):
		assert t in flat, "sys.tables lacks %s: %s" % (t, resp["resultTable"])


def test_query_options_pinot_default_limit(server, loaded):
	"""No implicit LIMIT unless the client asks for Pinot's with queryOptions."""
	assert len(server.rows("SELECT id FROM rt_nd")) == N
	assert len(server.rows("SELECT id FROM rt_nd", options="pinotDefaultLimit=true")) == 10
	assert len(server.rows("SELECT id FROM rt_nd LIMIT 3", options="pinotDefaultLimit=true")) == 3
	assert len(server.rows("SELECT k, count(*) FROM rt_nd GROUP BY k")) == 10
