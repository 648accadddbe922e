"""Server-wide limits: uploads beyond the ingestion memory limit get a 503
that says so, nothing of the refused body is visible, the server keeps
serving, and smaller uploads go through."""
import json

from conftest import ndjson, schema


def test_ingest_memory_limit(make_server):
	srv = make_server(args=["--ingest-memory", "4"])
	srv.create(schema("lim", dims=[("id", "LONG"), ("s", "STRING")], metrics=[("v", "DOUBLE")]))
	big = ndjson([{"id": i, "s": "x" * 200, "v": i / 3} for i in range(40000)])	# ~10 MB
	r = srv.post("/tables/lim/ingest", data=big)
	assert r.status_code == 503, r.text[:500]
	body = r.json()
	assert "ingestion memory limit of 4 MiB" in body["error"], body
	assert body["accepted"] == 0
	assert srv.count("lim") == 0
	assert srv.ingest("lim", ndjson([{"id": i, "s": "y", "v": 1.0} for i in range(1000)]))["accepted"] == 1000
	assert srv.count("lim") == 1000
	# the budget is released: the same small upload works again and again
	for _ in range(5):
		assert srv.ingest("lim", ndjson([{"id": 1, "s": "z", "v": 2.0}]))["accepted"] == 1
	assert srv.count("lim") == 1005


def test_bad_serve_options_are_refused(make_server, binary):
	import subprocess
	for bad in (["--ingest-memory", "0"], ["--ingest-memory", "lots"], ["--http", "nohost"],
		    ["--no-such-option"], ["--query-memory", "0"], ["--query-memory", "-5"],
		    ["--query-memory"], ["--query-timeout", "1.5"], ["--query-timeout", "0"],
		    ["--max-result-rows", "x"], ["--max-result-rows", "0"], ["--max-groups", "-1"],
		    ["--max-groups", "99999999999999999999"], ["--max-groups", " 5"]):
		p = subprocess.run([binary, "serve"] + bad, capture_output=True, timeout=30)
		assert p.returncode == 2, (bad, p.returncode, p.stderr)
		assert p.stderr.strip(), bad


def mv_table(srv, rows=100, elems=100):
	"""Table m: rows x elems x elems distinct (id, a, b) groups (GROUP BY
	over multi-value columns makes one group per element combination)."""
	srv.create(schema("m", dims=[("id", "LONG"), ("a", "LONG", False), ("b", "LONG", False)]))
	data = [{"id": i, "a": list(range(elems)), "b": list(range(elems))} for i in range(rows)]
	assert srv.ingest("m", ndjson(data))["accepted"] == rows


def exceptions(resp):
	return " ".join(x["message"] for x in resp.get("exceptions") or [])


def test_query_ceilings_from_serve_options(make_server):
	"""--max-groups, --query-memory, --max-result-rows and --query-timeout
	are ceilings: a query's options and SET statements lower them, never
	raise them; past one the query fails with a message naming it."""
	srv = make_server(args=["--max-groups", "50", "--max-result-rows", "12", "--query-memory", "2",
				"--query-timeout", "60000"])
	mv_table(srv, rows=20, elems=10)
	gsql = "SELECT a, count(*) FROM m GROUP BY a LIMIT 100"
	assert len(srv.rows(gsql)) == 10
	for opts in (None, "numGroupsLimit=100000"):
		msg = exceptions(srv.query("SELECT a, b, count(*) FROM m GROUP BY a, b", opts))
		assert "limit of 50 groups" in msg and "--max-groups" in msg, msg
	msg = exceptions(srv.query("SET numGroupsLimit = 5; " + gsql))
	assert "limit of 5 groups" in msg, msg
	msg = exceptions(srv.query(gsql, "numGroupsLimit=9"))
	assert "limit of 9 groups" in msg, msg
	# result rows: cut at the ceiling with a warning, whatever is asked
	r = srv.query("SELECT id, count(*) FROM m GROUP BY id LIMIT 100", "maxRows=100000")
	assert "resultTable" in r, r
	assert len(r["resultTable"]["rows"]) == 12, r
	# memory: 2 MiB per query, a bigger maxMemoryBytes does not help
	msg = exceptions(srv.query("SELECT id, a, b, count(*) FROM m GROUP BY id, a, b LIMIT 1",
				   "maxMemoryBytes=1000000000;numGroupsLimit=40"))
	assert "limit of 40 groups" in msg, msg
	msg = exceptions(srv.query("SELECT id, a, b, count(*), distinctcount(id) FROM m GROUP BY id, a, b LIMIT 1",
				   "maxMemoryBytes=1000000000"))
	assert "limit of 50 groups" in msg or "memory budget of 2 MiB" in msg, msg
	assert srv.count("m") == 20


def test_query_memory_and_timeout_ceilings(make_server):
	srv = make_server(args=["--query-memory", "8", "--query-timeout", "1"])
	mv_table(srv, rows=100, elems=100)		# 10^6 groups
	msg = exceptions(srv.query("SELECT id, a, b, count(*) FROM m GROUP BY id, a, b LIMIT 1"))
	assert "timed out after 1 ms" in msg, msg
	srv.clean_stop()
	srv.args = ["--query-memory", "8"]
	srv.start()
	msg = exceptions(srv.query("SELECT id, a, b, count(*) FROM m GROUP BY id, a, b LIMIT 1"))
	assert "memory budget of 8 MiB" in msg and "--query-memory" in msg, msg
	# a smaller budget asked by the client applies too
	msg = exceptions(srv.query("SELECT a, b, count(*) FROM m GROUP BY a, b LIMIT 1", "maxMemoryBytes=100000"))
	assert "memory budget of 100000 bytes" in msg, msg
	assert srv.rows("SELECT a, b, count(*) FROM m GROUP BY a, b ORDER BY a, b LIMIT 1") == [[0, 0, 100]]
