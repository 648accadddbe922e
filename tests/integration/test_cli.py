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


SERVICE_TABLES = ["order", "customer", "pricing", "promotions", "tax", "checkout", "payment",
		  "fraud", "inventory", "store", "picking", "packing", "label", "routing", "dispatch",
		  "driver_app", "delivery_tracking", "notification", "loyalty", "returns"]
LIVE_TABLES = SERVICE_TABLES + ["item_availability"]


def sql_to_request(line, port):
	"""Turns a printed `waybill sql "..." --server URL` line into a request."""
	args = shlex.split(line[line.index("waybill sql"):])
	url = args[args.index("--server") + 1]
	assert str(port) in url, line
	return "POST", url + "/query/sql", json.dumps({"sql": args[2]}), {"Content-Type": "application/json"}


def query(port, sql):
	r = requests.post("http://127.0.0.1:%d/query/sql" % port, json={"sql": sql}, timeout=60)
	assert r.status_code == 200, r.text
	j = r.json()
	assert not j.get("exceptions"), (sql, j)
	return j["resultTable"]["rows"]


def children(pid):
	"""PIDs of the processes whose parent is pid."""
	out = []
	for d in os.listdir("/proc"):
		if not d.isdigit():
			continue
		try:
			with open("/proc/%s/stat" % d) as f:
				st = f.read()
		except OSError:
			continue
		fields = st[st.rindex(")") + 2:].split()
		if int(fields[1]) == pid:
			out.append(int(d))
	return out


def running(pid):
	"""True while pid is a live process (a zombie does not count)."""
	try:
		with open("/proc/%d/stat" % pid) as f:
			st = f.read()
	except OSError:
		return False
	return st[st.rindex(")") + 2:].split()[0] != "Z"


def cmdline(pid):
	try:
		with open("/proc/%d/cmdline" % pid, "rb") as f:
			return f.read().replace(b"\0", b" ").decode("utf-8", "replace")
	except OSError:
		return ""


def start_demo(binary, tmp_path, *extra):
	port = free_port()
	log = open(tmp_path / "demo.err", "wb")
	p = subprocess.Popen([binary, "demo", "--data-dir", str(tmp_path / "data"),
			      "--http", "127.0.0.1:%d" % port, "--pg", "127.0.0.1:%d" % free_port()] + list(extra),
			     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log,
			     start_new_session=True)
	seen = []
	line = read_lines_until(p, lambda l: "Press Ctrl-C" in l, 600, seen)
	if not line:
		p.kill()
		p.wait(timeout=30)
		log.close()
		pytest.fail("demo did not get ready:\n%s\n%s" % ("\n".join(seen), log_tail(tmp_path / "demo.err")))
	return p, port, log, seen


def check_examples(seen, port):
	"""Every printed query example answers without exceptions."""
	n = 0
	for l in seen:
		if l.strip().startswith("psql "):
			# the PostgreSQL hint: the same server over its PG port
			r = subprocess.run(shlex.split(l.strip()) + ["-X", "-w"], capture_output=True, text=True,
					   timeout=60, env=dict(os.environ, PGCONNECT_TIMEOUT="10"))
			assert r.returncode == 0 and "order_id" in r.stdout, (l, r.stdout, r.stderr)
			n += 1
			continue
		if "curl" in l and "/query/sql" in l:
			m, u, d, h = curl_to_request(l)
		elif "waybill sql" in l:
			m, u, d, h = sql_to_request(l, port)
		else:
			continue
		assert u and str(port) in u, l
		r = requests.request(m, u, data=d, headers=h, timeout=60)
		assert r.status_code == 200, (l, r.text)
		j = r.json()
		assert not j.get("exceptions"), (l, j)
		n += 1
	return n


def check_logs(tmp_path):
	logs = [tmp_path / "demo.err"] + sorted((tmp_path / "data" / "demo-live").glob("*.log"))
	for path in logs:
		text = log_tail(path, 10 ** 9)
		for m in SANITIZER_MARKERS:
			assert m not in text, (str(path), text[-5000:])


def stop_demo(p, log, tmp_path, kids=()):
	try:
		p.send_signal(signal.SIGTERM)
		rc = p.wait(timeout=60)
		assert rc == 0, log_tail(tmp_path / "demo.err")
		for k in kids:
			assert not running(k), "child %d (%s) is left after the demo ended" % (k, cmdline(k))
	finally:
		if p.poll() is None:
			p.kill()
			p.wait(timeout=30)
		for k in kids:
			if running(k):
				os.kill(k, signal.SIGKILL)
		log.close()


def live_rows(port):
	return {r[0]: r[1] for r in query(port, "SELECT tableName, sum(rows) FROM sys.ingestion GROUP BY tableName")}


def test_demo(binary, tmp_path):
	"""The demo: example tables, live Kafka traffic from the simulator into one
	table per service, every printed query answers, SIGTERM stops it all."""
	p, port, log, seen = start_demo(binary, tmp_path)
	kids = children(p.pid)
	try:
		out = "\n".join(seen)
		assert "Live traffic" in out, out + log_tail(tmp_path / "demo.err")
		assert sorted(cmdline(k).split()[1] for k in kids) == ["devbroker", "simulate"], \
			[cmdline(k) for k in kids]
		tables = requests.get("http://127.0.0.1:%d/tables" % port, timeout=10).json()["tables"]
		for t in LIVE_TABLES + ["items", "order_events"]:
			assert t in tables, (t, tables)
		assert query(port, "SELECT count(*) FROM items") == [[1000]]
		# rows arrive and keep arriving
		deadline = time.monotonic() + 30
		first = live_rows(port)
		while time.monotonic() < deadline:
			time.sleep(1)
			now = live_rows(port)
			grown = [t for t in SERVICE_TABLES if now.get(t, 0) > first.get(t, 0)]
			if len(grown) >= 5 and sum(now.values()) > sum(first.values()) + 100:
				break
		else:
			pytest.fail("live tables did not grow: %s -> %s\n%s" % (first, now, log_tail(tmp_path / "demo.err")))
		assert query(port, 'SELECT count(*) FROM "order"')[0][0] > 0
		states = query(port, "SELECT tableName, partition, state FROM sys.ingestion")
		assert sorted(r[0] for r in states) == sorted(LIVE_TABLES), states
		assert all(r[2] == "CONSUMING" for r in states), states
		assert check_examples(seen, port) >= 8
		# the faults' ground truth is being written
		assert (tmp_path / "data" / "demo-live" / "truth.ndjson").exists()
	finally:
		stop_demo(p, log, tmp_path, kids)
	check_logs(tmp_path)


def test_demo_no_stream(binary, tmp_path):
	p, port, log, seen = start_demo(binary, tmp_path, "--no-stream", "--no-examples")
	try:
		assert children(p.pid) == []
		assert "Live traffic" not in "\n".join(seen)
		tables = requests.get("http://127.0.0.1:%d/tables" % port, timeout=10).json()["tables"]
		assert "order_events" in tables and "payment" not in tables, tables
		assert check_examples(seen, port) >= 2
		assert query(port, "SELECT count(*) FROM sys.ingestion") == [[0]]
	finally:
		stop_demo(p, log, tmp_path)
	check_logs(tmp_path)


def test_demo_killed_leaves_no_children(binary, tmp_path):
	"""kill -9 of the demo takes the broker and the simulator with it."""
	p, port, log, seen = start_demo(binary, tmp_path, "--no-examples")
	kids = children(p.pid)
	try:
		assert len(kids) == 2, [cmdline(k) for k in kids]
		p.kill()
		p.wait(timeout=30)
		deadline = time.monotonic() + 10
		while time.monotonic() < deadline and any(running(k) for k in kids):
			time.sleep(0.1)
		assert not any(running(k) for k in kids), [cmdline(k) for k in kids if running(k)]
	finally:
		for k in kids:
			if running(k):
				os.kill(k, signal.SIGKILL)
		log.close()


def test_demo_bad_rate(binary):
	p = subprocess.run([binary, "demo", "--rate", "fast"], capture_output=True, timeout=60)
	assert p.returncode == 2 and b"--rate" in p.stderr, p


def test_serve_refuses_a_port_in_use(make_server, binary, tmp_path):
	"""Regression: the HTTP listener set SO_REUSEPORT, so a second server
	on a port already served started "successfully" and the kernel split
	the connections between the two."""
	s = make_server()
	p = subprocess.run([binary, "serve", "--data-dir", str(tmp_path / "other"),
			    "--http", "127.0.0.1:%d" % s.http_port, "--pg", "127.0.0.1:%d" % free_port()],
			   capture_output=True, text=True, timeout=60)
	assert p.returncode != 0
	assert "cannot listen on 127.0.0.1:%d" % s.http_port in p.stdout + p.stderr
	# the PostgreSQL port likewise
	p = subprocess.run([binary, "serve", "--data-dir", str(tmp_path / "third"),
			    "--http", "127.0.0.1:%d" % free_port(), "--pg", "127.0.0.1:%d" % s.pg_port],
			   capture_output=True, text=True, timeout=60)
	assert p.returncode != 0
	assert "cannot listen on 127.0.0.1:%d for the PostgreSQL protocol" % s.pg_port in p.stdout + p.stderr
	assert s.rows("SELECT count(*) FROM sys.tables")[0][0] >= 0
