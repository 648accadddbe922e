"""Pinot's compatibility-verifier suite, run against Waybill.

Loads FeatureTest1 exactly as Pinot's verifier does (its schema, table
config and CSV data with the record-reader settings: '#' comment lines, the
header given in recordReaderConfig.json, __GENERATION_NUMBER__ = 0), runs
every query of feature-test-1-sql.queries and compares with the recorded
Pinot broker response on the same line of feature-test-1-rest-sql.results,
using the rules of Pinot's SqlResultComparator: FLOAT/DOUBLE rounded to 2
decimals, a "DOUBLE,LONG" expected type accepts either, row order compared
only when the query has ORDER BY, exceptions must match in presence.

Waybill implements a subset of Pinot's SQL so far (see docs/sql.md), so
this test (1) requires every query in PASSING to match -- a regression
guard that grows as the SQL surface grows -- and (2) prints the overall
pass rate.  Queries that use functions Waybill does not have yet must fail
with an error response, never crash the server.
"""
import json
import re

import pytest

from conftest import EXAMPLES

SUITE = EXAMPLES / "compatibility-verifier/sample-test-suite/config"

# Queries (0-based index among the non-comment query lines) that must
# match Pinot.  Taken from a run; add to it as the SQL surface grows.
PASSING = [0, 1, 2, 3, 4, 6, 7, 8, 10, 11, 12, 19, 20, 21, 22, 23, 24, 29, 59, 61, 62, 63, 64, 65]


def lines_of(path):
	out = []
	for line in path.read_text().splitlines():
		if line.startswith("#") or not line.strip():
			continue
		out.append(line)
	return out


def load_feature_test_1(srv):
	srv.add_schema((SUITE / "FeatureTest1-schema.json").read_bytes(), override=True)
	srv.add_table((SUITE / "feature-test-1.json").read_bytes())
	rr = json.loads((SUITE / "data/recordReaderConfig.json").read_text())
	header = rr["header"]
	total = 0
	for f in [SUITE / "data/FeatureTest1-data-00.csv"]:	# what the suite uploads
		body = "\n".join(l for l in f.read_text().splitlines()
				 if not l.startswith(rr.get("commentMarker", "#")))
		body = body.replace("__GENERATION_NUMBER__", "0")
		r = srv.post("/tables/FeatureTest1/ingest?format=csv&header=false&columns=" + header,
			     data=body.encode())
		assert r.status_code == 200, r.text
		j = r.json()
		assert j["rejected"] == 0, j
		total += j["accepted"]
	return total


def norm_cell(v, types):
	if isinstance(v, float):
		return round(v, 2)
	if isinstance(v, list):
		return [norm_cell(x, types) for x in v]
	return v


def numeric_equal(a, b):
	if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
		return round(float(a), 2) == round(float(b), 2)
	if isinstance(a, str) and isinstance(b, (int, float)):
		try:
			return round(float(a), 2) == round(float(b), 2)
		except ValueError:
			return False
	if isinstance(a, list) and isinstance(b, list):
		return len(a) == len(b) and all(numeric_equal(x, y) for x, y in zip(a, b))
	return a == b


def compare(sql, got, want):
	"""Returns None when equal, else a reason."""
	if want.get("exceptions"):
		return None if got.get("exceptions") else "expected an exception"
	if got.get("exceptions"):
		return "error: %s" % got["exceptions"][0].get("message", "")[:200]
	wt, gt = want.get("resultTable"), got.get("resultTable")
	if wt is None:
		return None
	if gt is None:
		return "no resultTable"
	wn, gn = wt["dataSchema"]["columnNames"], gt["dataSchema"]["columnNames"]
	if len(wn) != len(gn):
		return "columns %r != %r" % (gn, wn)
	wtypes = wt["dataSchema"]["columnDataTypes"]
	gtypes = gt["dataSchema"]["columnDataTypes"]
	for w, g in zip(wtypes, gtypes):
		if g not in w.split(","):
			# numbers may differ in width (INT vs LONG) when values agree
			if not ({g, w} <= {"INT", "LONG", "FLOAT", "DOUBLE"}):
				return "type %s != %s" % (g, w)
	wr, gr = wt["rows"], gt["rows"]
	if len(wr) != len(gr):
		return "%d rows != %d" % (len(gr), len(wr))
	ordered = re.search(r"\border\s+by\b", sql, re.I) is not None
	if not ordered:
		key = lambda r: json.dumps(norm_cell(r, None), sort_keys=True)
		wr, gr = sorted(wr, key=key), sorted(gr, key=key)
	for a, b in zip(gr, wr):
		if not all(numeric_equal(x, y) for x, y in zip(a, b)):
			return "row %r != %r" % (a, b)
	return None


def test_feature_test_1_queries(make_server):
	srv = make_server()
	n = load_feature_test_1(srv)
	assert n == srv.count("FeatureTest1")
	queries = [q.replace("__GENERATION_NUMBER__", "0")
		   for q in lines_of(SUITE / "queries/feature-test-1-sql.queries")]
	results = [json.loads(l) for l in lines_of(SUITE / "query-results/feature-test-1-rest-sql.results")]
	assert len(queries) == len(results)
	passed, failed = [], []
	for i, (q, want) in enumerate(zip(queries, results)):
		got = srv.query(q, options="enableNullHandling=false")	# as Pinot ran them
		why = compare(q, got, want)
		(failed if why else passed).append((i, q, why))
	assert srv.get("/health").text.strip() == "OK"
	print("passing:", [i for i, _, _ in passed])
	print("\nPinot compatibility-verifier FeatureTest1: %d/%d queries match Pinot"
	      % (len(passed), len(queries)))
	for i, q, why in failed:
		print("  #%d %s\n      -> %s" % (i, q[:150], why))
	ok = {i for i, _, _ in passed}
	lost = [(i, q, why) for i, q, why in failed if i in PASSING]
	assert not lost, "queries that matched Pinot before no longer do: %r" % lost
	assert ok >= set(PASSING)
