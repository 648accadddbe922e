"""Differential SQL testing: Waybill against DuckDB as the oracle.

A table of a few thousand rows is generated from a seed (INT, LONG, DOUBLE,
low- and high-cardinality STRING columns, a TIMESTAMP time column, NULLs
everywhere but in the key `id`) and loaded into Waybill (ingest API) and
into DuckDB (tests/diff/duck.mjs, the npm package @duckdb/node-api,
installed by scripts/install-deps.sh with `npm ci --prefix tests/diff`).
A random query generator, limited to the SQL Waybill supports (docs/sql.md),
makes N queries over that table, then NWIN window-function queries (every
window function, PARTITION BY 0-2 keys, ORDER BY with ASC/DESC and NULLS
FIRST/LAST, ROWS and RANGE frames with offsets, windows over GROUP BY
results, window calls inside expressions, top-N per group through a derived
table, DISTINCT over windows, windows over a join) and NJOIN join queries
over `dt AS t` and two small tables `dj AS j` (60 rows) and `dq AS q` (40
rows) that share key columns with it (i2, s_low; jid between dj and dq;
NULL keys, duplicate keys, keys missing on either side): INNER/LEFT/RIGHT/
FULL JOIN ... ON equalities (plus a condition on the joined table for
inner/left joins, expression keys), USING, NATURAL, comma joins with the
equality in WHERE, CROSS JOIN, three-table joins, self joins, derived tables
and CTEs as join inputs, with GROUP BY/aggregates/ORDER BY/LIMIT.  Both
engines answer each one, first with half the rows in
a sealed segment and half in Waybill's mutable segment, then again after
`forceCommit` from sealed segments only (where the answers must also equal
the first ones).

Fairness rules the generator keeps, so every difference is an engine
difference:
- results are made deterministic: every ordered query orders by all output
  columns (or by the unique `id` first) with explicit NULLS FIRST/LAST, so a
  LIMIT cuts at the same place in both engines;
- window functions whose value depends on a row's position among its peers
  (row_number, ntile, lag, lead, first/last/nth_value, and any aggregate
  over a ROWS frame) get a window ordered by a unique key (`id`, all GROUP
  BY keys, or t.id + j.jid over a join); RANGE offsets only over one numeric
  ORDER BY key, with integer offsets; no inverted frame like `0 PRECEDING
  AND 5 PRECEDING` (DuckDB 1.5 counts its rows negative; PostgreSQL: empty);
- DuckDB runs with PostgreSQL's default NULL order (NULLs last for ASC,
  first for DESC) for ORDER BY items in windows without NULLS FIRST/LAST;
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
of 1e-9, TIMESTAMPs as epoch milliseconds, NULL as NULL; a result column
that DuckDB names after a plain column (`id`, `t.id`, an alias like `rn`)
must have that name in Waybill too (checked after the values).  A mismatch prints
the seed, the query and both results.  Differences that are real Waybill
bugs not fixed yet are listed in tests/diff/known-mismatches.txt (a regular
expression searched in the query text, then the reason); they are tolerated
but reported.

Environment: WB_DIFF_SEED (default 20261125), WB_DIFF_N (number of
queries over dt, default 1000), WB_DIFF_NWIN and WB_DIFF_NJOIN (window and
join queries, default 150 each; the whole test takes ~55 s in the ASan
build; WB_LONG=1 runs 10x as many of each), WB_DIFF_ROWS (rows, default
3000), WB_DIFF_REPORT (a file to write the report to).  Each kind of query
comes from a random stream of its own, so changing one count leaves the
other queries as they were.
"""
import json
import math
import os
import random
import re
import shutil
import subprocess
import time
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
NWIN = int(os.environ.get("WB_DIFF_NWIN", "150")) * (10 if LONG else 1)
NJOIN = int(os.environ.get("WB_DIFF_NJOIN", "150")) * (10 if LONG else 1)
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


def trunc(unit, p=""):
	"""date_trunc(unit, ts).  DuckDB 1.5 folds `date_trunc(u, ts) <> c` to
	TRUE when c is not on a `u` boundary, even for a NULL ts (a DuckDB bug):
	adding a zero interval keeps its optimizer from that rewrite."""
	return X("date_trunc('%s', %sts)" % (unit, p), "(date_trunc('%s', %sts) + INTERVAL 0 SECOND)" % (unit, p), "ts")


FLOAT_LITS = ["0.5", "1.25", "2.5", "-0.75", "100.0", "0.0", "3.0625"]


class Gen:
	"""Expressions over `dt`'s columns; with prefix "t." every column
	reference is qualified (join queries)."""

	def __init__(self, rnd, prefix=""):
		self.r = rnd
		self.p = prefix

	def c(self, name, kind="int"):
		return X(self.p + name, kind=kind)

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
		return X(self.p + self.r.choice([c for c, k in KIND.items() if k == kind]), kind=kind)

	# numeric expressions (no overflow: |values| stay far below 2^53)
	def num(self, depth=2):
		r = self.r.random()
		if depth <= 0 or r < 0.35:
			c = self.r.random()
			if c < 0.5:
				return X(self.p + self.r.choice(["i", "i2", "l", "i", "i2", "id"]), kind="int")
			if c < 0.75:
				return X(self.p + self.r.choice(["d", "d2"]), kind="float")
			return self.int_lit() if c < 0.9 else self.float_lit()
		a = self.num(depth - 1)
		op = self.r.randrange(17)
		if op in (0, 1):
			b = self.num(depth - 1)
			return bin2(a, b, "(%s + %s)" if op == 0 else "(%s - %s)", numkind(a, b))
		if op == 2:
			b = self.pick(self.c("i2"), self.int_lit(-3, 10), self.float_lit())
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
			return X("EXTRACT(%s FROM %sts)" % (f, self.p), kind="int")
		if op == 13 and a.kind == "float":
			return a.map(self.pick("floor(%s)", "ceil(%s)"))
		if op == 14 and a.kind == "int":
			return bin2(a, self.c(self.pick("i2", "i")), "(%s / NULLIF(%s, 0))", "int")
		if op == 15:
			if self.r.random() < 0.5:	# PostgreSQL: sign(DOUBLE) is DOUBLE, DuckDB: TINYINT
				return X("sign(%s)" % a.wb, ("sign(%s)" if a.kind == "int" else
							     "CAST(sign(%s) AS DOUBLE)") % a.dk, a.kind)
			b = self.num(depth - 1)
			return X("CASE %si2 WHEN 1 THEN %s WHEN 2 THEN %s END" % (self.p, a.wb, b.wb),
				 "CASE %si2 WHEN 1 THEN %s WHEN 2 THEN %s END" % (self.p, a.dk, b.dk), numkind(a, b))
		if op == 16 and a.kind == "int":
			return bin2(a, self.c(self.pick("i2", "i")), "(%s %% NULLIF(%s, 0))", "int")
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
			n = self.pick(self.c("i"), self.c("i2"), self.c("id"), self.c("l"))
			return n.map("CAST(%s AS VARCHAR)", "str")
		return a.map("reverse(%s)")

	def ts_(self):
		if self.r.random() < 0.6:
			return self.c("ts", "ts")
		return trunc(self.pick("hour", "day", "minute"), self.p)

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
			return X(self.p + self.pick("s_low", "i2", "s_low", "i2", "s_high", "l", "i"),
				 kind="int")
		if c < 0.45:
			return self.pick(trunc("hour", self.p), trunc("day", self.p),
					 X("EXTRACT(hour FROM %sts)" % self.p))
		if c < 0.7:
			return self.str_(1)
		if c < 0.8:
			return self.pick(*[X(f.replace("@", self.p)) for f in
					   ("(@i % 5)", "(@id / 100)", "(@i2 * 2 + 1)", "abs(@i)")])
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


# -- windows -----------------------------------------------------------------

# Window functions: name -> (argument form, result kind rule, position
# dependent).  A position-dependent function's value depends on where a row
# falls among its peers, so its window must be ordered by a unique key.
RANK_FNS = ["row_number", "rank", "dense_rank", "percent_rank", "cume_dist", "ntile"]
VALUE_FNS = ["lag", "lead", "first_value", "last_value", "nth_value"]
AGG_FNS = ["count*", "count", "sum", "avg", "min", "max", "bool_and", "bool_or"]
WIN_PART = ["s_low", "i2", "(i % 3)", "(id % 4)", "EXTRACT(day FROM ts)"]
WIN_ORDER = ["i", "d", "s_low", "ts", "i2", "l", "d2", "s_high", "(i % 3)"]
# numeric ORDER BY keys for RANGE offsets, with offsets that make sense
WIN_RANGE = {"i": ["0", "1", "3", "10"], "i2": ["0", "1", "2"], "id": ["0", "2", "5", "50"],
	     "l": ["0", "5", "100", "1000000"], "d": ["0", "1", "10", "100"], "d2": ["0", "2", "64"]}


class Ctx:
	"""Where window functions are evaluated: over dt's rows, or over the
	groups of a GROUP BY (then arguments and keys are aggregates or group
	keys).  unique: a key list that is unique among the rows windowed."""

	def __init__(self, part, order, unique, args, rng):
		self.part, self.order, self.unique, self.args, self.rng = part, order, unique, args, rng


class WinGen(Gen):
	def order_key(self, k, nulls_default_ok=True):
		d = self.pick("", " ASC", " DESC")
		n = self.pick("", " NULLS FIRST", " NULLS LAST") if nulls_default_ok else \
			self.pick(" NULLS FIRST", " NULLS LAST")
		return k + d + n

	def frame(self, ctx, order, fn_needs_unique):
		"""(frame clause or "", ORDER BY items, ROWS frame?, RANGE offsets?).
		RANGE offsets only over one numeric key (the order is replaced; a
		position-dependent function gets the unique key)."""
		c = self.r.random()
		if c < 0.35:
			return "", order, False, False
		bounds = ["UNBOUNDED PRECEDING", "%d PRECEDING", "CURRENT ROW", "%d FOLLOWING",
			  "UNBOUNDED FOLLOWING"]
		offs = None
		if c < 0.7:
			mode = "ROWS"
			offs = lambda: str(self.r.choice([0, 1, 2, 3, 5]))
		else:
			mode = "RANGE"
			if self.r.random() < 0.6 and ctx.rng:
				key = ctx.unique[0] if fn_needs_unique else self.r.choice(sorted(ctx.rng))
				if key in ctx.rng:
					order = [self.order_key(key)]
					offs = lambda: self.r.choice(ctx.rng[key])
		while True:
			a = self.r.randrange(4)
			b = self.r.randrange(1, 5)
			if a > b:
				continue
			if offs is None and (a in (1, 3) or b in (1, 3)):
				continue
			break

		oa = offs() if a in (1, 3) else None
		ob = offs() if b in (1, 3) else None
		if a == b and a in (1, 3) and (float(oa) < float(ob)) == (a == 1):
			# no inverted frame like `0 PRECEDING AND 5 PRECEDING`: DuckDB
			# 1.5 counts such a frame's rows negative (PostgreSQL: empty)
			oa, ob = ob, oa

		def bound(k, o):
			return bounds[k].replace("%d", o) if k in (1, 3) else bounds[k]
		if b == 2 and self.r.random() < 0.3 and a < 2:
			fr = " %s %s" % (mode, bound(a, oa))	# short form: start only
		else:
			fr = " %s BETWEEN %s AND %s" % (mode, bound(a, oa), bound(b, ob))
		return fr, order, mode == "ROWS", mode == "RANGE" and offs is not None

	def over(self, ctx, needs_unique, framed):
		parts = self.r.sample(ctx.part, self.r.randint(0, min(2, len(ctx.part))))
		order = [self.order_key(k) for k in self.r.sample(ctx.order, self.r.randint(0, 2))]
		fr, rows, roff = "", False, False
		if framed:
			fr, order, rows, roff = self.frame(ctx, order, needs_unique)
		if (needs_unique or rows) and not roff:
			order = order + [self.order_key(k) for k in ctx.unique]
		s = ""
		if parts:
			s += "PARTITION BY " + ", ".join(parts)
		if order:
			s += (" " if s else "") + "ORDER BY " + ", ".join(order)
		return "OVER (" + s + fr + ")"

	def win_call(self, ctx):
		c = self.r.random()
		if c < 0.3:
			fn = self.r.choice(RANK_FNS)
			pos = fn in ("row_number", "ntile")
			call = X("ntile(%d)" % self.r.randint(1, 5) if fn == "ntile" else fn + "()",
				 kind="float" if fn in ("percent_rank", "cume_dist") else "int")
			ov = self.over(ctx, pos, False)
		elif c < 0.6:
			fn = self.r.choice(VALUE_FNS)
			a = ctx.args(self, "any")
			if fn in ("lag", "lead"):
				r = self.r.random()
				if r < 0.3:
					call = a.map(fn + "(%s)")
				elif r < 0.6 or a.kind == "ts":
					call = a.map(fn + "(%%s, %d)" % self.r.choice([0, 1, 2, 3, -1]))
				else:
					dflt = self.lit(a.kind) if a.kind not in ("int", "float") or \
						a.kind == "float" and self.r.random() < 0.5 else self.int_lit(-5, 5)
					off = self.r.choice([1, 2, 5])
					call = bin2(a, dflt, fn + "(%%s, %d, %%s)" % off, a.kind)
				ov = self.over(ctx, True, False)
			else:
				if fn == "nth_value":
					call = a.map("nth_value(%%s, %d)" % self.r.randint(1, 3))
				else:
					call = a.map(fn + "(%s)")
				ov = self.over(ctx, True, True)
		else:
			fn = self.r.choice(AGG_FNS)
			if fn == "count*":
				call = X("count(*)")
			elif fn == "count":
				call = ctx.args(self, "any").map("count(%s)", "int")
			elif fn in ("sum", "avg"):
				a = ctx.args(self, "num")
				call = a.map(fn + "(%s)", "float" if fn == "avg" else a.kind)
			elif fn in ("min", "max"):
				call = ctx.args(self, "any").map(fn + "(%s)")
			else:
				call = ctx.args(self, "bool").map(fn + "(%s)", "bool")
			ov = self.over(ctx, False, True)
		return X(call.wb + " " + ov, call.dk + " " + ov, call.kind)

	def around(self, w, ctx):
		"""A window call, sometimes inside an expression."""
		c = self.r.random()
		if c < 0.7:
			return w
		if w.kind == "bool":
			return w.map("(CASE WHEN %s THEN 1 ELSE 0 END)", "int")
		if w.kind in ("int", "float"):
			f = self.pick("(%s * 2)", "COALESCE(%s, -1)", "(%s + 1)",
				      "CASE WHEN %s > 2 THEN 'hi' ELSE 'lo' END", "(- %s)")
			if c < 0.85:
				other = ctx.args(self, "num")
				return bin2(w, other, self.pick("(%s - %s)", "(%s + %s)", "GREATEST(%s, %s)"),
					    numkind(w, other))
			return w.map(f, "str" if "'hi'" in f else w.kind)
		if w.kind == "str":
			return w.map(self.pick("COALESCE(%s, '-')", "upper(%s)", "length(%s)"),
				     None)
		return w

	# argument makers
	@staticmethod
	def row_args(g, kind):
		if kind == "num":
			return g.num(1)
		if kind == "bool":
			return g.pred(1)
		return g.pick(g.num(1), g.col("str"), g.col("int"), g.c("ts", "ts"), g.str_(1))

	def row_query(self):
		ctx = Ctx(WIN_PART, WIN_ORDER, ["id"], WinGen.row_args, WIN_RANGE)
		w = self.where()
		if self.r.random() < 0.75:	# fewer rows: windows cost time in the ASan build
			a = self.r.randrange(0, NROWS - 200)
			rng = "id BETWEEN %d AND %d" % (a, a + self.r.choice([30, 100, 400]))
			w = X((w.wb + " AND " if w.wb else " WHERE ") + rng, (w.dk + " AND " if w.dk else " WHERE ") + rng)
		items = [X("id")]
		if self.r.random() < 0.5:
			items.append(self.pick(self.col("str"), self.col("int"), self.col("float")))
		for _ in range(self.r.randint(1, 3)):
			items.append(self.around(self.win_call(ctx), ctx))
		order = " ORDER BY id %s" % self.pick("ASC", "DESC") + self.limit()
		if self.r.random() < 0.2:	# by a window result first (alias or ordinal)
			k = len(items)
			if self.r.random() < 0.5:
				items[-1] = X(items[-1].wb + " AS wv", items[-1].dk + " AS wv", items[-1].kind)
				first = "wv"
			else:
				first = str(k)
			order = " ORDER BY %s, id" % self.order_key(first, False) + self.limit()
		if self.r.random() < 0.1:
			order += " OFFSET %d" % self.r.randint(1, 20)
		return ("SELECT " + ", ".join(i.wb for i in items) + " FROM " + TABLE + w.wb + order,
			"SELECT " + ", ".join(i.dk for i in items) + " FROM " + TABLE + w.dk + order)

	def group_query(self):
		keys = self.r.sample(["s_low", "i2", "(i % 5)", "EXTRACT(hour FROM ts)", "(id / 100)"],
				     self.r.randint(1, 2))
		aggs = [self.agg() for _ in range(self.r.randint(0, 2))]

		def gargs(g, kind):
			key = g.r.choice(keys)
			key = X(key, kind="str" if key == "s_low" else "int")
			if kind == "num":
				return g.pick(X("count(*)"), X("sum(i)"), X("min(d)"), X("max(l)"),
					      X("avg(i2)", kind="float"), X("count(s_low)"),
					      key if key.kind == "int" else X("count(*)"))
			if kind == "bool":
				return g.pick(X("(count(*) > 100)"), X("(sum(i) > 0)"), X("(min(s_low) < 'b')"))
			return g.pick(key, X("count(*)"), X("max(s_high)", kind="str"),
				      X("min(ts)", kind="ts"), X("sum(d)", kind="float"))
		ctx = Ctx(keys, keys + ["count(*)", "sum(i)", "max(d)", "min(s_high)"], keys, gargs, {})
		items = [X(k) for k in keys] + aggs
		for _ in range(self.r.randint(1, 3)):
			items.append(self.around(self.win_call(ctx), ctx))
		hv = ""
		if self.r.random() < 0.2:
			hv = " HAVING count(*) > %d" % self.r.choice([1, 10, 100])
		w = self.where()
		tail = " GROUP BY " + ", ".join(keys) + hv
		order = " ORDER BY " + self.order_items(len(items)) + self.limit()
		return ("SELECT " + ", ".join(i.wb for i in items) + " FROM " + TABLE + w.wb + tail + order,
			"SELECT " + ", ".join(i.dk for i in items) + " FROM " + TABLE + w.dk + tail + order)

	def topn_query(self):
		part = self.pick("s_low", "i2", "(i % 3)")
		okey = self.order_key(self.pick("d", "i", "l", "ts", "s_high"))
		fn = self.pick("row_number", "rank", "dense_rank")
		ob = okey + (", id" if fn == "row_number" else "")
		n = self.r.randint(1, 4)
		w = self.where()
		inner = ("SELECT id, %s AS p, %s() OVER (PARTITION BY %s ORDER BY %s) AS rn FROM %s"
			 % (part, fn, part, ob, TABLE))
		q = "SELECT p, rn, id FROM (%s@W@) AS x WHERE rn <= %d ORDER BY 1 NULLS FIRST, 2, 3" % (inner, n)
		return q.replace("@W@", w.wb), q.replace("@W@", w.dk)

	def distinct_query(self):
		part = self.pick("s_low", "i2", "(i % 3)")
		fn = self.pick("count(*)", "sum(i)", "max(d)", "min(s_high)", "avg(l)")
		q = ("SELECT DISTINCT %s, %s OVER (PARTITION BY %s) FROM %s@W@ ORDER BY 1 NULLS LAST, 2 NULLS LAST"
		     % (part, fn, part, TABLE))
		w = self.where()
		return q.replace("@W@", w.wb), q.replace("@W@", w.dk)

	def query(self):
		c = self.r.random()
		if c < 0.55:
			return self.row_query()
		if c < 0.85:
			return self.group_query()
		if c < 0.95:
			return self.topn_query()
		return self.distinct_query()


# -- joins -------------------------------------------------------------------

TJ, TQ = "dj", "dq"
# name, Waybill type, DuckDB type, kind; `i2` and `s_low` are shared with dt
# (USING / NATURAL keys), `jid` between dj and dq.
J_COLUMNS = [
	("jid", "LONG", "BIGINT", "int"),
	("i2", "INT", "INTEGER", "int"),
	("s_low", "STRING", "VARCHAR", "str"),
	("v", "INT", "INTEGER", "int"),
	("w", "DOUBLE", "DOUBLE", "float"),
	("label", "STRING", "VARCHAR", "str"),
]
Q_COLUMNS = [
	("qid", "LONG", "BIGINT", "int"),
	("jid", "LONG", "BIGINT", "int"),
	("i2", "INT", "INTEGER", "int"),
	("x", "INT", "INTEGER", "int"),
]
# dt.i2 is 0..9: keys 3 and 7 are missing in dj, -2, -1, 10, 11 in dt
J_KEYS = [-2, -1, 0, 1, 2, 4, 5, 6, 8, 9, 10, 11, 0, 1, 5]
# 'c', 'aa%', '€uro' are missing in dj, 'zz' in dt
J_STRS = ["a", "b", "AB", "", "x y", "zz", "b_c", "日本", "a"]


def gen_side_rows(seed, nj=60, nq=40):
	rnd = random.Random(seed * 31 + 7)
	dj, dq = [], []
	for k in range(nj):
		r = {"jid": k, "i2": rnd.choice(J_KEYS), "s_low": rnd.choice(J_STRS),
		     "v": rnd.randint(-20, 20), "w": rnd.randint(-64, 64) / 8.0,
		     "label": "n%02d" % rnd.randrange(25)}
		for c in ("i2", "s_low", "v", "w", "label"):
			p = rnd.random()
			if p < 0.08:
				r[c] = None
			elif p < 0.12:
				del r[c]
		dj.append(r)
	for k in range(nq):
		r = {"qid": k, "jid": rnd.randint(-3, nj + 5), "i2": rnd.choice(J_KEYS),
		     "x": rnd.randint(0, 50)}
		for c in ("jid", "i2", "x"):
			if rnd.random() < 0.1:
				r[c] = None
		dq.append(r)
	return dj, dq


class JoinGen(Gen):
	"""Join queries: dt AS t with dj AS j (and dq AS q); dt expressions come
	from Gen with every column qualified "t."."""

	def __init__(self, rnd):
		super().__init__(rnd, "t.")

	def jcol(self, kind=None):
		opts = [("j." + c, k) for c, _, _, k in J_COLUMNS if kind is None or k == kind]
		c, k = self.r.choice(opts)
		return X(c, kind=k)

	def jpred(self):
		c = self.r.randrange(6)
		if c == 0:
			return "j.v > %d" % self.r.randint(-10, 10)
		if c == 1:
			return "j.label <> 'n%02d'" % self.r.randrange(25)
		if c == 2:
			return "j.w IS NOT NULL"
		if c == 3:
			return "j.s_low IN ('a', 'b', '')"
		if c == 4:
			return "j.jid % 3 = " + str(self.r.randrange(3))
		return "j.w < %s" % self.pick("0", "2.5")

	def keys(self, kind):
		"""An ON condition between t and j."""
		c = self.r.random()
		if c < 0.5:
			on = "t.i2 = j.i2"
		elif c < 0.7:
			on = "t.s_low = j.s_low"
		elif c < 0.8:
			on = "j.i2 = t.i2 AND t.s_low = j.s_low"
		elif c < 0.9:
			on = "(t.i % 12) = j.i2" if self.r.random() < 0.5 else "t.i2 = (j.i2 + 1)"
		else:
			on = "t.i2 = j.i2 AND t.i2 = j.v"
		if kind in ("JOIN", "INNER JOIN", "LEFT JOIN", "LEFT OUTER JOIN") and self.r.random() < 0.4:
			on += " AND " + self.jpred()
		return on

	def kind(self):
		return self.pick("JOIN", "INNER JOIN", "LEFT JOIN", "LEFT OUTER JOIN", "RIGHT JOIN",
				 "FULL JOIN", "FULL OUTER JOIN", "LEFT JOIN", "FULL JOIN")

	def t_range(self):
		a = self.r.randrange(0, NROWS - 200)
		return a, a + self.r.choice([20, 50, 150])

	def t_source(self, kind):
		"""dt restricted to an id range: in WHERE (pushed down; null-extended
		t rows kept for RIGHT/FULL) or in a derived table."""
		a, b = self.t_range()
		if self.r.random() < 0.4:
			return "(SELECT * FROM %s WHERE id BETWEEN %d AND %d) AS t" % (TABLE, a, b), ""
		if kind.startswith(("RIGHT", "FULL")):
			return TABLE + " AS t", "(t.id BETWEEN %d AND %d OR t.id IS NULL)" % (a, b)
		return TABLE + " AS t", "t.id BETWEEN %d AND %d" % (a, b)

	def jagg(self):
		c = self.r.randrange(10)
		if c < 4:
			return self.agg()
		return self.pick(X("count(*)"), X("count(j.jid)"), X("sum(j.v)"), X("avg(j.w)", kind="float"),
				 X("max(j.label)", kind="str"), X("count(DISTINCT j.i2)"), X("min(j.w)", kind="float"))

	def query(self):
		shape = self.r.randrange(10)
		kind = self.kind()
		if shape <= 1:	# projection over ON
			src, rw = self.t_source(kind)
			items = [X("t.id"), X("j.jid")] + [self.pick(self.any_(1), self.jcol(), self.jcol())
							     for _ in range(self.r.randint(1, 3))]
			p = self.pred(1) if self.r.random() < 0.3 and not kind.startswith(("RIGHT", "FULL")) else None
			frm = "%s %s %s AS j ON %s" % (src, kind, TJ, self.keys(kind))
			return self.both(items, frm, [rw], p)
		if shape <= 3:	# aggregates over ON
			src = TABLE + " AS t"
			keys = [self.pick(X("j.label"), X("t.s_low"), X("j.i2"), X("t.i2"), X("(t.i % 3)"),
					  X("j.s_low"))]
			aggs = [self.jagg() for _ in range(self.r.randint(1, 3))]
			p = self.pred(1) if self.r.random() < 0.4 and not kind.startswith(("RIGHT", "FULL")) else None
			frm = "%s %s %s AS j ON %s" % (src, kind, TJ, self.keys(kind))
			rw = ""
			if self.r.random() < 0.5:	# fewer rows (time)
				a, b = self.r.randrange(0, NROWS - 1000), self.r.choice([300, 1000])
				rw = "(t.id BETWEEN %d AND %d%s)" % (a, a + b, " OR t.id IS NULL"
								      if kind.startswith(("RIGHT", "FULL")) else "")
			return self.both(keys + aggs, frm, [rw], p, " GROUP BY 1")
		if shape == 4:	# USING / NATURAL
			using = self.pick("(i2)", "(s_low)", "(i2, s_low)", "NATURAL")
			if using == "NATURAL":
				frm = "%s AS t NATURAL %s %s AS j" % (TABLE, kind, TJ)
				keys = [X("i2"), X("s_low")]
			else:
				frm = "%s AS t %s %s AS j USING %s" % (TABLE, kind, TJ, using)
				keys = [X(k.strip()) for k in using.strip("()").split(",")]
			if self.r.random() < 0.5:
				aggs = [self.pick(X("count(*)"), X("count(t.id)"), X("count(j.jid)"), X("sum(j.v)"),
						  X("sum(t.i)"), X("max(t.s_high)", kind="str"))
					for _ in range(self.r.randint(1, 3))]
				return self.both(keys + aggs, frm, [], None, " GROUP BY " + ", ".join(k.wb for k in keys))
			a, b = self.t_range()
			rw = "(t.id BETWEEN %d AND %d%s)" % (a, b, " OR t.id IS NULL" if kind.startswith(("RIGHT", "FULL")) else "")
			return self.both(keys + [X("t.id"), X("j.jid"), self.jcol()], frm, [rw], None)
		if shape == 5:	# comma join, equality in WHERE
			a, b = self.t_range()
			conds = [self.pick("t.i2 = j.i2", "j.s_low = t.s_low", "t.i2 = j.i2 AND t.s_low = j.s_low")]
			if self.r.random() < 0.5:
				conds.append(self.jpred())
			frm = "%s AS t, %s AS j" % (TABLE, TJ)
			if self.r.random() < 0.5:
				keys = [self.pick(X("j.label"), X("t.s_low"), X("t.i2"))]
				aggs = [self.jagg() for _ in range(self.r.randint(1, 2))]
				return self.both(keys + aggs, frm, conds, self.pred(1) if self.r.random() < 0.5 else None,
						 " GROUP BY 1")
			conds.append("t.id BETWEEN %d AND %d" % (a, b))
			return self.both([X("t.id"), X("j.jid"), self.any_(1), self.jcol()], frm, conds, None)
		if shape == 6:	# three tables
			k2 = self.pick("LEFT JOIN", "JOIN", "FULL JOIN", "RIGHT JOIN")
			frm = ("%s AS t %s %s AS j ON %s %s %s AS q ON %s"
			       % (TABLE, self.pick("JOIN", "LEFT JOIN"), TJ, "t.i2 = j.i2", k2, TQ,
				  self.pick("q.jid = j.jid", "j.jid = q.jid AND q.i2 = t.i2", "q.i2 = t.i2")))
			keys = [self.pick(X("j.label"), X("q.x"), X("t.s_low"), X("q.qid"))]
			aggs = [self.pick(X("count(*)"), X("count(q.qid)"), X("sum(q.x)"), X("count(DISTINCT j.jid)"),
					  X("sum(t.i)"), X("max(t.id)")) for _ in range(self.r.randint(1, 3))]
			return self.both(keys + aggs, frm, [], None, " GROUP BY 1")
		if shape == 7:	# derived table / CTE as a join input
			sub = ("SELECT i2, count(*) AS n, sum(v) AS sv, max(label) AS ml FROM %s%s GROUP BY i2"
			       % (TJ, self.pick("", " WHERE v > 0", " WHERE label IS NOT NULL")))
			k = self.pick("JOIN", "LEFT JOIN", "RIGHT JOIN", "FULL JOIN")
			if self.r.random() < 0.5:
				pre, frm = "", "%s AS t %s (%s) AS g ON t.i2 = g.i2" % (TABLE, k, sub)
			else:
				pre, frm = "WITH g AS (%s) " % sub, "%s AS t %s g ON g.i2 = t.i2" % (TABLE, k)
			keys = [self.pick(X("g.i2"), X("t.i2"), X("g.ml"), X("t.s_low"))]
			aggs = [self.pick(X("count(*)"), X("sum(g.n)"), X("max(g.sv)"), X("count(t.id)"),
					  X("sum(t.i)"), X("min(t.d)", kind="float")) for _ in range(self.r.randint(1, 3))]
			wb, dk = self.both(keys + aggs, frm, [], None, " GROUP BY 1")
			return pre + wb, pre + dk
		if shape == 8:	# small x small: dj with dq, full result
			k = self.pick("JOIN", "LEFT JOIN", "RIGHT JOIN", "FULL JOIN", "CROSS JOIN", ",")
			if k == "CROSS JOIN" or k == ",":
				frm = "%s AS j %s %s AS q" % (TJ, k, TQ) if k != "," else "%s AS j, %s AS q" % (TJ, TQ)
				conds = [self.pick("q.x < 5", "j.v = q.i2", "q.jid = j.jid AND q.x > 10", "j.i2 > q.i2")]
			else:
				on = self.pick("j.jid = q.jid", "j.i2 = q.i2", "q.jid = j.jid AND q.i2 = j.i2")
				if k in ("JOIN", "LEFT JOIN") and self.r.random() < 0.5:
					on += " AND q.x > %d" % self.r.randint(0, 40)
				frm = "%s AS j %s %s AS q ON %s" % (TJ, k, TQ, on)
				conds = []
			items = [X("j.jid"), X("q.qid")] + [self.pick(X("j.label"), X("q.x"), X("j.w"), X("(j.v + q.x)"),
							      X("COALESCE(j.i2, q.i2)")) for _ in range(self.r.randint(0, 2))]
			return self.both(items, frm, conds, None)
		if self.r.random() < 0.5:	# window functions over a join
			a, b = self.t_range()
			k = self.pick("JOIN", "LEFT JOIN")
			frm = "%s AS t %s %s AS j ON t.i2 = j.i2" % (TABLE, k, TJ)
			part = self.pick("", "PARTITION BY j.label ", "PARTITION BY t.s_low ", "PARTITION BY j.i2 ")
			wins = [self.pick(X("rank() OVER (%sORDER BY j.w DESC NULLS LAST)" % part),
					  X("row_number() OVER (%sORDER BY t.id, j.jid DESC)" % part),
					  X("count(*) OVER (%s)" % part.strip()),
					  X("sum(j.v) OVER (%sORDER BY t.id, j.jid ROWS BETWEEN 1 PRECEDING AND 1 FOLLOWING)" % part),
					  X("lag(j.label) OVER (%sORDER BY j.jid NULLS FIRST, t.id)" % part, kind="str"),
					  X("dense_rank() OVER (%sORDER BY t.i2)" % part))
				for _ in range(self.r.randint(1, 2))]
			return self.both([X("t.id"), X("j.jid")] + wins, frm, ["t.id BETWEEN %d AND %d" % (a, b)], None)
		# self join on an expression key
		a, b = self.t_range()
		k = self.pick("JOIN", "LEFT JOIN")
		frm = "%s AS t %s %s AS u ON u.id = t.id + %d" % (TABLE, k, TABLE, self.r.choice([1, 2, -1, 10]))
		return self.both([X("t.id"), X("u.id"), X("u.s_low"), X("(t.i - u.i)")], frm,
				 ["t.id BETWEEN %d AND %d" % (a, b)], None)

	def both(self, items, frm, conds, pred, group=""):
		w = [c for c in conds if c]
		wwb, wdk = list(w), list(w)
		if pred is not None:
			wwb.append(pred.wb)
			wdk.append(pred.dk)
		order = " ORDER BY " + self.order_items(len(items)) + self.limit()
		wsw = (" WHERE " + " AND ".join(wwb)) if wwb else ""
		wsd = (" WHERE " + " AND ".join(wdk)) if wdk else ""
		return ("SELECT " + ", ".join(i.wb for i in items) + " FROM " + frm + wsw + group + order,
			"SELECT " + ", ".join(i.dk for i in items) + " FROM " + frm + wsd + group + order)


def gen_queries(seed, n, nwin=0, njoin=0):
	"""n queries over dt, then nwin window and njoin join queries (each
	kind from a random stream of its own, so adding one kind leaves the
	others as they were)."""
	out = []
	seen = set()
	for gen, cnt in ((Gen(random.Random(seed * 7919 + 1)), n),
			 (WinGen(random.Random(seed * 7919 + 2)), nwin),
			 (JoinGen(random.Random(seed * 7919 + 3)), njoin)):
		k = 0
		while k < cnt:
			q = gen.query()
			if q[0] not in seen:
				seen.add(q[0])
				out.append(q)
				k += 1
	return out


# -- oracle ----------------------------------------------------------------

def node_bin():
	return shutil.which("node") or shutil.which("nodejs")


def run_duckdb(tmp_path, tables, queries):
	"""tables: [(name, COLUMNS-like list, rows)]."""
	tabs = []
	for name, cols, rows in tables:
		data = tmp_path / ("%s.ndjson" % name)
		data.write_bytes(ndjson(rows))
		tabs.append({"name": name, "columns": [[c, dt] for c, _, dt, _ in cols], "ndjson": str(data)})
	job = {"tables": tabs,
	       # PostgreSQL's integer division and default NULL order (NULLs last
	       # for ASC, first for DESC)
	       "setup": ["SET integer_division = true",
			 "SET default_null_order = 'nulls_last_on_asc_first_on_desc'"],
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
	if os.environ.get("WB_DIFF_TRACE"):
		with open(os.environ["WB_DIFF_TRACE"], "a") as f:
			f.write(sql + "\n")
	resp = srv.query(sql)
	if resp.get("exceptions"):
		return {"error": "; ".join("%s: %s" % (e.get("errorCode"), e.get("message"))
					   for e in resp["exceptions"])}
	rt = resp["resultTable"]
	return {"columns": rt["dataSchema"]["columnNames"], "types": rt["dataSchema"]["columnDataTypes"],
		"rows": rt["rows"]}


PLAIN_NAMES = set(KIND) | {"jid", "v", "w", "label", "qid", "x", "p", "rn"}


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
	for c, (wn, dn) in enumerate(zip(wb.get("columns", []), dk.get("columns", []))):
		# a select item that is a plain (or qualified) column keeps its name
		if dn in PLAIN_NAMES and wn != dn:
			return "column %d is named %r, DuckDB %r" % (c + 1, wn, dn)
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


def side_schema(name, cols):
	return schema(name, dims=[(c, t) for c, t, _, k in cols if k != "float"],
		      metrics=[(c, t) for c, t, _, k in cols if k == "float"])


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
	jrows, qrows = gen_side_rows(SEED)
	queries = gen_queries(SEED, NQ, NWIN, NJOIN)
	t0 = time.monotonic()
	duck = run_duckdb(tmp_path, [(TABLE, COLUMNS, rows), (TJ, J_COLUMNS, jrows), (TQ, Q_COLUMNS, qrows)],
			  [dk for _, dk in queries])

	srv = make_server()
	srv.add_schema(dt_schema())
	srv.add_table(simple_table_config(TABLE))
	# the join tables: dj half sealed, half mutable; dq mutable (both sealed
	# in the second pass)
	for name, cols, trows in ((TJ, J_COLUMNS, jrows), (TQ, Q_COLUMNS, qrows)):
		srv.add_schema(side_schema(name, cols))
		srv.add_table(simple_table_config(name))
	srv.ingest(TJ, ndjson(jrows[:len(jrows) // 2]))
	r = srv.post("/tables/%s/forceCommit" % TJ)
	assert r.status_code == 200, r.text
	srv.ingest(TJ, ndjson(jrows[len(jrows) // 2:]))
	srv.ingest(TQ, ndjson(qrows))
	assert srv.count(TJ) == len(jrows) and srv.count(TQ) == len(qrows)
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
	bykind = {}
	t1 = time.monotonic()
	for n, ((wq, dq), dk) in enumerate(zip(queries, duck)):
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
			if not why:
				k = "dt" if n < NQ else "window" if n < NQ + NWIN else "join"
				bykind[k] = bykind.get(k, 0) + 1

	t2 = time.monotonic()
	for name in (TABLE, TJ, TQ):
		r = srv.post("/tables/%s/forceCommit" % name)
		assert r.status_code == 200, r.text
	# second pass: every row in sealed segments (two of them)
	assert ["SEALED", len(rows)] in states(srv), states(srv)
	seal_diffs = []
	for (wq, _), before in zip(queries, first):
		after = wb_answer(srv, wq)
		d = diff_wb(before, after)
		if d:
			seal_diffs.append((wq, d, before, after))

	t3 = time.monotonic()
	report = ["differential seed=%d queries=%d rows=%d: %d mismatches, %d known, %d failed in both, "
		  "%d differ after sealing (%d answers not empty, %d values compared); %d/%d/%d queries "
		  "over dt/window/join, mismatches %s"
		  % (SEED, len(queries), len(rows), len(mismatches), len(tolerated), len(both_failed),
		     len(seal_diffs), nonempty, values, NQ, NWIN, NJOIN, bykind or "none"),
		  "time: DuckDB + loading %.1f s, first pass %.1f s, sealed pass %.1f s" % (t1 - t0, t2 - t1, t3 - t2)]
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
