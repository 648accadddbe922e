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
		    ["--no-such-option"]):
		p = subprocess.run([binary, "serve"] + bad, capture_output=True, timeout=30)
		assert p.returncode == 2, (bad, p.returncode, p.stderr)
		assert p.stderr.strip(), bad
