"""Life-cycle state across kill -9: exactly-once with the source tables.

The simulator's events (with duplicates and late events) are pushed into
the 20 service tables by two clients while the order flow is defined; the
server is killed with SIGKILL at a random moment, restarted, and the
pushing goes on.  After each restart, once the flow reports READY, the
flow's state must be exactly what the tables hold -- not what was
acknowledged, not more:

  - per order, the flow's event count equals the number of distinct
    (time, stage, service, event type) rows of that order in the tables
    (the oracle is SQL over the tables themselves);
  - every acknowledged event's order is known to the flow;
  - the state table order_state converges to the same counts;
  - stuck orders are the truth log's stalled ones (event clock).

3 kill cycles in `make test`, 25 with WB_LONG=1.
"""
import collections
import json
import random
import subprocess
import threading
import time

import requests

from conftest import LONG, wait_until

CYCLES = 25 if LONG else 3


def sim_events(binary, tmp_path, orders, seed):
	cfg = tmp_path / "cfg"
	subprocess.run([binary, "simulate", "--orders", "0", "--stdout", "--emit-configs", str(cfg)],
		       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, timeout=60)
	truth = tmp_path / "truth.ndjson"
	out = subprocess.run([binary, "simulate", "--stdout", "--rate", "0", "--orders", str(orders),
			      "--seed", str(seed), "--start-time", "1700000000000",
			      "--fault", "stall:share=0.03", "--fault", "dup:share=0.02",
			      "--fault", "late:share=0.02,delay=2000", "--truth", str(truth)],
			     capture_output=True, check=True, timeout=120).stdout.decode()
	events = []
	for ln in out.splitlines():
		o = json.loads(ln)
		t = o.pop("topic")
		if t != "item_availability":
			events.append((t, json.dumps(o)))
	flow = json.loads((cfg / "order_flow.json").read_text())
	flow["clock"] = "event"
	return cfg, flow, events, [json.loads(l) for l in truth.read_text().splitlines()]


def create_tables(s, cfg, tables):
	for t in tables:
		sch = json.loads((cfg / ("%s_schema.json" % t)).read_text())
		tc = json.loads((cfg / ("%s_table_config.json" % t)).read_text())
		tc.pop("ingestionConfig", None)	# pushed here, not from Kafka
		tc.get("tableIndexConfig", {}).pop("streamConfigs", None)
		s.add_schema(sch)
		s.add_table(tc)


def flow_ready(s):
	try:
		r = s.get("/flows/order")
	except requests.RequestException:
		return False
	return r.status_code == 200 and r.json()["status"]["state"] == "READY"


def oracle(s, tables):
	"""Distinct events per order in the tables, by SQL."""
	union = " UNION ALL ".join(
		"SELECT order_id, ts, stage, service, event_type FROM %s" %
		('"order"' if t == "order" else t) for t in tables)
	rows = s.rows("SELECT order_id, count(*) FROM (SELECT DISTINCT order_id, ts, stage, service, "
		      "event_type FROM (%s) AS u) AS d GROUP BY order_id" % union)
	return {k: n for k, n in rows}


def state_counts(s):
	return {k: n for k, n in s.rows("SELECT order_id, events FROM order_state")}


def flow_counts(s, keys):
	out = {}
	sess = requests.Session()
	for k in keys:
		r = sess.get(s.url + "/flows/order/entities/" + k, timeout=30)
		assert r.status_code == 200, (k, r.status_code, r.text[:300])
		out[k] = r.json()["events"]
	return out


class Pusher(threading.Thread):
	def __init__(self, url, batches):
		super().__init__(daemon=True)
		self.url = url
		self.batches = batches	# shared list of (table, [lines]); popped
		self.acked = []
		self.error = None
		self.session = requests.Session()

	def run(self):
		while True:
			try:
				t, lines = self.batches.pop()
			except IndexError:
				return
			try:
				r = self.session.post(self.url + "/tables/%s/ingest?format=ndjson" % t,
						      data=("\n".join(lines) + "\n").encode(), timeout=(5, 60))
			except requests.RequestException:
				self.batches.append((t, lines))	# not acknowledged: again later
				return
			if r.status_code != 200:
				self.error = (t, r.status_code, r.text[:300])
				return
			self.acked.extend(lines)


def test_flow_state_survives_kill9(make_server, binary, tmp_path):
	rnd = random.Random(20261126)
	cfg, flow, events, truth = sim_events(binary, tmp_path, 1500, 11)
	tables = flow["sources"]
	s = make_server()
	create_tables(s, cfg, tables)
	r = s.post("/flows", json=flow)
	assert r.status_code == 200, r.text
	# batches of 1..300 events of one table, in simulator order
	by = collections.defaultdict(list)
	for t, line in events:
		by[t].append(line)
	batches = []
	for t, lines in by.items():
		i = 0
		while i < len(lines):
			n = rnd.choice([1, 20, 100, 300])
			batches.append((t, lines[i:i + n]))
			i += n
	rnd.shuffle(batches)
	acked = []
	for cycle in range(CYCLES + 1):
		pushers = [Pusher(s.url, batches) for _ in range(2)]
		for p in pushers:
			p.start()
		if cycle < CYCLES:
			time.sleep(rnd.uniform(0.2, 1.5))
			s.kill9()
		for p in pushers:
			p.join(timeout=120)
			assert p.error is None, p.error
			acked.extend(p.acked)
		if cycle < CYCLES:
			s.start()
		wait_until(lambda: flow_ready(s), timeout=120, what="flow READY after restart")
		want = oracle(s, tables)
		# every acknowledged event's order is in the tables and the flow
		acked_orders = {json.loads(l)["order_id"] for l in acked}
		assert acked_orders <= set(want)
		sample = rnd.sample(sorted(want), min(200, len(want)))
		got = flow_counts(s, sample)
		bad = {k: (got[k], want[k]) for k in sample if got[k] != want[k]}
		assert not bad, "flow events != distinct events in the tables: %s" % list(bad.items())[:10]
		st = s.get("/flows/order").json()["status"]
		assert st["entities"] == len(want), (st, len(want))
	assert not batches	# everything was pushed in the end
	# the state table converges to the same counts
	want = oracle(s, tables)
	wait_until(lambda: state_counts(s) == want, timeout=60, what="order_state == the tables")
	# the stalled orders (and only they) are stuck: every event is in
	stuck, off = set(), 0
	while True:
		a = s.get("/flows/order/stuck", params={"limit": 10000, "offset": off}).json()
		stuck |= {e["key"] for e in a["entities"]}
		off += len(a["entities"])
		if not a["entities"] or off >= a["total"]:
			break
	stalls = {t["order_id"] for t in truth if t["fault"] == "stall"}
	assert stuck == stalls, (sorted(stuck - stalls)[:5], sorted(stalls - stuck)[:5])
	s.check_log()
