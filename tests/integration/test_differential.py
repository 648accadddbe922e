"""Differential SQL testing: Waybill against DuckDB as the oracle.

A table of a few thousand rows is generated from a seed (INT, LONG, DOUBLE,
low- and high-cardinality STRING columns, a TIMESTAMP time column, NULLs
everywhere but in the key `id`) and loaded into Waybill (ingest API) and
into DuckDB (tests/diff/duck.mjs, the npm package @duckdb/node-api,
installed by scripts/install-deps.sh with `npm ci --prefix tests/diff`).
A random query generator, limited to the SQL Waybill supports (docs/sql.md),
makes N queries; both engines answer each one, first with half the rows in
a sealed segment and half in Waybill's mutable segment, then again after
`forceCommit` from sealed segments only (where the answers must also equal
the first ones).

Fairness rules the generator keeps, so every difference is an engine
difference:
- results are made deterministic: every ordered query orders by all output
  columns (or by the unique `id` first) with explicit NULLS FIRST/LAST, so a
  LIMIT cuts at the same place in both engines;
- no division or modulo by a possible zero (Waybill errors where DuckDB
  gives NULL: divisors are non-zero constants or NULLIF(x, 0)); no integer
  overflow (small values; Waybill wraps, DuckDB errors);
- DuckDB runs with `integer_division = true` (PostgreSQL's `7 / 2 = 3`),
  float literals are cast to DOUBLE there (DuckDB reads `2.5` as DECIMAL),
  so is sign(DOUBLE) (TINYINT in DuckDB); LIKE gets DuckDB an explicit
  ESCAPE '\\'; date_trunc is shielded from a DuckDB optimizer bug (trunc());
- float values and literals are dyadic fractions, so sums do not depend on
  the summation order; `round` (half-even vs half-away), EXTRACT(second)
  (fractional in PostgreSQL) and case mapping of non-ASCII letters
  (ASCII-only in Waybill, as PostgreSQL's C collation) are left out.

Comparison: integers exactly, numbers otherwise with a relative tolerance
of 1e-9, TIMESTAMPs as epoch milliseconds, NULL as NULL.  A mismatch prints
the seed, the query and both results.  Differences that are real Waybill
bugs not fixed yet are listed in tests/diff/known-mismatches.txt (a regular
expression searched in the query text, then the reason); they are tolerated
but reported.

Environment: WB_DIFF_SEED (default 20261125), WB_DIFF_N (number of
queries, default 1000, ~25 s in the ASan build; WB_LONG=1 runs 10x as
many), WB_DIFF_ROWS (rows, default 3000), WB_DIFF_REPORT (a file to write
the report to).
"""
import json
import math
import os
import random
import re
import shutil
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import pytest

from conftest import LONG, ndjson, schema, simple_table_config

REPO = Path(__file__).resolve().parents[2]
DIFF = REPO / "tests" / "diff"
KNOWN = DIFF / "known-mismatches.txt"

SEED = int(os.environ.get("WB_DIFF_SEED", "20261125"))
NQ = int(os.environ.get("WB_DIFF_N", "1000")) * (10 if LONG else 1)
NROWS = int(os.environ.get("WB_DIFF_ROWS", "3000"))
TABLE = "dt"
T0 = 1735689600000		# 2025-01-01 00:00:00 UTC

# name, Waybill type, DuckDB type, kind (int/float/str/ts)
COLUMNS = [
	("id", "LONG", "BIGINT", "int"),
	("i", "INT", "INTEGER", "int"),
	("i2", "INT", "INTEGER", "int"),
	("l", "LONG", "BIGINT", "int"),
	("d", "DOUBLE", "DOUBLE", "float"),
	("d2", "DOUBLE", "DOUBLE", "float"),
	("s_low", "STRING", "VARCHAR", "str"),
	("s_high", "STRING", "VARCHAR", "str"),
	("ts", "TIMESTAMP", "TIMESTAMP", "ts"),
]
KIND = {c[0]: c[3] for c in COLUMNS}
LOW_STRINGS = ["a", "b", "c", "AB", "", "x y", "aa%", "b_c", "€uro", "日本"]


# -- data --------------------------------------------------------------------

def gen_rows(seed, n):
	rnd = random.Random(seed)
	hi_pool = ["%s%04x" % (rnd.choice("uvwUV"), rnd.randrange(65536)) for _ in range(n // 2)]
	rows = []
	for k in range(n):
		r = {"id": k,
		     "i": rnd.randint(-50, 50),
		     "i2": rnd.randint(0, 9),
		     "l": rnd.choice([rnd.randint(-10 ** 9, 10 ** 9), rnd.randint(-100, 100), 0]),
		     "d": rnd.randint(-16000, 16000) / 16.0,
		     "d2": rnd.randint(0, 1 << 20) / 1024.0,
		     "s_low": rnd.choice(LOW_STRINGS),
		     "s_high": rnd.choice(hi_pool) + rnd.choice(["", "", "→", " x"]),
		     "ts": T0 + rnd.randint(0, 3 * 86400) * 1000 + rnd.randint(0, 999)}
		for c in ("i", "i2", "l", "d", "d2", "s_low", "s_high", "ts"):
			p = rnd.random()
			if p < 0.08:
				r[c] = None		# JSON null
			elif p < 0.12:
				del r[c]		# missing field
		rows.append(r)
	return rows


# -- query generator -------------------------------------------------------

class X:
	"""An expression rendered for both engines, with its kind."""

	def __init__(self, wb, dk=None, kind="int"):
		self.wb = wb
		self.dk = wb if dk is None else dk
		self.kind = kind

	def map(self, fmt, kind=None):
		return X(fmt % self.wb, fmt % self.dk, kind or self.kind)


def bin2(a, b, fmt, kind):
	return X(fmt % (a.wb, b.wb), fmt % (a.dk, b.dk), kind)


def numkind(*xs):
	return "float" if any(x.kind == "float" for x in xs) else "int"


def trunc(unit):
	"""date_trunc(unit, ts).  DuckDB 1.5 folds `date_trunc(u, ts) <> c` to
	TRUE when c is not on a `u` boundary, even for a NULL ts (a DuckDB bug):
	adding a zero interval keeps its optimizer from that rewrite."""
	return X("date_trunc('%s', ts)" % unit, "(date_trunc('%s', ts) + INTERVAL 0 SECOND)" % unit, "ts")


FLOAT_LITS = ["0.5", "1.25", "2.5", "-0.75", "100.0", "0.0", "3.0625"]


class Gen:
	def __init__(self, rnd):
		self.r = rnd

	def pick(self, *opts):
		return self.r.choice(opts)

	# literals
	def int_lit(self, lo=-20, hi=100):
		return X(str(self.r.randint(lo, hi)))

	def float_lit(self):
		v = self.r.choice(FLOAT_LITS)
		return X(v, "CAST(%s AS DOUBLE)" % v, "float")

	def str_lit(self):
		c = self.r.random()
		if c < 0.6:
			v = self.r.choice(LOW_STRINGS)
		elif c < 0.8:
			v = "%s%x" % (self.r.choice("uvU"), self.r.randrange(16))
		else:
			v = self.r.choice(["zz", "a", "b", "u1", "v", "x", "→", "O'Brien"])
		return X("'%s'" % v.replace("'", "''"), kind="str")

	def ts_lit(self):
		ms = T0 + self.r.randint(0, 3 * 86400) * 1000
		s = datetime.fromtimestamp(ms / 1000, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
		return X("'%s'" % s, "TIMESTAMP '%s'" % s, "ts")

	def lit(self, kind):
		return {"int": self.int_lit, "float": self.float_lit, "str": self.str_lit,
			"ts": self.ts_lit}[kind]()

	def col(self, kind):
		return X(self.r.choice([c for c, k in KIND.items() if k == kind]), kind=kind)

	# numeric expressions (no overflow: |values| stay far below 2^53)
	def num(self, depth=2):
		r = self.r.random()
		if depth <= 0 or r < 0.35:
			c = self.r.random()
			if c < 0.5:
				return X(self.r.choice(["i", "i2", "l", "i", "i2", "id"]), kind="int")
			if c < 0.75:
				return X(self.r.choice(["d", "d2"]), kind="float")
			return self.int_lit() if c < 0.9 else self.float_lit()
		a = self.num(depth - 1)
		op = self.r.randrange(17)
		if op in (0, 1):
			b = self.num(depth - 1)
			return bin2(a, b, "(%s + %s)" if op == 0 else "(%s - %s)", numkind(a, b))
		if op == 2:
			b = self.pick(X("i2"), self.int_lit(-3, 10), self.float_lit())
			return bin2(a, b, "(%s * %s)", numkind(a, b))
		if op == 3:
			b = X(str(self.r.choice([1, 2, 3, 7, -2, -5]))) if a.kind == "int" \
				else self.pick(X("2.0", "CAST(2.0 AS DOUBLE)", "float"),
					       X("4", kind="int"), X("-0.5", "CAST(-0.5 AS DOUBLE)", "float"))
			return bin2(a, b, "(%s / %s)", numkind(a, b))
		if op == 4 and a.kind == "int":
			return bin2(a, X(str(self.r.choice([2, 3, 7, -4]))), "(%s %% %s)", "int")
		if op == 5:
			return a.map("abs(%s)")
		if op == 6:
			return a.map("(- %s)")
		if op == 7:
			if self.r.random() < 0.3:
				b = self.num(depth - 1)
				return X("COALESCE(%s, %s, 7)" % (a.wb, b.wb), "COALESCE(%s, %s, 7)" % (a.dk, b.dk),
					 numkind(a, b))
			return bin2(a, self.lit(a.kind), "COALESCE(%s, %s)", a.kind)
		if op == 8:
			return bin2(a, self.lit(a.kind), "NULLIF(%s, %s)", a.kind)
		if op == 9:
			b = self.num(depth - 1)
			p = self.pred(1)
			k = numkind(a, b)
			return X("CASE WHEN %s THEN %s ELSE %s END" % (p.wb, a.wb, b.wb),
				 "CASE WHEN %s THEN %s ELSE %s END" % (p.dk, a.dk, b.dk), k)
		if op == 10:
			b = self.num(depth - 1)
			return bin2(a, b, self.pick("GREATEST(%s, %s)", "LEAST(%s, %s)"), numkind(a, b))
		if op == 11:
			return self.str_(depth - 1).map(self.pick("length(%s)", "char_length(%s)"), "int")
		if op == 12:
			f = self.pick("hour", "day", "month", "minute", "dow", "doy", "year")
			return X("EXTRACT(%s FROM ts)" % f, kind="int")
		if op == 13 and a.kind == "float":
			return a.map(self.pick("floor(%s)", "ceil(%s)"))
		if op == 14 and a.kind == "int":
			return bin2(a, X(self.pick("i2", "i")), "(%s / NULLIF(%s, 0))", "int")
		if op == 15:
			if self.r.random() < 0.5:	# PostgreSQL: sign(DOUBLE) is DOUBLE, DuckDB: TINYINT
				return X("sign(%s)" % a.wb, ("sign(%s)" if a.kind == "int" else
							     "CAST(sign(%s) AS DOUBLE)") % a.dk, a.kind)
			b = self.num(depth - 1)
			return X("CASE i2 WHEN 1 THEN %s WHEN 2 THEN %s END" % (a.wb, b.wb),
				 "CASE i2 WHEN 1 THEN %s WHEN 2 THEN %s END" % (a.dk, b.dk), numkind(a, b))
		if op == 16 and a.kind == "int":
			return bin2(a, X(self.pick("i2", "i")), "(%s %% NULLIF(%s, 0))", "int")
		return a

	def str_(self, depth=2):
		r = self.r.random()
		if depth <= 0 or r < 0.4:
			return self.col("str") if r < 0.3 or depth <= 0 and r < 0.8 else self.str_lit()
		a = self.str_(depth - 1)
		op = self.r.randrange(12)
		if op == 0:
			return a.map(self.pick("lower(%s)", "upper(%s)"))
		if op == 1:
			return bin2(a, self.str_(depth - 1), "concat(%s, %s)", "str")
		if op == 2:
			return bin2(a, self.str_(depth - 1), "(%s || %s)", "str")
		if op == 3:
			if self.r.random() < 0.5:
				return a.map("substr(%%s, %d, %d)" % (self.r.randint(1, 4), self.r.randint(0, 4)))
			return a.map("substr(%%s, %d)" % self.r.randint(1, 4))
		if op == 4:
			return a.map(self.pick("trim(%s)", "ltrim(%s)", "rtrim(%s)"))
		if op == 5:
			return a.map("replace(%%s, '%s', '%s')" % (self.pick("a", "u", " ", "b_"), self.pick("Z", "", "--")))
		if op == 6:
			return bin2(a, self.str_lit(), "COALESCE(%s, %s)", "str")
		if op == 7:
			return bin2(a, self.str_lit(), "NULLIF(%s, %s)", "str")
		if op == 8:
			b = self.str_(depth - 1)
			p = self.pred(1)
			return X("CASE WHEN %s THEN %s ELSE %s END" % (p.wb, a.wb, b.wb),
				 "CASE WHEN %s THEN %s ELSE %s END" % (p.dk, a.dk, b.dk), "str")
		if op == 9:
			return a.map(self.pick("left(%%s, %d)", "right(%%s, %d)") % self.r.randint(0, 3))
		if op == 10:
			n = self.pick(X("i"), X("i2"), X("id"), X("l"))
			return n.map("CAST(%s AS VARCHAR)", "str")
		return a.map("reverse(%s)")

	def ts_(self):
		if self.r.random() < 0.6:
			return X("ts", kind="ts")
		return trunc(self.pick("hour", "day", "minute"))

	def any_(self, depth=2):
		c = self.r.random()
		if c < 0.5:
			return self.num(depth)
		if c < 0.9:
			return self.str_(depth)
		return self.ts_()

	# predicates
	CMP = ["=", "<>", "!=", "<", "<=", ">", ">="]

	def pred(self, depth=2):
		r = self.r.random()
		if depth > 0 and r < 0.3:
			a = self.pred(depth - 1)
			b = self.pred(depth - 1)
			op = self.pick("AND", "OR")
			return bin2(a, b, "(%s " + op + " %s)", "bool")
		if depth > 0 and r < 0.38:
			return self.pred(depth - 1).map("(NOT %s)")
		k = self.pick("int", "int", "float", "str", "str", "ts")
		x = {"int": lambda: self.num(1), "float": lambda: self.num(1),
		     "str": lambda: self.str_(1), "ts": self.ts_}[k]()
		k = x.kind
		form = self.r.randrange(9)
		if form <= 2:
			y = self.lit(k) if self.r.random() < 0.7 or k == "ts" else (
				self.num(1) if k in ("int", "float") else self.str_(1))
			return bin2(x, y, "(%s " + self.pick(*self.CMP) + " %s)", "bool")
		if form == 3:
			items = [self.lit(k) for _ in range(self.r.randint(1, 5))]
			if k != "ts" and self.r.random() < 0.1:
				items.append(X("NULL"))
			neg = self.pick("", "NOT ")
			return X("(%s %sIN (%s))" % (x.wb, neg, ", ".join(i.wb for i in items)),
				 "(%s %sIN (%s))" % (x.dk, neg, ", ".join(i.dk for i in items)), "bool")
		if form == 4:
			a, b = self.lit(k), self.lit(k)
			neg = self.pick("", "NOT ")
			return X("(%s %sBETWEEN %s AND %s)" % (x.wb, neg, a.wb, b.wb),
				 "(%s %sBETWEEN %s AND %s)" % (x.dk, neg, a.dk, b.dk), "bool")
		if form == 5:
			return x.map("(%%s IS %sNULL)" % self.pick("", "NOT "), "bool")
		if form in (6, 7) and k == "str":
			pat = self.pick("%a%", "a%", "%b", "_", "__", "u%", "%x%", "%\\%%", "b\\_c",
					"%→", "A%", "%", "")
			op = self.pick("LIKE", "NOT LIKE", "ILIKE", "LIKE")
			# PostgreSQL's LIKE escapes with \ by default, DuckDB's with nothing
			return X("(" + x.wb + " " + op + " '" + pat + "')",
				 "(" + x.dk + " " + op + " '" + pat + "' ESCAPE '\\')", "bool")
		y = self.lit(k)
		return bin2(x, y, "(%s " + self.pick(*self.CMP) + " %s)", "bool")

	# aggregates
	def agg(self):
		c = self.r.randrange(9)
		if c == 0:
			return X("count(*)")
		if c == 1:
			return self.any_(1).map("count(%s)", "int")
		if c == 2:
			x = self.pick(self.num(1), self.str_(1), self.col("str"), self.col("int"), self.ts_())
			return x.map("count(DISTINCT %s)", "int")
		if c in (3, 4):
			x = self.num(2)
			return x.map("sum(%s)")
		if c == 5:
			return self.num(2).map("avg(%s)", "float")
		x = self.pick(self.num(2), self.str_(1), self.ts_())
		return x.map(self.pick("min(%s)", "max(%s)"))

	def key(self):
		c = self.r.random()
		if c < 0.25:
			return X(self.pick("s_low", "i2", "s_low", "i2", "s_high", "l", "i"),
				 kind="int")
		if c < 0.45:
			return self.pick(trunc("hour"), trunc("day"), X("EXTRACT(hour FROM ts)"))
		if c < 0.7:
			return self.str_(1)
		if c < 0.8:
			return self.pick(X("(i % 5)"), X("(id / 100)"), X("(i2 * 2 + 1)"), X("abs(i)"))
		return self.num(1) if self.r.random() < 0.5 else self.str_(2)

	def where(self):
		if self.r.random() < 0.25:
			return X("", "")
		p = self.pred(2)
		return X(" WHERE " + p.wb, " WHERE " + p.dk)

	def order_items(self, n):
		out = []
		for k in range(1, n + 1):
			out.append("%d %s NULLS %s" % (k, self.pick("ASC", "DESC", ""), self.pick("FIRST", "LAST")))
		return ", ".join(out).replace("  ", " ")

	def limit(self):
		return "" if self.r.random() < 0.3 else " LIMIT %d" % self.r.choice([1, 3, 10, 25, 100])

	def query(self):
		shape = self.r.randrange(10)
		w = self.where()
		frm = " FROM " + TABLE
		if shape <= 1:	# global aggregates
			aggs = [self.agg() for _ in range(self.r.randint(1, 4))]
			return ("SELECT " + ", ".join(a.wb for a in aggs) + frm + w.wb,
				"SELECT " + ", ".join(a.dk for a in aggs) + frm + w.dk)
		if shape <= 5:	# GROUP BY 1-2 keys
			keys = [self.key() for _ in range(self.r.randint(1, 2))]
			aggs = [self.agg() for _ in range(self.r.randint(1, 3))]
			items = keys + aggs
			gb = ", ".join(str(k + 1) for k in range(len(keys)))
			hv = X("", "")
			if self.r.random() < 0.2:
				a = self.pick(X("count(*)"), X("sum(i)"), X("min(i2)"), X("max(d)"))
				hv = bin2(a, self.int_lit(-5, 30), " HAVING %s " + self.pick(">", "<=", "=") + " %s", "bool")
			tail = " GROUP BY " + gb
			order = " ORDER BY " + self.order_items(len(items)) + self.limit()
			return ("SELECT " + ", ".join(i.wb for i in items) + frm + w.wb + tail + hv.wb + order,
				"SELECT " + ", ".join(i.dk for i in items) + frm + w.dk + tail + hv.dk + order)
		if shape <= 7:	# projection, unique id first
			exprs = [self.any_(2) for _ in range(self.r.randint(1, 4))]
			d = self.pick("ASC", "DESC")
			order = " ORDER BY id %s" % d + self.limit()
			return ("SELECT id, " + ", ".join(e.wb for e in exprs) + frm + w.wb + order,
				"SELECT id, " + ", ".join(e.dk for e in exprs) + frm + w.dk + order)
		# DISTINCT or projection ordered by all output columns
		exprs = [self.pick(self.str_(1), self.key(), self.col("int"), self.ts_())
			 for _ in range(self.r.randint(1, 2))]
		dist = "DISTINCT " if shape == 8 else ""
		order = " ORDER BY " + self.order_items(len(exprs)) + self.limit()
		return ("SELECT " + dist + ", ".join(e.wb for e in exprs) + frm + w.wb + order,
			"SELECT " + dist + ", ".join(e.dk for e in exprs) + frm + w.dk + order)


def gen_queries(seed, n):
	g = Gen(random.Random(seed * 7919 + 1))
	seen = set()
	out = []
	while len(out) < n:
		q = g.query()
		if q[0] not in seen:
			seen.add(q[0])
			out.append(q)
	return out


# -- oracle ----------------------------------------------------------------

def node_bin():
	return shutil.which("node") or shutil.which("nodejs")


def run_duckdb(tmp_path, rows, queries):
	data = tmp_path / "rows.ndjson"
	data.write_bytes(ndjson(rows))
	job = {"tables": [{"name": TABLE, "columns": [[c, dt] for c, _, dt, _ in COLUMNS],
			   "ndjson": str(data)}],
	       "setup": ["SET integer_division = true"],
	       "queries": queries}
	jf = tmp_path / "job.json"
	jf.write_text(json.dumps(job))
	p = subprocess.run([node_bin(), str(DIFF / "duck.mjs"), str(jf)], capture_output=True,
			   timeout=600, cwd=str(DIFF))
	assert p.returncode == 0, "duck.mjs failed (%d): %s" % (p.returncode, p.stderr.decode()[-3000:])
	out = [json.loads(line) for line in p.stdout.decode().splitlines() if line.strip()]
	assert len(out) == len(queries), "duck.mjs answered %d of %d" % (len(out), len(queries))
	return out


# -- comparison ------------------------------------------------------------

def ts_ms(v):
	if v is None or isinstance(v, int):
		return v
	m = re.fullmatch(r"(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]00(:?00)?)?", str(v))
	if not m:
		return v
	dt = datetime.strptime(m.group(1) + " " + m.group(2), "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc)
	return int(dt.timestamp()) * 1000 + int(round(float(m.group(3) or ".0") * 1000))


def as_num(v):
	if isinstance(v, bool):
		return None
	if isinstance(v, (int, float)):
		return v
	if v in ("NaN", "Infinity", "-Infinity"):
		return float(v)
	return None


def same_value(w, d, wtype):
	if w is None or d is None:
		return w is None and d is None
	if wtype == "TIMESTAMP" or (isinstance(d, int) and isinstance(w, str) and re.match(r"\d{4}-", w)):
		return ts_ms(w) == ts_ms(d)
	if isinstance(w, bool) or isinstance(d, bool):
		return w == d and isinstance(w, bool) and isinstance(d, bool)
	wn, dn = as_num(w), as_num(d)
	if wn is not None and dn is not None:
		if isinstance(wn, int) and isinstance(dn, int):
			return wn == dn
		if math.isnan(wn) or math.isnan(dn):
			return math.isnan(wn) and math.isnan(dn)
		return math.isclose(wn, dn, rel_tol=1e-9, abs_tol=1e-12)
	return w == d


def wb_answer(srv, sql):
	resp = srv.query(sql)
	if resp.get("exceptions"):
		return {"error": "; ".join("%s: %s" % (e.get("errorCode"), e.get("message"))
					   for e in resp["exceptions"])}
	rt = resp["resultTable"]
	return {"columns": rt["dataSchema"]["columnNames"], "types": rt["dataSchema"]["columnDataTypes"],
		"rows": rt["rows"]}


def diff(wb, dk):
	"""None when the answers agree, else a short description."""
	if "error" in wb or "error" in dk:
		if "error" in wb and "error" in dk:
			return "both failed"
		return "only %s failed" % ("Waybill" if "error" in wb else "DuckDB")
	wr, dr = wb["rows"], dk["rows"]
	if len(wr) != len(dr):
		return "row count %d != %d" % (len(wr), len(dr))
	for n, (a, b) in enumerate(zip(wr, dr)):
		if len(a) != len(b):
			return "row %d: %d columns != %d" % (n, len(a), len(b))
		for c, (x, y) in enumerate(zip(a, b)):
			if not same_value(x, y, wb["types"][c]):
				return "row %d column %d: Waybill %r, DuckDB %r" % (n, c + 1, x, y)
	return None


def diff_wb(a, b):
	"""Waybill before vs after sealing."""
	if "error" in a or "error" in b:
		return None if a == b else "error differs"
	if a["types"] != b["types"] or a["columns"] != b["columns"]:
		return "result types/names differ: %r vs %r" % (a["types"], b["types"])
	return diff(a, b)


def load_known():
	out = []
	if KNOWN.exists():
		for line in KNOWN.read_text().splitlines():
			if not line.strip() or line.lstrip().startswith("#"):
				continue
			pat, _, why = line.partition("\t")
			out.append((re.compile(pat), why.strip()))
	return out


def short(ans, n=12):
	if "error" in ans:
		return "ERROR " + ans["error"][:500]
	rows = ans["rows"]
	s = json.dumps(rows[:n], ensure_ascii=False)
	return "%s %s%s" % (ans.get("types"), s, " ... (%d rows)" % len(rows) if len(rows) > n else "")


# -- the test ----------------------------------------------------------------

def dt_schema():
	return schema(TABLE,
		      dims=[(c, t) for c, t, _, k in COLUMNS if k in ("str",) or c in ("id", "i2")],
		      metrics=[(c, t) for c, t, _, k in COLUMNS if c in ("i", "l", "d", "d2")],
		      datetimes=[("ts", "TIMESTAMP", "1:MILLISECONDS:TIMESTAMP", "1:MILLISECONDS")])


def states(srv):
	return [r for r in srv.rows("SELECT state, sum(numRows) FROM sys.segments WHERE tableName = '%s' "
				    "GROUP BY state ORDER BY state" % TABLE) if r[1]]


@pytest.fixture(scope="module")
def oracle_ok():
	if not node_bin():
		pytest.fail("node not found: run scripts/install-deps.sh")
	if not (DIFF / "node_modules" / "@duckdb" / "node-api").is_dir():
		pytest.fail("tests/diff/node_modules missing: run scripts/install-deps.sh "
			    "(npm ci --prefix tests/diff)")


def test_differential_duckdb(make_server, tmp_path, oracle_ok):
	rows = gen_rows(SEED, NROWS)
	queries = gen_queries(SEED, NQ)
	duck = run_duckdb(tmp_path, rows, [dk for _, dk in queries])

	srv = make_server()
	srv.add_schema(dt_schema())
	srv.add_table(simple_table_config(TABLE))
	# first pass: half the rows in a sealed segment, half in the mutable one
	half = len(rows) // 2
	srv.ingest(TABLE, ndjson(rows[:half]))
	r = srv.post("/tables/%s/forceCommit" % TABLE)
	assert r.status_code == 200, r.text
	for k in range(half, len(rows), 700):
		srv.ingest(TABLE, ndjson(rows[k:min(k + 700, len(rows))]))
	assert srv.count(TABLE) == len(rows)
	assert states(srv) == [["MUTABLE", len(rows) - half], ["SEALED", half]], states(srv)

	known = load_known()
	nonempty = sum(1 for dk in duck if dk.get("rows"))
	values = sum(len(r) for dk in duck for r in dk.get("rows", []))
	mismatches, tolerated, both_failed = [], [], []
	first = []
	for (wq, dq), dk in zip(queries, duck):
		wb = wb_answer(srv, wq)
		first.append(wb)
		d = diff(wb, dk)
		if d == "both failed":
			both_failed.append((wq, wb, dk))
			continue
		if d:
			why = next((y for p, y in known if p.search(wq)), None)
			entry = (wq, dq, d, wb, dk, why)
			(tolerated if why else mismatches).append(entry)

	r = srv.post("/tables/%s/forceCommit" % TABLE)
	assert r.status_code == 200, r.text
	# second pass: every row in sealed segments (two of them)
	assert ["SEALED", len(rows)] in states(srv), states(srv)
	seal_diffs = []
	for (wq, _), before in zip(queries, first):
		after = wb_answer(srv, wq)
		d = diff_wb(before, after)
		if d:
			seal_diffs.append((wq, d, before, after))

	report = ["differential seed=%d queries=%d rows=%d: %d mismatches, %d known, %d failed in both, "
		  "%d differ after sealing (%d answers not empty, %d values compared)"
		  % (SEED, len(queries), len(rows), len(mismatches), len(tolerated), len(both_failed),
		     len(seal_diffs), nonempty, values)]
	for wq, dq, d, wb, dk, why in tolerated:
		report.append("KNOWN (%s): %s\n  %s" % (why, wq, d))
	for wq, wb, dk in both_failed:
		report.append("BOTH FAILED: %s\n  Waybill: %s\n  DuckDB:  %s" % (wq, short(wb), short(dk)))
	for wq, dq, d, wb, dk, _ in mismatches:
		report.append("MISMATCH (seed %d): %s\n  DuckDB SQL: %s\n  %s\n  Waybill: %s\n  DuckDB:  %s"
			      % (SEED, wq, dq, d, short(wb), short(dk)))
	for wq, d, a, b in seal_diffs:
		report.append("SEALED DIFFERS (seed %d): %s\n  %s\n  mutable: %s\n  sealed:  %s"
			      % (SEED, wq, d, short(a), short(b)))
	text = "\n".join(report)
	print(text)
	out = os.environ.get("WB_DIFF_REPORT")
	if out:
		Path(out).write_text(text + "\n")
	assert not mismatches and not seal_diffs and not both_failed, text
