#!/usr/bin/python3
"""End-to-end benchmarks: Waybill against ClickHouse on the same data.

  ingest  ~200-byte NDJSON events pushed over HTTP by a load generator
          (several processes, one keep-alive connection each, pre-built
          bodies so the generator costs little CPU).  Rows/s and MB/s are
          measured until count(*) reflects every row (a 200 from Waybill
          already means durable and visible; ClickHouse is polled).  "Per
          core" divides by the server's CPU seconds (utime+stime from
          /proc/PID/stat), so the load generator's share of this 2-core
          machine is not charged to the server.
  query   10M synthetic rows (dimensions country/device/status, metrics
          qty/amount, ts); COUNT(*), COUNT(*) with a filter, GROUP BY a
          5-value column.  Median of 5 runs after a warm-up; rows scanned
          per second per core = rows / (server CPU seconds per run).

Usage: bench/e2e.py --waybill build/waybill [--rows 10000000]
		    [--ingest-rows 4000000] [--no-clickhouse]
Prints a table and writes build/bench-results.json.  No pass/fail by time.
"""
import argparse
import http.client
import json
import multiprocessing as mp
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse

EVENT = ('{"id":%d,"ts":%d,"order_id":"ord-%08d","service":"svc-%d","stage":"stage-%d",'
	 '"market":"%s","store":%d,"qty":%d,"amount":%d.%02d,"status":"status-%d","note":"event-note-padding"}\n')
MARKETS = ["US", "CA", "MX"]
FACT = '{"id":%d,"ts":%d,"country":"%s","device":"%s","status":%d,"qty":%d,"amount":%d.%02d}\n'
COUNTRIES = ["US", "CA", "MX", "DE", "FR", "GB", "JP", "BR", "IN", "AU", "ES", "IT",
	     "NL", "SE", "PL", "KR", "CN", "ZA", "AR", "CL"]
DEVICES = ["ios", "android", "web", "tv", "kiosk"]
TS0 = 1700000000000


def free_port():
	s = socket.socket()
	s.bind(("127.0.0.1", 0))
	p = s.getsockname()[1]
	s.close()
	return p


def cpu_seconds(pid):
	with open("/proc/%d/stat" % pid) as f:
		fields = f.read().rsplit(")", 1)[1].split()
	return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def event_body(lo, n):
	return "".join(EVENT % (i, TS0 + i, i, i % 25, i % 12, MARKETS[i % 3], i % 500, i % 10,
				 i % 1000, i % 100, i % 7) for i in range(lo, lo + n)).encode()


def fact_body(lo, n):
	return "".join(FACT % (i, TS0 + i * 10, COUNTRIES[(i * 7) % 20], DEVICES[(i * 13) % 5],
				i % 10, (i // 20) % 10, i % 1000, i % 100) for i in range(lo, lo + n)).encode()


def _push_worker(args):
	host, port, path, kind, lo, total, batch = args
	make = event_body if kind == "event" else fact_body
	conn = http.client.HTTPConnection(host, port, timeout=600)
	sent = 0
	nbytes = 0
	bodies = {}
	while sent < total:
		n = min(batch, total - sent)
		key = (sent // batch) % 4		# 4 distinct bodies, reused: ids repeat, fine
		if kind == "fact" or key not in bodies or len(bodies[key]) != n:
			body = make(lo + sent, n)
			if kind == "event":
				bodies[key] = body
		else:
			body = bodies[key]
		conn.request("POST", path, body=body, headers={"Content-Type": "application/x-ndjson"})
		r = conn.getresponse()
		data = r.read()
		if r.status != 200:
			raise RuntimeError("push failed: %d %s" % (r.status, data[:300]))
		sent += n
		nbytes += len(body)
	conn.close()
	return nbytes


def push(host, port, path, kind, total, conns, batch):
	per = total // conns
	jobs = [(host, port, path, kind, k * per, per, batch) for k in range(conns)]
	with mp.Pool(conns) as pool:
		return sum(pool.map(_push_worker, jobs)), per * conns


# -- servers ------------------------------------------------------------------

class Waybill:
	name = "waybill"

	def __init__(self, binary, tmp):
		self.port = free_port()
		self.data = os.path.join(tmp, "wb-data")
		self.log = open(os.path.join(tmp, "waybill.log"), "wb")
		self.proc = subprocess.Popen([binary, "serve", "--data-dir", self.data,
					      "--http", "127.0.0.1:%d" % self.port,
					      "--pg", "127.0.0.1:%d" % free_port()],
					     stdout=self.log, stderr=self.log, stdin=subprocess.DEVNULL)
		wait_http(lambda: http_get(self.port, "/health")[0] == 200, self.proc)

	def create(self, name, dims, metrics, ts="ts"):
		s = {"schemaName": name,
		     "dimensionFieldSpecs": [{"name": n, "dataType": t} for n, t in dims],
		     "metricFieldSpecs": [{"name": n, "dataType": t} for n, t in metrics],
		     "dateTimeFieldSpecs": [{"name": ts, "dataType": "TIMESTAMP",
					     "format": "1:MILLISECONDS:TIMESTAMP", "granularity": "1:MILLISECONDS"}]}
		c = {"tableName": name, "tableType": "REALTIME",
		     "segmentsConfig": {"schemaName": name, "timeColumnName": ts, "replication": "1"},
		     "tenants": {}, "tableIndexConfig": {"loadMode": "MMAP"}, "metadata": {}}
		for path, body in (("/schemas", s), ("/tables", c)):
			st, txt = http_post(self.port, path, json.dumps(s if path == "/schemas" else c))
			if st != 200:
				raise RuntimeError("%s: %d %s" % (path, st, txt))

	def ingest_path(self, table):
		return "/tables/%s/ingest?format=ndjson" % table

	def query(self, sql):
		st, txt = http_post(self.port, "/query/sql", json.dumps({"sql": sql}))
		j = json.loads(txt)
		if st != 200 or j.get("exceptions"):
			raise RuntimeError("query %s: %s" % (sql, txt[:500]))
		return j["resultTable"]["rows"]

	def count(self, table):
		return int(self.query("SELECT count(*) FROM %s" % table)[0][0])

	def stop(self):
		self.proc.send_signal(signal.SIGTERM)
		try:
			self.proc.wait(timeout=60)
		except subprocess.TimeoutExpired:
			self.proc.kill()
			self.proc.wait()


CH_CONFIG = """<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>{d}/ch.log</log><errorlog>{d}/ch.err.log</errorlog><console>0</console></logger>
  <http_port>{http}</http_port>
  <tcp_port>{tcp}</tcp_port>
  <listen_host>127.0.0.1</listen_host>
  <path>{d}/data/</path>
  <tmp_path>{d}/tmp/</tmp_path>
  <user_files_path>{d}/tmp/</user_files_path>
  <format_schema_path>{d}/tmp/</format_schema_path>
  <users_config>{users}</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>536870912</mark_cache_size>
  <max_concurrent_queries>16</max_concurrent_queries>
</yandex>
"""


class ClickHouse:
	name = "clickhouse"
	TYPES = {"STRING": "String", "INT": "Int32", "LONG": "Int64", "DOUBLE": "Float64",
		 "TIMESTAMP": "Int64"}

	def __init__(self, tmp):
		d = os.path.join(tmp, "ch")
		os.makedirs(d + "/data")
		os.makedirs(d + "/tmp")
		self.port = free_port()
		cfg = os.path.join(d, "config.xml")
		with open(cfg, "w") as f:
			f.write(CH_CONFIG.format(d=d, http=self.port, tcp=free_port(),
						 users="/etc/clickhouse-server/users.xml"))
		self.log = open(os.path.join(d, "out.log"), "wb")
		self.proc = subprocess.Popen(["/usr/sbin/clickhouse-server", "--config-file=" + cfg],
					     stdout=self.log, stderr=self.log, stdin=subprocess.DEVNULL)
		wait_http(lambda: http_get(self.port, "/ping")[0] == 200, self.proc)

	def sql(self, q, body=None):
		path = "/?query=" + urllib.parse.quote(q)
		st, txt = http_post(self.port, path, body if body is not None else "")
		if st != 200:
			raise RuntimeError("clickhouse %s: %s" % (q, txt[:500]))
		return txt

	def create(self, name, dims, metrics, ts="ts"):
		cols = [(n, t) for n, t in dims + metrics] + [(ts, "TIMESTAMP")]
		self.sql("CREATE TABLE %s (%s) ENGINE = MergeTree ORDER BY %s" % (
			name, ", ".join("%s %s" % (n, self.TYPES[t]) for n, t in cols), ts))

	def ingest_path(self, table):
		return "/?query=" + urllib.parse.quote("INSERT INTO %s FORMAT JSONEachRow" % table)

	def query(self, sql):
		return json.loads(self.sql(sql + " FORMAT JSONCompact"))["data"]

	def count(self, table):
		return int(self.query("SELECT count(*) FROM %s" % table)[0][0])

	def stop(self):
		self.proc.send_signal(signal.SIGTERM)
		try:
			self.proc.wait(timeout=60)
		except subprocess.TimeoutExpired:
			self.proc.kill()
			self.proc.wait()


def http_get(port, path):
	try:
		c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
		c.request("GET", path)
		r = c.getresponse()
		return r.status, r.read().decode("utf-8", "replace")
	except OSError:
		return 0, ""


def http_post(port, path, body):
	c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
	c.request("POST", path, body=body.encode() if isinstance(body, str) else body)
	r = c.getresponse()
	return r.status, r.read().decode("utf-8", "replace")


def wait_http(ok, proc, timeout=60):
	t = time.monotonic() + timeout
	while time.monotonic() < t:
		if proc.poll() is not None:
			raise RuntimeError("server exited with %s" % proc.returncode)
		if ok():
			return
		time.sleep(0.1)
	raise RuntimeError("server not ready")


# -- benchmarks ---------------------------------------------------------------

EV_DIMS = [("id", "LONG"), ("order_id", "STRING"), ("service", "STRING"), ("stage", "STRING"),
	   ("market", "STRING"), ("store", "INT"), ("status", "STRING"), ("note", "STRING")]
EV_METRICS = [("qty", "INT"), ("amount", "DOUBLE")]
FACT_DIMS = [("id", "LONG"), ("country", "STRING"), ("device", "STRING"), ("status", "INT")]
FACT_METRICS = [("qty", "INT"), ("amount", "DOUBLE")]

QUERIES = [
	("count", "SELECT COUNT(*) FROM facts"),
	("count_filter", "SELECT COUNT(*) FROM facts WHERE country = 'US' AND qty > 5"),
	("group_by", "SELECT device, COUNT(*), SUM(amount) FROM facts GROUP BY device"),
]


def bench_ingest(srv, rows, conns, batch):
	srv.create("events", EV_DIMS, EV_METRICS)
	cpu0 = cpu_seconds(srv.proc.pid)
	t0 = time.monotonic()
	nbytes, sent = push("127.0.0.1", srv.port, srv.ingest_path("events"), "event", rows, conns, batch)
	while srv.count("events") < sent:
		time.sleep(0.01)
	wall = time.monotonic() - t0
	cpu = cpu_seconds(srv.proc.pid) - cpu0
	return {"rows": sent, "bytes": nbytes, "wall_s": wall, "server_cpu_s": cpu,
		"rows_per_s": sent / wall, "mb_per_s": nbytes / wall / 1e6,
		"rows_per_cpu_s": sent / cpu if cpu > 0 else None,
		"row_bytes": nbytes / sent}


def bench_query(srv, rows, conns, batch, min_runs=5, min_seconds=2.0, max_runs=200):
	srv.create("facts", FACT_DIMS, FACT_METRICS)
	t0 = time.monotonic()
	push("127.0.0.1", srv.port, srv.ingest_path("facts"), "fact", rows, conns, batch)
	while srv.count("facts") < rows:
		time.sleep(0.05)
	out = {"load_s": time.monotonic() - t0}
	for name, sql in QUERIES:
		srv.query(sql)		# warm-up
		walls = []
		cpu0 = cpu_seconds(srv.proc.pid)
		start = time.monotonic()
		# enough runs for the 10 ms CPU-time ticks to average out
		while len(walls) < min_runs or (time.monotonic() - start < min_seconds and len(walls) < max_runs):
			t = time.monotonic()
			res = srv.query(sql)
			walls.append(time.monotonic() - t)
		runs = len(walls)
		cpu = (cpu_seconds(srv.proc.pid) - cpu0) / runs
		med = statistics.median(walls)
		out[name] = {"median_ms": med * 1000, "server_cpu_ms": cpu * 1000,
			     "rows_per_s": rows / med,
			     "rows_per_cpu_s": rows / cpu if cpu > 0.0005 else None,
			     "runs": runs, "result": res}
	return out


def fmt(x, unit=""):
	if x is None:
		return "n/a"
	for div, suf in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
		if abs(x) >= div:
			return "%.2f%s%s" % (x / div, suf, unit)
	return "%.2f%s" % (x, unit)


def main():
	ap = argparse.ArgumentParser()
	ap.add_argument("--waybill", default="build/waybill")
	ap.add_argument("--rows", type=int, default=10_000_000)
	ap.add_argument("--ingest-rows", type=int, default=4_000_000)
	ap.add_argument("--conns", type=int, default=4)
	ap.add_argument("--batch", type=int, default=10_000)
	ap.add_argument("--no-clickhouse", action="store_true")
	ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "build", "bench-results.json"))
	a = ap.parse_args()
	results = {"machine": {"cpus": os.cpu_count()}, "args": vars(a)}
	systems = [("waybill", lambda tmp: Waybill(a.waybill, tmp))]
	if not a.no_clickhouse:
		if shutil.which("clickhouse-server") or os.path.exists("/usr/sbin/clickhouse-server"):
			systems.append(("clickhouse", ClickHouse))
		else:
			print("clickhouse-server not installed: skipped (bench/run.sh bench-deps installs it)")
	for name, make in systems:
		tmp = tempfile.mkdtemp(prefix="wb-bench-")
		srv = None
		try:
			srv = make(tmp)
			r = {}
			try:
				r["ingest"] = bench_ingest(srv, a.ingest_rows, a.conns, a.batch)
			except Exception as e:
				r["ingest"] = {"error": str(e)}
			try:
				r["query"] = bench_query(srv, a.rows, a.conns, 50_000)
			except Exception as e:
				r["query"] = {"error": str(e)}
			results[name] = r
		except Exception as e:
			results[name] = {"error": str(e)}
		finally:
			if srv:
				srv.stop()
			shutil.rmtree(tmp, ignore_errors=True)
		print(json.dumps({name: results[name]}, indent=1, default=str)[:3000], file=sys.stderr)
	report(results)
	os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
	with open(a.out, "w") as f:
		json.dump(results, f, indent=1, default=str)


def report(res):
	for s in ("waybill", "clickhouse"):
		if "error" in res.get(s, {}):
			print("%s: error: %s" % (s, res[s]["error"][:300]))
	print("\n== ingest (HTTP push, ~200-byte NDJSON events, until count(*) sees them)")
	print("%-11s %12s %10s %16s %10s" % ("system", "rows/s", "MB/s", "rows/server-cpu-s", "wall s"))
	for s in ("waybill", "clickhouse"):
		i = res.get(s, {}).get("ingest")
		if not i:
			continue
		if "error" in i:
			print("%-11s error: %s" % (s, i["error"][:200]))
			continue
		print("%-11s %12s %10.1f %16s %10.2f" % (s, fmt(i["rows_per_s"]), i["mb_per_s"],
							 fmt(i["rows_per_cpu_s"]), i["wall_s"]))
	print("target: >= 500k rows/s per core (Waybill)")
	print("\n== query (%s rows)" % fmt(res["args"]["rows"]))
	print("%-11s %-13s %10s %12s %14s %18s" % ("system", "query", "median ms", "cpu ms", "rows/s", "rows/s per core"))
	for s in ("waybill", "clickhouse"):
		q = res.get(s, {}).get("query")
		if not q:
			continue
		if "error" in q:
			print("%-11s error: %s" % (s, q["error"][:200]))
			continue
		for name, _ in QUERIES:
			x = q[name]
			print("%-11s %-13s %10.1f %12.1f %14s %18s" % (s, name, x["median_ms"], x["server_cpu_ms"],
								      fmt(x["rows_per_s"]), fmt(x["rows_per_cpu_s"])))
	print("target: >= 200M rows/s per core scanned (Waybill)")
	w, c = res.get("waybill", {}), res.get("clickhouse", {})
	if "ingest" in w and "ingest" in c and "error" not in w["ingest"] and "error" not in c["ingest"]:
		print("\nratio waybill/clickhouse ingest rows/s: %.2f" % (w["ingest"]["rows_per_s"] / c["ingest"]["rows_per_s"]))
	if "query" in w and "query" in c and "error" not in w["query"] and "error" not in c["query"]:
		for name, _ in QUERIES:
			print("ratio clickhouse/waybill latency %-13s: %.2f (>1: waybill faster)"
			      % (name, c["query"][name]["median_ms"] / max(w["query"][name]["median_ms"], 1e-6)))


if __name__ == "__main__":
	main()
