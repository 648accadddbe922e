#!/usr/bin/python3
"""Peer benchmark (issue 4, item 6): Waybill, ClickHouse, PostgreSQL and
DuckDB load the same retail order-lifecycle events and answer the same 12
questions, in one run.

  data     a deterministic generator (--rows, default 10M; --seed) writes
           CSV files of order events: order_id, market (US/CA/MX), service
           (20 names), event_type (CREATED PAID PICKED PACKED DISPATCHED
           IN_TRANSIT DELIVERED FAILED CANCELLED RETURNED, in a realistic
           per-order sequence), status (OK/ERROR/RETRY), store_id,
           event_time (second resolution, three days), latency_ms, amount,
           attempt, driver_id.  Orders include stuck ones (DISPATCHED, then
           nothing), gap ones (PICKED, never PACKED), failed deliveries
           with retries, cancellations, returns, and orders still in
           progress at the end; ~2% of the events arrive late (the files
           are not in event-time order).
  engines  each in turn, alone on the machine, on private loopback ports
           with data in a temporary directory, stopped by PID at the end:
           Waybill (push ingest of the CSV files, forceCommit; REALTIME
           table, sortedColumn order_id, inverted indexes on event_type,
           status and market), ClickHouse 18.16 (MergeTree ORDER BY
           (order_id, event_time), OPTIMIZE FINAL), PostgreSQL 15 (COPY,
           btree indexes on (order_id, event_time) and (event_time), VACUUM
           ANALYZE) and DuckDB (in-process in node, in-memory table from
           read_csv, no index).
  queries  the 12 questions in each engine's dialect (QUERIES below).  Each
           runs once to warm up, then --runs times (--slow-runs when the
           warm-up took over 2 s); the median is reported.  Server engines
           are timed client-side (wall time from sending the query until
           the rows are decoded in Python, one keep-alive connection):
           Waybill and ClickHouse over HTTP, PostgreSQL through psycopg2;
           DuckDB is timed inside the node process (no client hop).
           Waybill's own timeUsedMs is reported as well; ratios use the
           client-side wall time.
  check    every engine's rows must match (rows sorted, numbers compared
           with a relative tolerance of 1e-6, timestamps as
           YYYY-MM-DD HH:MM:SS); a mismatch is reported per query and
           engine, and that engine's time is left out of the ratio.

Usage: bench/peers.py [--waybill build/waybill] [--rows 10000000]
		     [--engines waybill,clickhouse,postgres,duckdb] [--runs 5]
		     [--queries timeline,p95_latency,...]  (a subset of the questions)
Prints the table (times per engine, Waybill / best peer per query, their
geometric mean) and writes build/bench-peers.json.  No pass/fail by time.
"""
import argparse
import glob
import http.client
import json
import math
import multiprocessing as mp
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e  # noqa: E402  free_port, http_get, wait_http, CH_CONFIG, cpu_seconds

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PGBIN = "/usr/lib/postgresql/15/bin"

# -- data ----------------------------------------------------------------------

COLUMNS = ["order_id", "market", "service", "event_type", "status", "store_id", "event_time",
	   "latency_ms", "amount", "attempt", "driver_id"]
T0 = 1763337600			# 2025-11-17 00:00:00 UTC
SPAN = 3 * 86400		# orders are created over three days
T_END = T0 + SPAN		# events after this are not (yet) in the data
DAY2 = "2025-11-18"		# "one day" of the questions
CHUNK_ORDERS = 50_000
EVENTS_PER_ORDER = 6.85		# measured average; --rows / this = orders

# services per stage; the first of each list is the usual one
STAGE_SERVICES = {
	"CREATED": ["web-checkout", "mobile-checkout", "pos-gateway"],
	"PAID": ["payments", "fraud-check"],
	"PICKED": ["wms-picking", "inventory"],
	"PACKED": ["wms-packing", "label-printer"],
	"DISPATCHED": ["dispatch", "route-planner"],
	"IN_TRANSIT": ["carrier-gateway", "tracking"],
	"DELIVERED": ["driver-app", "pod-capture", "notifications"],
	"FAILED": ["driver-app", "carrier-gateway", "exceptions"],
	"CANCELLED": ["customer-service", "order-api"],
	"RETURNED": ["returns", "customer-service"],
}
SERVICES = sorted({s for v in STAGE_SERVICES.values() for s in v})	# 20
STAGES = ["CREATED", "PAID", "PICKED", "PACKED", "DISPATCHED", "IN_TRANSIT", "DELIVERED"]
# per-service error probability (0.4% .. 6%) and median latency (ms)
ERR = {s: 0.004 + 0.003 * i for i, s in enumerate(SERVICES)}
LAT = {s: 15 + (i * 37) % 400 for i, s in enumerate(SERVICES)}
# seconds between a stage and the next (uniform in [lo, hi])
GAP = {"PAID": (5, 300), "PICKED": (300, 3600), "PACKED": (60, 1800), "DISPATCHED": (600, 7200),
       "IN_TRANSIT": (60, 600), "DELIVERED": (1200, 10800), "FAILED": (1200, 10800),
       "RETRY": (3600, 14400), "CANCELLED": (60, 3600), "RETURNED": (86400, 172800)}
MARKET_STORES = {"US": (1, 300), "CA": (301, 400), "MX": (401, 500)}


def timeline_order(n_orders):
	"""The order of the single-order question: forced onto the retry path."""
	return n_orders // 2


def gen_chunk(args):
	"""Writes the events of orders [lo, hi) to path; returns the row count.
	Orders are created in id order over SPAN, so a chunk covers a short
	stretch of time; within it, events are written in arrival order (event
	time, plus a delay for ~2% of them)."""
	path, lo, hi, n_orders, seed = args
	import random
	rnd = random.Random(seed * 1_000_003 + lo)
	R = rnd.random
	RI = rnd.randint
	days = {}
	ev = []			# (arrival, line)
	forced = timeline_order(n_orders)
	for o in range(lo, hi):
		oid = "ORD-%08d" % o
		m = R()
		market = "US" if m < 0.6 else ("CA" if m < 0.85 else "MX")
		a, b = MARKET_STORES[market]
		# bigger stores get more orders; failure rate varies per store
		store = a + int((b - a) * R() ** 1.7)
		fail_p = 0.02 + (store * 7919 % 97) / 1000.0
		cents = RI(500, 30000)
		amount = "%d.%02d" % (cents // 100, cents % 100)
		t = T0 + (o * SPAN) // n_orders + RI(0, 600)
		k = R()
		if o == forced:
			k = 0.095
		# the path of this order
		if k < 0.04:
			path_ = ["CREATED", "PAID", "CANCELLED"] if k < 0.02 else ["CREATED", "CANCELLED"]
		elif k < 0.06:		# stuck: dispatched, then nothing
			path_ = STAGES[:5]
		elif k < 0.08:		# gap: picked, never packed
			path_ = STAGES[:3] + (["DISPATCHED", "IN_TRANSIT", "DELIVERED"] if k < 0.07 else [])
		elif k < 0.11 or R() < fail_p:	# failed delivery, then a retry
			last = "FAILED" if R() < 0.3 and o != forced else "DELIVERED"
			path_ = STAGES[:6] + ["FAILED", "RETRY", last]
		else:
			path_ = STAGES[:]
			if R() < 0.02:
				path_.append("RETURNED")
		driver = 0
		attempt = 1
		prev = None
		for st in path_:
			if prev is not None:
				lo_, hi_ = GAP["RETRY" if st == "RETRY" else st]
				t += RI(lo_, hi_)
			prev = st
			if st == "RETRY":
				st = "IN_TRANSIT"
				attempt = 2
			if t >= T_END:
				break
			if st == "DISPATCHED":
				driver = {"US": 1, "CA": 3001, "MX": 4001}[market] + RI(0, 999)
			svcs = STAGE_SERVICES[st]
			svc = svcs[0] if R() < 0.7 else svcs[RI(1, len(svcs) - 1)]
			e = R()
			p = ERR[svc]
			status = "ERROR" if e < p else ("RETRY" if e < 3 * p else "OK")
			lat = int(LAT[svc] * (0.2 + rnd.expovariate(1.0))) + (2000 if status == "RETRY" else 0)
			d = t // 86400
			ds = days.get(d)
			if ds is None:
				ds = days[d] = time.strftime("%Y-%m-%d", time.gmtime(d * 86400))
			s = t % 86400
			line = "%s,%s,%s,%s,%s,%d,%s %02d:%02d:%02d,%d,%s,%d,%d\n" % (
				oid, market, svc, st, status, store, ds, s // 3600, s // 60 % 60, s % 60,
				lat, amount, attempt, driver)
			arrival = t + (RI(60, 7200) if R() < 0.02 else 0)
			ev.append((arrival, line))
	ev.sort(key=lambda x: x[0])
	with open(path, "w") as f:
		f.write(",".join(COLUMNS) + "\n")
		f.write("".join(line for _, line in ev))
	return len(ev)


def generate(dirpath, rows, seed, procs=2):
	n_orders = max(10, int(rows / EVENTS_PER_ORDER))
	jobs = []
	for k, lo in enumerate(range(0, n_orders, CHUNK_ORDERS)):
		jobs.append((os.path.join(dirpath, "chunk-%04d.csv" % k), lo, min(lo + CHUNK_ORDERS, n_orders),
			     n_orders, seed))
	with mp.Pool(procs) as pool:
		total = sum(pool.map(gen_chunk, jobs))
	return n_orders, total, [j[0] for j in jobs]


# -- questions -----------------------------------------------------------------
# One entry per question: name, what it asks, and the SQL per engine
# ("std" = Waybill, PostgreSQL and DuckDB unless they have their own).

def queries(n_orders):
	oid = "ORD-%08d" % timeline_order(n_orders)
	d0, d1 = "%s 00:00:00" % DAY2, "2025-11-19 00:00:00"
	w0, w1 = "%s 06:00:00" % DAY2, "%s 18:00:00" % DAY2
	cols = "event_time, event_type, status, service, store_id, latency_ms, amount, attempt, driver_id"
	stages = ["CREATED", "PAID", "PICKED", "PACKED", "DISPATCHED", "IN_TRANSIT", "DELIVERED"]
	q = []
	q.append(("timeline", "all events of one order, by time", {
		"std": "SELECT %s FROM order_events WHERE order_id = '%s' ORDER BY event_time" % (cols, oid),
	}))
	q.append(("per_hour", "events per service per hour over one day", {
		"std": "SELECT service, date_trunc('hour', event_time) AS hour, count(*) AS events "
		       "FROM order_events WHERE event_time >= TIMESTAMP '%s' AND event_time < TIMESTAMP '%s' "
		       "GROUP BY service, date_trunc('hour', event_time) ORDER BY service, hour" % (d0, d1),
		"clickhouse": "SELECT service, toStartOfHour(event_time) AS hour, count() AS events "
			      "FROM order_events WHERE event_time >= toDateTime('%s') AND event_time < toDateTime('%s') "
			      "GROUP BY service, hour ORDER BY service, hour" % (d0, d1),
	}))
	q.append(("error_rate", "error rate per service", {
		"std": "SELECT service, count(*) AS events, count(*) FILTER (WHERE status = 'ERROR') AS errors, "
		       "count(*) FILTER (WHERE status = 'ERROR') * 1.0 / count(*) AS error_rate "
		       "FROM order_events GROUP BY service ORDER BY error_rate DESC",
		"clickhouse": "SELECT service, count() AS events, countIf(status = 'ERROR') AS errors, "
			      "countIf(status = 'ERROR') / count() AS error_rate "
			      "FROM order_events GROUP BY service ORDER BY error_rate DESC",
	}))
	q.append(("p95_latency", "p95 latency per service and market (exact)", {
		# quantileExact(0.95) takes the value at rank floor(0.95 n), percentile_disc
		# at ceil(0.95 n) - 1: neighbours, so compared with a tolerance
		"tol": 0.02,
		"std": "SELECT service, market, percentile_disc(0.95) WITHIN GROUP (ORDER BY latency_ms) AS p95 "
		       "FROM order_events GROUP BY service, market ORDER BY service, market",
		"clickhouse": "SELECT service, market, quantileExact(0.95)(latency_ms) AS p95 "
			      "FROM order_events GROUP BY service, market ORDER BY service, market",
	}))
	q.append(("distinct_orders", "distinct orders per market per day", {
		"std": "SELECT market, date_trunc('day', event_time) AS day, count(DISTINCT order_id) AS orders "
		       "FROM order_events GROUP BY market, date_trunc('day', event_time) ORDER BY market, day",
		"clickhouse": "SELECT market, toStartOfDay(event_time) AS day, uniqExact(order_id) AS orders "
			      "FROM order_events GROUP BY market, day ORDER BY market, day",
	}))
	latest = ("SELECT stage, count(*) AS orders FROM (SELECT order_id, arg_max(event_type, event_time) AS stage "
		  "FROM order_events GROUP BY order_id) AS latest GROUP BY stage ORDER BY orders DESC")
	q.append(("current_stage", "orders by current (latest) stage", {
		"std": latest,
		"clickhouse": "SELECT stage, count() AS orders FROM (SELECT order_id, argMax(event_type, event_time) AS stage "
			      "FROM order_events GROUP BY order_id) GROUP BY stage ORDER BY orders DESC",
		"postgres": "SELECT event_type AS stage, count(*) AS orders FROM (SELECT DISTINCT ON (order_id) "
			    "order_id, event_type FROM order_events ORDER BY order_id, event_time DESC) AS latest "
			    "GROUP BY event_type ORDER BY orders DESC",
	}))
	q.append(("stuck", "stuck orders: latest event DISPATCHED, over 2 h before the data's end", {
		"std": "SELECT market, count(*) AS stuck, min(last_time) AS oldest FROM (SELECT order_id, market, "
		       "arg_max(event_type, event_time) AS stage, max(event_time) AS last_time FROM order_events "
		       "GROUP BY order_id, market) AS latest WHERE stage = 'DISPATCHED' AND "
		       "last_time < (SELECT max(event_time) FROM order_events) - INTERVAL '2 hours' "
		       "GROUP BY market ORDER BY market",
		"clickhouse": "SELECT market, count() AS stuck, min(last_time) AS oldest FROM (SELECT order_id, market, "
			      "argMax(event_type, event_time) AS stage, max(event_time) AS last_time FROM order_events "
			      "GROUP BY order_id, market) WHERE stage = 'DISPATCHED' AND "
			      "last_time < (SELECT max(event_time) FROM order_events) - INTERVAL 2 HOUR "
			      "GROUP BY market ORDER BY market",
		"postgres": "SELECT market, count(*) AS stuck, min(event_time) AS oldest FROM (SELECT DISTINCT ON "
			    "(order_id) order_id, market, event_type, event_time FROM order_events "
			    "ORDER BY order_id, event_time DESC) AS latest WHERE event_type = 'DISPATCHED' AND "
			    "event_time < (SELECT max(event_time) FROM order_events) - INTERVAL '2 hours' "
			    "GROUP BY market ORDER BY market",
	}))
	q.append(("picked_not_packed", "orders PICKED but never PACKED, per market", {
		"std": "SELECT market, count(DISTINCT order_id) AS orders FROM order_events WHERE event_type = 'PICKED' "
		       "AND order_id NOT IN (SELECT order_id FROM order_events WHERE event_type = 'PACKED') "
		       "GROUP BY market ORDER BY market",
		"clickhouse": "SELECT market, uniqExact(order_id) AS orders FROM order_events WHERE event_type = 'PICKED' "
			      "AND order_id NOT IN (SELECT order_id FROM order_events WHERE event_type = 'PACKED') "
			      "GROUP BY market ORDER BY market",
		"postgres": "SELECT market, count(DISTINCT order_id) AS orders FROM order_events e "
			    "WHERE event_type = 'PICKED' AND NOT EXISTS (SELECT 1 FROM order_events p "
			    "WHERE p.order_id = e.order_id AND p.event_type = 'PACKED') GROUP BY market ORDER BY market",
		"duckdb": "SELECT market, count(DISTINCT order_id) AS orders FROM order_events e "
			  "WHERE event_type = 'PICKED' AND NOT EXISTS (SELECT 1 FROM order_events p "
			  "WHERE p.order_id = e.order_id AND p.event_type = 'PACKED') GROUP BY market ORDER BY market",
	}))
	q.append(("top_stores_failed", "top 10 stores by failed deliveries", {
		"std": "SELECT store_id, count(*) AS failed FROM order_events WHERE event_type = 'FAILED' "
		       "GROUP BY store_id ORDER BY failed DESC, store_id LIMIT 10",
		"clickhouse": "SELECT store_id, count() AS failed FROM order_events WHERE event_type = 'FAILED' "
			      "GROUP BY store_id ORDER BY failed DESC, store_id LIMIT 10",
	}))
	q.append(("funnel", "funnel: distinct orders reaching each stage", {
		"std": "SELECT " + ", ".join("count(DISTINCT order_id) FILTER (WHERE event_type = '%s') AS %s" % (s, s.lower())
					     for s in stages) + " FROM order_events",
		"clickhouse": "SELECT " + ", ".join("uniqExactIf(order_id, event_type = '%s') AS %s" % (s, s.lower())
						    for s in stages) + " FROM order_events",
	}))
	q.append(("revenue", "revenue (delivered orders) per market per day", {
		"std": "SELECT market, date_trunc('day', event_time) AS day, sum(amount) AS revenue, count(*) AS delivered "
		       "FROM order_events WHERE event_type = 'DELIVERED' GROUP BY market, date_trunc('day', event_time) "
		       "ORDER BY market, day",
		"clickhouse": "SELECT market, toStartOfDay(event_time) AS day, sum(amount) AS revenue, count() AS delivered "
			      "FROM order_events WHERE event_type = 'DELIVERED' GROUP BY market, day ORDER BY market, day",
	}))
	q.append(("filtered_count", "count of slow US errors in a 12 h window", {
		"std": "SELECT count(*) FROM order_events WHERE market = 'US' AND status = 'ERROR' AND latency_ms > 500 "
		       "AND event_time >= TIMESTAMP '%s' AND event_time < TIMESTAMP '%s'" % (w0, w1),
		"clickhouse": "SELECT count() FROM order_events WHERE market = 'US' AND status = 'ERROR' AND latency_ms > 500 "
			      "AND event_time >= toDateTime('%s') AND event_time < toDateTime('%s')" % (w0, w1),
	}))
	return q


def sql_for(qd, engine):
	return qd.get(engine, qd["std"])


# Waybill only: the same question in another form a user would try when the
# natural one fails or is slow; reported apart, checked against the peers'
# answer to the question, not in the geometric mean.
def waybill_variants():
	return [
		("picked_not_packed", "GROUP BY order with FILTER counts instead of NOT IN (subquery)",
		 "SELECT market, count(*) AS orders FROM (SELECT order_id, market, "
		 "count(*) FILTER (WHERE event_type = 'PICKED') AS picked, "
		 "count(*) FILTER (WHERE event_type = 'PACKED') AS packed FROM order_events "
		 "WHERE event_type IN ('PICKED', 'PACKED') GROUP BY order_id, market) AS o "
		 "WHERE picked > 0 AND packed = 0 GROUP BY market ORDER BY market"),
	]


# -- result normalization --------------------------------------------------------

TS_RE = re.compile(r"^(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d:\d\d)(\.0*)?$")


def norm_value(v):
	if v is None:
		return None
	if hasattr(v, "strftime"):		# datetime from psycopg2
		return v.strftime("%Y-%m-%d %H:%M:%S")
	if isinstance(v, bool):
		return int(v)
	if isinstance(v, (int, float)):
		return float(v)
	if hasattr(v, "as_tuple"):		# Decimal
		return float(v)
	s = str(v)
	m = TS_RE.match(s)
	if m:
		return "%s %s" % (m.group(1), m.group(2))
	return s


def norm_rows(rows):
	out = [[norm_value(v) for v in r] for r in rows]

	def key(r):
		return [(0, "") if v is None else (1, "%.6g" % v) if isinstance(v, float) else (2, v) for v in r]
	out.sort(key=key)
	return out


def same(a, b, tol=1e-6):
	if len(a) != len(b):
		return "row count %d vs %d" % (len(a), len(b))
	for i, (ra, rb) in enumerate(zip(a, b)):
		if len(ra) != len(rb):
			return "row %d: %d vs %d columns" % (i, len(ra), len(rb))
		for x, y in zip(ra, rb):
			if isinstance(x, float) and isinstance(y, float):
				if not math.isclose(x, y, rel_tol=tol, abs_tol=1e-9):
					return "row %d: %r vs %r" % (i, ra, rb)
			elif x != y:
				return "row %d: %r vs %r" % (i, ra, rb)
	return None


# -- engines -----------------------------------------------------------------------

class Conn:
	"""One keep-alive HTTP connection."""

	def __init__(self, port, timeout=900):
		self.c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
		self.used = False

	def post(self, path, body, ctype="application/json"):
		"""One request; when a reused connection turns out to have been
		closed by the server (an idle keep-alive timeout), once more on a
		new connection."""
		for attempt in (0, 1):
			try:
				self.c.request("POST", path, body=body, headers={"Content-Type": ctype})
				r = self.c.getresponse()
				data = r.read()
				self.used = True
				return r.status, data
			except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
				self.c.close()
				if attempt or not self.used:
					raise


def timed_runs(run, runs, slow_runs, slow_s=2.0, once_s=10.0, min_s=1.0, max_runs=100):
	"""Warm-up, then runs (slow_runs if the warm-up took > slow_s; none
	when it took > once_s: the warm-up is then the one figure, to keep
	the whole run short); fast queries are repeated until min_s has passed
	(at most max_runs), so that millisecond figures are not one scheduler
	hiccup."""
	t = time.perf_counter()
	res = run()
	warm = time.perf_counter() - t
	if warm > once_s:
		return {"warmup_ms": warm * 1000, "times_ms": [warm * 1000], "rows": res[0], "extra": [res[1]],
			"single_run": True}
	times = []
	extra = []
	k = slow_runs if warm > slow_s else runs
	start = time.perf_counter()
	while len(times) < k or (time.perf_counter() - start < min_s and len(times) < max_runs):
		t = time.perf_counter()
		r = run()
		times.append((time.perf_counter() - t) * 1000)
		extra.append(r[1])
	return {"warmup_ms": warm * 1000, "times_ms": times, "rows": res[0], "extra": extra}


class Waybill:
	name = "waybill"

	def __init__(self, binary, tmp, timeout_ms):
		self.binary = binary
		self.timeout_ms = timeout_ms
		self.data = os.path.join(tmp, "wb-data")
		self.logpath = os.path.join(tmp, "waybill.log")
		self.log = open(self.logpath, "ab")
		self.start()

	def start(self):
		# the server's ceilings raised to the limits the peers get (the
		# defaults are 10 s and 1 GiB per query)
		self.port = e2e.free_port()
		self.proc = subprocess.Popen([self.binary, "serve", "--data-dir", self.data,
					      "--http", "127.0.0.1:%d" % self.port,
					      "--pg", "127.0.0.1:%d" % e2e.free_port(),
					      "--query-timeout", str(self.timeout_ms), "--query-memory", "4096"],
					     stdout=self.log, stderr=self.log, stdin=subprocess.DEVNULL)
		e2e.wait_http(lambda: e2e.http_get(self.port, "/health")[0] == 200, self.proc)
		self.conn = Conn(self.port, self.timeout_ms / 1000 + 10)

	def recover(self):
		"""After a query the client gave up on (the server went past its
		own time limit): stop the server (SIGTERM, SIGKILL after 10 s) and
		start it again on the same data."""
		stop_pid(self.proc, wait_s=10)
		self.start()

	def load(self, files):
		dims = [("order_id", "STRING"), ("market", "STRING"), ("service", "STRING"),
			("event_type", "STRING"), ("status", "STRING"), ("store_id", "INT"), ("driver_id", "INT")]
		mets = [("latency_ms", "INT"), ("amount", "DOUBLE"), ("attempt", "INT")]
		schema = {"schemaName": "order_events",
			  "dimensionFieldSpecs": [{"name": n, "dataType": t} for n, t in dims],
			  "metricFieldSpecs": [{"name": n, "dataType": t} for n, t in mets],
			  "dateTimeFieldSpecs": [{"name": "event_time", "dataType": "TIMESTAMP",
						  "format": "1:MILLISECONDS:TIMESTAMP", "granularity": "1:SECONDS"}]}
		table = {"tableName": "order_events", "tableType": "REALTIME",
			 "segmentsConfig": {"schemaName": "order_events", "timeColumnName": "event_time",
					    "replication": "1"},
			 "tenants": {},
			 "tableIndexConfig": {"loadMode": "MMAP", "sortedColumn": ["order_id"],
					      "invertedIndexColumns": ["event_type", "status", "market"]},
			 "metadata": {}}
		for path, body in (("/schemas", schema), ("/tables", table)):
			st, txt = self.conn.post(path, json.dumps(body))
			if st != 200:
				raise RuntimeError("waybill %s: %d %s" % (path, st, txt[:300]))

		def push(f):
			c = Conn(self.port)
			with open(f, "rb") as fh:
				st, txt = c.post("/tables/order_events/ingest?format=csv", fh.read(), "text/csv")
			j = json.loads(txt)
			if st != 200 or j.get("rejected"):
				raise RuntimeError("waybill ingest %s: %d %s" % (f, st, txt[:300]))
			return j["accepted"]
		with ThreadPoolExecutor(2) as ex:
			n = sum(ex.map(push, files))
		t = time.perf_counter()
		st, txt = self.conn.post("/tables/order_events/forceCommit", b"")
		if st != 200:
			raise RuntimeError("waybill forceCommit: %d %s" % (st, txt[:300]))
		return n, {"seal_s": time.perf_counter() - t}

	def run(self, sql, runs, slow_runs):
		body = json.dumps({"sql": sql, "queryOptions": "timeoutMs=%d" % self.timeout_ms})

		def once():
			st, txt = self.conn.post("/query/sql", body)
			j = json.loads(txt)
			if st != 200 or j.get("exceptions"):
				raise RuntimeError("HTTP %d: %s" % (st, json.dumps(j.get("exceptions") or txt.decode()[:500])))
			return j["resultTable"]["rows"], j.get("timeUsedMs")
		return timed_runs(once, runs, slow_runs)

	def stop(self):
		stop_pid(self.proc)


CH_TZ = "  <timezone>UTC</timezone>\n  <keep_alive_timeout>600</keep_alive_timeout>\n</yandex>\n"


class ClickHouse:
	name = "clickhouse"

	def __init__(self, tmp, timeout_s):
		self.timeout_s = timeout_s
		d = os.path.join(tmp, "ch")
		os.makedirs(d + "/data")
		os.makedirs(d + "/tmp")
		self.port = e2e.free_port()
		cfg = os.path.join(d, "config.xml")
		with open(cfg, "w") as f:
			f.write(e2e.CH_CONFIG.format(d=d, http=self.port, tcp=e2e.free_port(),
						     users="/etc/clickhouse-server/users.xml").replace("</yandex>\n", CH_TZ))
		self.logpath = os.path.join(d, "ch.err.log")
		self.log = open(os.path.join(d, "out.log"), "wb")
		self.proc = subprocess.Popen(["/usr/sbin/clickhouse-server", "--config-file=" + cfg],
					     stdout=self.log, stderr=self.log, stdin=subprocess.DEVNULL,
					     env=dict(os.environ, TZ="UTC"))
		e2e.wait_http(lambda: e2e.http_get(self.port, "/ping")[0] == 200, self.proc)
		self.conn = Conn(self.port)

	def sql(self, q, body=b"", conn=None, settings=""):
		st, txt = (conn or self.conn).post("/?output_format_json_quote_64bit_integers=0%s&query=%s" % (
			settings, urllib.parse.quote(q)), body, "text/plain")
		if st != 200:
			raise RuntimeError("clickhouse: %s: %s" % (q[:200], txt.decode()[:500]))
		return txt

	def load(self, files):
		self.sql("CREATE TABLE order_events (order_id String, market String, service String, "
			 "event_type String, status String, store_id Int32, event_time DateTime, latency_ms Int32, "
			 "amount Float64, attempt Int32, driver_id Int32) "
			 "ENGINE = MergeTree ORDER BY (order_id, event_time)")

		def push(f):
			with open(f, "rb") as fh:
				self.sql("INSERT INTO order_events FORMAT CSVWithNames", fh.read(), Conn(self.port))
		with ThreadPoolExecutor(2) as ex:
			list(ex.map(push, files))
		# merge into one part, as Waybill seals: OPTIMIZE ... FINAL does nothing
		# while background merges run, so wait for them and repeat
		t = time.perf_counter()
		parts = 0
		while time.perf_counter() - t < 300:
			self.sql("OPTIMIZE TABLE order_events FINAL")
			while int(self.sql("SELECT count() FROM system.merges WHERE table = 'order_events'").decode()):
				time.sleep(0.2)
			parts = int(self.sql("SELECT count() FROM system.parts WHERE table = 'order_events' "
					     "AND active").decode())
			if parts <= 1:
				break
		n = int(self.sql("SELECT count() FROM order_events").decode())
		return n, {"optimize_s": time.perf_counter() - t, "parts": parts}

	def run(self, sql, runs, slow_runs):
		def once():
			j = json.loads(self.sql(sql + " FORMAT JSONCompact", settings="&max_execution_time=%d" % self.timeout_s))
			return j["data"], None
		return timed_runs(once, runs, slow_runs)

	def stop(self):
		stop_pid(self.proc)


class Postgres:
	name = "postgres"

	def __init__(self, tmp, timeout_s):
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
		self.logpath = os.path.join(tmp, "pg.log")
		self.log = open(self.logpath, "wb")
		subprocess.run([PGBIN + "/initdb", "-D", data, "-U", "bench", "-A", "trust", "-E", "UTF8",
				"--locale=C"], check=True, stdout=self.log, stderr=self.log, **user)
		# settings a user would give a dedicated 2-core, 23 GB machine
		opts = ["-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=" + self.dir,
			"-c", "shared_buffers=4GB", "-c", "work_mem=256MB", "-c", "maintenance_work_mem=1GB",
			"-c", "effective_cache_size=12GB", "-c", "max_parallel_workers_per_gather=2",
			"-c", "random_page_cost=1.1", "-c", "fsync=off", "-c", "synchronous_commit=off",
			"-c", "full_page_writes=off", "-c", "max_wal_size=8GB", "-c", "jit=off",
			"-c", "timezone=UTC"]
		self.timeout_s = timeout_s
		self.proc = subprocess.Popen([PGBIN + "/postgres", "-D", data, "-p", str(self.port)] + opts,
					     stdout=self.log, stderr=self.log, stdin=subprocess.DEVNULL, **user)
		dl = time.monotonic() + 60
		while True:
			if self.proc.poll() is not None:
				raise RuntimeError("postgres exited: see %s/pg.log" % tmp)
			try:
				self.db = psycopg2.connect(host="127.0.0.1", port=self.port, user="bench", dbname="postgres")
				break
			except psycopg2.OperationalError:
				if time.monotonic() > dl:
					raise
				time.sleep(0.1)
		self.db.autocommit = True

	def load(self, files):
		cur = self.db.cursor()
		cur.execute("CREATE TABLE order_events (order_id text, market text, service text, event_type text, "
			    "status text, store_id integer, event_time timestamp, latency_ms integer, "
			    "amount double precision, attempt integer, driver_id integer)")
		for f in files:
			with open(f) as fh:
				cur.copy_expert("COPY order_events FROM STDIN WITH (FORMAT csv, HEADER true)", fh)
		t = time.perf_counter()
		cur.execute("CREATE INDEX order_events_order ON order_events (order_id, event_time)")
		cur.execute("CREATE INDEX order_events_time ON order_events (event_time)")
		cur.execute("VACUUM ANALYZE order_events")
		cur.execute("SELECT count(*) FROM order_events")
		return cur.fetchone()[0], {"index_analyze_s": time.perf_counter() - t}

	def run(self, sql, runs, slow_runs):
		cur = self.db.cursor()
		cur.execute("SET statement_timeout = %d" % (self.timeout_s * 1000))	# queries only, not the load

		def once():
			cur.execute(sql)
			return cur.fetchall(), None
		return timed_runs(once, runs, slow_runs)

	def stop(self):
		try:
			self.db.close()
		except Exception:
			pass
		# SIGINT: PostgreSQL's fast shutdown
		stop_pid(self.proc, signal.SIGINT)


def stop_pid(proc, sig=signal.SIGTERM, wait_s=60):
	if proc.poll() is not None:
		return
	proc.send_signal(sig)
	try:
		proc.wait(timeout=wait_s)
	except subprocess.TimeoutExpired:
		proc.kill()
		proc.wait()


def run_duckdb(tmp, datadir, qs, runs, slow_runs):
	cols = [("order_id", "VARCHAR"), ("market", "VARCHAR"), ("service", "VARCHAR"), ("event_type", "VARCHAR"),
		("status", "VARCHAR"), ("store_id", "INTEGER"), ("event_time", "TIMESTAMP"),
		("latency_ms", "INTEGER"), ("amount", "DOUBLE"), ("attempt", "INTEGER"), ("driver_id", "INTEGER")]
	job = {"csv": os.path.join(datadir, "chunk-*.csv"), "columns": cols,
	       "setup": ["SET threads = %d" % os.cpu_count(), "SET TimeZone = 'UTC'"],
	       "queries": [{"name": name, "sql": sql_for(qd, "duckdb")} for name, _, qd in qs],
	       "runs": runs, "slow_runs": slow_runs, "slow_ms": 2000, "once_ms": 10000}
	path = os.path.join(tmp, "duck-job.json")
	with open(path, "w") as f:
		json.dump(job, f)
	t = time.perf_counter()
	proc = subprocess.Popen(["node", os.path.join(ROOT, "bench", "peers", "duck.mjs"), path],
				stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
	try:
		out, err = proc.communicate(timeout=1800)
	finally:
		if proc.poll() is None:
			stop_pid(proc, signal.SIGKILL)
	if proc.returncode != 0:
		raise RuntimeError("duck.mjs: %s" % err.decode()[-800:])
	res = json.loads(out)
	res["wall_s"] = time.perf_counter() - t
	return res


# -- driver --------------------------------------------------------------------------

def run_guarded(srv, sql, runs, slow_runs, log):
	t = time.perf_counter()
	try:
		return srv.run(sql, runs, slow_runs)
	except (socket.timeout, TimeoutError) as e:
		s = time.perf_counter() - t
		log("  client gave up after %.0f s (%s); restarting %s" % (s, e, srv.name))
		srv.recover()
		return {"error": "no answer after %.0f s: the client gave up (the server's time limit is %.0f s)"
			% (s, getattr(srv, "timeout_ms", 0) / 1000), "client_timeout_s": s}
	except Exception as e:
		return {"error": str(e)[:1000], "after_s": time.perf_counter() - t}


def bench_server(make, files, qs, runs, slow_runs, log):
	srv = None
	out = {"queries": {}}
	try:
		srv = make()
		t = time.perf_counter()
		n, extra = srv.load(files)
		out["load_s"] = time.perf_counter() - t
		out["rows"] = n
		out.update(extra)
		log("%s: loaded %d rows in %.1f s %s" % (srv.name, n, out["load_s"], extra))
		for name, _, qd in qs:
			sql = sql_for(qd, srv.name)
			r = run_guarded(srv, sql, runs, slow_runs, log)
			out["queries"][name] = r
			log("  %-18s %s" % (name, ("error: " + r["error"][:200]) if "error" in r else
					    "median %.1f ms" % statistics.median(r["times_ms"])))
		if srv.name == "waybill":
			out["variants"] = {}
			for name, what, sql in waybill_variants():
				if name not in {q[0] for q in qs}:
					continue
				r = run_guarded(srv, sql, runs, slow_runs, log)
				r["what"], r["sql"] = what, sql
				out["variants"][name] = r
				log("  %-18s %s (variant)" % (name, ("error: " + r["error"][:200]) if "error" in r else
							      "median %.1f ms" % statistics.median(r["times_ms"])))
	except Exception as e:
		# the server's last log lines go with the error (the log is removed
		# with the temporary directory)
		tail = ""
		try:
			with open(srv.logpath, "rb") as f:
				f.seek(0, 2)
				f.seek(max(0, f.tell() - 1500))
				tail = f.read().decode("utf-8", "replace")
		except Exception:
			pass
		raise RuntimeError("%s; server log tail: %s" % (e, tail) if tail else str(e)) from e
	finally:
		if srv:
			srv.stop()
	return out


def main():
	ap = argparse.ArgumentParser()
	ap.add_argument("--waybill", default=os.path.join(ROOT, "build", "waybill"))
	ap.add_argument("--rows", type=int, default=10_000_000)
	ap.add_argument("--seed", type=int, default=1)
	ap.add_argument("--runs", type=int, default=5)
	ap.add_argument("--slow-runs", type=int, default=3)
	ap.add_argument("--engines", default="waybill,clickhouse,postgres,duckdb")
	ap.add_argument("--queries", default="", help="comma-separated question names to run (default: all 12); "
			"e.g. --engines waybill --queries p95_latency,stuck for quick iteration")
	ap.add_argument("--timeout-s", type=int, default=60, help="per-query time limit (Waybill: timeoutMs; "
			"PostgreSQL: statement_timeout; ClickHouse: max_execution_time)")
	ap.add_argument("--out", default=os.path.join(ROOT, "build", "bench-peers.json"))
	a = ap.parse_args()
	engines = a.engines.split(",")
	if a.queries:
		known = [q[0] for q in queries(1)]
		unknown = [n for n in a.queries.split(",") if n not in known]
		if unknown:
			raise SystemExit("unknown question(s) %s; known: %s" % (", ".join(unknown), ", ".join(known)))

	def log(s):
		print(s, file=sys.stderr, flush=True)

	res = {"args": vars(a), "cpus": os.cpu_count(), "engines": {}}
	tmp = tempfile.mkdtemp(prefix="wb-bench-peers-")
	try:
		datadir = os.path.join(tmp, "csv")
		os.makedirs(datadir)
		os.chmod(tmp, 0o755)
		os.chmod(datadir, 0o755)
		t = time.perf_counter()
		n_orders, total, files = generate(datadir, a.rows, a.seed)
		res["orders"], res["rows"] = n_orders, total
		res["gen_s"] = time.perf_counter() - t
		log("generated %d events of %d orders in %.1f s (%d files, %.0f MB)" % (
			total, n_orders, res["gen_s"], len(files), sum(os.path.getsize(f) for f in files) / 1e6))
		qs = queries(n_orders)
		if a.queries:
			qs = [q for q in qs if q[0] in a.queries.split(",")]
		res["queries"] = {name: {"what": what, "sql": {e: sql_for(qd, e) for e in engines}}
				  for name, what, qd in qs}
		makers = {"waybill": lambda: Waybill(a.waybill, tmp, a.timeout_s * 1000), "clickhouse": lambda: ClickHouse(tmp, a.timeout_s),
			  "postgres": lambda: Postgres(tmp, a.timeout_s)}
		for e in engines:
			try:
				if e == "duckdb":
					r = run_duckdb(tmp, datadir, qs, a.runs, a.slow_runs)
					r["load_s"] = r.pop("load_ms") / 1000
					log("duckdb: loaded %d rows in %.1f s" % (r["rows"], r["load_s"]))
					for name, x in r["queries"].items():
						log("  %-18s %s" % (name, ("error: " + x["error"][:200]) if "error" in x else
								    "median %.1f ms" % statistics.median(x["times_ms"])))
				else:
					r = bench_server(makers[e], files, qs, a.runs, a.slow_runs, log)
			except Exception as ex:
				r = {"error": str(ex)[:2000]}
				log("%s: error: %s" % (e, r["error"]))
			res["engines"][e] = r
	finally:
		shutil.rmtree(tmp, ignore_errors=True)
	check(res, qs, engines)
	report(res, qs, engines)
	os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
	with open(a.out, "w") as f:
		json.dump(res, f, indent=1, default=str)


def check(res, qs, engines):
	"""Marks each engine's answer to each question ok or not: the reference
	is the answer most engines agree on (ties: the first engine listed
	that is not Waybill)."""
	res["check"] = {}
	res["check_variants"] = {}
	for name, _, qd in qs:
		tol = qd.get("tol", 1e-6)
		answers = {}
		for e in engines:
			r = res["engines"].get(e, {}).get("queries", {}).get(name)
			if r and "rows" in r:
				answers[e] = norm_rows(r["rows"])
		groups = []	# [engines] with the same rows
		for e, rows in answers.items():
			for g in groups:
				if same(answers[g[0]], rows, tol) is None:
					g.append(e)
					break
			else:
				groups.append([e])
		groups.sort(key=lambda g: (-len(g), g[0] == "waybill"))
		c = {}
		if groups:
			ref = groups[0][0]
			for e in engines:
				if e not in answers:
					c[e] = "no answer"
				else:
					d = same(answers[ref], answers[e], tol)
					c[e] = "ok" if d is None else "differs from %s: %s" % (ref, d)
			if len(groups[0]) < 2 and len(answers) > 1:
				for e in engines:
					c[e] = "no majority: " + c[e]
		res["check"][name] = c
		for vname, r in res["engines"].get("waybill", {}).get("variants", {}).items():
			if vname == name and groups and "rows" in r:
				d = same(answers[groups[0][0]], norm_rows(r["rows"]), tol)
				res["check_variants"][name] = "ok" if d is None else "differs from %s: %s" % (groups[0][0], d)


def geomean(xs):
	xs = list(xs)
	return math.exp(sum(math.log(max(x, 1e-9)) for x in xs) / len(xs))


def report(res, qs, engines):
	print("\n== peer benchmark: %s order events (%s orders), %d CPUs" % (
		e2e.fmt(res["rows"]), e2e.fmt(res["orders"]), res["cpus"]))
	for e in engines:
		r = res["engines"].get(e, {})
		if "error" in r:
			print("%s: error: %s" % (e, r["error"][:500]))
		elif "load_s" in r:
			print("%-10s load %.1f s (%d rows)" % (e, r["load_s"], r["rows"]))
	print("\nmedian ms (client wall; DuckDB in-process); ratio = Waybill / best peer that answered correctly")
	hdr = "%-18s" % "query" + "".join("%12s" % e for e in engines) + "%12s %8s" % ("wb server", "ratio")
	print(hdr)
	ratios = {}
	peers = [e for e in engines if e != "waybill"]
	for name, _, _ in qs:
		line = "%-18s" % name
		med = {}
		for e in engines:
			r = res["engines"].get(e, {}).get("queries", {}).get(name)
			ok = res["check"].get(name, {}).get(e) == "ok"
			if not r:
				cell = "-"
			elif "error" in r:
				cell = "TIMEOUT" if re.search(r"time ?out|gave up", r["error"], re.I) else "ERROR"
			else:
				m = statistics.median(r["times_ms"])
				cell = "%.1f%s%s" % (m, "*" if r.get("single_run") else "", "" if ok else "!")
				if ok:
					med[e] = m
			line += "%12s" % cell
		wb = res["engines"].get("waybill", {}).get("queries", {}).get(name, {})
		srv = [x for x in wb.get("extra", []) if x is not None]
		line += "%12s" % ("%.1f" % statistics.median(srv) if srv else "-")
		best = min((med[e] for e in peers if e in med), default=None)
		if "waybill" in med and best:
			ratio = med["waybill"] / best
			ratios[name] = ratio
			line += " %8.2f" % ratio
		else:
			line += " %8s" % "-"
		print(line)
	res["ratios"] = ratios
	if ratios:
		gm = geomean(ratios.values())
		res["geomean_ratio"] = gm
		print("geometric mean of Waybill / best peer over %d queries: %.2f (target <= 0.5)%s" % (
			len(ratios), gm, "" if len(ratios) == len(qs) else "; left out (no correct Waybill answer): " +
			", ".join(n for n, _, _ in qs if n not in ratios)))
	alt = dict(ratios)
	print("('!' = rows differ from the other engines: see below; not counted in the ratio;"
	      " '*' = one run only, the warm-up took > 10 s)")
	for name, r in res["engines"].get("waybill", {}).get("variants", {}).items():
		if "error" in r:
			print("waybill variant of %s (%s): error: %s" % (name, r["what"], r["error"][:300]))
			continue
		m = statistics.median(r["times_ms"])
		best = min((statistics.median(x["times_ms"]) for e in peers
			    for x in [res["engines"].get(e, {}).get("queries", {}).get(name, {})]
			    if "times_ms" in x and res["check"].get(name, {}).get(e) == "ok"), default=None)
		ok = res["check_variants"].get(name, "no answer")
		print("waybill variant of %s (%s): %.1f ms, ratio %s, rows %s" % (
			name, r["what"], m, "%.2f" % (m / best) if best else "-", ok))
		if best and ok == "ok":
			alt[name] = m / best
	if alt != ratios and alt:
		res["geomean_with_variants"] = geomean(alt.values())
		print("geometric mean with the variant(s) in place of the question(s) as written, over %d queries: %.2f" % (
			len(alt), res["geomean_with_variants"]))
	for name, c in res["check"].items():
		for e, v in c.items():
			if v != "ok":
				print("check %-18s %-10s %s" % (name, e, v[:300]))
	for name, _, _ in qs:
		for e in engines:
			r = res["engines"].get(e, {}).get("queries", {}).get(name)
			if r and "error" in r:
				print("error %-18s %-10s %s" % (name, e, r["error"][:400]))


if __name__ == "__main__":
	main()
