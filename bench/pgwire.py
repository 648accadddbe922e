#!/usr/bin/python3
"""PostgreSQL wire protocol benchmark (issue 7, item 5): the same queries on
the same data over Waybill's PostgreSQL wire protocol, over Waybill's HTTP
API, and on PostgreSQL 15 itself, in one run.

  data     --rows order events (default 1M), one per order: order_id LONG
	   (1..rows, unique, shuffled), status STRING (8 values), market
	   STRING (US/CA/MX), service STRING (20 values), amount DOUBLE, ts
	   TIMESTAMP (ms, 3 days).  CSV bodies of 100k rows generated once.
	   Waybill: pushed over HTTP (POST /tables/orders/ingest?format=csv),
	   REALTIME table with an inverted index on order_id, then
	   forceCommit.  PostgreSQL 15: COPY, PRIMARY KEY (order_id), VACUUM
	   ANALYZE; shared_buffers 1GB, jit off, fsync on.
  queries  lookup   SELECT * FROM orders WHERE order_id = <random id>
	   groupby  SELECT status, count(*), sum(amount) FROM orders GROUP BY status
  paths    wb-pg       Waybill's PG port through psycopg2 (parameters
		       interpolated client side: simple query protocol)
	   wb-http     Waybill's POST /query/sql, requests.Session keep-alive
	   pg15        PostgreSQL 15 through psycopg2
	   wb-pgbench  Waybill's PG port through pgbench -M prepared (Parse
		       once, then Bind/Execute with $1: the extended protocol)
	   pg15-pgbench PostgreSQL 15 through pgbench -M prepared
	   Python clients are processes (one connection each, no GIL
	   sharing); pgbench uses -j min(clients, 2) threads.
  measure  for each path, query and --clients count (default 1 and 8): a
	   warm-up of 1 s, then --seconds (default 5) of closed-loop load;
	   queries per second (all clients), p50 and p99 latency of single
	   queries (client wall time; pgbench: its per-transaction log).
	   Every lookup answer is checked (one row, the right order_id) and
	   the group-by answer against the generator's totals, per path.
  machine  clients share the machine with the server (2 cores here):
	   figures at 8 clients are bounded by the client processes' CPU as
	   well as the server's; pgbench is the lightest client.

Usage: bench/pgwire.py [--waybill build/waybill] [--rows 1000000]
		      [--clients 1,8] [--seconds 5]
		      [--paths wb-pg,wb-http,pg15,wb-pgbench,pg15-pgbench]
		      [--quick]   (100k rows, 2 s runs: a smoke run)
Prints a table and writes build/bench-pgwire.json.  No pass/fail by time.
"""
import argparse
import io
import json
import multiprocessing as mp
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e  # noqa: E402  free_port, wait_http, http_get
import peers  # noqa: E402  Conn, stop_pid, PGBIN

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STATUSES = ["CREATED", "PAID", "PICKED", "PACKED", "DISPATCHED", "DELIVERED", "FAILED", "CANCELLED"]
MARKETS = ["US", "CA", "MX"]
SERVICES = ["svc-%02d" % i for i in range(20)]
TS0 = 1763337600000		# 2025-11-17 00:00:00 UTC, ms
BATCH = 100_000
LOOKUP = "SELECT * FROM orders WHERE order_id = %d"
GROUPBY = "SELECT status, count(*), sum(amount) FROM orders GROUP BY status"
PATHS = ["wb-pg", "wb-http", "pg15", "wb-pgbench", "pg15-pgbench"]


# -- data ----------------------------------------------------------------------

def gen_chunk(args):
	"""CSV body (with header) of rows lo..lo+n-1 of a permutation of ids;
	returns (body, {status: (count, sum of amount in cents)})."""
	lo, n, rows, seed = args
	rnd = random.Random(seed * 1000003 + lo)
	out = io.StringIO()
	out.write("order_id,status,market,service,amount,ts\n")
	tot = {}
	for i in range(lo, lo + n):
		oid = (i * 7919 + 13) % rows + 1		# 7919 is prime and rows is not a multiple
		st = STATUSES[rnd.randrange(len(STATUSES))]
		cents = rnd.randrange(100, 50000)
		c, s = tot.get(st, (0, 0))
		tot[st] = (c + 1, s + cents)
		out.write("%d,%s,%s,%s,%d.%02d,%d\n" % (oid, st, MARKETS[rnd.randrange(3)],
						       SERVICES[rnd.randrange(20)], cents // 100, cents % 100,
						       TS0 + rnd.randrange(3 * 86400000)))
	return out.getvalue().encode(), tot


def generate(rows, seed):
	assert rows % 7919 != 0
	chunks = [(lo, min(BATCH, rows - lo), rows, seed) for lo in range(0, rows, BATCH)]
	with mp.Pool(2) as p:
		res = p.map(gen_chunk, chunks)
	bodies = [b for b, _ in res]
	tot = {}
	for _, t in res:
		for st, (c, s) in t.items():
			c0, s0 = tot.get(st, (0, 0))
			tot[st] = (c0 + c, s0 + s)
	return bodies, tot


# -- engines ---------------------------------------------------------------------

class Waybill:
	def __init__(self, binary, tmp):
		self.http_port = e2e.free_port()
		self.pg_port = e2e.free_port()
		while self.pg_port == self.http_port:
			self.pg_port = e2e.free_port()
		self.log = open(os.path.join(tmp, "waybill.log"), "wb")
		self.proc = subprocess.Popen([binary, "serve", "--data-dir", os.path.join(tmp, "wb"),
					      "--http", "127.0.0.1:%d" % self.http_port,
					      "--pg", "127.0.0.1:%d" % self.pg_port],
					     stdout=self.log, stderr=self.log, stdin=subprocess.DEVNULL)
		e2e.wait_http(lambda: e2e.http_get(self.http_port, "/health")[0] == 200, self.proc, timeout=120)
		self.conn = peers.Conn(self.http_port)

	def post(self, path, body, ctype="application/json"):
		st, txt = self.conn.post(path, body if isinstance(body, bytes) else body.encode(), ctype)
		if st != 200:
			raise RuntimeError("waybill %s: %d %s" % (path, st, txt[:500]))
		return txt

	def load(self, bodies):
		schema = {"schemaName": "orders",
			  "dimensionFieldSpecs": [{"name": "order_id", "dataType": "LONG"},
						  {"name": "status", "dataType": "STRING"},
						  {"name": "market", "dataType": "STRING"},
						  {"name": "service", "dataType": "STRING"}],
			  "metricFieldSpecs": [{"name": "amount", "dataType": "DOUBLE"}],
			  "dateTimeFieldSpecs": [{"name": "ts", "dataType": "TIMESTAMP",
						  "format": "1:MILLISECONDS:EPOCH", "granularity": "1:MILLISECONDS"}]}
		table = {"tableName": "orders", "tableType": "REALTIME",
			 "segmentsConfig": {"schemaName": "orders", "timeColumnName": "ts", "replication": "1"},
			 "tenants": {}, "metadata": {},
			 "tableIndexConfig": {"loadMode": "MMAP", "invertedIndexColumns": ["order_id", "status"]}}
		self.post("/schemas", json.dumps(schema))
		self.post("/tables", json.dumps(table))
		t = time.perf_counter()
		for b in bodies:
			j = json.loads(self.post("/tables/orders/ingest?format=csv", b, "text/csv"))
			if j.get("rejected"):
				raise RuntimeError("waybill ingest rejected rows: %s" % json.dumps(j)[:500])
		self.post("/tables/orders/forceCommit", b"")
		return time.perf_counter() - t

	def stop(self):
		peers.stop_pid(self.proc, signal.SIGTERM)


class Postgres:
	def __init__(self, tmp):
		import psycopg2
		self.dir = os.path.join(tmp, "pg")
		os.makedirs(self.dir)
		self.port = e2e.free_port()
		user = {}
		if os.getuid() == 0:		# initdb and postgres refuse to run as root
			import pwd
			pw = pwd.getpwnam("postgres")
			os.chown(self.dir, pw.pw_uid, pw.pw_gid)
			os.chmod(tmp, 0o755)
			user = {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}
		data = os.path.join(self.dir, "data")
		self.log = open(os.path.join(tmp, "pg.log"), "wb")
		subprocess.run([peers.PGBIN + "/initdb", "-D", data, "-U", "bench", "-A", "trust", "-E", "UTF8",
				"--locale=C"], check=True, stdout=self.log, stderr=self.log, **user)
		opts = ["-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=" + self.dir,
			"-c", "shared_buffers=1GB", "-c", "work_mem=64MB", "-c", "jit=off",
			"-c", "max_connections=50", "-c", "timezone=UTC", "-c", "fsync=on"]
		self.proc = subprocess.Popen([peers.PGBIN + "/postgres", "-D", data, "-p", str(self.port)] + opts,
					     stdout=self.log, stderr=self.log, stdin=subprocess.DEVNULL, **user)
		dl = time.monotonic() + 60
		while True:
			if self.proc.poll() is not None:
				raise RuntimeError("postgres exited")
			try:
				self.db = psycopg2.connect(host="127.0.0.1", port=self.port, user="bench", dbname="postgres")
				break
			except psycopg2.OperationalError:
				if time.monotonic() > dl:
					raise
				time.sleep(0.1)
		self.db.autocommit = True

	def load(self, bodies):
		cur = self.db.cursor()
		cur.execute("CREATE TABLE orders (order_id bigint PRIMARY KEY, status text, market text, "
			    "service text, amount double precision, ts timestamp)")
		t = time.perf_counter()
		for b in bodies:
			# ts arrives as epoch ms: COPY into a staging table, convert on insert
			cur.execute("CREATE TEMP TABLE IF NOT EXISTS stage (order_id bigint, status text, market text, "
				    "service text, amount double precision, ts bigint)")
			cur.copy_expert("COPY stage FROM STDIN WITH (FORMAT csv, HEADER true)", io.BytesIO(b))
			cur.execute("INSERT INTO orders SELECT order_id, status, market, service, amount, "
				    "to_timestamp(ts / 1000.0) AT TIME ZONE 'UTC' FROM stage")
			cur.execute("TRUNCATE stage")
		cur.execute("VACUUM ANALYZE orders")
		return time.perf_counter() - t

	def stop(self):
		try:
			self.db.close()
		except Exception:		# noqa: BLE001
			pass
		peers.stop_pid(self.proc, signal.SIGINT)


# -- clients ---------------------------------------------------------------------

def client_proc(args):
	"""One closed-loop client: returns (latencies in s, errors, first error)."""
	path, port, user, query, rows, warm_s, run_s, seed, want_groups = args
	rnd = random.Random(seed)
	lat = []
	errors = 0
	first_err = None
	if path == "wb-http":
		import requests
		s = requests.Session()
		url = "http://127.0.0.1:%d/query/sql" % port

		def run(sql):
			r = s.post(url, json={"sql": sql}, timeout=60)
			j = r.json()
			if r.status_code != 200 or j.get("exceptions"):
				raise RuntimeError("HTTP %d %s" % (r.status_code, json.dumps(j.get("exceptions"))[:300]))
			return j["resultTable"]["rows"]
	else:
		import psycopg2
		db = psycopg2.connect(host="127.0.0.1", port=port, user=user, dbname=user if user == "waybill" else "postgres")
		db.autocommit = True
		cur = db.cursor()

		def run(sql):
			cur.execute(sql)
			return cur.fetchall()
	t_end_warm = time.perf_counter() + warm_s
	t_end = t_end_warm + run_s
	while True:
		t0 = time.perf_counter()
		if t0 >= t_end:
			break
		oid = rnd.randrange(1, rows + 1)
		sql = LOOKUP % oid if query == "lookup" else GROUPBY
		try:
			res = run(sql)
			if query == "lookup":
				ok = len(res) == 1 and int(res[0][0]) == oid
			else:
				got = {r[0]: (int(r[1]), round(float(r[2]) * 100)) for r in res}
				ok = got == want_groups
			if not ok:
				raise RuntimeError("wrong answer: %s" % str(res)[:300])
		except Exception as e:		# noqa: BLE001
			errors += 1
			if first_err is None:
				first_err = "%s: %s" % (type(e).__name__, e)
			if path != "wb-http":
				try:
					db.rollback()
				except Exception:		# noqa: BLE001
					pass
			continue
		t1 = time.perf_counter()
		if t0 >= t_end_warm:
			lat.append(t1 - t0)
	return lat, errors, first_err


def pct(sorted_lat, p):
	if not sorted_lat:
		return None
	k = max(0, min(len(sorted_lat) - 1, int(round(p / 100.0 * len(sorted_lat) + 0.5)) - 1))
	return sorted_lat[k]


def run_python(path, port, user, query, clients, rows, seconds, want_groups):
	args = [(path, port, user, query, rows, 1.0, seconds, 1000 + i, want_groups) for i in range(clients)]
	with mp.get_context("fork").Pool(clients) as p:
		res = p.map(client_proc, args)
	lat = sorted(x for r in res for x in r[0])
	errors = sum(r[1] for r in res)
	first = next((r[2] for r in res if r[2]), None)
	return {"qps": len(lat) / seconds, "p50_ms": pct(lat, 50) and pct(lat, 50) * 1000,
		"p99_ms": pct(lat, 99) and pct(lat, 99) * 1000, "queries": len(lat), "errors": errors,
		"first_error": first}


def run_pgbench(port, user, query, clients, rows, seconds, tmp):
	script = os.path.join(tmp, "pgbench-%s.sql" % query)
	with open(script, "w") as f:
		if query == "lookup":
			f.write("\\set id random(1, %d)\nSELECT * FROM orders WHERE order_id = :id;\n" % rows)
		else:
			f.write(GROUPBY + ";\n")
	logdir = tempfile.mkdtemp(dir=tmp)
	dbname = "waybill" if user == "waybill" else "postgres"
	base = ["pgbench", "-n", "-f", script, "-M", "prepared", "-c", str(clients), "-j", str(min(clients, 2)),
		"-h", "127.0.0.1", "-p", str(port), "-U", user]
	env = dict(os.environ, PGCONNECT_TIMEOUT="10")
	subprocess.run(base + ["-T", "1", dbname], capture_output=True, env=env, timeout=120)	# warm-up
	secs = max(1, int(round(seconds)))
	r = subprocess.run(base + ["-T", str(secs), "-l", "--log-prefix", os.path.join(logdir, "pgb"), dbname],
			   capture_output=True, text=True, env=env, timeout=secs + 120)
	out = r.stdout + r.stderr
	lat = []
	for fn in os.listdir(logdir):
		with open(os.path.join(logdir, fn)) as f:
			for ln in f:
				p = ln.split()
				if len(p) >= 3 and p[2].isdigit():
					lat.append(int(p[2]) / 1e6)
	shutil.rmtree(logdir, ignore_errors=True)
	lat.sort()
	import re
	m = re.search(r"number of failed transactions: (\d+)", out)
	failed = int(m.group(1)) if m else 0
	res = {"qps": len(lat) / secs, "p50_ms": pct(lat, 50) and pct(lat, 50) * 1000,
	       "p99_ms": pct(lat, 99) and pct(lat, 99) * 1000, "queries": len(lat),
	       "errors": failed + (0 if r.returncode == 0 else 1),
	       "first_error": None if r.returncode == 0 and not failed else out[-600:]}
	return res


# -- main ------------------------------------------------------------------------

def fmt(x, nd=1):
	if x is None:
		return "-"
	if x >= 100:
		return "%.0f" % x
	return ("%%.%df" % (2 if x < 10 else nd)) % x


def report(res, clients_list):
	print()
	print("rows %d; load: waybill %.1f s, postgres %.1f s" % (res["rows"], res.get("load_s", {}).get("waybill", 0),
								 res.get("load_s", {}).get("postgres", 0)))
	hdr = "%-8s %-13s" % ("query", "path")
	for c in clients_list:
		hdr += " | %3d cl: %8s %8s %8s" % (c, "qps", "p50 ms", "p99 ms")
	print(hdr)
	print("-" * len(hdr))
	for q in ("lookup", "groupby"):
		for path in res["paths"]:
			line = "%-8s %-13s" % (q, path)
			for c in clients_list:
				r = res["results"].get("%s/%s/%d" % (q, path, c))
				if r is None:
					line += " | %8s %8s %8s %8s" % ("", "-", "-", "-")
				elif r["errors"] and not r["queries"]:
					line += " | %8s %26s" % ("", "ERRORS")
				else:
					line += " | %8s %8s %8s %8s" % ("", fmt(r["qps"]), fmt(r["p50_ms"]), fmt(r["p99_ms"]))
			print(line)
	errs = [(k, r) for k, r in res["results"].items() if r["errors"]]
	for k, r in errs:
		print("errors in %s: %d, first: %s" % (k, r["errors"], (r["first_error"] or "")[:300]))


def main():
	ap = argparse.ArgumentParser()
	ap.add_argument("--waybill", default=os.path.join(ROOT, "build", "waybill"))
	ap.add_argument("--rows", type=int, default=1_000_000)
	ap.add_argument("--clients", default="1,8")
	ap.add_argument("--seconds", type=float, default=5.0)
	ap.add_argument("--paths", default=",".join(PATHS))
	ap.add_argument("--seed", type=int, default=7)
	ap.add_argument("--quick", action="store_true")
	args = ap.parse_args()
	if args.quick:
		args.rows, args.seconds = 100_000, 2.0
	paths = [p for p in args.paths.split(",") if p]
	clients_list = [int(x) for x in args.clients.split(",")]
	if not os.path.exists(peers.PGBIN + "/postgres"):
		print("PostgreSQL 15 not installed: pg15 paths left out")
		paths = [p for p in paths if not p.startswith("pg15")]
	if shutil.which("pgbench") is None:
		paths = [p for p in paths if not p.endswith("pgbench")]

	t = time.perf_counter()
	bodies, tot = generate(args.rows, args.seed)
	want_groups = {st: (c, s) for st, (c, s) in tot.items()}
	print("generated %d rows in %.1f s" % (args.rows, time.perf_counter() - t), flush=True)
	tmp = tempfile.mkdtemp(prefix="wb-bench-pgwire-")
	os.chmod(tmp, 0o755)
	res = {"rows": args.rows, "seconds": args.seconds, "paths": paths, "results": {}, "load_s": {},
	       "machine_cpus": os.cpu_count()}
	wb = pg = None
	try:
		if any(p.startswith("wb") for p in paths):
			wb = Waybill(args.waybill, tmp)
			res["load_s"]["waybill"] = wb.load(bodies)
			print("waybill loaded in %.1f s" % res["load_s"]["waybill"], flush=True)
		if any(p.startswith("pg15") for p in paths):
			pg = Postgres(tmp)
			res["load_s"]["postgres"] = pg.load(bodies)
			print("postgres loaded in %.1f s" % res["load_s"]["postgres"], flush=True)
		del bodies
		for q in ("lookup", "groupby"):
			for path in paths:
				for c in clients_list:
					if path == "wb-pg":
						r = run_python(path, wb.pg_port, "waybill", q, c, args.rows, args.seconds, want_groups)
					elif path == "wb-http":
						r = run_python(path, wb.http_port, None, q, c, args.rows, args.seconds, want_groups)
					elif path == "pg15":
						r = run_python(path, pg.port, "bench", q, c, args.rows, args.seconds, want_groups)
					elif path == "wb-pgbench":
						r = run_pgbench(wb.pg_port, "waybill", q, c, args.rows, args.seconds, tmp)
					else:
						r = run_pgbench(pg.port, "bench", q, c, args.rows, args.seconds, tmp)
					res["results"]["%s/%s/%d" % (q, path, c)] = r
					print("  %-8s %-13s %d clients: %s qps, p50 %s ms, p99 %s ms%s" % (
						q, path, c, fmt(r["qps"]), fmt(r["p50_ms"]), fmt(r["p99_ms"]),
						", %d errors" % r["errors"] if r["errors"] else ""), flush=True)
	finally:
		if wb:
			wb.stop()
		if pg:
			pg.stop()
		shutil.rmtree(tmp, ignore_errors=True)
	report(res, clients_list)
	os.makedirs(os.path.join(ROOT, "build"), exist_ok=True)
	with open(os.path.join(ROOT, "build", "bench-pgwire.json"), "w") as f:
		json.dump(res, f, indent=1)


if __name__ == "__main__":
	main()
