"""LOOKUP() over Pinot's example data: the userGroupsDim dimension table
(batch/lookup) decorating the userFactEvents fact table (batch/colocated).

The expected answers are computed here from the CSV files: the dimension
rows are a dict keyed by userUUID filled in ingestion order (p0 .. p7),
so the last row of a key wins, as in Waybill and Pinot; fact rows whose
user is missing get NULL.  userGroupsDim holds 19 users more than once,
some across files, so a plain join would multiply fact rows.
"""
import csv
import json
from collections import defaultdict

import pytest

from conftest import EXAMPLES, simple_table_config

BATCH = EXAMPLES / "pinot-tools-examples" / "batch"
DIM = BATCH / "lookup" / "userGroupsDim"
FACT = BATCH / "colocated" / "userFactEvents"

pytestmark = pytest.mark.skipif(not DIM.exists() or not FACT.exists(),
				reason="pinot-examples not available")


def parts(folder):
	return sorted((folder / "rawdata").glob("p*.csv"))


def read_csv(p):
	with open(p, newline="") as f:
		return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def loaded(server):
	with open(DIM / "userGroupsDim_schema.json", "rb") as f:
		server.add_schema(f.read())
	with open(DIM / "userGroupsDim_offline_table_config.json", "rb") as f:
		server.add_table(f.read())
	with open(FACT / "userFactEvents_schema.json", "rb") as f:
		server.add_schema(f.read())
	server.add_table(simple_table_config("userFactEvents", "OFFLINE"))
	groups = {}
	for p in parts(DIM):
		server.ingest("userGroupsDim", p.read_bytes(), fmt="csv")
		for r in read_csv(p):
			groups[r["userUUID"]] = r["groupUUID"]
	facts = []
	for p in parts(FACT):
		server.ingest("userFactEvents", p.read_bytes(), fmt="csv")
		facts.extend(read_csv(p))
	assert server.count("userFactEvents") == len(facts)
	return server, groups, facts


def test_group_by_lookup(loaded):
	srv, groups, facts = loaded
	want = defaultdict(lambda: [0, 0.0])
	for r in facts:
		g = groups.get(r["userUUID"])
		want[g][0] += 1
		want[g][1] += float(r["tripAmount"])
	rows = srv.rows("SELECT LOOKUP('userGroupsDim', 'groupUUID', 'userUUID', userUUID) AS g, "
			"count(*) AS c, sum(tripAmount) AS s FROM userFactEvents GROUP BY g ORDER BY g LIMIT 1000")
	got = {r[0]: (r[1], r[2]) for r in rows}
	assert set(got) == set(want)
	for g, (c, s) in want.items():
		assert got[g][0] == c, g
		assert got[g][1] == pytest.approx(s, rel=1e-9), g
	# the fact rows are neither lost nor multiplied
	assert sum(c for c, _ in got.values()) == len(facts)


def test_row_values_and_column_name(loaded):
	srv, groups, facts = loaded
	resp = srv.query("SELECT userUUID, LOOKUP('userGroupsDim', 'groupUUID', 'userUUID', userUUID) "
			 "FROM userFactEvents WHERE userUUID IN ('user-1', 'user-6', 'user-7', 'user-100') "
			 "ORDER BY userUUID LIMIT 100000")
	assert not resp.get("exceptions"), resp.get("exceptions")
	names = resp["resultTable"]["dataSchema"]["columnNames"]
	assert names == ["userUUID", "lookup('userGroupsDim','groupUUID','userUUID',userUUID)"]
	want = sorted((r["userUUID"], groups.get(r["userUUID"])) for r in facts
		      if r["userUUID"] in ("user-1", "user-6", "user-7", "user-100"))
	assert [tuple(r) for r in resp["resultTable"]["rows"]] == want
	assert ("user-100", None) in want and ("user-1", "group-2") in want


def test_filter_on_lookup(loaded):
	srv, groups, facts = loaded
	want = sum(1 for r in facts if groups.get(r["userUUID"]) == "group-1")
	got = srv.scalar("SELECT count(*) FROM userFactEvents "
			 "WHERE LOOKUP('userGroupsDim', 'groupUUID', 'userUUID', userUUID) = 'group-1'")
	assert got == want
	missing = sum(1 for r in facts if r["userUUID"] not in groups)
	got = srv.scalar("SELECT count(*) FROM userFactEvents "
			 "WHERE LOOKUP('userGroupsDim', 'groupUUID', 'userUUID', userUUID) IS NULL")
	assert got == missing


@pytest.mark.parametrize("sql,code,word", [
	("SELECT LOOKUP('noSuchDim', 'groupUUID', 'userUUID', userUUID) FROM userFactEvents", 190, "noSuchDim"),
	("SELECT LOOKUP('userGroupsDim', 'nope', 'userUUID', userUUID) FROM userFactEvents", 710, "nope"),
	("SELECT LOOKUP('userGroupsDim', 'groupUUID', 'userUUID') FROM userFactEvents", 150, "LOOKUP"),
	("SELECT LOOKUP(userUUID, 'groupUUID', 'userUUID', userUUID) FROM userFactEvents", 150, "string literal"),
])
def test_errors(loaded, sql, code, word):
	srv = loaded[0]
	resp = srv.query(sql)
	exc = resp.get("exceptions")
	assert exc, json.dumps(resp)[:500]
	assert exc[0]["errorCode"] == code, exc
	assert word in exc[0]["message"], exc


def test_lookup_of_group_key(loaded):
	srv, groups, facts = loaded
	counts = defaultdict(int)
	for r in facts:
		counts[r["userUUID"]] += 1
	users = sorted(counts)[:20]
	rows = srv.rows("SELECT userUUID, LOOKUP('userGroupsDim', 'groupUUID', 'userUUID', userUUID), count(*) "
			"FROM userFactEvents GROUP BY userUUID ORDER BY userUUID LIMIT 20")
	assert [tuple(r) for r in rows] == [(u, groups.get(u), counts[u]) for u in users]
