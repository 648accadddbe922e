#!/usr/bin/python3
"""Life-cycle tracking benchmark (issue 8, item 6), in one run.

  data     `waybill simulate --stdout --rate 0 --orders N --seed S` (one NDJSON
           line per event, a "topic" field naming its service), split by
           topic into bodies of --body-mb; the 20 service tables and the
           order flow come from `waybill simulate --emit-configs` (push
           tables: the stream settings dropped, the flush threshold kept;
           the flow with "clock": "event", so 'now' is the newest event time
           and every engine can compute the same answers).
  ingest   the same bodies pushed (POST /tables/{t}/ingest, --pushers
           concurrent keep-alive connections, files in generation order) to
           (A) a fresh server without a flow and (B) a fresh server with the
           flow defined first.  events/s of wall time (a 200 means durable,
           visible and applied to the flow's state) and per server
           CPU-second; overhead = A's rate / B's rate.  On A afterwards:
           the flow is defined over the loaded data (backfill until GET
           /flows/order says READY), then the server restarted (SIGTERM,
           exec until READY again).  Memory from /proc/PID/status: VmRSS,
           and RssAnon for the flow state's cost per entity (VmRSS also
           counts the segment-file pages a backfill reads).
  where-is GET /flows/order/entities/{random known key} through
           bench/httplat.c (compiled here with cc; one keep-alive connection,
           closed loop), idle and while a background pusher ingests another
           simulated stream (new orders, --live-rate events/s).
  peers    the same events in one table in ClickHouse 18.16 (MergeTree ORDER
           BY (order_id, ts)) and DuckDB (in memory, in node): where-is
           (SELECT ... WHERE order_id = ? ORDER BY ts; ClickHouse over HTTP
           through httplat, DuckDB in-process with a prepared statement),
           and stuck / gaps as SQL over the raw events written from
           order_flow.json (stage order, SLAs, dominators, ancestors and
           descendants of the stage graph), checked against Waybill's
           /stuck and /gaps (byStage / byKind) at the same 'now'.  Waybill:
           GET /flows/order/stuck?limit=100, /gaps?limit=100 and SQL over
           order_state.
  entities (--entities N, optional) a lighter synthetic stream: 4 events per
           entity in 3 tables, N entities, then where-is under load and RSS.

Usage: bench/lifecycle.py [--waybill build/waybill] [--orders 1000000]
	[--seed 1] [--pushers 4] [--live-rate 100000] [--lat-seconds 20]
	[--no-clickhouse] [--no-duckdb] [--entities 10000000] [--only entities]
Prints a table and writes build/bench-lifecycle.json.  No pass/fail by time.
"""
import argparse
import http.client
import json
import os
import queue
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e  # noqa: E402  free_port, CH_CONFIG, cpu_seconds, wait_http, http_get

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# --start-time of the simulated timeline: the run's start, so that the tables'
# retention (7 days in the emitted configs) keeps every sealed segment
T0 = int(time.time()) * 1000
B = 1 << 42			# > any epoch-ms time until 2109: max(si * B + (B - 1 - ts))
				# gives the furthest stage and its first time in one aggregate


# stuck orders, skipped stages (dropped packing/dispatch events), duplicates and late events
FAULTS = ("stall:share=0.01;drop:service=packing,share=0.02;drop:service=dispatch,share=0.01;"
	  "dup:share=0.005;late:share=0.005")


def log(s):
	print(s, file=sys.stderr, flush=True)


# -- the flow's stage graph (as src/lifecycle/flowdef.c derives it) -----------------

DUR_RE = re.compile(r"(\d+)(ms|s|m|h|d)")
DUR_MS = {"ms": 1, "s": 1000, "m": 60000, "h": 3600000, "d": 86400000}


def duration_ms(s):
	if s is None:
		return 0
	if isinstance(s, (int, float)):
		return int(s)
	parts = DUR_RE.findall(s)
	if "".join(a + b for a, b in parts) != s:
		raise ValueError("bad duration %r" % s)
	return sum(int(a) * DUR_MS[b] for a, b in parts)


class Graph:
	def __init__(self, flow):
		st = [s if isinstance(s, dict) else {"name": s} for s in flow["stages"]]
		self.names = [s["name"] for s in st]
		n = self.n = len(st)
		idx = {nm: i for i, nm in enumerate(self.names)}
		self.success = {idx[x] for x in flow.get("successStages", [])}
		self.failure = {idx[x] for x in flow.get("failureStages", [])}
		self.cancel = {idx[x] for x in flow.get("cancelStages", [])}
		term = self.success | self.failure | self.cancel
		self.terminal = term
		self.sla = [0 if i in term else duration_ms(s.get("sla")) for i, s in enumerate(st)]
		succ = [0] * n
		for i, s in enumerate(st):
			nx = s.get("next")
			if nx is None:
				nx = [] if i in term or i + 1 >= n else [self.names[i + 1]]
			for x in nx:
				succ[i] |= 1 << idx[x]
		desc = []
		for s in range(n):
			r, prev = succ[s], -1
			while r != prev:
				prev = r
				for t in range(n):
					if r >> t & 1:
						r |= succ[t]
			desc.append(r)
		anc = [sum(1 << t for t in range(n) if desc[t] >> s & 1) for s in range(n)]
		reach = desc[0] | 1
		full = (1 << n) - 1
		dom = [full if s and reach >> s & 1 else 0 for s in range(n)]
		changed = True
		while changed:
			changed = False
			for s in range(1, n):
				if not reach >> s & 1:
					continue
				m = full
				for p in range(n):
					if reach >> p & 1 and succ[p] >> s & 1:
						m &= dom[p] | (1 << p)
				m &= ~(1 << s)
				if m != dom[s]:
					dom[s], changed = m, True
		self.desc, self.anc, self.dom, self.full = desc, anc, dom, full
		self.grace = int(flow.get("gapGraceMs", 60000))


# -- SQL over the raw events, written from the flow ------------------------------------

def stage_case(g, col="stage"):
	return "CASE %s %s ELSE -1 END" % (col, " ".join("WHEN '%s' THEN %d" % (nm, i) for i, nm in enumerate(g.names)))


def sla_case(g, col):
	w = " ".join("WHEN %d THEN %d" % (i, g.sla[i]) for i in range(g.n) if g.sla[i] > 0)
	return "CASE %s %s ELSE 0 END" % (col, w)


def sql_stuck(g, eng):
	"""Stuck orders per current stage: the furthest stage reached (stage
	order) is not terminal, has an SLA, and was first entered at least
	its SLA before now (the newest event time)."""
	idiv = "intDiv(k, %d)" % B if eng == "clickhouse" else "k // %d" % B
	return ("SELECT cur, count(*) AS n FROM ("
		"SELECT %s AS cur, %d - (k %% %d) AS since FROM ("
		"SELECT order_id, max(si * %d + (%d - ts)) AS k FROM ("
		"SELECT order_id, ts, %s AS si FROM events) AS e WHERE si >= 0 GROUP BY order_id) AS o) AS c "
		"WHERE %s > 0 AND since + %s <= (SELECT max(ts) FROM events) GROUP BY cur ORDER BY cur") % (
			idiv, B - 1, B, B, B - 1, stage_case(g), sla_case(g, "cur"), sla_case(g, "cur"))


def sql_gaps(g, eng):
	"""Orders with a skipped stage (a stage reached without one of its
	dominators, once gapGraceMs old) and orders with contradicting stages
	(a failure or cancel stage together with a stage that is neither its
	ancestor nor its descendant)."""
	ch = eng == "clickhouse"

	def band(a, m):
		return "bitAnd(%s, %d)" % (a, m) if ch else "(%s & %d)" % (a, m)
	seen = "groupBitOr(bitShiftLeft(toUInt64(1), si))" if ch else "bit_or(CAST(1 AS BIGINT) << si)"
	firsts = []
	skip = []
	for i in range(g.n):
		if g.dom[i] == 0:
			continue
		f = ("minIf(ts, si = %d)" % i) if ch else ("min(ts) FILTER (WHERE si = %d)" % i)
		firsts.append("%s AS f%d" % (f, i))
		skip.append("(%s <> 0 AND %s <> %d AND f%d + %d <= (SELECT max(ts) FROM events))" % (
			band("seen", 1 << i), band("seen", g.dom[i]), g.dom[i], i, g.grace))
	contra = []
	for f in sorted(g.failure | g.cancel):
		other = g.full & ~(g.anc[f] | g.desc[f] | (1 << f))
		if other:
			contra.append("(%s <> 0 AND %s <> 0)" % (band("seen", 1 << f), band("seen", other)))
	cnt = "countIf(%s)" if ch else "count(*) FILTER (WHERE %s)"
	return ("SELECT %s AS skipped, %s AS contradiction FROM ("
		"SELECT order_id, %s AS seen, %s FROM (SELECT order_id, ts, %s AS si FROM events) AS e "
		"WHERE si >= 0 GROUP BY order_id) AS o") % (
			cnt % (" OR ".join(skip) or "0 = 1"), cnt % (" OR ".join(contra) or "0 = 1"),
			seen, ", ".join(firsts), stage_case(g))


WHERE_IS = "SELECT ts, stage, service, topic, event_type, status FROM events WHERE order_id = '%s' ORDER BY ts"


# -- events ---------------------------------------------------------------------------------

def emit_configs(binary, d):
	subprocess.run([binary, "simulate", "--orders", "0", "--stdout", "--emit-configs", d],
		       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
	with open(os.path.join(d, "order_flow.json")) as f:
		flow = json.load(f)
	flow["clock"] = "event"
	tables = []
	for t in flow["sources"]:
		t = t if isinstance(t, str) else t["table"]
		with open(os.path.join(d, "%s_schema.json" % t)) as f:
			schema = json.load(f)
		with open(os.path.join(d, "%s_table_config.json" % t)) as f:
			cfg = json.load(f)
		# push-fed: no stream, only the sealing thresholds
		maps = cfg.get("ingestionConfig", {}).get("streamIngestionConfig", {}).get("streamConfigMaps", [{}])
		keep = {k: v for k, v in maps[0].items() if k.startswith("realtime.segment.flush.threshold")}
		if keep:
			cfg["ingestionConfig"] = {"streamIngestionConfig": {"streamConfigMaps": [keep]}}
		else:
			cfg.pop("ingestionConfig", None)
		tables.append((t, schema, cfg))
	return flow, tables


def generate(binary, outdir, orders, seed, start, body_bytes, faults=(), want_keys=True):
	"""Runs the simulator and splits its output by topic into files of
	about body_bytes; returns (files [(path, topic, events)], order ids,
	events, seconds)."""
	os.makedirs(outdir, exist_ok=True)
	t = time.perf_counter()
	err = open(os.path.join(outdir, "simulate.err"), "wb")
	p = subprocess.Popen([binary, "simulate", "--stdout", "--rate", "0", "--orders", str(orders),
			      "--seed", str(seed), "--start-time", str(start), "--availability-rate", "0"] +
			     [x for f in faults for x in ("--fault", f)],
			     stdout=subprocess.PIPE, stderr=err, bufsize=1 << 20)
	bufs, sizes, counts, files, keys = {}, {}, {}, [], []
	total = 0

	def flush(topic):
		path = os.path.join(outdir, "%s.%05d.ndjson" % (topic.decode(), len(files)))
		with open(path, "wb") as f:
			f.write(b"".join(bufs[topic]))
		files.append((path, topic.decode(), counts[topic]))
		bufs[topic], sizes[topic], counts[topic] = [], 0, 0
	for line in p.stdout:
		topic = line[10:line.index(b'"', 10)]
		b = bufs.get(topic)
		if b is None:
			b = bufs[topic] = []
			sizes[topic] = counts[topic] = 0
		b.append(line)
		sizes[topic] += len(line)
		counts[topic] += 1
		total += 1
		if want_keys and topic == b"order" and b'"order_created"' in line:
			i = line.index(b'"order_id":"') + 12
			keys.append(line[i:line.index(b'"', i)].decode())
		if sizes[topic] >= body_bytes:
			flush(topic)
	for topic in list(bufs):
		if counts[topic]:
			flush(topic)
	if p.wait() != 0:
		raise RuntimeError("waybill simulate exited with %d" % p.returncode)
	return files, keys, total, time.perf_counter() - t


# -- Waybill ---------------------------------------------------------------------------------

def rss_mb(pid, field="VmRSS"):
	"""VmRSS (everything resident, mapped segment files included) or
	RssAnon (the process's own memory: the flow state lives there) in MB."""
	with open("/proc/%d/status" % pid) as f:
		for ln in f:
			if ln.startswith(field + ":"):
				return int(ln.split()[1]) / 1024.0
	return 0.0


class Http:
	"""One keep-alive connection; reconnects once when the server closed
	an idle one."""

	def __init__(self, port, timeout=900):
		self.port, self.timeout = port, timeout
		self.c = None

	def req(self, method, path, body=None, ctype="application/json"):
		for attempt in (0, 1):
			if self.c is None:
				self.c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
			try:
				self.c.request(method, path, body=body, headers={"Content-Type": ctype} if body is not None else {})
				r = self.c.getresponse()
				return r.status, r.read()
			except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError,
				http.client.CannotSendRequest):
				self.c.close()
				self.c = None
				if attempt:
					raise

	def json(self, method, path, body=None, ok=(200,)):
		st, txt = self.req(method, path, body)
		if st not in ok:
			raise RuntimeError("%s %s: %d %s" % (method, path, st, txt[:500].decode("utf-8", "replace")))
		return json.loads(txt) if txt else None


class Waybill:
	def __init__(self, binary, data, logpath):
		self.binary, self.data = binary, data
		self.log = open(logpath, "ab")
		self.logpath = logpath
		self.proc = None

	def start(self):
		self.port = e2e.free_port()
		t = time.perf_counter()
		self.proc = subprocess.Popen([self.binary, "serve", "--data-dir", self.data,
					      "--http", "127.0.0.1:%d" % self.port, "--pg", "127.0.0.1:%d" % e2e.free_port(),
					      "--query-timeout", "120000", "--query-memory", "8192"],
					     stdout=self.log, stderr=self.log, stdin=subprocess.DEVNULL)
		self.wait_health(t)
		self.h = Http(self.port)
		return time.perf_counter() - t

	def wait_health(self, t0, timeout=600):
		while True:
			if self.proc.poll() is not None:
				raise RuntimeError("waybill exited with %s; log tail: %s" % (self.proc.returncode, self.tail()))
			if e2e.http_get(self.port, "/health")[0] == 200:
				return
			if time.perf_counter() - t0 > timeout:
				raise RuntimeError("waybill not healthy after %d s" % timeout)
			time.sleep(0.005)

	def stop(self, sig=signal.SIGTERM):
		if self.proc is None or self.proc.poll() is not None:
			return 0.0
		t = time.perf_counter()
		self.proc.send_signal(sig)
		try:
			self.proc.wait(timeout=120)
		except subprocess.TimeoutExpired:
			self.proc.kill()
			self.proc.wait()
		return time.perf_counter() - t

	def tail(self, n=1500):
		try:
			with open(self.logpath, "rb") as f:
				f.seek(0, 2)
				f.seek(max(0, f.tell() - n))
				return f.read().decode("utf-8", "replace")
		except OSError:
			return ""

	def rss(self):
		return rss_mb(self.proc.pid)

	def anon(self):
		return rss_mb(self.proc.pid, "RssAnon")

	def cpu(self):
		return e2e.cpu_seconds(self.proc.pid)

	def create_tables(self, tables):
		for t, schema, cfg in tables:
			self.h.json("POST", "/schemas", json.dumps(schema))
			self.h.json("POST", "/tables", json.dumps(cfg))

	def sql(self, q):
		j = self.h.json("POST", "/query/sql", json.dumps({"sql": q}))
		if j.get("exceptions"):
			raise RuntimeError("waybill SQL %s: %s" % (q[:200], j["exceptions"]))
		return j["resultTable"]["rows"]

	def flow_status(self, name="order"):
		return self.h.json("GET", "/flows/%s" % name)["status"]

	def wait_ready(self, t0, name="order", timeout=900, want=None):
		"""Polls GET /flows/{name} until READY (and, with want, until
		status[k] >= v for each); returns (seconds since t0, status)."""
		while True:
			st = self.flow_status(name)
			if st.get("state") == "READY" and all(st.get(k, 0) >= v for k, v in (want or {}).items()):
				return time.perf_counter() - t0, st
			if st.get("error"):
				raise RuntimeError("flow %s: %s" % (name, st["error"]))
			if time.perf_counter() - t0 > timeout:
				raise RuntimeError("flow %s not READY after %d s: %s" % (name, timeout, st))
			time.sleep(0.02)


def complete(st, rows, entities, what):
	"""Logs a flow status that does not cover every event and entity."""
	if st.get("entities") != entities or st.get("error") or (
			st.get("backfilledRows", 0) + st.get("liveRows", 0) < rows):
		log("   INCOMPLETE %s: expected %d entities and %d rows, status %s" % (what, entities, rows, st))
		st["incomplete"] = True


def push(port, files, pushers, rate=0.0, stop=None):
	"""Pushes the files (path, table, events) in order over `pushers`
	keep-alive connections; rate > 0 paces the total events/s; stop (an
	Event) ends it early.  Returns (events, bytes, seconds)."""
	q = queue.Queue()
	for f in files:
		q.put(f)
	lock = threading.Lock()
	tot = {"events": 0, "bytes": 0, "err": None}
	t0 = time.perf_counter()

	def worker():
		h = Http(port)
		while not (stop and stop.is_set()) and tot["err"] is None:
			try:
				path, table, n = q.get_nowait()
			except queue.Empty:
				return
			with open(path, "rb") as fh:
				body = fh.read()
			if rate > 0:
				with lock:
					due = t0 + (tot["events"] + n) / rate
				d = due - time.perf_counter()
				if d > 0:
					if stop:
						if stop.wait(d):
							return
					else:
						time.sleep(d)
			try:
				st, txt = h.req("POST", "/tables/%s/ingest?format=ndjson" % table, body, "application/x-ndjson")
				j = json.loads(txt) if st == 200 else None
				if st != 200 or j.get("rejected") or j.get("accepted", n) != n:
					raise RuntimeError("push %s: %d %s" % (table, st, txt[:400].decode("utf-8", "replace")))
			except Exception as e:
				tot["err"] = e
				return
			with lock:
				tot["events"] += n
				tot["bytes"] += len(body)
	ths = [threading.Thread(target=worker) for _ in range(pushers)]
	for t in ths:
		t.start()
	for t in ths:
		t.join()
	if tot["err"] is not None:
		raise tot["err"]
	return tot["events"], tot["bytes"], time.perf_counter() - t0


def timed(fn, runs=5, min_s=1.0, max_runs=50, slow_s=None, slow_runs=1):
	"""Warm-up, then at least runs (slow_runs when the warm-up took over
	slow_s) and at least min_s; returns (median ms, all ms, the warm-up's
	answer)."""
	t = time.perf_counter()
	ans = fn()
	if slow_s is not None and time.perf_counter() - t > slow_s:
		runs = slow_runs
	ts = []
	start = time.perf_counter()
	while len(ts) < runs or (time.perf_counter() - start < min_s and len(ts) < max_runs):
		t = time.perf_counter()
		fn()
		ts.append((time.perf_counter() - t) * 1000)
	return statistics.median(ts), ts, ans


def httplat(exe, port, keyfile, seconds, prefix=None, suffix=None, nreq=1000000, warm=500):
	cmd = [exe, "-p", str(port), "-k", keyfile, "-d", str(seconds), "-n", str(nreq), "-w", str(warm)]
	if prefix:
		cmd += ["-x", prefix]
	if suffix:
		cmd += ["-y", suffix]
	r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=seconds + 300)
	if r.returncode != 0:
		raise RuntimeError("httplat: %s" % r.stderr.decode()[-500:])
	j = json.loads(r.stdout)
	if r.stderr:
		j["stderr"] = r.stderr.decode()[-300:]
	return j


def where_is_under_load(wb, exe, keyfile, live_files, pushers, rate, seconds):
	stop = threading.Event()
	res = {}

	def bg():
		try:
			res["live"] = push(wb.port, live_files, pushers, rate, stop)
		except Exception as e:
			res["live_error"] = str(e)[:500]
	th = threading.Thread(target=bg)
	cpu0 = wb.cpu()
	th.start()
	time.sleep(1.0)			# the pusher under way
	lat = httplat(exe, wb.port, keyfile, seconds)
	stop.set()
	th.join()
	lat["server_cpu_s"] = wb.cpu() - cpu0
	if "live" in res:
		ev, _, s = res["live"]
		lat["live_events"], lat["live_events_per_s"] = ev, ev / s
	if "live_error" in res:
		lat["live_error"] = res["live_error"]
	return lat


def bench_waybill(a, tmp, exe, flow, tables, files, total, keys, keyfile, live_files, out):
	g = Graph(flow)
	flow_json = json.dumps(flow)
	# -- A: no flow; then the flow over the loaded data; then a restart ---------
	wa = Waybill(a.waybill, os.path.join(tmp, "wb-a"), os.path.join(tmp, "wb-a.log"))
	try:
		wa.start()
		wa.create_tables(tables)
		rss0 = wa.rss()
		c0 = wa.cpu()
		ev, nb, s = push(wa.port, files, a.pushers)
		ra = out["ingest_no_flow"] = {"events": ev, "mb": nb / 1e6, "s": s, "events_per_s": ev / s,
					      "events_per_cpu_s": ev / max(wa.cpu() - c0, 1e-9),
					      "rss_mb_before": rss0, "rss_mb": wa.rss(), "anon_mb": wa.anon()}
		log("A  no flow: %d events in %.1f s = %.0f events/s (%.0f per server CPU-s), RSS %.0f MB" % (
			ev, s, ev / s, ra["events_per_cpu_s"], ra["rss_mb"]))
		time.sleep(1.0)
		rss_b, anon_b = wa.rss(), wa.anon()
		t = time.perf_counter()
		c0 = wa.cpu()
		wa.h.json("POST", "/flows", flow_json)
		post_s = time.perf_counter() - t
		secs, st = wa.wait_ready(t)
		complete(st, total, len(keys), "backfill")
		bf = out["backfill"] = {"s": secs, "post_s": post_s, "entities": st.get("entities"),
					"incomplete": st.get("incomplete", False),
					"backfilled_rows": st.get("backfilledRows"), "server_cpu_s": wa.cpu() - c0,
					"rss_mb_before": rss_b, "rss_mb": wa.rss(), "anon_mb_before": anon_b,
					"anon_mb": wa.anon()}
		bf["events_per_s"] = total / secs
		bf["flow_bytes_per_entity"] = (bf["anon_mb"] - anon_b) * 1048576 / max(1, st.get("entities") or 1)
		log("A  backfill of a flow defined after the load: READY in %.2f s (%d entities, %s rows read), "
		    "RSS %.0f -> %.0f MB, anonymous %.0f -> %.0f MB (%.0f bytes/entity)" % (
			secs, st.get("entities"), st.get("backfilledRows"), rss_b, bf["rss_mb"], anon_b, bf["anon_mb"],
			bf["flow_bytes_per_entity"]))
		stop_s = wa.stop()
		t = time.perf_counter()
		wa.start()
		health_s = time.perf_counter() - t
		secs, st = wa.wait_ready(t)
		complete(st, total, len(keys), "restart")
		out["restart"] = {"stop_s": stop_s, "health_s": health_s, "ready_s": secs,
				  "incomplete": st.get("incomplete", False),
				  "entities": st.get("entities"), "rss_mb": wa.rss(), "anon_mb": wa.anon()}
		log("A  restart with the flow: stop %.2f s; /health after %.2f s, READY after %.2f s (%d entities)" % (
			stop_s, health_s, secs, st.get("entities")))
	finally:
		wa.stop()
		shutil.rmtree(wa.data, ignore_errors=True)

	# -- B: the flow first, then the same push ------------------------------------
	wb = Waybill(a.waybill, os.path.join(tmp, "wb-b"), os.path.join(tmp, "wb-b.log"))
	try:
		wb.start()
		wb.create_tables(tables)
		wb.h.json("POST", "/flows", flow_json)
		wb.wait_ready(time.perf_counter())
		c0 = wb.cpu()
		ev, nb, s = push(wb.port, files, a.pushers)
		rb = out["ingest_flow"] = {"events": ev, "mb": nb / 1e6, "s": s, "events_per_s": ev / s,
					   "events_per_cpu_s": ev / max(wb.cpu() - c0, 1e-9)}
		secs, st = wb.wait_ready(time.perf_counter(), want={"liveRows": total}, timeout=120)
		rb["rss_mb"] = wb.rss()
		rb["anon_mb"] = wb.anon()
		rb["entities"] = st.get("entities")
		rb["live_rows"] = st.get("liveRows")
		rb["bytes_per_entity_total"] = rb["rss_mb"] * 1048576 / max(1, rb["entities"])
		rb["flow_bytes_per_entity"] = (rb["anon_mb"] - out["ingest_no_flow"]["anon_mb"]) * 1048576 / max(1, rb["entities"])
		out["overhead"] = {"wall": out["ingest_no_flow"]["events_per_s"] / rb["events_per_s"],
				   "cpu": out["ingest_no_flow"]["events_per_cpu_s"] / rb["events_per_cpu_s"]}
		log("B  with flow: %d events in %.1f s = %.0f events/s (%.0f per server CPU-s); %d entities, RSS %.0f MB; "
		    "slowdown %.2fx wall, %.2fx per CPU-s" % (ev, s, ev / s, rb["events_per_cpu_s"], rb["entities"],
							    rb["rss_mb"], out["overhead"]["wall"], out["overhead"]["cpu"]))
		# -- the questions ---------------------------------------------------------
		now = st.get("now")
		q = out["waybill_questions"] = {"now": now}
		m, ts, j = timed(lambda: wb.h.json("GET", "/flows/order/stuck?limit=100"))
		q["stuck"] = {"median_ms": m, "total": j["total"], "byStage": j.get("byStage"), "now": j.get("now")}
		m, ts, j = timed(lambda: wb.h.json("GET", "/flows/order/gaps?limit=100"))
		q["gaps"] = {"median_ms": m, "total": j["total"], "byKind": j.get("byKind"), "now": j.get("now")}
		log("B  GET /stuck?limit=100 %.1f ms (total %d), /gaps?limit=100 %.1f ms (total %d, %s); now %s" % (
			q["stuck"]["median_ms"], q["stuck"]["total"], q["gaps"]["median_ms"], q["gaps"]["total"],
			q["gaps"]["byKind"], now))
		# the state table: written every second by the flow's thread, flags
		# as of the last sweep: wait until it has every entity and the
		# live answer's stuck count (the lag is reported)
		t = time.perf_counter()
		n = 0
		while time.perf_counter() - t < 120:
			n = int(wb.sql("SELECT count(*) FROM order_state")[0][0])
			ns = int(wb.sql("SELECT count(*) FROM order_state WHERE stuck")[0][0])
			if n >= rb["entities"] and ns == q["stuck"]["total"]:
				break
			time.sleep(0.2)
		q["state_rows"] = n
		q["state_table_lag_s"] = time.perf_counter() - t
		sqls = {"stuck_count": "SELECT stage, count(*) FROM order_state WHERE stuck GROUP BY stage",
			"stuck_page": "SELECT order_id, stage, stage_since, deadline, holder FROM order_state WHERE stuck "
				      "ORDER BY deadline, order_id LIMIT 100",
			"gaps_count": "SELECT count(*) FILTER (WHERE gap), count(*) FILTER (WHERE contradiction) "
				      "FROM order_state WHERE gap OR contradiction",
			"gaps_page": "SELECT order_id, stage, gap_stages FROM order_state WHERE gap OR contradiction "
				     "ORDER BY order_id LIMIT 100"}
		q["sql"] = {}
		for name, sq in sqls.items():
			try:
				m, ts, rows = timed(lambda: wb.sql(sq))
				q["sql"][name] = {"median_ms": m, "sql": sq, "rows": rows if len(rows) <= 20 else len(rows)}
			except Exception as e:
				q["sql"][name] = {"error": str(e)[:500], "sql": sq}
		log("B  SQL over order_state (%d rows): %s" % (n, ", ".join(
			"%s %s" % (k, ("%.1f ms" % v["median_ms"]) if "median_ms" in v else "ERROR") for k, v in q["sql"].items())))
		# -- where-is ------------------------------------------------------------------
		out["where_is_idle"] = httplat(exe, wb.port, keyfile, a.idle_seconds)
		w = out["where_is_idle"]
		log("B  where-is idle: p50 %.0f us, p99 %.0f us, p999 %.0f us (%d requests, %.0f bytes each)" % (
			w["p50_us"], w["p99_us"], w["p999_us"], w["requests"], w["mean_bytes"]))
		w = out["where_is_load"] = where_is_under_load(wb, exe, keyfile, live_files, 2, a.live_rate, a.lat_seconds)
		w["entities"] = wb.flow_status().get("entities")
		w["rss_mb"], w["anon_mb"] = wb.rss(), wb.anon()
		log("B  where-is while ingesting %.0f events/s: p50 %.0f us, p99 %.0f us, p999 %.0f us (%d requests; "
		    "%d entities)%s" % (w.get("live_events_per_s", 0), w["p50_us"], w["p99_us"], w["p999_us"], w["requests"],
				      w["entities"] or 0, " LIVE PUSH ERROR: " + w["live_error"] if "live_error" in w else ""))
	except Exception as e:
		raise RuntimeError("%s; server log tail: %s" % (e, wb.tail())) from e
	finally:
		wb.stop()
		shutil.rmtree(wb.data, ignore_errors=True)


# -- ClickHouse -----------------------------------------------------------------------------

CH_COLS = [("topic", "String"), ("event_id", "String"), ("order_id", "String"), ("service", "String"),
	   ("event_type", "String"), ("stage", "String"), ("status", "String"), ("market", "String"),
	   ("store_id", "String"), ("ts", "Int64"), ("seq", "Int32"), ("attempt", "Int32"),
	   ("latency_ms", "Int32"), ("amount", "Nullable(Float64)"), ("items", "Int32")]
DUCK_TYPES = {"String": "VARCHAR", "Int64": "BIGINT", "Int32": "INTEGER", "Nullable(Float64)": "DOUBLE"}


def bench_clickhouse(a, tmp, exe, g, files, keyfile, out):
	d = os.path.join(tmp, "ch")
	os.makedirs(d + "/data")
	os.makedirs(d + "/tmp")
	port = e2e.free_port()
	cfg = os.path.join(d, "config.xml")
	with open(cfg, "w") as f:
		f.write(e2e.CH_CONFIG.format(d=d, http=port, tcp=e2e.free_port(), users="/etc/clickhouse-server/users.xml")
			.replace("</yandex>\n", "  <keep_alive_timeout>600</keep_alive_timeout>\n</yandex>\n"))
	chlog = open(os.path.join(d, "out.log"), "wb")
	proc = subprocess.Popen(["/usr/sbin/clickhouse-server", "--config-file=" + cfg], stdout=chlog, stderr=chlog,
				stdin=subprocess.DEVNULL)
	h = Http(port)

	def sql(q, body=None, conn=None):
		st, txt = (conn or h).req("POST", "/?query=" + urllib.parse.quote(q), body or b"", "text/plain")
		if st != 200:
			raise RuntimeError("clickhouse: %s: %s" % (q[:200], txt.decode()[:500]))
		return txt
	r = out["clickhouse"] = {}
	try:
		e2e.wait_http(lambda: e2e.http_get(port, "/ping")[0] == 200, proc)
		sql("CREATE TABLE events (%s) ENGINE = MergeTree ORDER BY (order_id, ts)" % ", ".join(
			"%s %s" % c for c in CH_COLS))
		t = time.perf_counter()
		fq = queue.Queue()
		for f in files:
			fq.put(f[0])
		errs = []

		def worker():
			c = Http(port)
			while not errs:
				try:
					p = fq.get_nowait()
				except queue.Empty:
					return
				with open(p, "rb") as fh:
					try:
						sql("INSERT INTO events FORMAT JSONEachRow", fh.read(), c)
					except Exception as e:
						errs.append(e)
		ths = [threading.Thread(target=worker) for _ in range(2)]
		for th in ths:
			th.start()
		for th in ths:
			th.join()
		if errs:
			raise errs[0]
		r["load_s"] = time.perf_counter() - t
		t = time.perf_counter()
		while time.perf_counter() - t < 300:
			sql("OPTIMIZE TABLE events FINAL")
			while int(sql("SELECT count() FROM system.merges WHERE table = 'events'")):
				time.sleep(0.2)
			parts = int(sql("SELECT count() FROM system.parts WHERE table = 'events' AND active"))
			if parts <= 1:
				break
		r["optimize_s"] = time.perf_counter() - t
		r["parts"] = parts
		r["rows"] = int(sql("SELECT count() FROM events"))
		log("ClickHouse: %d events loaded in %.1f s, OPTIMIZE FINAL %.1f s (%d parts)" % (
			r["rows"], r["load_s"], r["optimize_s"], parts))
		# where-is through httplat: GET /?query=<SQL with the key>
		q = WHERE_IS % "\x00"
		pre, suf = q.split("\x00")
		r["where_is"] = httplat(exe, port, keyfile, a.peer_lat_seconds,
					prefix="/?query=" + urllib.parse.quote(pre), suffix=urllib.parse.quote(suf + " FORMAT JSONCompact"),
					warm=50)
		w = r["where_is"]
		log("ClickHouse where-is: p50 %.0f us, p99 %.0f us (%d requests)" % (w["p50_us"], w["p99_us"], w["requests"]))
		for name, fn in (("stuck", sql_stuck), ("gaps", sql_gaps)):
			q = fn(g, "clickhouse")
			m, ts, ans = timed(lambda: json.loads(sql(q + " FORMAT JSONCompact"))["data"], runs=3, min_s=0,
					   slow_s=2.0, slow_runs=1)
			r[name] = {"median_ms": m, "times_ms": ts, "rows": ans, "sql": q}
			log("ClickHouse %s: %.0f ms %s" % (name, m, ans))
	except Exception as e:
		r["error"] = str(e)[:1500]
		log("ClickHouse: error: %s" % r["error"])
	finally:
		proc.send_signal(signal.SIGTERM)
		try:
			proc.wait(timeout=60)
		except subprocess.TimeoutExpired:
			proc.kill()
			proc.wait()


# -- DuckDB (in node, as bench/peers/duck.mjs) ------------------------------------------------

DUCK_JS = r"""
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
const job = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const require = createRequire(job.package);
const { DuckDBInstance } = require('@duckdb/node-api');
const big = (v) => typeof v === 'bigint' ? Number(v) : v;
const inst = await DuckDBInstance.create(':memory:');
const c = await inst.connect();
for (const s of job.setup) await c.run(s);
let t = performance.now();
await c.run(`CREATE TABLE events AS SELECT * FROM read_ndjson('${job.glob}', columns = {${job.columns}})`);
const out = { load_ms: performance.now() - t };
out.rows = Number((await c.runAndReadAll('SELECT count(*) FROM events')).getRowsJS()[0][0]);
const p = await c.prepare(job.where_is);
const lat = [];
let nrows = 0;
const tend = performance.now() + job.lat_seconds * 1000;
for (let i = 0; i < job.keys.length; i++) {
	p.bindVarchar(1, job.keys[i]);
	const t0 = performance.now();
	const rows = (await p.runAndReadAll()).getRowsJS();
	const t1 = performance.now();
	if (i >= job.warm) { lat.push((t1 - t0) * 1000); nrows += rows.length; }
	if (t1 > tend && lat.length >= job.min_lookups) break;
}
out.where_is = { lat_us: lat, mean_rows: nrows / Math.max(1, lat.length) };
out.queries = {};
for (const q of job.queries) {
	const times = [];
	let rows;
	let k = job.runs;
	for (let i = 0; i <= k; i++) {
		const t0 = performance.now();
		rows = (await c.runAndReadAll(q.sql)).getRowsJS();
		const ms = performance.now() - t0;
		if (i > 0) times.push(ms);
		else if (ms > job.slow_ms) k = job.slow_runs;
	}
	out.queries[q.name] = { times_ms: times, rows: rows.map((r) => r.map(big)) };
}
process.stdout.write(JSON.stringify(out) + '\n');
"""


def pct(xs, p):
	xs = sorted(xs)
	return xs[min(len(xs) - 1, int(p * len(xs)))] if xs else 0.0


def bench_duckdb(a, tmp, g, evdir, keys, out):
	r = out["duckdb"] = {}
	job = {"package": os.path.join(ROOT, "tests", "diff", "package.json"),
	       "setup": ["SET threads = %d" % os.cpu_count()],
	       "glob": os.path.join(evdir, "*.ndjson"),
	       "columns": ", ".join("%s: '%s'" % (n, DUCK_TYPES[t]) for n, t in CH_COLS),
	       "where_is": WHERE_IS.replace("'%s'", "$1"), "keys": keys, "warm": 3, "min_lookups": 20,
	       "lat_seconds": a.peer_lat_seconds, "runs": 3, "slow_ms": 2000, "slow_runs": 1,
	       "queries": [{"name": "stuck", "sql": sql_stuck(g, "duckdb")}, {"name": "gaps", "sql": sql_gaps(g, "duckdb")}]}
	jp, sp = os.path.join(tmp, "duck-job.json"), os.path.join(tmp, "duck.mjs")
	with open(jp, "w") as f:
		json.dump(job, f)
	with open(sp, "w") as f:
		f.write(DUCK_JS)
	try:
		p = subprocess.run(["node", sp, jp], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=1800)
		if p.returncode != 0:
			raise RuntimeError("duckdb (node): %s" % p.stderr.decode()[-800:])
		j = json.loads(p.stdout)
		lat = j["where_is"]["lat_us"]
		r.update({"load_s": j["load_ms"] / 1000, "rows": j["rows"],
			  "where_is": {"requests": len(lat), "p50_us": pct(lat, 0.5), "p99_us": pct(lat, 0.99),
				       "p999_us": pct(lat, 0.999), "mean_rows": j["where_is"]["mean_rows"]}})
		log("DuckDB: %d events loaded in %.1f s; where-is p50 %.0f us, p99 %.0f us (%d lookups)" % (
			r["rows"], r["load_s"], r["where_is"]["p50_us"], r["where_is"]["p99_us"], len(lat)))
		for q in job["queries"]:
			x = j["queries"][q["name"]]
			r[q["name"]] = {"median_ms": statistics.median(x["times_ms"]), "times_ms": x["times_ms"],
					"rows": x["rows"], "sql": q["sql"]}
			log("DuckDB %s: %.0f ms %s" % (q["name"], r[q["name"]]["median_ms"], x["rows"]))
	except Exception as e:
		r["error"] = str(e)[:1500]
		log("DuckDB: error: %s" % r["error"])


# -- agreement ------------------------------------------------------------------------------------

def check(out, g):
	wq = out.get("waybill_questions")
	if not wq:
		return
	want_stuck = {k: v for k, v in (wq["stuck"].get("byStage") or {}).items() if v}
	bk = wq["gaps"].get("byKind") or {}
	want_gaps = (bk.get("skipped", 0), bk.get("contradiction", 0))
	out["agreement"] = {}
	for eng in ("clickhouse", "duckdb"):
		r = out.get(eng, {})
		if "stuck" not in r:
			continue
		got_stuck = {g.names[int(c)]: int(n) for c, n in r["stuck"]["rows"]}
		got_gaps = tuple(int(x) for x in r["gaps"]["rows"][0])
		out["agreement"][eng] = {
			"stuck": "agree (%d)" % sum(want_stuck.values()) if got_stuck == want_stuck else
			"DIFFER: waybill %s, %s %s" % (want_stuck, eng, got_stuck),
			"gaps": "agree (skipped %d, contradiction %d)" % want_gaps if got_gaps == want_gaps else
			"DIFFER: waybill skipped/contradiction %s, %s %s" % (want_gaps, eng, got_gaps)}
	# the state table's flags (written as of their last change) against the live answers
	sq = wq.get("sql", {})
	if "rows" in sq.get("stuck_count", {}) and isinstance(sq["stuck_count"]["rows"], list):
		got = {s: int(n) for s, n in sq["stuck_count"]["rows"] if int(n)}
		out["agreement"]["order_state"] = {"stuck": "agree" if got == want_stuck else
						   "DIFFER: %d rows with stuck (%s)" % (sum(got.values()), got)}
		gc = sq.get("gaps_count", {}).get("rows")
		if isinstance(gc, list) and gc:
			got_g = tuple(int(x) for x in gc[0])
			out["agreement"]["order_state"]["gaps"] = "agree" if got_g == want_gaps else \
				"DIFFER: %d rows with gap, %d with contradiction" % got_g


# -- the entities mode -----------------------------------------------------------------------------

ENT_FLOW = {"name": "ent", "entityKey": "k", "clock": "event",
	    "sourceDefaults": {"keyColumn": "k", "stageColumn": "st", "timeColumn": "ts", "eventColumn": "ev"},
	    "sources": ["ent_a", "ent_b", "ent_c"],
	    "stages": [{"name": "created", "sla": "1h"}, {"name": "working", "sla": "2h"}, "done"],
	    "successStages": ["done"], "dimensions": ["m"]}
ENT_LINE = {"ent_a": '{"k":"e%09d","st":"created","ev":"create","m":"%s","ts":%d}\n',
	    "ent_b": '{"k":"e%09d","st":"working","ev":"%s","m":"%s","ts":%d}\n',
	    "ent_c": '{"k":"e%09d","st":"done","ev":"finish","m":"%s","ts":%d}\n'}
ENT_BLOCK = 50000
MK = ("US", "CA", "MX")


def ent_bodies(lo, hi):
	"""Bodies for entities [lo, hi): 1 event in ent_a, 2 in ent_b, 1 in
	ent_c (every 10th entity stops after its first ent_b event)."""
	a = "".join(ENT_LINE["ent_a"] % (i, MK[i % 3], T0 + i * 10) for i in range(lo, hi))
	b = "".join(ENT_LINE["ent_b"] % (i, "start", MK[i % 3], T0 + i * 10 + 1000) for i in range(lo, hi)) + \
	    "".join(ENT_LINE["ent_b"] % (i, "progress", MK[i % 3], T0 + i * 10 + 2000) for i in range(lo, hi) if i % 10)
	c = "".join(ENT_LINE["ent_c"] % (i, MK[i % 3], T0 + i * 10 + 3000) for i in range(lo, hi) if i % 10)
	return [("ent_a", a.encode(), hi - lo), ("ent_b", b.encode(), (hi - lo) + sum(1 for i in range(lo, hi) if i % 10)),
		("ent_c", c.encode(), sum(1 for i in range(lo, hi) if i % 10))]


def _ent_worker(args):
	port, blocks, rate_per_worker, stop_at = args
	h = Http(port)
	ev = nb = 0
	t0 = time.perf_counter()
	for lo, hi in blocks:
		if stop_at and time.time() > stop_at:
			break
		for table, body, n in ent_bodies(lo, hi):
			if not n:
				continue
			if rate_per_worker:
				d = t0 + (ev + n) / rate_per_worker - time.perf_counter()
				if d > 0:
					time.sleep(d)
			st, txt = h.req("POST", "/tables/%s/ingest?format=ndjson" % table, body, "application/x-ndjson")
			if st != 200:
				raise RuntimeError("push %s: %d %s" % (table, st, txt[:300]))
			ev += n
			nb += len(body)
	return ev, nb


def ent_push(port, lo, hi, procs, rate=0.0, stop_at=0.0):
	import multiprocessing as mp
	blocks = [(x, min(x + ENT_BLOCK, hi)) for x in range(lo, hi, ENT_BLOCK)]
	jobs = [(port, blocks[k::procs], rate / procs, stop_at) for k in range(procs)]
	t = time.perf_counter()
	with mp.Pool(procs) as pool:
		res = pool.map(_ent_worker, jobs)
	return sum(r[0] for r in res), sum(r[1] for r in res), time.perf_counter() - t


def bench_entities(a, tmp, exe, out):
	n = a.entities
	r = out["entities_mode"] = {"entities_wanted": n}
	w = Waybill(a.waybill, os.path.join(tmp, "wb-e"), os.path.join(tmp, "wb-e.log"))
	try:
		w.start()
		for t in ENT_FLOW["sources"]:
			cols = [{"name": "k", "dataType": "STRING"}, {"name": "st", "dataType": "STRING"},
				{"name": "ev", "dataType": "STRING"}, {"name": "m", "dataType": "STRING"}]
			w.h.json("POST", "/schemas", json.dumps({
				"schemaName": t, "dimensionFieldSpecs": cols,
				"dateTimeFieldSpecs": [{"name": "ts", "dataType": "LONG", "format": "1:MILLISECONDS:EPOCH",
							"granularity": "1:MILLISECONDS"}]}))
			w.h.json("POST", "/tables", json.dumps({
				"tableName": t, "tableType": "REALTIME",
				"segmentsConfig": {"schemaName": t, "timeColumnName": "ts", "replication": "1"},
				"tenants": {}, "tableIndexConfig": {"loadMode": "MMAP"},
				"ingestionConfig": {"streamIngestionConfig": {"streamConfigMaps": [
					{"realtime.segment.flush.threshold.rows": "2000000"}]}}, "metadata": {}}))
		rss0, anon0 = w.rss(), w.anon()
		w.h.json("POST", "/flows", json.dumps(ENT_FLOW))
		c0 = w.cpu()
		ev, nb, s = ent_push(w.port, 0, n, a.pushers)
		secs, st = w.wait_ready(time.perf_counter(), name="ent", want={"entities": n})
		r.update({"events": ev, "s": s, "events_per_s": ev / s, "events_per_cpu_s": ev / max(1e-9, w.cpu() - c0),
			  "entities": st.get("entities"), "rss_mb_before": rss0, "rss_mb": w.rss(),
			  "anon_mb_before": anon0, "anon_mb": w.anon()})
		r["bytes_per_entity"] = (r["rss_mb"] - rss0) * 1048576 / max(1, r["entities"])
		r["anon_bytes_per_entity"] = (r["anon_mb"] - anon0) * 1048576 / max(1, r["entities"])
		log("E  %d entities (%d events) pushed in %.1f s = %.0f events/s; RSS %.0f MB (%.0f bytes/entity incl. "
		    "the tables), anonymous %.0f MB (%.0f bytes/entity)" % (r["entities"], ev, s, ev / s, r["rss_mb"],
									   r["bytes_per_entity"], r["anon_mb"],
									   r["anon_bytes_per_entity"]))
		kf = os.path.join(tmp, "ent-keys.txt")
		rnd = random.Random(a.seed)
		with open(kf, "w") as f:
			for _ in range(100000):
				f.write("e%09d\n" % rnd.randrange(n))
		idle = r["where_is_idle"] = httplat(exe, w.port, kf, a.idle_seconds, prefix="/flows/ent/entities/")
		log("E  where-is idle: p50 %.0f us, p99 %.0f us, p999 %.0f us" % (idle["p50_us"], idle["p99_us"], idle["p999_us"]))
		# under load: more entities pushed by a background process pool
		import multiprocessing as mp
		stop_at = time.time() + a.lat_seconds + 1.5
		pool = mp.Pool(1)
		c0 = w.cpu()
		bg = pool.apply_async(_ent_worker, ((w.port, [(x, x + ENT_BLOCK) for x in range(n, n * 2, ENT_BLOCK)],
						     a.live_rate, stop_at),))
		time.sleep(1.0)
		lat = httplat(exe, w.port, kf, a.lat_seconds, prefix="/flows/ent/entities/")
		lev, _ = bg.get(timeout=600)
		pool.close()
		lat["live_events_per_s"] = lev / (a.lat_seconds + 1.5)
		lat["server_cpu_s"] = w.cpu() - c0
		r["where_is_load"] = lat
		r["rss_mb_end"], r["anon_mb_end"] = w.rss(), w.anon()
		r["entities_end"] = w.flow_status("ent").get("entities")
		log("E  where-is while ingesting %.0f events/s: p50 %.0f us, p99 %.0f us, p999 %.0f us (%d requests, "
		    "%d entities at the end, RSS %.0f MB)" % (lat["live_events_per_s"], lat["p50_us"], lat["p99_us"],
							      lat["p999_us"], lat["requests"], r["entities_end"], r["rss_mb_end"]))
	except Exception as e:
		r["error"] = "%s; server log tail: %s" % (str(e)[:1000], w.tail())
		log("entities mode: error: %s" % r["error"])
	finally:
		w.stop()
		shutil.rmtree(w.data, ignore_errors=True)


# -- report ----------------------------------------------------------------------------------------

def report(out):
	def f(x, d=0):
		return "-" if x is None else ("{:,.%df}" % d).format(x)
	if out.get("orders"):
		print("\n== life-cycle tracking: %s simulated orders, %s events in 20 tables, %d CPUs" % (
			f(out.get("orders")), f(out.get("events")), os.cpu_count()))
	a, b = out.get("ingest_no_flow"), out.get("ingest_flow")
	if a and b:
		print("ingest (push, %d connections)   events/s wall   per server CPU-s   RSS MB" % out["args"]["pushers"])
		print("  without flow                 %12s   %16s   %6s" % (f(a["events_per_s"]), f(a["events_per_cpu_s"]), f(a["rss_mb"])))
		print("  with flow                    %12s   %16s   %6s" % (f(b["events_per_s"]), f(b["events_per_cpu_s"]), f(b["rss_mb"])))
		print("  overhead (without / with)    %11.2fx   %15.2fx" % (out["overhead"]["wall"], out["overhead"]["cpu"]))
		print("  flow state: %s entities, %s bytes per entity (anonymous memory, RssAnon: with-flow server "
		      "minus without)" % (f(b["entities"]), f(b["flow_bytes_per_entity"])))
	if out.get("backfill"):
		x = out["backfill"]
		print("backfill of a flow defined after the load: READY in %.2f s (%s events/s; +%s bytes/entity of "
		      "anonymous memory)%s" % (x["s"], f(x["events_per_s"]), f(x["flow_bytes_per_entity"]),
					       " INCOMPLETE" if x.get("incomplete") else ""))
	if out.get("restart"):
		x = out["restart"]
		print("restart with the flow: /health after %.2f s, flow READY after %.2f s (stop took %.2f s)%s" % (
			x["health_s"], x["ready_s"], x["stop_s"], " INCOMPLETE" if x.get("incomplete") else ""))
	rows = []
	wq = out.get("waybill_questions", {})
	ch, dk = out.get("clickhouse", {}), out.get("duckdb", {})
	wi, wl = out.get("where_is_idle"), out.get("where_is_load")

	def ratio(x, y):
		return "%.1fx" % (y / x) if x and y else "-"
	if wi or wq:
		print("\nquestion                              Waybill        ClickHouse      DuckDB     CH/WB   Duck/WB")
	if wi:
		for p in ("p50", "p99"):
			w = wi[p + "_us"] / 1000
			c = ch.get("where_is", {}).get(p + "_us", 0) / 1000 or None
			d = dk.get("where_is", {}).get(p + "_us", 0) / 1000 or None
			print("where-is %-4s ms (idle)            %9.3f %15s %11s %9s %9s" % (
				p, w, "%.3f" % c if c else "-", "%.3f" % d if d else "-", ratio(w, c), ratio(w, d)))
	if wl:
		print("where-is ms under %s events/s load: p50 %.3f, p99 %.3f, p999 %.3f (%s entities)" % (
			f(wl.get("live_events_per_s")), wl["p50_us"] / 1000, wl["p99_us"] / 1000, wl["p999_us"] / 1000,
			f(wl.get("entities"))))
	for name, path in (("stuck", "/stuck?limit=100"), ("gaps", "/gaps?limit=100")):
		if name in wq:
			w = wq[name]["median_ms"]
			c = ch.get(name, {}).get("median_ms")
			d = dk.get(name, {}).get("median_ms")
			print("%-5s ms (GET %-16s)       %9.1f %15s %11s %9s %9s" % (
				name, path, w, f(c, 1), f(d, 1), ratio(w, c), ratio(w, d)))
	for k, v in wq.get("sql", {}).items():
		print("  SQL over order_state %-12s %9s" % (k, "%.1f" % v["median_ms"] if "median_ms" in v else "ERROR"))
	for eng, ag in out.get("agreement", {}).items():
		print("agreement %-11s %s" % (eng, "; ".join("%s: %s" % kv for kv in ag.items())))
	e = out.get("entities_mode")
	if e and "error" not in e:
		print("entities mode: %s entities (%s events/s push with the flow), RSS %s MB = %s bytes/entity "
		      "(anonymous %s); where-is p50/p99/p999 ms idle %.3f/%.3f/%.3f, under %s events/s %.3f/%.3f/%.3f" % (
			      f(e["entities"]), f(e["events_per_s"]), f(e["rss_mb"]), f(e["bytes_per_entity"]),
			      f(e["anon_bytes_per_entity"]),
			      e["where_is_idle"]["p50_us"] / 1000, e["where_is_idle"]["p99_us"] / 1000,
			      e["where_is_idle"]["p999_us"] / 1000, f(e["where_is_load"]["live_events_per_s"]),
			      e["where_is_load"]["p50_us"] / 1000, e["where_is_load"]["p99_us"] / 1000,
			      e["where_is_load"]["p999_us"] / 1000))
	elif e:
		print("entities mode: error: %s" % e["error"][:500])
	for eng in ("clickhouse", "duckdb"):
		if out.get(eng, {}).get("error"):
			print("%s: error: %s" % (eng, out[eng]["error"][:500]))


def main():
	ap = argparse.ArgumentParser()
	ap.add_argument("--waybill", default=os.path.join(ROOT, "build", "waybill"))
	ap.add_argument("--orders", type=int, default=1_000_000)
	ap.add_argument("--seed", type=int, default=1)
	ap.add_argument("--pushers", type=int, default=4)
	ap.add_argument("--body-mb", type=float, default=4.0)
	ap.add_argument("--live-orders", type=int, default=100_000, help="orders of the background stream")
	ap.add_argument("--live-rate", type=float, default=100_000, help="events/s of the background pusher")
	ap.add_argument("--lat-seconds", type=float, default=20)
	ap.add_argument("--idle-seconds", type=float, default=5)
	ap.add_argument("--peer-lat-seconds", type=float, default=10)
	ap.add_argument("--faults", default=FAULTS, help="simulator --fault specs, ';'-separated ('' for none)")
	ap.add_argument("--no-clickhouse", action="store_true")
	ap.add_argument("--no-duckdb", action="store_true")
	ap.add_argument("--entities", type=int, default=0, help="also run the synthetic entities mode with N entities")
	ap.add_argument("--only", default="", help="'entities': only the entities mode")
	ap.add_argument("--out", default=os.path.join(ROOT, "build", "bench-lifecycle.json"))
	a = ap.parse_args()
	out = {"args": vars(a), "cpus": os.cpu_count(), "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
	       "loadavg_start": os.getloadavg()}
	tmp = tempfile.mkdtemp(prefix="wb-bench-lc-")
	os.chmod(tmp, 0o755)
	t_all = time.perf_counter()
	try:
		exe = os.path.join(tmp, "httplat")
		subprocess.run(["cc", "-O2", "-o", exe, os.path.join(ROOT, "bench", "httplat.c")], check=True)
		if a.only != "entities":
			cfgdir = os.path.join(tmp, "cfg")
			flow, tables = emit_configs(a.waybill, cfgdir)
			g = Graph(flow)
			evdir = os.path.join(tmp, "ev")
			faults = [f for f in a.faults.split(";") if f]
			files, keys, total, s = generate(a.waybill, evdir, a.orders, a.seed, T0, int(a.body_mb * 1e6), faults)
			keys = list(dict.fromkeys(keys))	# a duplicated order_created (fault dup) once
			out.update({"orders": len(keys), "events": total, "gen_s": s,
				    "ndjson_mb": sum(os.path.getsize(f[0]) for f in files) / 1e6})
			log("generated %d events of %d orders in %.1f s (%d bodies, %.0f MB)" % (
				total, len(keys), s, len(files), out["ndjson_mb"]))
			span = max(30 * 60000, int(total / 10000 * 1000) * 2)
			live_files, _, live_total, s = generate(a.waybill, os.path.join(tmp, "live"), a.live_orders, a.seed + 1,
								T0 + span, 1_000_000, faults, want_keys=False)
			log("generated %d background events (%d orders) in %.1f s" % (live_total, a.live_orders, s))
			rnd = random.Random(a.seed)
			sample = [keys[rnd.randrange(len(keys))] for _ in range(100000)]
			keyfile = os.path.join(tmp, "keys.txt")
			with open(keyfile, "w") as f:
				f.write("\n".join(sample) + "\n")
			try:
				bench_waybill(a, tmp, exe, flow, tables, files, total, keys, keyfile, live_files, out)
			except Exception as e:
				out["waybill_error"] = str(e)[:3000]
				log("waybill: error: %s" % out["waybill_error"])
			shutil.rmtree(os.path.join(tmp, "live"), ignore_errors=True)
			if not a.no_clickhouse:
				bench_clickhouse(a, tmp, exe, g, files, keyfile, out)
			if not a.no_duckdb:
				bench_duckdb(a, tmp, g, evdir, sample[:20000], out)
			check(out, g)
		if a.entities or a.only == "entities":
			if not a.entities:
				a.entities = 10_000_000
			bench_entities(a, tmp, os.path.join(tmp, "httplat"), out)
	finally:
		shutil.rmtree(tmp, ignore_errors=True)
	out["total_s"] = time.perf_counter() - t_all
	out["loadavg_end"] = os.getloadavg()
	report(out)
	print("(total %.0f s; load average %.1f at the start, %.1f at the end)" % (
		out["total_s"], out["loadavg_start"][0], out["loadavg_end"][0]))
	os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
	with open(a.out, "w") as f:
		json.dump(out, f, indent=1, default=str)


if __name__ == "__main__":
	main()
