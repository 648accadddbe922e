"""Item availability end to end (docs/item-availability.md).

`waybill simulate` streams availability updates over (item_id, node_id)
keys, some of them stale (an updated_at older than the key's last one);
its --emit-configs files make `item_availability` an upsert table
(primaryKeyColumns [item_id, node_id], upsertConfig FULL compared on
updated_at) and `items` a dimension table.  The same messages are fed to
Waybill twice -- through Kafka (the simulator producing to the dev broker,
3 partitions, keyed by item_id:node_id) and by HTTP push into a copy of the
table -- in two waves, the table sealing segments on the way, and once more
after a restart.

The oracle is Python over the simulator's --stdout output for the same
options (the simulator is deterministic for a seed): per key the update
with the largest updated_at, the later one on a tie.  Checked exactly
against it: every key's visible row, count(*) (= keys), count(*) with
skipUpsert (= messages), and the three dashboard questions -- total
available quantity per category, out-of-stock pairs per node, top
departments by available value (qty x the dimension's price) -- asked with
LOOKUP and with a SQL join on the dimension table.  Sums of prices are
compared to 1e-9 relative (floating-point order of addition).
"""
import json
import math
import subprocess
import time
from collections import defaultdict

import pytest

from conftest import wait_until

SEED = 20240611
START = (int(time.time() * 1000) // 1000 - 3600) * 1000	# an hour ago: inside the 7-day retention
ITEMS, NODES = 300, 20
WAVE = 6000		# updates per wave
LATE = "0.05"
SKIP = "skipUpsert=true"

Q_CATEGORY = ("SELECT LOOKUP('items', 'category', 'item_id', item_id) AS category, "
	      "sum(qty) AS available FROM {t} GROUP BY 1 ORDER BY 2 DESC, 1")
Q_OUT_OF_STOCK = ("SELECT node_id, count(*) AS out_of_stock FROM {t} WHERE qty = 0 "
		  "GROUP BY node_id ORDER BY 2 DESC, 1")
Q_DEPARTMENTS = ("SELECT LOOKUP('items', 'department', 'item_id', item_id) AS department, "
		 "sum(qty * LOOKUP('items', 'price', 'item_id', item_id)) AS available_value "
		 "FROM {t} GROUP BY 1 ORDER BY 2 DESC LIMIT 5")
Q_DEPARTMENTS_JOIN = ("SELECT i.department, sum(a.qty * i.price) AS available_value "
		      "FROM {t} AS a JOIN items AS i ON a.item_id = i.item_id "
		      "GROUP BY i.department ORDER BY 2 DESC LIMIT 5")


def sim(binary, *args, check=True):
	p = subprocess.run([binary, "simulate"] + [str(a) for a in args],
			   capture_output=True, timeout=120)
	if check:
		assert p.returncode == 0, p.stderr.decode()[-3000:]
	return p


def wave_args(wave):
	"""Options of wave 0 / 1: an availability-only run; wave 1 starts later
	on the timeline with another seed."""
	return ["--rate", "0", "--orders", "0", "--availability-updates", WAVE,
		"--availability-rate", "5000", "--availability-late", LATE,
		"--availability-late-ms", "400", "--items", ITEMS, "--nodes", NODES,
		"--seed", SEED + wave, "--start-time", START + wave * 600_000]


def messages(binary, wave):
	out = sim(binary, "--stdout", *wave_args(wave)).stdout.decode()
	msgs = [json.loads(l) for l in out.splitlines() if l.strip()]
	assert len(msgs) == WAVE and all(m.pop("topic") == "item_availability" for m in msgs)
	return msgs


class Oracle:
	"""The latest update per key: larger updated_at wins, a tie goes to
	the later arrival (Pinot's FULL upsert)."""

	def __init__(self, items):
		self.items = {i["item_id"]: i for i in items}
		self.latest = {}
		self.sent = 0
		self.stale = 0

	def add(self, msgs):
		for m in msgs:
			k = (m["item_id"], m["node_id"])
			cur = self.latest.get(k)
			if cur is None or m["updated_at"] >= cur["updated_at"]:
				self.latest[k] = m
			else:
				self.stale += 1
		self.sent += len(msgs)

	def by_category(self):
		s = defaultdict(int)
		for (item, _), m in self.latest.items():
			s[self.items[item]["category"]] += m["qty"]
		return sorted(([c, q] for c, q in s.items()), key=lambda r: (-r[1], r[0]))

	def out_of_stock(self):
		s = defaultdict(int)
		for (_, node), m in self.latest.items():
			if m["qty"] == 0:
				s[node] += 1
		return sorted(([n, c] for n, c in s.items()), key=lambda r: (-r[1], r[0]))

	def departments(self):
		s = defaultdict(float)
		for (item, _), m in self.latest.items():
			it = self.items[item]
			s[it["department"]] += m["qty"] * it["price"]
		return sorted(([d, v] for d, v in s.items()), key=lambda r: -r[1])[:5]


def assert_close_rows(got, want, what):
	assert len(got) == len(want), (what, got, want)
	for g, w in zip(got, want):
		assert g[0] == w[0] and math.isclose(g[1], w[1], rel_tol=1e-9), (what, got, want)


def check(s, table, oracle):
	t = table
	assert s.scalar("SELECT count(*) FROM %s" % t) == len(oracle.latest)
	skip = s.rows("SELECT count(*) FROM %s" % t, SKIP)
	assert skip == [[oracle.sent]], (t, skip, oracle.sent)
	got = {(r[0], r[1]): (r[2], r[3]) for r in
	       s.rows("SELECT item_id, node_id, qty, updated_at FROM %s" % t)}
	want = {k: (m["qty"], m["updated_at"]) for k, m in oracle.latest.items()}
	if got != want:
		diff = [(k, got.get(k), want.get(k)) for k in sorted(set(got) | set(want))
			if got.get(k) != want.get(k)]
		pytest.fail("%s: %d keys differ from the oracle, e.g. %s" % (t, len(diff), diff[:10]))
	assert s.rows(Q_CATEGORY.format(t=t)) == oracle.by_category()
	assert s.rows(Q_OUT_OF_STOCK.format(t=t)) == oracle.out_of_stock()
	assert_close_rows(s.rows(Q_DEPARTMENTS.format(t=t)), oracle.departments(), "LOOKUP")
	assert_close_rows(s.rows(Q_DEPARTMENTS_JOIN.format(t=t)), oracle.departments(), "JOIN")


def test_item_availability_end_to_end(binary, tmp_path, make_server, devbroker):
	b = devbroker(("item_availability", 3))
	cfg_dir = tmp_path / "cfg"
	items_file = tmp_path / "items.ndjson"
	sim(binary, "--orders", "0", "--items", ITEMS, "--seed", SEED, "--emit-configs", cfg_dir,
	    "--emit-items", items_file, "--config-brokers", b.boot)
	schema = json.loads((cfg_dir / "item_availability_schema.json").read_text())
	config = json.loads((cfg_dir / "item_availability_table_config.json").read_text())
	assert schema["primaryKeyColumns"] == ["item_id", "node_id"]
	assert config["upsertConfig"] == {"mode": "FULL", "comparisonColumns": ["updated_at"]}
	stream = config["ingestionConfig"]["streamIngestionConfig"]["streamConfigMaps"][0]
	assert stream["stream.kafka.broker.list"] == b.boot
	stream["realtime.segment.flush.threshold.rows"] = "1500"	# seal while it runs

	s = make_server()
	s.add_schema(schema)
	s.add_table(config)
	# the push-fed copy: the same schema and upsert config, no stream
	schema_p = dict(schema, schemaName="item_availability_push")
	config_p = json.loads(json.dumps(config))
	config_p["tableName"] = config_p["segmentsConfig"]["schemaName"] = "item_availability_push"
	del config_p["ingestionConfig"]
	config_p["tableIndexConfig"]["streamConfigs"] = {
		"realtime.segment.flush.threshold.rows": "1500"}
	s.add_schema(schema_p)
	s.add_table(config_p)
	# the items dimension
	s.add_schema((cfg_dir / "items_schema.json").read_text())
	s.add_table((cfg_dir / "items_table_config.json").read_text())
	ans = s.ingest("items", items_file.read_bytes(), fmt="ndjson")
	assert ans["accepted"] == ITEMS and ans["rejected"] == 0, ans

	oracle = Oracle([json.loads(l) for l in items_file.read_text().splitlines()])
	tables = ("item_availability", "item_availability_push")
	for wave in (0, 1):
		msgs = messages(binary, wave)
		oracle.add(msgs)
		p = sim(binary, "--brokers", b.boot, "--partitions", "3", *wave_args(wave))
		assert b"stale availability updates" in p.stderr, p.stderr.decode()
		body = "".join(json.dumps(m, separators=(",", ":")) + "\n" for m in msgs).encode()
		ans = s.ingest("item_availability_push", body, fmt="ndjson")
		assert ans["accepted"] == WAVE and ans["rejected"] == 0, ans
		wait_until(lambda: s.rows("SELECT count(*) FROM item_availability", SKIP)[0][0]
			   >= oracle.sent, timeout=40, what="%d messages consumed" % oracle.sent)
		for t in tables:
			check(s, t, oracle)
	# the run really exercised the upsert: repeated keys and stale updates
	assert len(oracle.latest) < oracle.sent // 2 and oracle.stale > 50, \
		(len(oracle.latest), oracle.sent, oracle.stale)
	assert len(s.rows("SELECT segmentName FROM sys.segments WHERE tableName = "
			  "'item_availability' AND state = 'SEALED'")) >= 4

	s.restart()
	wait_until(lambda: s.rows("SELECT count(*) FROM item_availability", SKIP)[0][0]
		   >= oracle.sent, timeout=30, what="rows back after the restart")
	for t in tables:
		check(s, t, oracle)


def test_stream_options(binary):
	"""--availability-updates N sends exactly N (also after the orders are
	done); the stale share changes updated_at and nothing else; stale
	updates are older than their turn, never before --start-time."""
	base = ["--stdout", "--rate", "0", "--seed", "5", "--start-time", START,
		"--items", "50", "--nodes", "5", "--availability-updates", "3000"]

	def avail(*extra):
		out = sim(binary, *(base + list(extra))).stdout.decode().splitlines()
		return [m for m in map(json.loads, out) if m["topic"] == "item_availability"]
	plain = avail("--orders", "0")
	assert len(plain) == 3000
	assert all(a["updated_at"] <= b["updated_at"] for a, b in zip(plain, plain[1:]))
	late = avail("--orders", "0", "--availability-late", "0.2", "--availability-late-ms", "50")
	strip = lambda ms: [{k: v for k, v in m.items() if k != "updated_at"} for m in ms]
	assert strip(late) == strip(plain)
	older = [(p["updated_at"] - l["updated_at"]) for p, l in zip(plain, late)
		 if l["updated_at"] != p["updated_at"]]
	assert 450 < len(older) < 750 and all(0 < d <= 50 for d in older), older[:20]
	assert min(m["updated_at"] for m in late) >= START
	assert len(avail("--orders", "2")) == 3000	# goes on after the orders
	for bad in (["--availability-late", "2"], ["--availability-late-ms", "0"],
		    ["--availability-updates", "-1"]):
		p = sim(binary, *(base + bad), check=False)
		assert p.returncode == 2 and bad[0].encode() in p.stderr, (bad, p.stderr)
	p = sim(binary, "--orders", "0", "--availability-updates", "10", check=False)
	assert p.returncode == 2 and b"where to" in p.stderr
