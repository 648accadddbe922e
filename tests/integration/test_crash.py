"""kill -9 at random moments while clients push numbered rows in batches.
After each restart: every acknowledged batch is present exactly once,
unacknowledged batches are present wholly or not at all, no id twice.

20 cycles by default, 200 with WB_LONG=1.  Cycle timing is random but the
verdict never depends on wall-clock time."""
import random
import threading
import time

import requests

from conftest import LONG, schema

CYCLES = 200 if LONG else 20
EPOCH = 20
CLIENTS = 2


class Pusher(threading.Thread):
	"""Pushes batches with ids from a shared counter; records acks."""

	def __init__(self, url, state, rnd):
		super().__init__(daemon=True)
		self.url = url
		self.state = state
		self.rnd = rnd
		self.stop = threading.Event()
		self.session = requests.Session()

	def run(self):
		while not self.stop.is_set():
			with self.state["lock"]:
				b = self.state["next_batch"]
				self.state["next_batch"] += 1
				size = self.rnd.choice([1, 2, 10, 100, 500, 2000])
				lo = self.state["next_id"]
				self.state["next_id"] += size
				self.state["sizes"][b] = size
			body = "".join('{"id": %d, "batch": %d, "p": "payload-%d"}\n' % (i, b, i)
				       for i in range(lo, lo + size)).encode()
			try:
				r = self.session.post(self.url + "/tables/crash/ingest?format=ndjson",
						      data=body, timeout=(5, 60))
			except requests.RequestException:
				return		# the server died under us
			if r.status_code != 200:
				self.state["errors"].append((b, r.status_code, r.text[:300]))
				return
			j = r.json()
			if j.get("accepted") != size or j.get("rejected") != 0:
				self.state["errors"].append((b, 200, r.text[:300]))
				return
			with self.state["lock"]:
				self.state["acked"].add(b)


def verify(srv, st, cycle):
	n = srv.scalar("SELECT count(*) FROM crash")
	nd = srv.scalar("SELECT count(DISTINCT id) FROM crash")
	assert n == nd, "cycle %d: %d rows but %d distinct ids (duplicates)" % (cycle, n, nd)
	got = {b: c for b, c in srv.rows("SELECT batch, count(*) FROM crash GROUP BY batch")}
	for b in st["acked"]:
		assert got.get(b) == st["sizes"][b], "cycle %d: acknowledged batch %d has %s of %d rows" % (
			cycle, b, got.get(b), st["sizes"][b])
	for b, c in got.items():
		assert b in st["sizes"], "cycle %d: batch %d never sent" % (cycle, b)
		assert c == st["sizes"][b], "cycle %d: batch %d partially present: %d of %d rows" % (
			cycle, b, c, st["sizes"][b])
	# ids of a present batch are exactly its ids
	bad = srv.rows("SELECT batch, min(id), max(id) FROM crash GROUP BY batch HAVING max(id) - min(id) + 1 <> count(*)")
	assert bad == [], "cycle %d: batches with holes: %s" % (cycle, bad[:5])
	assert n == sum(got.values())
	return n


def new_state():
	return {"lock": threading.Lock(), "next_batch": 0, "next_id": 0, "sizes": {},
		"acked": set(), "errors": []}


def test_kill9_during_push(make_server):
	rnd = random.Random(20240501)
	total_acked = 0
	cycle = 0
	while cycle < CYCLES:
		# A fresh data directory every EPOCH cycles bounds how much log a
		# restart replays, so long mode stays linear in time.
		srv = make_server()
		srv.create(schema("crash", dims=[("id", "LONG"), ("batch", "INT"), ("p", "STRING")]))
		st = new_state()
		for _ in range(min(EPOCH, CYCLES - cycle)):
			pushers = [Pusher(srv.url, st, random.Random(rnd.random())) for _ in range(CLIENTS)]
			for p in pushers:
				p.start()
			time.sleep(rnd.choice([0.0, 0.01, 0.05, 0.1, 0.2, 0.4, 0.8]))
			srv.kill9()
			for p in pushers:
				p.stop.set()
				p.join(timeout=70)
				assert not p.is_alive(), "pusher hung after kill"
			assert not st["errors"], st["errors"][:3]
			srv.start()
			n = verify(srv, st, cycle)
			assert n >= sum(st["sizes"][b] for b in st["acked"])
			cycle += 1
		total_acked += len(st["acked"])
		# a final clean restart keeps the same rows
		n = srv.count("crash")
		srv.restart()
		assert srv.count("crash") == n
		verify(srv, st, cycle)
		srv.clean_stop()
	assert total_acked > 0, "no batch was ever acknowledged"
