"""Schemas, table configs and rows survive a clean restart (SIGTERM) and a
kill -9; deletions survive too."""
import json
import threading
import time

from conftest import schema, ndjson, simple_table_config


def setup_tables(srv):
	srv.create(schema("p1", dims=[("id", "LONG"), ("s", "STRING"), ("tags", "STRING", False)],
			  metrics=[("v", "DOUBLE")]))
	srv.create(schema("p2", dims=[("id", "INT")], metrics=[("n", "LONG")]), table_type="OFFLINE")
	srv.create(schema("gone", dims=[("id", "INT")]))


def rows_p1(lo, hi):
	return [{"id": i, "s": "s%d" % (i % 13), "tags": ["a", "b%d" % (i % 3)], "v": i * 0.5}
		for i in range(lo, hi)]


def state(srv):
	schemas = sorted(srv.get("/schemas").json())
	tables = sorted(srv.get("/tables").json()["tables"])
	cfgs = {t: srv.get("/tables/" + t).json() for t in tables}
	sch = {s: srv.get("/schemas/" + s).json() for s in schemas}
	p1 = srv.rows("SELECT id, s, tags, v FROM p1 ORDER BY id")
	p2 = srv.rows("SELECT id, n FROM p2 ORDER BY id")
	return schemas, tables, json.dumps(cfgs, sort_keys=True), json.dumps(sch, sort_keys=True), p1, p2


def test_restart_clean_and_kill9(make_server):
	srv = make_server()
	setup_tables(srv)
	srv.ingest("p1", ndjson(rows_p1(0, 500)))
	srv.ingest("p1", ndjson(rows_p1(500, 1000)))
	srv.ingest("p2", ndjson([{"id": i, "n": i * i} for i in range(100)]))
	assert srv.delete("/tables/gone").status_code == 200
	assert srv.delete("/schemas/gone").status_code == 200
	before = state(srv)
	assert "gone" not in before[0] and "gone" not in before[1]
	assert len(before[4]) == 1000 and len(before[5]) == 100
	assert before[4][7] == [7, "s7", ["a", "b1"], 3.5]

	srv.restart()				# SIGTERM, exit code 0 asserted
	assert state(srv) == before

	srv.restart(kill=True)			# kill -9
	assert state(srv) == before

	# more writes after recovery, then kill again
	srv.ingest("p1", ndjson(rows_p1(1000, 1200)))
	srv.restart(kill=True)
	assert srv.count("p1") == 1200
	assert srv.scalar("SELECT count(DISTINCT id) FROM p1") == 1200
	assert srv.scalar("SELECT sum(v) FROM p1") == sum(i * 0.5 for i in range(1200))

	# schema/table changes right before a kill are kept
	srv.add_schema(schema("p4", dims=[("id", "INT")]))
	s = srv.get("/schemas/p4").json()
	s["dimensionFieldSpecs"].append({"name": "extra", "dataType": "INT"})
	r = srv.put("/schemas/p4", data=json.dumps(s), headers={"Content-Type": "application/json"})
	assert r.status_code == 200, r.text
	srv.add_schema(schema("p3", dims=[("id", "INT")]))
	srv.add_table(simple_table_config("p3"))
	srv.restart(kill=True)
	names = [f["name"] for f in srv.get("/schemas/p4").json()["dimensionFieldSpecs"]]
	assert "extra" in names
	assert "p3" in srv.get("/tables").json()["tables"]
	assert srv.count("p3") == 0
	assert srv.count("p2") == 100


def test_add_column_to_schema_in_use(make_server):
	"""Pinot allows backward-compatible schema evolution (a new column)
	on a table that has data; old rows read the new column as NULL."""
	srv = make_server()
	srv.create(schema("ev", dims=[("id", "INT")], metrics=[("n", "LONG")]))
	srv.ingest("ev", ndjson([{"id": i, "n": i} for i in range(10)]))
	s = srv.get("/schemas/ev").json()
	s["metricFieldSpecs"].append({"name": "extra", "dataType": "INT"})
	r = srv.put("/schemas/ev", data=json.dumps(s), headers={"Content-Type": "application/json"})
	assert r.status_code == 200, r.text
	srv.ingest("ev", ndjson([{"id": 10, "n": 10, "extra": 5}]))
	srv.restart(kill=True)
	assert srv.rows("SELECT id, extra FROM ev WHERE id >= 9 ORDER BY id") == [[9, None], [10, 5]]


def test_add_column_refusals_name_the_column(make_server):
	srv = make_server()
	srv.create(schema("ev", dims=[("id", "INT")], metrics=[("n", "LONG")]))
	srv.ingest("ev", ndjson([{"id": i, "n": i} for i in range(10)]))
	base = srv.get("/schemas/ev").json()
	dropped = json.loads(json.dumps(base))
	dropped["metricFieldSpecs"] = []
	retyped = json.loads(json.dumps(base))
	retyped["metricFieldSpecs"][0]["dataType"] = "DOUBLE"
	for s, col, why in ((dropped, "'n'", "dropping"), (retyped, "'n'", "dataType")):
		r = srv.put("/schemas/ev", data=json.dumps(s), headers={"Content-Type": "application/json"})
		assert r.status_code == 400, r.text
		assert col in r.text and why in r.text, r.text
	assert srv.get("/schemas/ev").json() == base
	assert srv.count("ev") == 10


def test_add_column_while_querying_and_ingesting(make_server):
	"""Queries (plans cached against the old columns) and uploads that
	run while columns are added neither fail nor lose rows."""
	srv = make_server()
	srv.create(schema("ev", dims=[("id", "INT")], metrics=[("n", "LONG")]))
	srv.ingest("ev", ndjson([{"id": i, "n": i} for i in range(5000)]))
	stop = threading.Event()
	errors, done = [], []

	def query_loop():
		while not stop.is_set():
			resp = srv.query("SELECT id, n FROM ev WHERE id < 3 ORDER BY id")
			if resp.get("exceptions") or resp["resultTable"]["rows"][:3] != [[0, 0], [1, 1], [2, 2]]:
				errors.append(resp)

	def ingest_loop():
		k = 0
		while not stop.is_set():
			lo = 100000 + k * 100
			srv.ingest("ev", ndjson([{"id": i, "n": i} for i in range(lo, lo + 100)]))
			done.append(100)
			k += 1

	threads = [threading.Thread(target=query_loop), threading.Thread(target=query_loop),
		   threading.Thread(target=ingest_loop)]
	for t in threads:
		t.start()
	s = srv.get("/schemas/ev").json()
	for k in range(3):
		time.sleep(0.1)
		s["dimensionFieldSpecs"].insert(0, {"name": "d%d" % k, "dataType": "STRING"})
		s["metricFieldSpecs"].append({"name": "m%d" % k, "dataType": "LONG"})
		r = srv.put("/schemas/ev", data=json.dumps(s), headers={"Content-Type": "application/json"})
		assert r.status_code == 200, r.text
	time.sleep(0.1)
	stop.set()
	for t in threads:
		t.join()
	assert not errors, errors[:3]
	total = 5000 + sum(done)
	assert srv.count("ev") == total
	assert srv.count("ev", "WHERE m2 IS NULL AND d0 IS NULL") == total
	srv.restart(kill=True)
	assert srv.count("ev") == total
	assert srv.rows("SELECT id, n, m0 FROM ev WHERE id = 4999") == [[4999, 4999, None]]


def test_add_column_kill9_at_any_moment(make_server):
	"""kill -9 while a column is being added: after restart the schema is
	the old or the new one (the new one if the PUT was answered 200), and
	every row is there, reading the new column as NULL."""
	srv = make_server()
	srv.create(schema("ev", dims=[("id", "INT")], metrics=[("n", "LONG")]))
	n = 30000
	for lo in range(0, n, 10000):
		srv.ingest("ev", ndjson([{"id": i, "n": i} for i in range(lo, lo + 10000)]))
	cur = srv.get("/schemas/ev").json()
	delays = [0.0, 0.001, 0.003] + [0.004 * i for i in range(2, 20)] + [0.2]
	for k, delay in enumerate(delays):
		s = json.loads(json.dumps(cur))
		s["metricFieldSpecs"].append({"name": "x%d" % k, "dataType": "INT"})
		answer = {}

		def put():
			try:
				r = srv.put("/schemas/ev", data=json.dumps(s),
					    headers={"Content-Type": "application/json"}, timeout=60)
				answer["code"] = r.status_code
			except Exception as ex:	# the server died under the request
				answer["error"] = repr(ex)

		th = threading.Thread(target=put)
		th.start()
		time.sleep(delay)
		srv.kill9()
		th.join()
		srv.start()
		got = srv.get("/schemas/ev").json()
		names = [f["name"] for f in got.get("metricFieldSpecs", [])]
		col = "x%d" % k
		if answer.get("code") == 200:
			assert col in names, (answer, got)
		else:
			assert "code" not in answer, answer
		assert srv.count("ev") == n
		if col in names:
			assert srv.count("ev", "WHERE %s IS NULL" % col) == n
		assert srv.rows("SELECT id, n FROM ev WHERE id = 12345") == [[12345, 12345]]
		cur = got
	srv.check_log()


def test_restart_empty_data_dir_twice(make_server):
	srv = make_server()
	srv.restart()
	srv.restart(kill=True)
	assert srv.get("/schemas").json() == []
	assert srv.get("/tables").json()["tables"] == []
