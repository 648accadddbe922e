"""Pinot's multistage-engine query tests (ResourceBasedQueriesTest), run
against one Waybill server, with a tracked pass count.

The cases are ../shared/pinot-examples/multistage-query-tests/*.json
(pinot-query-runtime/src/test/resources/queries/).  Each file maps a case
name to {"tables": {...}, "queries": [...], "ignored", "extraProps"}.  As
Pinot's test does:
  * a case's table `t` is named `<case>_t`; a query's `{t}` placeholders
    are replaced with that name (TABLE_NAME_REPLACE_PATTERN `\\{(\\w+)\\}`);
  * every table gets Pinot's built-in `ts` column (LONG, 1:MILLISECONDS:
    EPOCH date-time, set to the current time) besides the listed columns;
    `isSingleValue: false` columns are multi-valued, `notNull` is kept;
  * an input row ["------"] is a segment breaker: the rows before it are
    sealed (POST /tables/{t}/forceCommit) before the next ones are pushed;
  * a case or query with "ignored": true is skipped (counted as ignored);
  * null handling is on unless the query's own `SET` turns it off (Pinot's
    runner puts enableNullHandling=true when the query does not set it; it
    is Waybill's default too, so the query text is sent as is);
  * a query with `outputs` is compared like QueryRunnerTestBase.
    compareRowEquals: same row count; the expected and actual cells are
    canonicalized by the ANSWER's column types; rows are sorted (nulls
    first) unless `keepOutputRowOrder`; numbers compare with Guava's
    fuzzyEquals at 1e-4, absolute then relative to the larger magnitude;
    BIG_DECIMAL numerically; TIMESTAMP as parsed timestamps; the rest
    exactly.  Column names and types are not checked (Pinot does not);
  * a query with `expectedException` must end with an error.  Pinot
    matches its own message text against the regex; Waybill's messages are
    its own, so only "an error, no rows" is required (the summary says how
    many messages would also match Pinot's regex);
  * a query with neither (Pinot compares it against H2) is run -- it must
    not crash or hang the server -- but its answer is not judged: it is
    counted as "not comparable".

Each case starts from a fresh table set: its tables are created, loaded,
queried and dropped before the next case.

tests/compat/multistage-unsupported.txt lists the comparable queries that
do not pass yet ("File.json | case | query index | reason | sql", index
0-based within the case's "queries" list).  The test fails when a
comparable query NOT listed there fails, and when a listed query passes
(remove it: the list only shrinks).  A query that crashes the server or
does not answer within QUERY_TIMEOUT fails whether listed or not (the
server is restarted so the run goes on).

WB_MS_WRITE=1 rewrites the list from the current failures (keeping the
reasons already written for queries that still fail).
WB_MS_FILTER=substr runs only the files whose name contains substr.
WB_MS_VERBOSE=1 also prints the passing queries.
"""
import datetime
import decimal
import json
import math
import os
import re
import time
from collections import Counter, OrderedDict

import requests

from conftest import EXAMPLES, REPO, ndjson

MS_DIR = EXAMPLES / "multistage-query-tests"
UNSUPPORTED = REPO / "tests" / "compat" / "multistage-unsupported.txt"
QUERY_TIMEOUT = 30
OPTIONS = "useMultiStageEngine=true"
EPS = 1e-4
TABLE_RE = re.compile(r"\{(\w+)\}")
BREAKER = "------"


# -- reading the cases -----------------------------------------------------------

def load_cases(path):
	"""The case map of one file.  Jackson's readValue stops after the first
	JSON value (FromExpressions.json has a stray trailing ','), so do the
	same."""
	text = path.read_text()
	obj, _end = json.JSONDecoder(object_pairs_hook=OrderedDict).raw_decode(text)
	return obj


def replace_tables(case, sql):
	return TABLE_RE.sub(lambda m: "%s_%s" % (case, m.group(1)), sql)


def case_files():
	flt = os.environ.get("WB_MS_FILTER")
	return [p for p in sorted(MS_DIR.glob("*.json")) if not flt or flt.lower() in p.name.lower()]


# -- tables -------------------------------------------------------------------------

def pinot_schema(name, cols, spec, extra):
	dims = []
	for c in cols:
		t = c["type"]
		sv = c.get("isSingleValue", True)
		if t.endswith("[]"):			# "INT[]": an array column
			t, sv = t[:-2], False
		d = {"name": c["name"], "dataType": t}
		if not sv:
			d["singleValueField"] = False
		if c.get("notNull"):
			d["notNull"] = True
		dims.append(d)
	s = {"schemaName": name, "dimensionFieldSpecs": dims,
	     "dateTimeFieldSpecs": [{"name": "ts", "dataType": "LONG",
				     "format": "1:MILLISECONDS:EPOCH", "granularity": "1:SECONDS"}]}
	if spec.get("primaryKeyColumns"):
		s["primaryKeyColumns"] = spec["primaryKeyColumns"]
	if extra.get("enableColumnBasedNullHandling"):
		s["enableColumnBasedNullHandling"] = True
	return s


def table_config(name, spec):
	cfg = {"tableName": name, "tableType": "OFFLINE",
	       "segmentsConfig": {"schemaName": name, "replication": "1"},
	       "tenants": {}, "tableIndexConfig": {"loadMode": "MMAP"}, "metadata": {}}
	if spec.get("isDimTable"):
		cfg["isDimTable"] = True
	return cfg


def drop_table(srv, name):
	try:
		srv.delete("/tables/%s" % name, timeout=QUERY_TIMEOUT)
		srv.delete("/schemas/%s" % name, timeout=QUERY_TIMEOUT)
	except requests.RequestException:
		pass


def setup_case(srv, case, tables, extra):
	"""Creates and loads the case's tables; returns (names, error text
	or None, note or None).  Rows the ingest API rejects do not stop the
	case: the note names them and is shown with any failing query."""
	names, notes = [], []
	now = int(time.time() * 1000)
	for t, spec in tables.items():
		name = "%s_%s" % (case, t)
		names.append(name)
		drop_table(srv, name)
		cols = spec.get("schema", [])
		r = srv.post("/schemas?override=true", data=json.dumps(pinot_schema(name, cols, spec, extra)),
			     headers={"Content-Type": "application/json"}, timeout=QUERY_TIMEOUT)
		if r.status_code != 200:
			return names, "schema of %s rejected: %s" % (t, r.text[:300]), None
		r = srv.post("/tables", data=json.dumps(table_config(name, spec)),
			     headers={"Content-Type": "application/json"}, timeout=QUERY_TIMEOUT)
		if r.status_code != 200:
			return names, "table config of %s rejected: %s" % (t, r.text[:300]), None
		chunks, cur = [], []
		for row in spec.get("inputs", []):
			if len(row) == 1 and row[0] == BREAKER:
				chunks.append(cur)
				cur = []
				continue
			rec = {c["name"]: v for c, v in zip(cols, row) if v is not None}
			rec["ts"] = now
			cur.append(rec)
		chunks.append(cur)
		for i, rows in enumerate(chunks):
			if rows:
				r = srv.post("/tables/%s/ingest?format=ndjson" % name, data=ndjson(rows),
					     timeout=QUERY_TIMEOUT)
				if r.status_code != 200:
					return names, "ingest into %s: HTTP %d %s" % (t, r.status_code, r.text[:300]), None
				j = r.json()
				if j.get("rejected"):
					notes.append("%d row(s) of %s rejected at ingest: %s" % (
						j["rejected"], t, "; ".join(x.get("reason", "") for x in j.get("errors", [])[:2])))
			if i + 1 < len(chunks) and rows:
				r = srv.post("/tables/%s/forceCommit" % name, timeout=QUERY_TIMEOUT)
				if r.status_code != 200:
					return names, "forceCommit of %s: HTTP %d %s" % (t, r.status_code, r.text[:300]), None
	return names, None, "; ".join(notes) or None


# -- Pinot's comparator ----------------------------------------------------------

class Bad:
	"""A cell Pinot's canonicalizeValue would reject (wrong Java type)."""
	def __init__(self, v):
		self.v = v

	def __repr__(self):
		return "<bad %r>" % (self.v,)


def to_number(v):
	if isinstance(v, bool):
		return None
	if isinstance(v, (int, float)):
		return v
	if isinstance(v, str) and v in ("NaN", "Infinity", "-Infinity", "+Infinity"):
		return float(v)
	return None


TS_RE = re.compile(r"^(-?\d{4,})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?$")


def parse_ts(v):
	"""Timestamp.valueOf-like: ('yyyy', ..., nanos) tuple; a number is
	epoch millis (UTC)."""
	if isinstance(v, bool):
		return Bad(v)
	if isinstance(v, (int, float)):
		d = datetime.datetime(1970, 1, 1) + datetime.timedelta(milliseconds=v)
		return (d.year, d.month, d.day, d.hour, d.minute, d.second, d.microsecond * 1000)
	if isinstance(v, str):
		m = TS_RE.match(v.strip())
		if m:
			frac = (m.group(7) or "").ljust(9, "0")
			return tuple(int(x) for x in m.groups()[:6]) + (int(frac),)
	return Bad(v)


def canon(typ, v):
	if v is None:
		return None
	base = typ[:-6] if typ.endswith("_ARRAY") else typ
	if typ.endswith("_ARRAY"):
		if not isinstance(v, list):
			return Bad(v)
		return tuple(canon(base, x) for x in v)
	if typ in ("INT", "LONG"):
		n = to_number(v)
		if n is None or (isinstance(n, float) and not math.isfinite(n)):
			return Bad(v)
		return int(n)
	if typ in ("FLOAT", "DOUBLE"):
		n = to_number(v)
		return Bad(v) if n is None else float(n)
	if typ == "BIG_DECIMAL":
		if isinstance(v, bool):
			return Bad(v)
		try:
			return decimal.Decimal(str(v))
		except decimal.InvalidOperation:
			return Bad(v)
	if typ == "BOOLEAN":
		return v if isinstance(v, bool) else Bad(v)
	if typ == "TIMESTAMP":
		return parse_ts(v)
	if typ == "BYTES":
		return v.lower() if isinstance(v, str) else Bad(v)
	if typ in ("STRING", "JSON"):
		return v if isinstance(v, str) else Bad(v)
	return v if isinstance(v, (str, int, float, bool)) else json.dumps(v, sort_keys=True)


def fuzzy(a, b):
	"""Guava DoubleMath.fuzzyEquals(a, b, EPS), then relative."""
	def fe(x, y):
		return x == y or abs(x - y) <= EPS or (math.isnan(x) and math.isnan(y))
	if fe(a, b):
		return True
	m = max(abs(a), abs(b))
	if m == 0 or math.isinf(m) or math.isnan(m):
		return False
	return fe(a / m, b / m)


def cell_equal(typ, a, b):
	if a is None or b is None:
		return a is None and b is None
	if isinstance(a, Bad) or isinstance(b, Bad):
		return False
	if isinstance(a, tuple) and isinstance(b, tuple) and typ.endswith("_ARRAY"):
		base = typ[:-6]
		return len(a) == len(b) and all(cell_equal(base, x, y) for x, y in zip(a, b))
	if typ in ("FLOAT", "DOUBLE"):
		return fuzzy(a, b)
	return a == b


def sort_key(row):
	def k(v):
		if v is None:
			return (0,)
		if isinstance(v, Bad):
			return (3, repr(v.v))
		if isinstance(v, bool):
			return (1, 0, int(v))
		if isinstance(v, (int, float, decimal.Decimal)):
			return (1, 0, float("-inf") if isinstance(v, float) and math.isnan(v) else v) \
				if not (isinstance(v, float) and math.isnan(v)) else (1, 1, 0)
		if isinstance(v, tuple):
			return (2, tuple(k(x) for x in v))
		return (1, 2, str(v))
	return tuple(k(v) for v in row)


def compare_rows(got, expected, keep_order):
	"""None when compareRowEquals would accept the answer, else why not."""
	rt = got.get("resultTable") or {}
	rows = rt.get("rows") or []
	types = (rt.get("dataSchema") or {}).get("columnDataTypes") or []
	if len(rows) != len(expected):
		return "%d rows, expected %d (got %s; expected %s)" % (
			len(rows), len(expected), json.dumps(rows[:3])[:200], json.dumps(expected[:3])[:200])
	def cz(r):
		return [canon(types[j] if j < len(types) else "", v) for j, v in enumerate(r)]
	a = [cz(r) for r in rows]
	e = [cz(r) for r in expected]
	if not keep_order:
		a.sort(key=sort_key)
		e.sort(key=sort_key)
	for i, (x, y) in enumerate(zip(a, e)):
		if len(x) != len(y):
			return "row %d has %d columns, expected %d" % (i, len(x), len(y))
		for j, (u, v) in enumerate(zip(x, y)):
			if not cell_equal(types[j] if j < len(types) else "", u, v):
				return "row %d col %d (%s): got %r, expected %r" % (
					i, j, types[j] if j < len(types) else "?", u, v)
	return None


# -- running -----------------------------------------------------------------------

def run_query(srv, sql):
	"""The broker response (dict), or a string naming a crash / hang /
	malformed answer."""
	try:
		r = srv.post("/query/sql", json={"sql": sql, "queryOptions": OPTIONS},
			     timeout=QUERY_TIMEOUT)
	except requests.RequestException as e:
		if not srv.alive():
			return "server died"
		return "no answer within %ss: %s" % (QUERY_TIMEOUT, type(e).__name__)
	if not srv.alive():
		return "server died"
	try:
		j = r.json()
	except ValueError:
		return "HTTP %d, not JSON: %r" % (r.status_code, r.text[:300])
	if not isinstance(j, dict) or ("exceptions" not in j and "resultTable" not in j):
		return "HTTP %d, not a broker response: %r" % (r.status_code, r.text[:300])
	return j


def error_of(resp):
	ex = resp.get("exceptions") or []
	if not ex:
		return None
	return str(ex[0].get("message", ex[0]))


def judge(q, resp):
	"""(verdict, detail): verdict is 'pass', 'fail' or 'nc' (not comparable)."""
	err = error_of(resp)
	if q.get("expectedException") is not None:
		if err is None:
			return "fail", "expected an error (Pinot: %r), got %d rows" % (
				q["expectedException"], len((resp.get("resultTable") or {}).get("rows") or []))
		return "pass", err
	if "outputs" not in q or q["outputs"] is None:
		return "nc", err
	if err is not None:
		return "fail", "error: " + err.replace("\n", " ")[:300]
	why = compare_rows(resp, q["outputs"], bool(q.get("keepOutputRowOrder")))
	return ("fail", why) if why else ("pass", None)


# -- the unsupported list -------------------------------------------------------------

def read_unsupported():
	out = OrderedDict()
	if not UNSUPPORTED.exists():
		return out
	for line in UNSUPPORTED.read_text().splitlines():
		t = line.strip()
		if not t or t.startswith("#"):
			continue
		parts = [p.strip() for p in t.split(" | ", 4)]
		if len(parts) >= 4:
			out[(parts[0], parts[1], int(parts[2]))] = parts[3]
	return out


def classify(sql, detail):
	"""A one-line cause for a failing query, from its text and the error:
	"category" or "category: detail"; the list is grouped by category."""
	s = " ".join(sql.split())
	u = s.upper()
	d = detail or ""
	if re.search(r"\bOVER\s*\(", u):
		return "window functions"
	if re.search(r"\bASOF\b", u):
		return "joins: ASOF JOIN"
	if re.search(r"\bJOIN\b", u):
		return "joins"
	if re.search(r"\b(UNION|INTERSECT|EXCEPT|MINUS)\b", u):
		return "set operations (UNION / INTERSECT / EXCEPT)"
	if re.match(r"\s*(SET\s+[^;]*;\s*)*WITH\s", u):
		return "WITH (CTEs)"
	if re.search(r"\b(IN|EXISTS)\s*\(\s*SELECT\b", u):
		return "subqueries: IN / EXISTS (subquery)"
	if "more than one table in FROM" in d:
		return "joins: comma joins (FROM a, b)"
	if "subquery is not supported" in d:
		return "subqueries: scalar / correlated subqueries"
	if "subquery in FROM must have an alias" in d:
		return "subqueries: FROM (subquery) without an alias"
	m = re.search(r"function ([A-Za-z_0-9]+) does not exist", d)
	if m:
		return "missing function: %s" % m.group(1).lower()
	m = re.search(r"function ([A-Za-z_0-9]+) takes (\w+) argument", d)
	if m:
		return "missing function: %s with more arguments than %s" % (m.group(1).lower(), m.group(2))
	if "rejected at ingest" in d and "out of range" in d:
		return ("type differences: BIG_DECIMAL is stored as DOUBLE, so the test's values beyond "
			"the double range are rejected at ingest and the aggregates differ")
	m = re.match(r"expected an error \(Pinot: (.*)\), got", d)
	if m:
		return "errors Pinot raises that Waybill does not: %s" % m.group(1)
	m = re.search(r"SQLParsingError: (.+?) (?:is|are) not supported", d)
	if m:
		return "missing syntax: %s" % m.group(1)
	if d.startswith("error:"):
		return "other errors: " + re.sub(r"\s+", " ", d[6:].strip())[:140]
	return "wrong result: " + d[:160]


def category(reason):
	return reason.split(":", 1)[0].strip()


def write_unsupported(failed, old):
	lines = ["# Pinot multistage query tests (pinot-examples/multistage-query-tests) that",
		 "# Waybill does not pass yet; checked by tests/integration/test_multistage.py.",
		 "# Format: file | case | query index (0-based in the case's queries) | reason | sql",
		 "# Grouped by reason, most common first.  Remove a line when its query passes:",
		 "# the test fails on listed queries that pass, so this list only shrinks.",
		 "# (WB_MS_WRITE=1 rewrites it from the current failures, keeping old reasons.)", ""]
	rows = []
	for key, sql, detail in failed:
		reason = old.get(key) or classify(sql, detail)
		rows.append((reason, key, sql))
	cnt = Counter(category(r[0]) for r in rows)
	rows.sort(key=lambda r: (-cnt[category(r[0])], category(r[0]), r[0], r[1]))
	cur = None
	for reason, key, sql in rows:
		if category(reason) != cur:
			cur = category(reason)
			lines.append("")
			lines.append("# -- %s (%d)" % (cur, cnt[cur]))
		lines.append("%s | %s | %d | %s | %s" % (key[0], key[1], key[2], reason.replace("|", "/"),
							  " ".join(sql.split())))
	UNSUPPORTED.write_text("\n".join(lines) + "\n")


def test_multistage_queries(module_server_factory):
	srv = module_server_factory()
	unsupported = read_unsupported()
	passed, failed, fatal, nc, ignored = [], [], [], [], []
	msg_match = exc_total = 0
	t0 = time.monotonic()
	for path in case_files():
		fname = path.name
		for case, c in load_cases(path).items():
			queries = c.get("queries") or []
			if c.get("ignored"):
				ignored.extend((fname, case, i) for i in range(len(queries)))
				continue
			names, setup_err, note = setup_case(srv, case, c.get("tables") or {}, c.get("extraProps") or {})
			for i, q in enumerate(queries):
				key = (fname, case, i)
				if q.get("ignored"):
					ignored.append(key)
					continue
				sql = replace_tables(case, q["sql"])
				comparable = q.get("outputs") is not None or q.get("expectedException") is not None
				if setup_err:
					(failed if comparable else nc).append((key, sql, "setup: " + setup_err))
					continue
				resp = run_query(srv, sql)
				if isinstance(resp, str):
					fatal.append((key, sql, resp))
					if not srv.alive():
						srv.kill9()
						srv.start()
					continue
				verdict, detail = judge(q, resp)
				if verdict == "pass":
					passed.append((key, sql, None))
					if q.get("expectedException") is not None:
						exc_total += 1
						if re.fullmatch(q["expectedException"], detail or ""):
							msg_match += 1
				elif verdict == "fail":
					failed.append((key, sql, detail + (" [%s]" % note if note else "")))
				else:
					nc.append((key, sql, detail))
			for n in names:
				drop_table(srv, n)
	elapsed = time.monotonic() - t0
	comparable = len(passed) + len(failed) + len(fatal)
	listed_fail = [f for f in failed if f[0] in unsupported]
	print("\nPinot multistage query tests: %d of %d comparable queries pass (%d with expected rows, "
	      "%d expected errors); %d listed as "
	      "unsupported; %d not comparable (H2 oracle, no outputs; run for crashes only); "
	      "%d ignored by Pinot; %d crashed/hung (%.1f s)" % (
		      len(passed), comparable, len(passed) - exc_total, exc_total, len(listed_fail), len(nc), len(ignored), len(fatal), elapsed))
	print("  expected-exception queries answered with an error: %d (message also matches "
	      "Pinot's regex: %d)" % (exc_total, msg_match))
	nc_err = [classify(s, "error: " + d) for k, s, d in nc if d]
	print("  not comparable: %d answered, %d answered with an error; errors by cause: %s" % (
		len(nc) - len(nc_err), len(nc_err), ", ".join(
			"%s (%d)" % (c, n) for c, n in Counter(category(r) for r in nc_err).most_common())))
	print("  comparable failures by cause (tests/compat/multistage-unsupported.txt):")
	reasons = [unsupported.get(k) or classify(s, d) for k, s, d in failed]
	causes = Counter(category(r) for r in reasons)
	for cat, n in causes.most_common():
		sub = Counter(r.split(":", 1)[1].strip() for r in reasons if category(r) == cat and ":" in r)
		print("  %4d  %s%s" % (n, cat, (": " + ", ".join("%s (%d)" % (k[:80], v) for k, v in sub.most_common()))
				       if sub else ""))
	if os.environ.get("WB_MS_VERBOSE") == "1":
		for k, s, _ in passed:
			print("  PASS %s | %s | %d  %s" % (k + (" ".join(s.split())[:120],)))
	if os.environ.get("WB_MS_WRITE") == "1":
		write_unsupported(failed, unsupported)
	assert not fatal, "queries that crashed or hung the server:\n" + "\n".join(
		"  %s %s\n    -> %s" % ("|".join(map(str, k)), s[:200], w) for k, s, w in fatal)
	new_fail = [f for f in failed if f[0] not in unsupported]
	pass_keys = {p[0] for p in passed}
	now_pass = [k for k in unsupported if k in pass_keys]
	msg = []
	if new_fail:
		msg.append("queries failing that are not in %s:\n%s" % (UNSUPPORTED, "\n".join(
			"  %s %s\n    -> %s" % (" | ".join(map(str, k)), s[:200], w) for k, s, w in new_fail)))
	if now_pass:
		msg.append("queries now passing: remove them from %s:\n%s" % (UNSUPPORTED, "\n".join(
			"  %s | %s | %d" % k for k in now_pass)))
	assert not msg, "\n".join(msg)
	assert srv.alive() and srv.get("/health").text.startswith("OK")
