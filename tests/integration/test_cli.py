"""`waybill ingest` (NDJSON, CSV, Avro) and `waybill demo`."""
import json
import os
import re
import shlex
import signal
import subprocess
import time

import pytest
import requests

from conftest import EXAMPLES, free_port, log_tail, schema, SANITIZER_MARKERS

AIRLINE_BATCH = EXAMPLES / "pinot-tools-examples/batch/airlineStats"
AIRLINE_AVRO = EXAMPLES / "pinot-tools-examples/stream/airlineStats/rawdata/airlineStats_data.avro"
AIRLINE_ROWS = 9746


def run_ingest(binary, srv, path, table, fmt=None, timeout=300):
	cmd = [binary, "ingest", str(path), "--table", table, "--server", srv.url]
	if fmt:
		cmd += ["--format", fmt]
	p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
	out, err = p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")
	for m in SANITIZER_MARKERS:
		assert m not in err, err
	return p.returncode, out, err


def test_ingest_ndjson_and_csv(make_server, binary, tmp_path):
	srv = make_server()
	srv.create(schema("cli", dims=[("id", "INT"), ("s", "STRING")], metrics=[("v", "DOUBLE")]))
	nd = tmp_path / "rows.ndjson"
	nd.write_text("".join(json.dumps({"id": i, "s": "x%d" % i, "v": i / 4}) + "\n" for i in range(5000)))
	rc, out, err = run_ingest(binary, srv, nd, "cli", "ndjson")
	assert rc == 0, (out, err)
	assert err.strip(), "a progress line is expected on stderr"
	assert "5000" in out + err, (out, err)
	assert srv.count("cli") == 5000

	cs = tmp_path / "rows.csv"
	cs.write_text("id,s,v\n" + "".join("%d,y%d,%s\n" % (i, i, i / 4) for i in range(5000, 8000)) +
		      "notanint,z,1\n")
	rc, out, err = run_ingest(binary, srv, cs, "cli", "csv")
	assert rc == 0, (out, err)
	assert "3000" in out + err and re.search(r"\b1\b", out + err), (out, err)
	assert srv.count("cli") == 8000
	assert srv.scalar("SELECT sum(id) FROM cli") == sum(range(8000))


def test_ingest_errors(make_server, binary, tmp_path):
	srv = make_server()
	f = tmp_path / "x.ndjson"
	f.write_text('{"id": 1}\n')
	rc, out, err = run_ingest(binary, srv, f, "missingTable", "ndjson")
	assert rc != 0, (out, err)
	rc, out, err = run_ingest(binary, srv, tmp_path / "nonexistent.ndjson", "missingTable", "ndjson")
	assert rc != 0
	port = free_port()
	p = subprocess.run([binary, "ingest", str(f), "--table", "t", "--server",
			    "http://127.0.0.1:%d" % port], capture_output=True, timeout=120)
	assert p.returncode != 0


def airline_table(srv, name):
	s = json.loads((AIRLINE_BATCH / "airlineStats_schema.json").read_text())
	c = json.loads((AIRLINE_BATCH / "airlineStats_offline_table_config.json").read_text())
	s["schemaName"] = name
	c["tableName"] = name
	c.setdefault("segmentsConfig", {})["schemaName"] = name
	srv.add_schema(s)
	srv.add_table(c)


AGG = ("SELECT Carrier, count(*), sum(ArrDelay), min(DepDelay), max(Distance), "
       "count(DISTINCT Origin) FROM {t} GROUP BY Carrier ORDER BY Carrier")


def test_ingest_avro_airline(make_server, binary):
	srv = make_server()
	airline_table(srv, "air1")
	rc, out, err = run_ingest(binary, srv, AIRLINE_AVRO, "air1", "avro")
	assert rc == 0, (out, err)
	assert str(AIRLINE_ROWS) in out + err
	assert srv.count("air1") == AIRLINE_ROWS
	# the same rows from the 31 daily files give the same answers
	airline_table(srv, "air2")
	files = sorted((AIRLINE_BATCH / "rawdata").rglob("*.avro"))
	assert len(files) == 31
	for f in files:
		rc, out, err = run_ingest(binary, srv, f, "air2")	# format from the extension
		assert rc == 0, (f, out, err)
	assert srv.count("air2") == AIRLINE_ROWS
	a = srv.rows(AGG.format(t="air1"))
	b = srv.rows(AGG.format(t="air2"))
	assert a == b
	assert len(a) > 5 and sum(r[1] for r in a) == AIRLINE_ROWS
	days = srv.rows("SELECT min(DaysSinceEpoch), max(DaysSinceEpoch), count(DISTINCT DaysSinceEpoch) FROM air1")
	assert days == [[16071, 16101, 31]], days		# 2014-01-01 .. 2014-01-31


def read_lines_until(proc, pred, timeout, sink):
	"""Reads proc.stdout lines until pred(line) or timeout; returns the line."""
	import selectors
	sel = selectors.DefaultSelector()
	sel.register(proc.stdout, selectors.EVENT_READ)
	deadline = time.monotonic() + timeout
	buf = b""
	while time.monotonic() < deadline:
		if not sel.select(timeout=0.5):
			if proc.poll() is not None:
				break
			continue
		chunk = os.read(proc.stdout.fileno(), 65536)
		if not chunk:
			break
		buf += chunk
		while b"\n" in buf:
			line, buf = buf.split(b"\n", 1)
			line = line.decode("utf-8", "replace")
			sink.append(line)
			if pred(line):
				return line
	return None


def curl_to_request(line):
	"""Turns a printed `curl ...` line into (method, url, data, headers)."""
	args = shlex.split(line[line.index("curl"):])
	method, url, data, headers = None, None, None, {}
	i = 1
	while i < len(args):
		a = args[i]
		if a in ("-X", "--request"):
			method = args[i + 1]
			i += 2
		elif a in ("-d", "--data", "--data-raw", "--data-binary"):
			data = args[i + 1]
			i += 2
		elif a in ("-H", "--header"):
			k, _, v = args[i + 1].partition(":")
			headers[k.strip()] = v.strip()
			i += 2
		elif a.startswith("http"):
			url = a
			i += 1
		else:
			i += 1
	return method or ("POST" if data is not None else "GET"), url, data, headers


def test_demo(binary, tmp_path):
	port = free_port()
	log = open(tmp_path / "demo.err", "wb")
	env = dict(os.environ)
	p = subprocess.Popen([binary, "demo", "--data-dir", str(tmp_path / "data"),
			      "--http", "127.0.0.1:%d" % port],
			     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log,
			     env=env, start_new_session=True)
	seen = []
	try:
		line = read_lines_until(p, lambda l: "curl" in l and "/query/sql" in l, 600, seen)
		assert line, "demo printed no query example:\n%s\n%s" % ("\n".join(seen), log_tail(tmp_path / "demo.err"))
		method, url, data, headers = curl_to_request(line)
		assert url and str(port) in url, line
		r = requests.request(method, url, data=data, headers=headers, timeout=60)
		assert r.status_code == 200, r.text
		j = r.json()
		assert not j.get("exceptions"), j
		assert j["resultTable"]["rows"], j
		# every printed query example answers
		for l in seen:
			if "curl" in l and "/query/sql" in l:
				m, u, d, h = curl_to_request(l)
				j = requests.request(m, u, data=d, headers=h, timeout=60).json()
				assert not j.get("exceptions"), (l, j)
		assert requests.get("http://127.0.0.1:%d/tables" % port, timeout=10).json()["tables"]
		p.send_signal(signal.SIGTERM)
		rc = p.wait(timeout=60)
		assert rc == 0, log_tail(tmp_path / "demo.err")
	finally:
		if p.poll() is None:
			p.kill()
			p.wait(timeout=30)
		log.close()
	err = log_tail(tmp_path / "demo.err", 10 ** 9)
	for m in SANITIZER_MARKERS:
		assert m not in err, err[-5000:]
