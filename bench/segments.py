#!/usr/bin/python3
"""Sealed-segment benchmarks (issue 3), Waybill and ClickHouse in one run.

  size     order events (order_id, market, service, event_type, status,
           store_id, event_time, latency_ms, amount, attempt, driver_id)
           pushed as NDJSON; Waybill seals them (forceCommit) and the bytes
           of its segment files per row are compared with the NDJSON and
           with ClickHouse's MergeTree holding the same rows after
           OPTIMIZE ... FINAL (system.parts, active parts).
  scan     on the sealed data: filtered COUNT, SUM, GROUP BY a dictionary
           column; median of >= 5 runs; rows per second per core from the
           server's CPU seconds (utime+stime).
  restart  Waybill stopped (SIGTERM) and killed (-9), then started: time
           from exec to /health OK and a first count(*) answered.

Usage: bench/segments.py --waybill build/waybill [--rows 10000000]
		     [--no-clickhouse]
Prints a table and writes build/bench-segments.json.  No pass/fail by time.
"""
import argparse
import glob
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e  # noqa: E402

MARKETS = ["us-east", "us-west", "ca", "mx", "de", "fr", "gb", "es", "it", "nl", "se", "pl",
	   "jp", "kr", "in", "au", "br", "ar", "za", "sg"]
SERVICES = ["svc-%02d-%s" % (i, n) for i, n in enumerate(
	["cart", "checkout", "payment", "fraud", "inventory", "allocation", "picking", "packing",
	 "labeling", "dispatch", "routing", "driver", "tracking", "delivery", "notify", "billing",
	 "refund", "returns", "support", "loyalty", "tax", "pricing", "promo", "audit", "ledger"])]
EVENT_TYPES = ["created", "paid", "allocated", "picked", "packed", "labeled", "dispatched",
	       "in_transit", "out_for_delivery", "delivered", "failed", "cancelled"]
STATUSES = ["OK", "OK", "OK", "OK", "RETRY", "ERROR", "TIMEOUT"]
T0 = 1764000000000
# Both systems keep rows ordered by market (Waybill: sortedColumn; the
# ClickHouse table: ORDER BY (market, event_time)), as a user of either
# would for a table filtered by market.
SORTED = "market"
DIMS = [("order_id", "STRING"), ("market", "STRING"), ("service", "STRING"),
	("event_type", "STRING"), ("status", "STRING"), ("store_id", "INT"), ("driver_id", "STRING")]
METRICS = [("latency_ms", "INT"), ("amount", "DOUBLE"), ("attempt", "INT")]
LINE = ('{"order_id":"ord-%09d","market":"%s","service":"%s","event_type":"%s","status":"%s",'
	'"store_id":%d,"event_time":%d,"latency_ms":%d,"amount":%.2f,"attempt":%d,"driver_id":"drv-%05d"}\n')


def order_body(lo, n):
	"""Rows lo..lo+n: 8 events per order, ~1000 events/s of event time."""
	rnd = random.Random(lo)
	out = []
	for i in range(lo, lo + n):
		o = i // 8
		k = i % 8
		out.append(LINE % (o, MARKETS[o % 20], SERVICES[(o + k * 3) % 25], EVENT_TYPES[k + (o % 5 == 0) * (k > 5) * 3],
				   STATUSES[rnd.randrange(7)], o % 2000, T0 + i + rnd.randrange(50),
				   int(rnd.expovariate(1 / 40.0)), (o % 9000) / 7.0, 1 + (rnd.random() < 0.05),
				   o % 5000))
	return "".join(out).encode()


def push_worker(args):
	port, path, lo, total, batch = args
	import http.client
	c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
	sent = nbytes = 0
	while sent < total:
		n = min(batch, total - sent)
		body = order_body(lo + sent, n)
		c.request("POST", path, body=body, headers={"Content-Type": "application/x-ndjson"})
		r = c.getresponse()
		d = r.read()
		if r.status != 200:
			raise RuntimeError("push: %d %s" % (r.status, d[:200]))
		sent += n
		nbytes += len(body)
	return nbytes


def load(srv, rows, conns=2, batch=50000):
	import multiprocessing as mp
	srv.create("orders", DIMS, METRICS, ts="event_time")
	per = rows // conns
	with mp.Pool(conns) as pool:
		nbytes = sum(pool.map(push_worker, [(srv.port, srv.ingest_path("orders"), k * per, per, batch)
						    for k in range(conns)]))
	while srv.count("orders") < per * conns:
		time.sleep(0.05)
	return nbytes, per * conns


QUERIES = [
	("count_filter", "SELECT COUNT(*) FROM orders WHERE market = 'de' AND latency_ms > 100"),
	("sum", "SELECT SUM(amount), SUM(latency_ms) FROM orders"),
	("group_by", "SELECT service, COUNT(*), AVG(latency_ms) FROM orders GROUP BY service"),
]


def run_queries(srv, rows):
	out = {}
	for name, sql in QUERIES:
		srv.query(sql)
		walls = []
		cpu0 = e2e.cpu_seconds(srv.proc.pid)
		start = time.monotonic()
		while len(walls) < 5 or (time.monotonic() - start < 2.0 and len(walls) < 200):
			t = time.monotonic()
			res = srv.query(sql)
			walls.append(time.monotonic() - t)
		cpu = (e2e.cpu_seconds(srv.proc.pid) - cpu0) / len(walls)
		med = statistics.median(walls)
		out[name] = {"median_ms": med * 1000, "server_cpu_ms": cpu * 1000,
			     "rows_per_cpu_s": rows / cpu if cpu > 0.0005 else None, "result": res}
	return out


class WaybillSealed(e2e.Waybill):
	def create(self, name, dims, metrics, ts="ts"):
		s = {"schemaName": name,
		     "dimensionFieldSpecs": [{"name": n, "dataType": t} for n, t in dims],
		     "metricFieldSpecs": [{"name": n, "dataType": t} for n, t in metrics],
		     "dateTimeFieldSpecs": [{"name": ts, "dataType": "LONG",
					     "format": "1:MILLISECONDS:EPOCH", "granularity": "1:MILLISECONDS"}]}
		c = {"tableName": name, "tableType": "OFFLINE",
		     "segmentsConfig": {"schemaName": name, "timeColumnName": ts, "replication": "1"},
		     "tenants": {}, "tableIndexConfig": {"loadMode": "MMAP", "sortedColumn": [SORTED]},
		     "metadata": {}}
		for path, body in (("/schemas", s), ("/tables", c)):
			st, txt = e2e.http_post(self.port, path, json.dumps(body))
			if st != 200:
				raise RuntimeError("%s: %d %s" % (path, st, txt))


def wb_restart(binary, data, kill):
	"""Stops the server (SIGTERM or kill -9) is done by the caller; this
	starts one on data and times exec -> /health OK -> first count(*)."""
	port = e2e.free_port()
	t0 = time.monotonic()
	log = open(os.path.join(os.path.dirname(data), "restart.log"), "ab")
	proc = subprocess.Popen([binary, "serve", "--data-dir", data, "--http", "127.0.0.1:%d" % port,
				 "--pg", "127.0.0.1:%d" % e2e.free_port()], stdout=log, stderr=log,
				stdin=subprocess.DEVNULL)
	while True:
		if proc.poll() is not None:
			raise RuntimeError("waybill exited at restart")
		st, txt = e2e.http_get(port, "/health")
		if st == 200 and txt.startswith("OK"):
			break
		time.sleep(0.005)
	ready = time.monotonic() - t0
	st, txt = e2e.http_post(port, "/query/sql", json.dumps({"sql": "SELECT count(*) FROM orders"}))
	first = time.monotonic() - t0
	n = json.loads(txt)["resultTable"]["rows"][0][0]
	srv = WaybillSealed.__new__(WaybillSealed)
	srv.port, srv.proc, srv.log, srv.data = port, proc, log, data
	return srv, {"ready_s": ready, "first_count_s": first, "rows": n, "kill9": kill}


def main():
	ap = argparse.ArgumentParser()
	ap.add_argument("--waybill", default="build/waybill")
	ap.add_argument("--rows", type=int, default=10_000_000)
	ap.add_argument("--no-clickhouse", action="store_true")
	ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
						      "build", "bench-segments.json"))
	a = ap.parse_args()
	res = {"rows": a.rows}
	tmp = tempfile.mkdtemp(prefix="wb-bench-seg-")
	try:
		srv = WaybillSealed(a.waybill, tmp)
		nbytes, rows = load(srv, a.rows)
		res["ndjson_bytes_per_row"] = nbytes / rows
		t = time.monotonic()
		st, txt = e2e.http_post(srv.port, "/tables/orders/forceCommit", "")
		if st != 200:
			raise RuntimeError("forceCommit: %s" % txt)
		res["seal_s"] = time.monotonic() - t
		segs = glob.glob(os.path.join(srv.data, "tables", "orders", "p*", "seg-*.wbs"))
		res["waybill_bytes_per_row"] = sum(os.path.getsize(f) for f in segs) / rows
		res["waybill_segments"] = len(segs)
		res["waybill_scan"] = run_queries(srv, rows)
		srv.stop()
		res["restart"] = []
		for kill in (False, True):
			srv, r = wb_restart(a.waybill, srv.data, kill)
			res["restart"].append(r)
			if kill:
				srv.proc.kill()
				srv.proc.wait()
			else:
				srv.stop()
		srv, r = wb_restart(a.waybill, srv.data, True)
		res["restart"].append(r)
		srv.stop()
	finally:
		shutil.rmtree(tmp, ignore_errors=True)
	if not a.no_clickhouse and os.path.exists("/usr/sbin/clickhouse-server"):
		tmp = tempfile.mkdtemp(prefix="wb-bench-ch-")
		ch = None
		try:
			ch = e2e.ClickHouse(tmp)
			ch.create = lambda name, dims, metrics, ts="ts": ch.sql(
				"CREATE TABLE %s (%s) ENGINE = MergeTree ORDER BY (%s, %s)" % (
					name, ", ".join("%s %s" % (n, ch.TYPES[t]) for n, t in
							dims + metrics + [(ts, "LONG")]), SORTED, ts))
			load(ch, a.rows)
			ch.sql("OPTIMIZE TABLE orders FINAL")
			b = ch.query("SELECT sum(bytes_on_disk) FROM system.parts WHERE table = 'orders' AND active")
			res["clickhouse_bytes_per_row"] = int(b[0][0]) / rows
			res["clickhouse_scan"] = run_queries(ch, rows)
		except Exception as e:
			res["clickhouse_error"] = str(e)
		finally:
			if ch:
				ch.stop()
			shutil.rmtree(tmp, ignore_errors=True)
	report(res)
	os.makedirs(os.path.dirname(a.out), exist_ok=True)
	with open(a.out, "w") as f:
		json.dump(res, f, indent=1, default=str)


def report(r):
	print("\n== sealed segments: %s order events" % e2e.fmt(r["rows"]))
	print("bytes per row: NDJSON %.1f, Waybill segments %.1f (%d files, sealed in %.2f s)%s" % (
		r["ndjson_bytes_per_row"], r["waybill_bytes_per_row"], r["waybill_segments"], r["seal_s"],
		", ClickHouse MergeTree %.1f" % r["clickhouse_bytes_per_row"] if "clickhouse_bytes_per_row" in r else ""))
	if "clickhouse_bytes_per_row" in r:
		print("ratio Waybill/ClickHouse bytes: %.2f (target <= 0.8)" % (
			r["waybill_bytes_per_row"] / r["clickhouse_bytes_per_row"]))
	print("%-11s %-13s %10s %10s %18s" % ("system", "query", "median ms", "cpu ms", "rows/s per core"))
	for s in ("waybill", "clickhouse"):
		q = r.get(s + "_scan")
		for name, _ in QUERIES if q else ():
			x = q[name]
			print("%-11s %-13s %10.1f %10.1f %18s" % (s, name, x["median_ms"], x["server_cpu_ms"],
								   e2e.fmt(x["rows_per_cpu_s"])))
	for x in r.get("restart", []):
		print("restart after %s: ready in %.3f s, first count(*) in %.3f s (%d rows)" % (
			"kill -9" if x["kill9"] else "SIGTERM", x["ready_s"], x["first_count_s"], x["rows"]))
	if "clickhouse_error" in r:
		print("clickhouse error: %s" % r["clickhouse_error"][:300])


if __name__ == "__main__":
	main()
