"""Segment pruning and index use through the real server: data pushed in
batches with disjoint ranges, each batch sealed by forceCommit, then
queries whose answers must equal those of the same rows held unsealed,
and whose broker statistics (numSegmentsPrunedByValue, ...) and EXPLAIN
show what pruning and the indexes did."""
import random

from conftest import ndjson, schema, simple_table_config

BATCH = 1000
NBATCH = 4
LIVE = 500


def ev_schema(name):
	return schema(name, dims=[("order_id", "LONG"), ("market", "STRING"), ("tags", "STRING", False)],
		      metrics=[("amount", "DOUBLE"), ("qty", "INT")],
		      datetimes=[("ts", "LONG", "1:MILLISECONDS:EPOCH", "1:MILLISECONDS")])


def ev_config(name, indexes):
	cfg = simple_table_config(name)
	cfg["segmentsConfig"]["timeColumnName"] = "ts"
	if indexes:
		cfg["tableIndexConfig"].update({
			"invertedIndexColumns": ["market", "tags"],
			"rangeIndexColumns": ["amount", "qty"],
			"bloomFilterColumns": ["order_id"],
			"noDictionaryColumns": ["amount", "order_id"],
		})
	return cfg


def batch(k, n, rnd):
	out = []
	for j in range(n):
		g = k * BATCH + j
		r = {"order_id": g, "market": "m%d_%d" % (k, j % 5),
		     "tags": ["t%d" % k, "x%d" % (j % 3)] if j % 7 else [],
		     "amount": k * 100 + j / 10.0, "qty": j % 50, "ts": 1700000000000 + g * 1000}
		if j % 11 == 4:
			del r["qty"]	# NULLs
		if k == 1 and j == 0:
			r["amount"] = -0.0
		out.append(r)
	rnd.shuffle(out)
	return out


QUERIES = [
	("SELECT count(*) FROM {t} WHERE order_id = 2500", 3),
	("SELECT count(*) FROM {t} WHERE order_id IN (10, 3010, 99999)", 2),
	("SELECT count(*) FROM {t} WHERE ts >= 1700003000000", 3),
	("SELECT count(*) FROM {t} WHERE market = 'm2_3'", 3),
	("SELECT count(*) FROM {t} WHERE market = 'nowhere'", 4),
	("SELECT count(*) FROM {t} WHERE market IN ('m0_1', 'm3_4')", 2),
	("SELECT count(*) FROM {t} WHERE amount BETWEEN 150 AND 250.5", 2),
	("SELECT count(*) FROM {t} WHERE amount = 0", 2),
	("SELECT count(*) FROM {t} WHERE tags = 't3'", 3),
	("SELECT count(*) FROM {t} WHERE NOT (tags = 't3')", 0),
	("SELECT count(*) FROM {t} WHERE order_id < 1000 OR order_id >= 3000", 2),
	("SELECT count(*) FROM {t} WHERE NOT (order_id >= 1000)", 3),
	("SELECT count(*) FROM {t} WHERE qty IS NULL", 0),
	("SELECT count(*) FROM {t} WHERE qty > 40.5 AND market = 'm1_2'", 3),
	("SELECT market, count(*), sum(amount) FROM {t} WHERE order_id < 2000 GROUP BY market ORDER BY market", 2),
	("SELECT order_id, market, tags, amount, qty FROM {t} WHERE order_id BETWEEN 995 AND 1004 "
	 "ORDER BY order_id", 2),
	("SELECT order_id FROM {t} WHERE qty = 7 AND amount < 120 ORDER BY order_id", 2),
]


def stats(srv, sql):
	r = srv.query(sql)
	assert not r.get("exceptions"), r
	return r


def test_pruning_and_indexes_after_seal(make_server):
	srv = make_server()
	for name, idx in (("ev", True), ("evplain", False)):
		srv.add_schema(ev_schema(name))
		srv.add_table(ev_config(name, idx))
	rnd = random.Random(11)
	for k in range(NBATCH):
		rows = batch(k, BATCH, rnd)
		srv.ingest("ev", ndjson(rows))
		srv.ingest("evplain", ndjson(rows))
		r = srv.post("/tables/ev/forceCommit")
		assert r.status_code == 200, r.text
	rows = batch(NBATCH, LIVE, rnd)
	srv.ingest("ev", ndjson(rows))
	srv.ingest("evplain", ndjson(rows))
	sealed = srv.rows("SELECT count(*) FROM sys.segments WHERE tableName = 'ev' AND state = 'SEALED'")[0][0]
	assert sealed >= NBATCH
	total = NBATCH * BATCH + LIVE
	assert srv.count("ev") == total

	for sql, want_pruned in QUERIES:
		a = stats(srv, sql.format(t="ev"))
		b = stats(srv, sql.format(t="evplain"))
		assert a["resultTable"]["rows"] == b["resultTable"]["rows"], sql
		assert a["totalDocs"] == total
		assert a["numSegmentsPrunedByServer"] == (a["numSegmentsPrunedInvalid"] + a["numSegmentsPrunedByLimit"] +
							  a["numSegmentsPrunedByValue"])
		assert a["numSegmentsProcessed"] == a["numSegmentsQueried"] - a["numSegmentsPrunedByServer"]
		assert a["numSegmentsMatched"] <= a["numSegmentsProcessed"]
		assert a["numConsumingSegmentsQueried"] >= 1
		if sealed == NBATCH:
			assert a["numSegmentsPrunedByValue"] == want_pruned, (sql, a)
		# the unsealed table prunes nothing
		assert b["numSegmentsPrunedByValue"] == 0

	# one sealed segment and the live one scanned, one row matched
	a = stats(srv, "SELECT count(*) FROM ev WHERE order_id = 2500")
	assert a["numDocsScanned"] == 1
	assert a["numSegmentsMatched"] == 1
	# once sealing writes the configured indexes, the inverted index
	# answers the equality: fewer entries than a scan
	plan = "\n".join(r[0] for r in srv.rows("EXPLAIN SELECT count(*) FROM ev WHERE market = 'm2_3'"))
	a = stats(srv, "SELECT count(*) FROM ev WHERE market = 'm2_3'")
	assert a["resultTable"]["rows"] == [[200]]
	if "inverted index" in plan:
		assert a["numEntriesScannedInFilter"] < BATCH + LIVE
	else:
		assert a["numEntriesScannedInFilter"] == BATCH + LIVE, plan
	# a selection LIMIT without filter needs one segment
	a = stats(srv, "SELECT order_id FROM ev LIMIT 3")
	assert len(a["resultTable"]["rows"]) == 3
	assert a["numSegmentsPrunedByLimit"] == a["numSegmentsQueried"] - a["numSegmentsPrunedInvalid"] - 1

	plan = [r[0] for r in srv.rows("EXPLAIN SELECT count(*) FROM ev WHERE market = 'm2_3' AND amount > 150")]
	text = "\n".join(plan)
	assert "3 pruned by" in text, text
	assert "PREDICATE market = 'm2_3'" in text and "PREDICATE amount > 150" in text, text

	# a join's EXPLAIN shows each input's scan with its pruning and the
	# filters pushed into it, then the hash join
	plan = "\n".join(r[0] for r in srv.rows(
		"EXPLAIN SELECT a.market, count(*) FROM ev a JOIN ev b ON a.order_id = b.order_id "
		"WHERE a.market = 'm2_3' AND b.amount > 150 GROUP BY a.market"))
	assert plan.startswith("JOIN 2 inputs"), plan
	assert "INNER HASH JOIN b on 1 key(s)" in plan, plan
	assert "PREDICATE market = 'm2_3'" in plan and "PREDICATE amount > 150" in plan, plan
	assert "pruned by" in plan, plan
	plan = "\n".join(r[0] for r in srv.rows(
		"EXPLAIN SELECT order_id, row_number() OVER (PARTITION BY market ORDER BY amount) FROM ev"))
	assert plan.startswith("WINDOW 1 function(s)") and "SCAN ev" in plan, plan
