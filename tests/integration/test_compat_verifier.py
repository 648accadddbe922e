"""Pinot's compatibility-verifier suites, run against one Waybill server.

What it does, as Pinot's verifier (pinot-compatibility-verifier) does:
  * creates the schemas and table configs of sample-test-suite: FeatureTest1
    (OFFLINE) and the REALTIME FeatureTest2 / FeatureTest3.  Kafka is not
    used: the rows a PRODUCE step would publish are pushed over
    POST /tables/{name}/ingest as CSV instead (same rows, same order; the
    file is cycled until `numRows` rows are sent, as StreamOp does);
  * loads the CSV data honouring recordReaderConfig*.json (comment marker,
    header, delimiter, multi-value delimiter), with __GENERATION_NUMBER__
    replaced by 0;
  * runs every query of the .queries files (same placeholder) and compares
    the answer with the broker response on the matching line of the
    .results file using the rules of Pinot's SqlResultComparator:
      - any exception in the answer fails;
      - both answers empty (numDocsScanned 0 or no rows) passes;
      - column names must match exactly; column types too, where an
        expected entry "DOUBLE,LONG" accepts either type;
      - FLOAT/DOUBLE cells (by the expected column type) are rounded to 2
        decimals; other cells compare as JSON values (10 != 10.0);
      - "isSuperset": the answer's rows must be a subset of the expected;
      - otherwise same row count; rows compared in order for ORDER BY
        queries (rows grouped by ORDER BY values, the last group's other
        columns not compared), as sorted lists otherwise;
      - for non-selection queries numDocsScanned must be <= expected; when
        the expected has numEntriesScannedInFilter the answer must not be
        higher; when it has numConsumingSegmentsQueried it must be equal;
  * multi-stage-query-engine-test-suite (same tables, same data): queries
    sent with useMultiStageEngine=true and compared like Pinot's
    areMultiStageQueriesEqual (schema, row count, rows as sorted lists).

tests/compat/compat-verifier-unsupported.txt lists the queries that do not
pass yet ("file:line | reason | query").  The test fails when a query NOT
listed there fails, and when a listed query passes (remove it from the
list: it must only shrink).  A query that crashes the server or does not
answer within QUERY_TIMEOUT fails whether listed or not.

WB_COMPAT_WRITE=1 rewrites the list from the current failures (keeping the
reasons already written for queries that still fail).
"""
import json
import math
import os
import re
from pathlib import Path

import pytest
import requests

from conftest import EXAMPLES, REPO

CV = EXAMPLES / "compatibility-verifier"
SAMPLE = CV / "sample-test-suite" / "config"
MULTI = CV / "multi-stage-query-engine-test-suite" / "config"
UNSUPPORTED = REPO / "tests" / "compat" / "compat-verifier-unsupported.txt"
GEN = "0"
QUERY_TIMEOUT = 30
# Pinot's defaults, which the recorded responses assume: implicit LIMIT 10
# and null handling off.
OPTIONS = "pinotDefaultLimit=true;enableNullHandling=false"
MS_OPTIONS = OPTIONS + ";useMultiStageEngine=true"

# (table, schema file, table config file, data file, record reader config, rows)
# rows: None = the whole file once (segment UPLOAD); n = PRODUCE numRows.
TABLES = [
	("FeatureTest1", "FeatureTest1-schema.json", "feature-test-1.json",
	 "data/FeatureTest1-data-00.csv", "data/recordReaderConfig.json", None),
	("FeatureTest2", "FeatureTest2-schema.json", "feature-test-2-realtime.json",
	 "data/FeatureTest2-data-realtime-00.csv", "data/recordReaderConfig.json", 66),
	("FeatureTest3", "FeatureTest3-schema.json", "feature-test-3-realtime.json",
	 "data/FeatureTest3-data-realtime-00.csv", "data/recordReaderConfig-FeatureTest3.json", 300),
]

# (suite dir, queries file, results file, multi-stage?)
QUERY_FILES = [
	(SAMPLE, "feature-test-1-sql.queries", "feature-test-1-rest-sql.results", False),
	(SAMPLE, "feature-test-2-sql-realtime.queries", "feature-test-2-sql-realtime.results", False),
	(SAMPLE, "feature-test-3-sql-realtime.queries", "feature-test-3-sql-realtime.results", False),
	(MULTI, "feature-test-multi-stage.queries", "feature-test-multi-stage.results", True),
]

AGG_NAMES = {
	"count", "sum", "min", "max", "avg", "minmaxrange", "distinctcount",
	"distinctcountbitmap", "distinctcounthll", "distinctcountrawhll",
	"distinctcountthetasketch", "distinctcountrawthetasketch", "distinctsum",
	"distinctavg", "percentile", "percentileest", "percentiletdigest",
	"percentilekll", "percentilesmarttdigest", "mode", "lastwithtime",
	"firstwithtime", "histogram", "covar_pop", "covar_samp", "var_pop",
	"var_samp", "stddev_pop", "stddev_samp", "skewness", "kurtosis",
	"booland", "boolor", "sumprecision", "arrayagg", "listagg",
	"countmv", "summv", "minmv", "maxmv", "avgmv", "minmaxrangemv",
	"distinctcountmv", "distinctcountbitmapmv", "distinctcounthllmv",
	"distinctcountrawhllmv", "distinctsummv", "distinctavgmv",
	"percentilemv", "percentileestmv", "percentiletdigestmv",
	"percentilekllmv", "any_value", "anyvalue",
}


# -- reading the suite --------------------------------------------------------

def ignorable(line):
	t = line.strip()
	return not t or t.startswith("#")


def queries_with_lines(path):
	"""[(1-based line number, query)] as QueryOp reads them."""
	return [(i + 1, l.replace("__GENERATION_NUMBER__", GEN))
		for i, l in enumerate(path.read_text().splitlines()) if not ignorable(l)]


def results_of(path):
	return [l for l in path.read_text().splitlines() if not ignorable(l)]


def split_csv_line(line, delim):
	"""Fields of one CSV line (RFC 4180 quotes); the data has no newlines
	inside quotes."""
	out, cur, q, i = [], [], False, 0
	while i < len(line):
		c = line[i]
		if q:
			if c == '"':
				if i + 1 < len(line) and line[i + 1] == '"':
					cur.append('"')
					i += 1
				else:
					q = False
			else:
				cur.append(c)
		elif c == '"':
			q = True
		elif c == delim:
			out.append("".join(cur))
			cur = []
		else:
			cur.append(c)
		i += 1
	out.append("".join(cur))
	return out


def csv_quote(v, delim):
	if any(c in v for c in (delim, '"', "\n", "\r")):
		return '"' + v.replace('"', '""') + '"'
	return v


def csv_body(data_path, rr, num_rows):
	"""The CSV rows Pinot's record reader would read from data_path, as a
	body for the push API (header=false, columns= the configured header).
	Fields past the header (trailing comments in the data) are dropped, as
	the record reader ignores them; the multi-value delimiter is turned
	into the push API's ';'."""
	delim = rr.get("delimiter", ",")
	if delim == "\\t":
		delim = "\t"
	mv = rr.get("multiValueDelimiter", ";")
	comment = rr.get("commentMarker")
	header = [h.strip() for h in rr["header"].split(delim)] if rr.get("header") else None
	lines = [l for l in data_path.read_text().splitlines()
		 if l.strip() and not (comment and l.startswith(comment))]
	if header is None:
		header = split_csv_line(lines[0], delim)
		lines = lines[1:]
	rows = []
	for l in lines:
		f = split_csv_line(l.replace("__GENERATION_NUMBER__", GEN), delim)[:len(header)]
		if mv != ";":
			f = [x.replace(mv, ";") for x in f]
		rows.append(",".join(csv_quote(x, ",") for x in f))
	if num_rows is not None:
		rows = [rows[i % len(rows)] for i in range(num_rows)]
	return header, "\n".join(rows) + "\n"


def load_tables(srv):
	for name, sch, cfg, data, rrf, num_rows in TABLES:
		srv.add_schema((SAMPLE / sch).read_bytes(), override=True)
		srv.add_table((SAMPLE / cfg).read_bytes())
		rr = json.loads((SAMPLE / rrf).read_text())
		header, body = csv_body(SAMPLE / data, rr, num_rows)
		r = srv.post("/tables/%s/ingest?format=csv&header=false&columns=%s"
			     % (name, ",".join(header)), data=body.encode(), timeout=300)
		assert r.status_code == 200, "ingest %s: %d %s" % (name, r.status_code, r.text[:2000])
		j = r.json()
		assert j["rejected"] == 0, "ingest %s: %s" % (name, j)
		want = j["accepted"]
		got = srv.query("SELECT count(*) FROM %s" % name)["resultTable"]["rows"][0][0]
		assert got == want, "%s: %s rows visible, %s accepted" % (name, got, want)


# -- Pinot's comparator --------------------------------------------------------

def top_level_split(s, sep=","):
	out, depth, cur, q = [], 0, [], None
	for c in s:
		if q:
			cur.append(c)
			if c == q:
				q = None
			continue
		if c in "'\"":
			q = c
		elif c == "(":
			depth += 1
		elif c == ")":
			depth -= 1
		elif c == sep and depth == 0:
			out.append("".join(cur).strip())
			cur = []
			continue
		cur.append(c)
	if "".join(cur).strip():
		out.append("".join(cur).strip())
	return out


def find_keyword(sql, kw, start=0):
	"""Index of keyword kw (regex) at parenthesis depth 0 outside quotes."""
	depth, q, i = 0, None, start
	pat = re.compile(r"\b" + kw + r"\b", re.I)
	while i < len(sql):
		c = sql[i]
		if q:
			if c == q:
				q = None
		elif c in "'\"":
			q = c
		elif c == "(":
			depth += 1
		elif c == ")":
			depth -= 1
		elif depth == 0:
			m = pat.match(sql, i)
			if m and (i == 0 or not (sql[i - 1].isalnum() or sql[i - 1] == "_")):
				return i
		i += 1
	return -1


def select_list(sql):
	s = find_keyword(sql, "select")
	f = find_keyword(sql, "from", s + 6)
	body = sql[s + 6:f if f >= 0 else len(sql)].strip()
	if re.match(r"distinct\b", body, re.I):
		body = body[8:]
	return top_level_split(body)


def order_list(sql):
	o = find_keyword(sql, r"order\s+by")
	if o < 0:
		return []
	rest = sql[o:]
	rest = re.sub(r"^order\s+by", "", rest, flags=re.I)
	for kw in ("limit", "offset", "option"):
		k = find_keyword(rest, kw)
		if k >= 0:
			rest = rest[:k]
	items = []
	for it in top_level_split(rest):
		it = re.sub(r"\s+(asc|desc)(\s+nulls\s+(first|last))?\s*$", "", it.strip(), flags=re.I)
		items.append(it)
	return items


def norm_expr(e):
	return re.sub(r"\s+", "", e).lower()


def is_order_by(sql):
	return bool(order_list(sql))


def is_selection(sql):
	if find_keyword(sql, r"group\s+by") >= 0:
		return False
	for it in select_list(sql):
		m = re.match(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*\(", it)
		if m and m.group(1).lower() in AGG_NAMES:
			return False
	return True


def order_by_indexes(sql):
	"""SqlResultComparator.getOrderByColumnIndexs: each ORDER BY item is
	looked up in the select list from where the previous one was found."""
	sel = [norm_expr(x) for x in select_list(sql)]
	idx, j = [], 0
	for o in order_list(sql):
		o = norm_expr(o)
		while j < len(sel) and sel[j] != o:
			j += 1
		idx.append(j)
	return idx


def java_round(x):
	"""Java's Math.round(double): half up, NaN -> 0, clamped to the long
	range (so huge doubles all compare equal, as in Pinot's comparator)."""
	if math.isnan(x):
		return 0
	if x >= 2.0 ** 63:
		return 2 ** 63 - 1
	if x < -2.0 ** 63:
		return -2 ** 63
	return int(math.floor(x + 0.5))


def cell_key(v, typ):
	"""The serialized cell as Pinot compares it."""
	if typ in ("FLOAT", "DOUBLE"):
		try:
			return repr(java_round(float(v) * 100) / 100.0)
		except (TypeError, ValueError):
			return "<bad number %r>" % (v,)
	if typ in ("FLOAT_ARRAY", "DOUBLE_ARRAY") and isinstance(v, list):
		out = []
		for x in v:
			try:
				# Pinot divides by the integer 100 here (Java long division)
				r = java_round(float(x) * 100)
				out.append(repr(int(r / 100)))
			except (TypeError, ValueError):
				out.append("<bad number %r>" % (x,))
		return "[" + ",".join(out) + "]"
	return json.dumps(v, sort_keys=True)


def row_keys(rows, types):
	return [[cell_key(c, types[j] if j < len(types) else "") for j, c in enumerate(r)]
		for r in rows]


def is_empty(resp):
	rt = resp.get("resultTable")
	return resp.get("numDocsScanned", 0) == 0 or rt is None or not rt.get("rows")


def schema_diff(got, want):
	gs, ws = got["resultTable"]["dataSchema"], want["resultTable"]["dataSchema"]
	if gs["columnNames"] != ws["columnNames"]:
		return "column names %s != %s" % (gs["columnNames"], ws["columnNames"])
	gt, wt = gs["columnDataTypes"], ws["columnDataTypes"]
	if len(gt) != len(wt) or any(g not in w.split(",") for g, w in zip(gt, wt)):
		return "column types %s != %s" % (gt, wt)
	return None


def compare(sql, got, want, multi_stage=False):
	"""None when Pinot's comparator accepts `got`, else the difference."""
	if got.get("exceptions"):
		return "error: %s" % got["exceptions"][0].get("message", "")[:300].replace("\n", " ")
	if is_empty(got) and is_empty(want):
		return None
	if "resultTable" not in got:
		return "no resultTable"
	d = schema_diff(got, want)
	if d:
		return d
	types = [t.split(",")[0] for t in want["resultTable"]["dataSchema"]["columnDataTypes"]]
	gr = row_keys(got["resultTable"]["rows"], types)
	wr = row_keys(want["resultTable"]["rows"], types)
	gs = [json.dumps(r) for r in gr]
	ws = [json.dumps(r) for r in wr]
	if not multi_stage and want.get("isSuperset"):
		missing = [g for g in gs if g not in ws]
		return "rows not in the expected set: %s" % missing[:3] if missing else None
	if len(gr) != len(wr):
		return "%d rows, expected %d" % (len(gr), len(wr))
	if multi_stage or not is_order_by(sql):
		if sorted(gs) != sorted(ws):
			bad = sorted(set(gs) - set(ws))[:2]
			return "rows differ (unordered): got %s; expected %s" % (
				bad, sorted(set(ws) - set(gs))[:2])
		ok = True
	else:
		ok = gs == ws or ordered_equal(gr, wr, order_by_indexes(sql))
		if not ok:
			for a, b in zip(gs, ws):
				if a != b:
					return "rows differ (ordered): got %s, expected %s" % (a, b)
	if multi_stage:
		return None
	if not is_selection(sql) and got.get("numDocsScanned", 0) > want.get("numDocsScanned", 0):
		return "numDocsScanned %s > %s" % (got.get("numDocsScanned"), want.get("numDocsScanned"))
	if "numEntriesScannedInFilter" in want:
		if "numEntriesScannedInFilter" not in got:
			return "numEntriesScannedInFilter missing"
		if got["numEntriesScannedInFilter"] > want["numEntriesScannedInFilter"]:
			return "numEntriesScannedInFilter %s > %s" % (
				got["numEntriesScannedInFilter"], want["numEntriesScannedInFilter"])
	if "numConsumingSegmentsQueried" in want:
		if got.get("numConsumingSegmentsQueried") != want["numConsumingSegmentsQueried"]:
			return "numConsumingSegmentsQueried %s != %s" % (
				got.get("numConsumingSegmentsQueried"), want["numConsumingSegmentsQueried"])
	return None


def ordered_equal(gr, wr, idx):
	"""areOrderByQueryElementsEqual: same groups of ORDER BY values in the
	same order; within a group the other columns as multisets, except the
	last group."""
	def split(rows):
		groups = {}
		last = None
		for r in rows:
			k = json.dumps([r[j] for j in range(len(r)) if j in idx])
			o = json.dumps([r[j] for j in range(len(r)) if j not in idx])
			groups.setdefault(k, []).append(o)
			last = k
		return groups, last
	ga, last = split(gr)
	gw, _ = split(wr)
	if list(ga.keys()) != list(gw.keys()):
		return False
	for k, v in ga.items():
		if k != last and sorted(v) != sorted(gw[k]):
			return False
	return True


# -- the unsupported list ---------------------------------------------------------

def read_unsupported():
	out = {}
	if not UNSUPPORTED.exists():
		return out
	for line in UNSUPPORTED.read_text().splitlines():
		if ignorable(line):
			continue
		parts = [p.strip() for p in line.split(" | ", 2)]
		assert len(parts) == 3, "%s: bad line %r" % (UNSUPPORTED, line)
		out[parts[0]] = (parts[1], parts[2])
	return out


def write_unsupported(failures, old):
	lines = [
		"# Queries of Pinot's compatibility-verifier suites that Waybill does not",
		"# answer like Pinot yet (checked by tests/integration/test_compat_verifier.py).",
		"# Format: queries-file:line | reason | query (with __GENERATION_NUMBER__ = 0).",
		"# Remove a line when its query passes: the test fails on listed queries",
		"# that pass, so this list only shrinks.",
		"",
	]
	for key, q, why in failures:
		reason = old[key][0] if key in old else why
		lines.append("%s | %s | %s" % (key, reason, q))
	UNSUPPORTED.parent.mkdir(parents=True, exist_ok=True)
	UNSUPPORTED.write_text("\n".join(lines) + "\n")


# -- the test ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def loaded(module_server_factory):
	srv = module_server_factory()
	load_tables(srv)
	return srv


def run_query(srv, sql, options):
	"""The broker response, or a string saying how the server failed."""
	try:
		r = srv.post("/query/sql", json={"sql": sql, "queryOptions": options},
			     timeout=QUERY_TIMEOUT)
	except requests.RequestException as e:
		return "no answer within %ss: %s" % (QUERY_TIMEOUT, e)
	if not srv.alive():
		return "server died"
	try:
		j = r.json()
	except ValueError:
		return "HTTP %d, not JSON: %r" % (r.status_code, r.text[:300])
	if not isinstance(j, dict) or "exceptions" not in j:
		return "HTTP %d, not a broker response: %r" % (r.status_code, r.text[:300])
	return j


def test_compat_verifier_suites(loaded):
	srv = loaded
	unsupported = read_unsupported()
	passed, failed, fatal = [], [], []
	total = 0
	for suite, qf, rf, ms in QUERY_FILES:
		qs = queries_with_lines(suite / "queries" / qf)
		rs = results_of(suite / "query-results" / rf)
		for n, ((line, sql), res) in enumerate(zip(qs, rs)):
			key = "%s:%d" % (qf, line)
			total += 1
			want = json.loads(res.replace("__GENERATION_NUMBER__", GEN))
			got = run_query(srv, sql, MS_OPTIONS if ms else OPTIONS)
			if isinstance(got, str):
				fatal.append((key, sql, got))
				if not srv.alive():
					break
				continue
			why = compare(sql, got, want, ms)
			(failed if why else passed).append((key, sql, why))
		# Queries past the end of the results file are not checked (QueryOp
		# would fail them); count them as failures with a clear reason.
		for line, sql in qs[len(rs):]:
			total += 1
			failed.append(("%s:%d" % (qf, line), sql, "no recorded result in %s" % rf))
	assert not fatal, "queries that crashed or hung the server:\n" + "\n".join(
		"  %s %s\n    -> %s" % f for f in fatal)
	assert srv.alive() and srv.get("/health").text.strip() == "OK"

	print("\nPinot compatibility-verifier: %d of %d queries match Pinot" % (len(passed), total))
	if os.environ.get("WB_COMPAT_WRITE") == "1":
		write_unsupported(failed, unsupported)
	new_fail = [f for f in failed if f[0] not in unsupported]
	now_pass = [p for p in passed if p[0] in unsupported]
	for key, sql, why in failed:
		print("  FAIL %s %s\n      -> %s" % (key, sql[:160], why))
	msg = []
	if new_fail:
		msg.append("queries failing that are not in %s:\n%s" % (UNSUPPORTED, "\n".join(
			"  %s %s\n    -> %s" % f for f in new_fail)))
	if now_pass:
		msg.append("queries now passing: remove them from %s:\n%s" % (UNSUPPORTED, "\n".join(
			"  %s %s" % (k, q[:160]) for k, q, _ in now_pass)))
	assert not msg, "\n".join(msg)
