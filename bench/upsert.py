#!/usr/bin/python3
"""Upsert benchmark: Waybill's upsert tables (Pinot's upsertConfig, FULL)
against PostgreSQL 15 (INSERT ... ON CONFLICT DO UPDATE) and ClickHouse
18.16 (ReplacingMergeTree, queried with FINAL), in one run, on the same
data.

  data      item availability: --rows updates (default 5M) over --keys keys
	    (default 1M), keys drawn at random; two key shapes on the same
	    rows: "composite" (item_id LONG, node_id INT; 16 nodes per item)
	    and "single" (id LONG = item_id * 100 + node_id).  Values qty INT
	    (10% zero), price DOUBLE, category STRING (24 values), ts LONG
	    (ms).  Timestamps increase with the row number, except ~5% of the
	    rows, which are late by up to two key-updates' worth of rows, so
	    many of them are older than their key's latest version and must
	    lose.  CSV bodies of --batch rows (default 100k) are generated
	    once (2 processes) and sent to every engine; the expected latest
	    state (count, per-category sums, zero count, one key's row) is
	    computed alongside and every engine's answers are checked.
  upserts   Waybill: POST /tables/T/ingest?format=csv, --wb-conns pushers
	    (threads, one keep-alive connection each); a 200 means durable
	    (fsynced log) and visible.  REALTIME table, primaryKeyColumns,
	    upsertConfig FULL, comparison column = the time column ts,
	    --partitions partitions by the key's first column
	    (segmentPartitionConfig), realtime.segment.flush.threshold.rows
	    --flush-rows (default 5M, Pinot's: nothing is sealed during the
	    load, every decision reads the mutable segment).  Then again as
	    "waybill-sealed" with --sealed-flush-rows (500k): segments are
	    sealed during the load and most keys' latest versions are in
	    segment files -- the steady state of a long-running table.
	    PostgreSQL: per batch one transaction: COPY into a temporary
	    table, INSERT ... SELECT DISTINCT ON (key) ... ORDER BY key, ts
	    DESC ON CONFLICT (key) DO UPDATE ... WHERE excluded.ts >= t.ts;
	    --pg-conns sessions; fsync=on, synchronous_commit=on (durable at
	    each commit, like Waybill's 200).  ClickHouse: INSERT ... FORMAT
	    CSVWithNames over HTTP, --ch-conns connections, into
	    ReplacingMergeTree(ts) ORDER BY key (ClickHouse does not decide
	    anything at insert: merges and FINAL do).
	    Rate = rows / wall time; per core = rows / the server's CPU
	    seconds over the load (utime+stime of /proc/PID/stat; for
	    PostgreSQL the postmaster and all its children).
  key index waybill_upsert_index_bytes / waybill_upsert_keys from
	    /metrics; the server's RSS (VmRSS) before and after the load.
  restart   --restart-keys distinct keys (default 10M, composite) pushed,
	    forceCommit (writes the key-index snapshot); then (a) SIGTERM
	    and start again, (b) kill -9 and start again, (c) --restart-tail
	    more updates left unsealed (in the log), kill -9, start again.
	    Each: time from exec to the first SELECT count(*) answering the
	    full key count (polled every 5 ms).
  queries   over the latest state: count(*), SELECT category, sum(qty),
	    count(*) GROUP BY category, count(*) WHERE qty = 0, a point
	    lookup by key.  One warm-up, then --runs runs, median and p99
	    (nearest rank), client wall time over one keep-alive connection
	    (psycopg2 for PostgreSQL, after VACUUM ANALYZE).

Usage: bench/upsert.py [--waybill build/waybill] [--rows 5000000]
		       [--keys 1000000] [--restart-keys 10000000]
		       [--kinds composite,single]
		       [--engines waybill,waybill-sealed,postgres,clickhouse]
		       [--quick]  (small sizes: a smoke run of well under a minute)
Prints a table and writes build/bench-upsert.json.  No pass/fail by time.
"""
import argparse
import http.client
import json
import multiprocessing as mp
import os
import random
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e  # noqa: E402  free_port, http_get, wait_http, cpu_seconds
import peers  # noqa: E402  Conn, ClickHouse, stop_pid, PGBIN

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TS0 = 1763337600000		# 2025-11-17 00:00:00 UTC, ms
NODES = 16
ITEM0 = 10_000_000
CATS = ["cat-%02d" % i for i in range(24)]
KINDS = {
	"composite": {"cols": ["item_id", "node_id", "qty", "price", "category", "ts"],
		      "key": ["item_id", "node_id"]},
	"single": {"cols": ["id", "qty", "price", "category", "ts"], "key": ["id"]},
}
WB_TYPES = {"item_id": "LONG", "node_id": "INT", "id": "LONG", "qty": "INT", "price": "DOUBLE",
	    "category": "STRING", "ts": "LONG"}
PG_TYPES = {"LONG": "bigint", "INT": "integer", "DOUBLE": "double precision", "STRING": "text"}
CH_TYPES = {"LONG": "Int64", "INT": "Int32", "DOUBLE": "Float64", "STRING": "String"}


def key_cols(k):
	"""(item_id, node_id, id) of key number k."""
	item = ITEM0 + k // NODES
	node = k % NODES
	return item, node, item * 100 + node


# -- data ----------------------------------------------------------------------

def gen_chunk(args):
	"""Rows [lo, hi) of the update stream: CSV bodies for both key shapes
	and the chunk's latest version per key (key -> (ts, seq, qty, cat))."""
	lo, hi, nkeys, seed, late_share, distinct = args
	rnd = random.Random(seed * 1_000_003 + lo)
	R, RI = rnd.random, rnd.randint
	span = 2 * max(1, nkeys)	# late by up to ~two updates of a key
	comp = ["item_id,node_id,qty,price,category,ts\n"]
	single = ["id,qty,price,category,ts\n"]
	latest = {}
	for i in range(lo, hi):
		k = i if distinct else RI(0, nkeys - 1)
		ts = TS0 + 4 * i
		if R() < late_share:
			ts = TS0 + 4 * (i - RI(1, span)) + 1 + (i & 1)
		qty = 0 if R() < 0.1 else RI(1, 500)
		cents = RI(100, 99999)
		c = RI(0, 23)
		item, node, kid = key_cols(k)
		tail = "%d,%d.%02d,%s,%d\n" % (qty, cents // 100, cents % 100, CATS[c], ts)
		comp.append("%d,%d,%s" % (item, node, tail))
		if not distinct:		# the restart test uses the composite key only
			single.append("%d,%s" % (kid, tail))
		old = latest.get(k)
		if old is None or ts >= old[0]:
			latest[k] = (ts, i, qty, c)
	return "".join(comp).encode(), "".join(single).encode(), (latest if not distinct else None)


def generate(rows, nkeys, seed, batch, late_share=0.05, distinct=False, procs=2):
	jobs = [(lo, min(lo + batch, rows), nkeys, seed, late_share, distinct) for lo in range(0, rows, batch)]
	comp, single, truth = [], [], {}
	with mp.Pool(procs) as pool:
		for c, s, latest in pool.imap(gen_chunk, jobs):
			comp.append(c)
			single.append(s)
			if latest is None:
				continue
			for k, v in latest.items():
				old = truth.get(k)
				if old is None or (v[0], v[1]) >= (old[0], old[1]):
					truth[k] = v
	return {"composite": comp, "single": single}, truth


def summarize(truth, nkeys):
	"""The answers every engine must give over the latest state."""
	groups = {}
	zero = 0
	for ts, seq, qty, c in truth.values():
		g = groups.setdefault(CATS[c], [0, 0])
		g[0] += qty
		g[1] += 1
		zero += qty == 0
	k = nkeys // 3
	while k not in truth:
		k += 1
	ts, seq, qty, c = truth[k]
	return {"count": len(truth), "groups": {c: tuple(v) for c, v in groups.items()}, "zero": zero,
		"point_key": key_cols(k), "point": (qty, CATS[c], ts)}


# -- engines -----------------------------------------------------------------------

def proc_stat(pid):
	with open("/proc/%d/stat" % pid) as f:
		s = f.read().rsplit(")", 1)[1].split()
	return int(s[1]), (int(s[11]) + int(s[12])) / os.sysconf("SC_CLK_TCK")	# ppid, cpu s


def tree_cpu(root):
	"""CPU seconds of root and its live children (PostgreSQL's processes)."""
	total = proc_stat(root)[1]
	for d in os.listdir("/proc"):
		if d.isdigit():
			try:
				ppid, cpu = proc_stat(int(d))
			except (OSError, IndexError, ValueError):
				continue
			if ppid == root:
				total += cpu
	return total


def rss_mb(pid):
	with open("/proc/%d/status" % pid) as f:
		for line in f:
			if line.startswith("VmRSS:"):
				return int(line.split()[1]) / 1024
	return None


def push_all(bodies, conns, send):
	"""Sends every body once, conns at a time; send(conn_state, body)."""
	nxt = [0]
	lock = threading.Lock()
	errs = []

	def worker(state):
		try:
			while True:
				with lock:
					i = nxt[0]
					nxt[0] += 1
				if i >= len(bodies) or errs:
					return
				send(state, bodies[i])
		except Exception as e:		# noqa: BLE001  reported by the caller
			errs.append(e)
	return worker, errs


def run_pushers(bodies, conns, make_state, send):
	worker, errs = push_all(bodies, conns, send)
	ts = [threading.Thread(target=worker, args=(make_state(),)) for _ in range(conns)]
	for t in ts:
		t.start()
	for t in ts:
		t.join()
	if errs:
		raise errs[0]


def quantiles(times):
	s = sorted(times)
	med = s[len(s) // 2] if len(s) % 2 else (s[len(s) // 2 - 1] + s[len(s) // 2]) / 2
	p99 = s[min(len(s) - 1, max(0, -(-99 * len(s) // 100) - 1))]
	return med, p99


def timed(run, runs):
	res = run()
	times = []
	for _ in range(runs):
		t = time.perf_counter()
		run()
		times.append((time.perf_counter() - t) * 1000)
	med, p99 = quantiles(times)
	return {"median_ms": med, "p99_ms": p99, "runs": runs, "result": res}


def queries(kind, point_key, final=""):
	item, node, kid = point_key
	where = ("item_id = %d AND node_id = %d" % (item, node)) if kind == "composite" else ("id = %d" % kid)
	return [
		("count", "SELECT COUNT(*) FROM avail%s" % final),
		("group_by", "SELECT category, SUM(qty), COUNT(*) FROM avail%s GROUP BY category "
		 "ORDER BY category LIMIT 100" % final),
		("qty_zero", "SELECT COUNT(*) FROM avail%s WHERE qty = 0" % final),
		("point", "SELECT qty, category, ts FROM avail%s WHERE %s" % (final, where)),
	]


def check(name, rows, want):
	"""None when rows are the expected answer of query name, else why not."""
	try:
		if name == "count":
			ok = int(float(rows[0][0])) == want["count"]
		elif name == "qty_zero":
			ok = int(float(rows[0][0])) == want["zero"]
		elif name == "group_by":
			got = {r[0]: (int(float(r[1])), int(float(r[2]))) for r in rows}
			ok = got == want["groups"]
		else:
			ok = len(rows) == 1 and (int(float(rows[0][0])), rows[0][1], int(float(rows[0][2]))) == want["point"]
	except (ValueError, IndexError, TypeError):
		ok = False
	return None if ok else "got %s" % json.dumps(rows, default=str)[:300]


class Waybill:
	name = "waybill"

	def __init__(self, binary, data, log):
		self.binary, self.data, self.log = binary, data, log
		self.port = e2e.free_port()
		self.t0 = time.monotonic()
		self.proc = subprocess.Popen([binary, "serve", "--data-dir", data,
					      "--http", "127.0.0.1:%d" % self.port,
					      "--pg", "127.0.0.1:%d" % e2e.free_port()],
					     stdout=log, stderr=log, stdin=subprocess.DEVNULL)

	def wait_ready(self):
		e2e.wait_http(lambda: e2e.http_get(self.port, "/health")[0] == 200, self.proc, timeout=300)
		self.conn = peers.Conn(self.port)
		return self

	def post(self, path, body):
		st, txt = self.conn.post(path, body if isinstance(body, bytes) else body.encode())
		if st != 200:
			raise RuntimeError("waybill %s: %d %s" % (path, st, txt[:500]))
		return txt

	def create(self, kind, partitions, flush_rows):
		cols = KINDS[kind]["cols"]
		key = KINDS[kind]["key"]
		schema = {"schemaName": "avail",
			  "dimensionFieldSpecs": [{"name": c, "dataType": WB_TYPES[c]} for c in cols
						  if c in ("item_id", "node_id", "id", "category")],
			  "metricFieldSpecs": [{"name": c, "dataType": WB_TYPES[c]} for c in ("qty", "price")],
			  "dateTimeFieldSpecs": [{"name": "ts", "dataType": "LONG", "format": "1:MILLISECONDS:EPOCH",
						  "granularity": "1:MILLISECONDS"}],
			  "primaryKeyColumns": key}
		table = {"tableName": "avail", "tableType": "REALTIME",
			 "segmentsConfig": {"schemaName": "avail", "timeColumnName": "ts", "replication": "1"},
			 "tenants": {}, "metadata": {},
			 "tableIndexConfig": {"loadMode": "MMAP",
					      "streamConfigs": {"realtime.segment.flush.threshold.rows": str(flush_rows)}},
			 "upsertConfig": {"mode": "FULL"}}
		if partitions > 1:
			table["tableIndexConfig"]["segmentPartitionConfig"] = {"columnPartitionMap": {
				key[0]: {"functionName": "Murmur", "numPartitions": partitions}}}
		self.post("/schemas", json.dumps(schema))
		self.post("/tables", json.dumps(table))

	def load(self, bodies, conns):
		def send(c, body):
			st, txt = c.post("/tables/avail/ingest?format=csv", body, "text/csv")
			j = json.loads(txt) if txt[:1] == b"{" else {}
			if st != 200 or j.get("rejected"):
				raise RuntimeError("waybill ingest: %d %s" % (st, txt[:500]))
		run_pushers(bodies, conns, lambda: peers.Conn(self.port), send)

	def cpu(self):
		return e2e.cpu_seconds(self.proc.pid)

	def query(self, sql):
		txt = self.post("/query/sql", json.dumps({"sql": sql}))
		j = json.loads(txt)
		if j.get("exceptions"):
			raise RuntimeError("waybill %s: %s" % (sql, json.dumps(j["exceptions"])[:500]))
		return j["resultTable"]["rows"]

	def metrics(self):
		st, txt = e2e.http_get(self.port, "/metrics")
		out = {}
		for m in re.finditer(r'^(waybill_upsert_\w+)\{[^}]*table="avail[^"]*"[^}]*\}\s+(\S+)', txt, re.M):
			out[m.group(1)] = out.get(m.group(1), 0) + float(m.group(2))
		return out

	def stop(self, kill=False):
		peers.stop_pid(self.proc, signal.SIGKILL if kill else signal.SIGTERM)


class Postgres:
	name = "postgres"

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
		# durable like Waybill's 200: fsync and synchronous_commit on
		opts = ["-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=" + self.dir,
			"-c", "shared_buffers=4GB", "-c", "work_mem=256MB", "-c", "maintenance_work_mem=1GB",
			"-c", "effective_cache_size=12GB", "-c", "max_parallel_workers_per_gather=2",
			"-c", "random_page_cost=1.1", "-c", "fsync=on", "-c", "synchronous_commit=on",
			"-c", "max_wal_size=8GB", "-c", "jit=off", "-c", "timezone=UTC"]
		self.proc = subprocess.Popen([peers.PGBIN + "/postgres", "-D", data, "-p", str(self.port)] + opts,
					     stdout=self.log, stderr=self.log, stdin=subprocess.DEVNULL, **user)
		self.db = self.connect(60)
		self.db.autocommit = True

	def connect(self, wait_s=5):
		import psycopg2
		dl = time.monotonic() + wait_s
		while True:
			if self.proc.poll() is not None:
				raise RuntimeError("postgres exited")
			try:
				return psycopg2.connect(host="127.0.0.1", port=self.port, user="bench", dbname="postgres")
			except psycopg2.OperationalError:
				if time.monotonic() > dl:
					raise
				time.sleep(0.1)

	def create(self, kind):
		cols = KINDS[kind]["cols"]
		self.kind = kind
		cur = self.db.cursor()
		cur.execute("CREATE TABLE avail (%s, PRIMARY KEY (%s))" % (
			", ".join("%s %s" % (c, PG_TYPES[WB_TYPES[c]]) for c in cols), ", ".join(KINDS[kind]["key"])))

	def load(self, bodies, conns):
		import io
		import psycopg2
		key = ", ".join(KINDS[self.kind]["key"])
		vals = [c for c in KINDS[self.kind]["cols"] if c not in KINDS[self.kind]["key"]]
		upsert = ("INSERT INTO avail AS t SELECT DISTINCT ON (%s) * FROM stage ORDER BY %s, ts DESC "
			  "ON CONFLICT (%s) DO UPDATE SET %s WHERE excluded.ts >= t.ts" % (
				  key, key, key, ", ".join("%s = excluded.%s" % (c, c) for c in vals)))
		self.sessions = []
		self.retries = 0

		def make():
			db = self.connect()
			cur = db.cursor()
			cur.execute("CREATE TEMP TABLE stage (LIKE avail) ON COMMIT DELETE ROWS")
			db.commit()
			self.sessions.append(db)
			return db

		def send(db, body):
			while True:
				cur = db.cursor()
				try:
					cur.copy_expert("COPY stage FROM STDIN WITH (FORMAT csv, HEADER true)", io.BytesIO(body))
					cur.execute(upsert)
					db.commit()
					return
				except (psycopg2.errors.DeadlockDetected, psycopg2.errors.SerializationFailure):
					db.rollback()
					self.retries += 1
		run_pushers(bodies, conns, make, send)

	def cpu(self):
		return tree_cpu(self.proc.pid)

	def after_load(self):
		for db in getattr(self, "sessions", []):
			db.close()
		t = time.perf_counter()
		self.db.cursor().execute("VACUUM ANALYZE avail")
		return {"vacuum_analyze_s": time.perf_counter() - t, "deadlock_retries": self.retries}

	def query(self, sql):
		cur = self.db.cursor()
		cur.execute(sql)
		return [list(r) for r in cur.fetchall()]

	def stop(self):
		try:
			self.db.close()
		except Exception:		# noqa: BLE001
			pass
		peers.stop_pid(self.proc, signal.SIGINT)


class ClickHouse(peers.ClickHouse):
	def __init__(self, tmp):
		super().__init__(tmp, 600)

	def create(self, kind):
		cols = KINDS[kind]["cols"]
		self.sql("CREATE TABLE avail (%s) ENGINE = ReplacingMergeTree(ts) ORDER BY (%s)" % (
			", ".join("%s %s" % (c, CH_TYPES[WB_TYPES[c]]) for c in cols), ", ".join(KINDS[kind]["key"])))

	def load(self, bodies, conns):
		q = "/?query=" + urllib.parse.quote("INSERT INTO avail FORMAT CSVWithNames")

		def send(c, body):
			st, txt = c.post(q, body, "text/plain")
			if st != 200:
				raise RuntimeError("clickhouse insert: %s" % txt[:500])
		run_pushers(bodies, conns, lambda: peers.Conn(self.port), send)

	def cpu(self):
		return e2e.cpu_seconds(self.proc.pid)

	def after_load(self):
		parts = int(self.sql("SELECT count() FROM system.parts WHERE table = 'avail' AND active").decode())
		return {"parts_at_query_time": parts}

	def query(self, sql):
		return json.loads(self.sql(sql + " FORMAT JSONCompact"))["data"]


# -- benchmarks ---------------------------------------------------------------------

def bench_engine(srv, kind, bodies, rows, want, conns, runs, log, wb_opts=None):
	out = {}
	if srv.name == "waybill":
		srv.create(kind, *wb_opts)
		out["rss_before_mb"] = rss_mb(srv.proc.pid)
	else:
		srv.create(kind)
	me0 = resource.getrusage(resource.RUSAGE_SELF)
	c0 = srv.cpu()
	t0 = time.perf_counter()
	srv.load(bodies, conns)
	wall = time.perf_counter() - t0
	cpu = srv.cpu() - c0
	me1 = resource.getrusage(resource.RUSAGE_SELF)
	out.update({"rows": rows, "wall_s": wall, "server_cpu_s": cpu, "rows_per_s": rows / wall,
		    "rows_per_cpu_s": rows / cpu if cpu > 0 else None, "conns": conns,
		    "client_cpu_s": me1.ru_utime + me1.ru_stime - me0.ru_utime - me0.ru_stime})
	if srv.name == "waybill":
		out["rss_after_mb"] = rss_mb(srv.proc.pid)
		m = srv.metrics()
		out["metrics"] = m
		keys = m.get("waybill_upsert_keys")
		if keys:
			out["index_bytes_per_key"] = m.get("waybill_upsert_index_bytes", 0) / keys
	else:
		out.update(srv.after_load())
	log("  %s/%s: %d upserts in %.1f s = %.0f/s wall, %.0f per CPU-s (server %.1f CPU-s)" % (
		srv.name, kind, rows, wall, rows / wall, out["rows_per_cpu_s"] or 0, cpu))
	final = " FINAL" if srv.name == "clickhouse" else ""
	out["queries"] = {}
	for name, sql in queries(kind, want["point_key"], final):
		try:
			r = timed(lambda: srv.query(sql), runs)
			r["wrong"] = check(name, r["result"], want)
		except Exception as e:		# noqa: BLE001  reported in the table
			r = {"error": str(e)[:500]}
		r["sql"] = sql
		out["queries"][name] = r
		log("    %-9s %s" % (name, r.get("error") or "median %.2f ms, p99 %.2f ms%s" % (
			r["median_ms"], r["p99_ms"], (" WRONG " + r["wrong"]) if r["wrong"] else "")))
	return out


def wait_count(port, n, proc, timeout=600):
	"""Polls SELECT count(*) until it answers n; errors (table still
	opening) and other counts keep polling.  Returns the last count."""
	body = json.dumps({"sql": "SELECT COUNT(*) FROM avail"}).encode()
	dl = time.monotonic() + timeout
	last = None
	while time.monotonic() < dl:
		if proc.poll() is not None:
			raise RuntimeError("waybill exited during restart (%s)" % proc.returncode)
		try:
			c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
			c.request("POST", "/query/sql", body=body)
			r = c.getresponse()
			j = json.loads(r.read())
			c.close()
			if r.status == 200 and not j.get("exceptions"):
				last = int(j["resultTable"]["rows"][0][0])
				if last == n:
					return last
		except (OSError, ValueError, KeyError, IndexError, http.client.HTTPException):
			pass
		time.sleep(0.005)
	raise RuntimeError("count(*) did not reach %d in %d s (last %s)" % (n, timeout, last))


def bench_restart(binary, tmp, nkeys, tail, batch, conns, partitions, flush_rows, seed, log):
	out = {"keys": nkeys}
	t = time.perf_counter()
	bodies, _ = generate(nkeys, nkeys, seed + 7, batch, late_share=0.0, distinct=True)
	bodies = bodies["composite"]
	out["gen_s"] = time.perf_counter() - t
	data = os.path.join(tmp, "wb-restart")
	logf = open(os.path.join(tmp, "wb-restart.log"), "ab")
	srv = Waybill(binary, data, logf).wait_ready()
	try:
		srv.create("composite", partitions, flush_rows)
		t = time.perf_counter()
		srv.load(bodies, conns)
		out["load_s"] = time.perf_counter() - t
		del bodies
		t = time.perf_counter()
		srv.post("/tables/avail/forceCommit", b"")
		out["force_commit_s"] = time.perf_counter() - t
		m = srv.metrics()
		out["metrics"] = m
		out["rss_mb"] = rss_mb(srv.proc.pid)
		log("  restart: %d keys loaded in %.1f s, forceCommit %.1f s, RSS %.0f MB, %s" % (
			nkeys, out["load_s"], out["force_commit_s"], out["rss_mb"], m))
		runs = []
		for how in ("sigterm", "kill9", "kill9_tail"):
			t = time.perf_counter()
			srv.stop(kill=how != "sigterm")
			stop_s = time.perf_counter() - t
			srv = Waybill(binary, data, logf)
			n = wait_count(srv.port, nkeys, srv.proc)
			r = {"how": how, "stop_s": stop_s, "first_full_count_s": time.monotonic() - srv.t0, "count": n,
			     "server_cpu_s": srv.cpu()}
			srv.wait_ready()
			r["rss_mb"] = rss_mb(srv.proc.pid)
			runs.append(r)
			log("  restart after %s: count(*) = %d after %.2f s, %.2f server CPU-s (RSS %.0f MB)" % (
				how, n, r["first_full_count_s"], r["server_cpu_s"], r["rss_mb"]))
			if how == "kill9":
				# updates over existing keys left in the log (not sealed)
				tb, _ = generate(tail, nkeys, seed + 11, batch, late_share=0.05)
				t = time.perf_counter()
				srv.load(tb["composite"], conns)
				out["tail"] = tail
				out["tail_load_s"] = time.perf_counter() - t
		out["runs"] = runs
	finally:
		srv.stop()
	return out


def fmt(x, unit=""):
	return e2e.fmt(x, unit)


def report(res):
	print()
	print("Upserts: %(rows)d updates over %(keys)d keys, batches of %(batch)d rows, %(date)s" % res)
	print("%-22s %12s %10s %12s %12s %8s" % ("load", "upserts/s", "CPU-s", "per CPU-s", "vs PG (core)", "wall s"))
	for kind in res["kinds"]:
		pg = res["engines"].get("postgres", {}).get(kind, {})
		for eng in res["engines"]:
			r = res["engines"][eng].get(kind)
			if not r or "error" in r:
				if r:
					print("%-22s error: %s" % (eng + "/" + kind, r["error"][:200]))
				continue
			ratio = ""
			if eng != "postgres" and pg.get("rows_per_cpu_s") and r.get("rows_per_cpu_s"):
				ratio = "%.1fx / %.1fx" % (r["rows_per_s"] / pg["rows_per_s"],
							    r["rows_per_cpu_s"] / pg["rows_per_cpu_s"])
			print("%-22s %12s %10.1f %12s %12s %8.1f" % (eng + "/" + kind, fmt(r["rows_per_s"]),
								      r["server_cpu_s"], fmt(r["rows_per_cpu_s"]),
								      ratio, r["wall_s"]))
	print("  (vs PG: wall-rate ratio / per-CPU-second ratio)")
	for kind, eng in [(k, e) for e in res["engines"] if e.startswith("waybill") for k in res["kinds"]]:
		r = res["engines"][eng].get(kind)
		if r and "metrics" in r:
			m = r["metrics"]
			print(eng + "/%s key index: %s keys, %s bytes = %.1f bytes/key; RSS %.0f -> %.0f MB; "
			      "out-of-order rows %s" % (kind, fmt(m.get("waybill_upsert_keys")),
							fmt(m.get("waybill_upsert_index_bytes")),
							r.get("index_bytes_per_key") or 0, r["rss_before_mb"],
							r["rss_after_mb"], fmt(m.get("waybill_upsert_out_of_order_rows_total"))))
	rs = res.get("restart")
	if rs:
		if "error" in rs:
			print("restart: error: %s" % rs["error"][:300])
		else:
			print("restart with %d keys (load %.1f s, forceCommit %.1f s):" % (
				rs["keys"], rs["load_s"], rs["force_commit_s"]))
			for r in rs["runs"]:
				print("  %-11s first count(*) == %d after %.2f s (%.2f server CPU-s)%s" % (
					r["how"], r["count"], r["first_full_count_s"], r["server_cpu_s"],
					"" if r["how"] != "kill9_tail" else " (%d more updates unsealed)" % rs["tail"]))
	print()
	print("%-10s %-10s %22s %22s %22s %22s" % ("query", "kind", "waybill med/p99 ms", "wb-sealed med/p99",
						    "postgres med/p99 ms", "clickhouse med/p99 ms"))
	for kind in res["kinds"]:
		for q in ("count", "group_by", "qty_zero", "point"):
			cells = []
			for eng in ("waybill", "waybill-sealed", "postgres", "clickhouse"):
				r = res["engines"].get(eng, {}).get(kind, {}).get("queries", {}).get(q)
				if not r:
					cells.append("-")
				elif "error" in r:
					cells.append("error")
				else:
					cells.append("%.2f / %.2f%s" % (r["median_ms"], r["p99_ms"], " WRONG" if r["wrong"] else ""))
			print("%-10s %-10s %22s %22s %22s %22s" % (q, kind, *cells))


def main():
	ap = argparse.ArgumentParser()
	ap.add_argument("--waybill", default=os.path.join(ROOT, "build", "waybill"))
	ap.add_argument("--rows", type=int, default=5_000_000)
	ap.add_argument("--keys", type=int, default=1_000_000)
	ap.add_argument("--restart-keys", type=int, default=10_000_000)
	ap.add_argument("--restart-tail", type=int, default=1_000_000)
	ap.add_argument("--batch", type=int, default=100_000)
	ap.add_argument("--kinds", default="composite,single")
	ap.add_argument("--engines", default="waybill,waybill-sealed,postgres,clickhouse")
	ap.add_argument("--partitions", type=int, default=2)
	ap.add_argument("--flush-rows", type=int, default=5_000_000)		# Pinot's default
	ap.add_argument("--sealed-flush-rows", type=int, default=500_000)
	ap.add_argument("--wb-conns", type=int, default=3)
	ap.add_argument("--pg-conns", type=int, default=2)
	ap.add_argument("--ch-conns", type=int, default=2)
	ap.add_argument("--runs", type=int, default=20)
	ap.add_argument("--seed", type=int, default=1)
	ap.add_argument("--no-restart", action="store_true")
	ap.add_argument("--no-clickhouse", action="store_true")
	ap.add_argument("--quick", action="store_true")
	ap.add_argument("--out", default=os.path.join(ROOT, "build", "bench-upsert.json"))
	a = ap.parse_args()
	if a.quick:
		a.rows, a.keys, a.restart_keys, a.restart_tail, a.batch, a.runs = 50_000, 10_000, 100_000, 20_000, 10_000, 3
		a.flush_rows, a.sealed_flush_rows = 1_000_000, 20_000
	engines = [e for e in a.engines.split(",") if e]
	if a.no_clickhouse or not os.path.exists("/usr/sbin/clickhouse-server"):
		engines = [e for e in engines if e != "clickhouse"]
	if not os.path.exists(peers.PGBIN + "/postgres"):
		engines = [e for e in engines if e != "postgres"]
	kinds = [k for k in a.kinds.split(",") if k]

	def log(s):
		print(s, flush=True)
	res = {"rows": a.rows, "keys": a.keys, "batch": a.batch, "kinds": kinds,
	       "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "nproc": os.cpu_count(),
	       "loadavg_start": os.getloadavg(), "engines": {}, "partitions": a.partitions,
	       "flush_rows": a.flush_rows}
	t = time.perf_counter()
	bodies, truth = generate(a.rows, a.keys, a.seed, a.batch)
	want = summarize(truth, a.keys)
	del truth
	res["gen_s"] = time.perf_counter() - t
	res["distinct_keys"] = want["count"]
	log("data: %d rows over %d keys (%d present), %.1f MB CSV (composite), generated in %.1f s" % (
		a.rows, a.keys, want["count"], sum(map(len, bodies["composite"])) / 1e6, res["gen_s"]))
	tmp = tempfile.mkdtemp(prefix="wb-bench-upsert-")
	os.chmod(tmp, 0o755)		# PostgreSQL runs as user postgres when we are root
	try:
		for eng in engines:
			res["engines"][eng] = {}
			for kind in kinds:
				srv = None
				sub = os.path.join(tmp, "%s-%s" % (eng, kind))
				os.makedirs(sub)
				try:
					if eng.startswith("waybill"):
						srv = Waybill(a.waybill, os.path.join(sub, "data"),
							      open(os.path.join(sub, "waybill.log"), "ab")).wait_ready()
						fr = a.flush_rows if eng == "waybill" else a.sealed_flush_rows
						r = bench_engine(srv, kind, bodies[kind], a.rows, want, a.wb_conns, a.runs, log,
								 (a.partitions, fr))
						r["flush_rows"] = fr
					elif eng == "postgres":
						srv = Postgres(sub)
						r = bench_engine(srv, kind, bodies[kind], a.rows, want, a.pg_conns, a.runs, log)
					else:
						srv = ClickHouse(sub)
						r = bench_engine(srv, kind, bodies[kind], a.rows, want, a.ch_conns, a.runs, log)
				except Exception as e:		# noqa: BLE001  reported
					r = {"error": str(e)[:1000]}
					log("  %s/%s: error: %s" % (eng, kind, r["error"]))
				finally:
					if srv:
						srv.stop()
					shutil.rmtree(sub, ignore_errors=True)
				res["engines"][eng][kind] = r
		del bodies
		if not a.no_restart and a.restart_keys > 0:
			try:
				res["restart"] = bench_restart(a.waybill, tmp, a.restart_keys, a.restart_tail, a.batch,
							       a.wb_conns, a.partitions, a.flush_rows, a.seed, log)
			except Exception as e:		# noqa: BLE001
				res["restart"] = {"error": str(e)[:1000]}
				log("  restart: error: %s" % e)
	finally:
		shutil.rmtree(tmp, ignore_errors=True)
	res["loadavg_end"] = os.getloadavg()
	report(res)
	os.makedirs(os.path.dirname(a.out), exist_ok=True)
	with open(a.out, "w") as f:
		json.dump(res, f, indent=1, default=str)


if __name__ == "__main__":
	main()
