"""`waybill simulate`: the microservice event simulator (docs/simulator.md).

Most checks run on --stdout output (no broker needed): fields and types,
event_id uniqueness except the injected duplicates (which must match the
truth log exactly), dropped events absent, stalled orders silent after
their stall event, late events sent after the order's next event, burst
failures inside their market and window, and byte-identical output for
the same seed and start time.  One test runs the dev broker and checks
that what arrives on the 21 topics (read with assign() at explicit
offsets, never a group subscribe) is exactly the --stdout output of the
same seed, keyed by order_id, each order in one partition per topic.
Timing checks use generous bounds only.
"""
import collections
import json
import os
import socket
import subprocess
import time

import pytest

from conftest import SANITIZER_MARKERS, log_tail

SERVICES = ["order", "customer", "pricing", "promotions", "tax", "checkout", "payment",
	    "fraud", "inventory", "store", "picking", "packing", "label", "routing",
	    "dispatch", "driver_app", "delivery_tracking", "notification", "loyalty", "returns"]
TOPICS = SERVICES + ["item_availability"]
START = 1700000000000
EVENT_FIELDS = {"event_id": str, "order_id": str, "service": str, "event_type": str,
		"stage": str, "status": str, "market": str, "store_id": str, "ts": int,
		"seq": int, "attempt": int, "latency_ms": int, "items": int}
FAULTS = ["--fault", "stall:share=0.05",
	  "--fault", "stall:share=0.5,stage=picking,market=CA",
	  "--fault", "drop:service=picking,share=0.1",
	  "--fault", "dup:share=0.01",
	  "--fault", "late:share=0.01,delay=500",
	  "--fault", "slow:service=packing,factor=4,extra=100,from=0,until=30",
	  "--fault", "burst:market=MX,service=payment,share=0.9,from=0,until=3"]


def run_sim(binary, args, timeout=300, check=True):
	env = dict(os.environ)
	env.setdefault("ASAN_OPTIONS", "abort_on_error=0:detect_leaks=1")
	p = subprocess.run([binary, "simulate"] + list(args), stdin=subprocess.DEVNULL,
			   capture_output=True, timeout=timeout, env=env)
	err = p.stderr.decode("utf-8", "replace")
	for m in SANITIZER_MARKERS:
		assert m not in err, err[-6000:]
	if check:
		assert p.returncode == 0, "exit %s:\n%s" % (p.returncode, err[-6000:])
	return p


def lines(data):
	return [json.loads(l) for l in data.decode().splitlines() if l]


def read_truth(path):
	with open(path) as f:
		return [json.loads(l) for l in f if l.strip()]


@pytest.fixture(scope="module")
def faulty(binary, tmp_path_factory):
	"""One run with every fault kind: (messages, truth, stderr)."""
	d = tmp_path_factory.mktemp("sim")
	truth = d / "truth.ndjson"
	p = run_sim(binary, ["--stdout", "--rate", "0", "--orders", "3000", "--seed", "11",
			     "--start-time", str(START), "--truth", str(truth)] + FAULTS)
	return lines(p.stdout), read_truth(truth), p.stderr.decode()


def test_fields_and_topics(faulty):
	msgs, _, err = faulty
	by_topic = collections.Counter(m["topic"] for m in msgs)
	for t in TOPICS:
		assert by_topic[t] > 0, "no messages on %s: %s" % (t, by_topic)
	assert set(by_topic) == set(TOPICS)
	sizes = []
	for m in msgs:
		if m["topic"] == "item_availability":
			assert set(m) == {"topic", "item_id", "node_id", "market", "qty", "updated_at"}, m
			assert isinstance(m["qty"], int) and m["qty"] >= 0
			assert isinstance(m["updated_at"], int) and m["updated_at"] >= START
			assert m["node_id"].startswith(m["market"] + "-")
			continue
		for k, t in EVENT_FIELDS.items():
			assert isinstance(m[k], t), (k, m)
		assert m["topic"] == m["service"]
		assert m["market"] in ("US", "CA", "MX")
		assert m["store_id"].startswith(m["market"] + "-")
		assert m["ts"] >= START
		assert m["amount"] is None or isinstance(m["amount"], (int, float))
		assert m["event_id"].startswith(m["order_id"] + "-")
		sizes.append(len(json.dumps(m, separators=(",", ":"))))
	sizes.sort()
	assert 150 <= sizes[len(sizes) // 2] <= 320, sizes[len(sizes) // 2]
	# realistic content: every service's typical event types appear
	types = collections.Counter(m.get("event_type") for m in msgs)
	for t in ("payment_authorized", "payment_failed", "fraud_rejected", "dispatched",
		  "out_for_delivery", "delivered", "delivery_failed", "order_cancelled",
		  "return_requested", "refund_issued"):
		assert types[t] > 0, t
	assert "3000 orders" in err, err


def test_duplicates_match_truth(faulty):
	msgs, truth, _ = faulty
	ids = collections.Counter(m["event_id"] for m in msgs if "event_id" in m)
	dup_ids = {i for i, n in ids.items() if n > 1}
	truth_dups = [t["event_id"] for t in truth if t["fault"] == "dup"]
	assert len(truth_dups) == len(set(truth_dups))
	assert dup_ids == set(truth_dups)
	assert all(ids[i] == 2 for i in dup_ids)
	assert len(dup_ids) > 50
	# both copies are the same message
	copies = collections.defaultdict(list)
	for m in msgs:
		if m.get("event_id") in dup_ids:
			copies[m["event_id"]].append(m)
	for c in copies.values():
		assert c[0] == c[1]


def test_drops_absent(faulty):
	msgs, truth, _ = faulty
	ids = {m["event_id"] for m in msgs if "event_id" in m}
	drops = [t for t in truth if t["fault"] == "drop"]
	assert len(drops) > 50
	for t in drops:
		assert t["service"] == "picking"
		assert t["event_id"] not in ids, t
	# the order goes on after a dropped event (it is lost, not stalled)
	orders = collections.defaultdict(list)
	for m in msgs:
		if "order_id" in m:
			orders[m["order_id"]].append(m["seq"])
	later = sum(1 for t in drops if max(orders[t["order_id"]]) > t["seq"])
	assert later > len(drops) // 2


def test_stalls(faulty):
	msgs, truth, _ = faulty
	last = {}
	for m in msgs:
		if "order_id" in m:
			last[m["order_id"]] = max(last.get(m["order_id"], 0), m["seq"])
	stalls = [t for t in truth if t["fault"] == "stall"]
	assert len(stalls) > 50
	assert len({t["order_id"] for t in stalls}) == len(stalls)
	for t in stalls:
		assert last[t["order_id"]] == t["seq"], t
		assert t["stage"] not in ("delivered", "cancelled", "returned")
	ca_picking = [t for t in stalls if t["market"] == "CA" and t["stage"] == "picking"]
	assert len(ca_picking) > 20
	# orders that stall never reach a final stage
	stalled = {t["order_id"] for t in stalls}
	for m in msgs:
		if m.get("order_id") in stalled:
			assert m["stage"] not in ("delivered", "returned"), m


def test_late_and_burst_and_slow(faulty):
	msgs, truth, _ = faulty
	pos = {}
	for i, m in enumerate(msgs):
		if "event_id" in m:
			pos.setdefault(m["event_id"], i)
	late = [t for t in truth if t["fault"] == "late"]
	assert len(late) > 50
	checked = 0
	late_ids = {t["event_id"] for t in late}
	for t in late:
		assert t["send_ms"] >= t["ts"] + 500
		nxt = "%s-%02d" % (t["order_id"], t["seq"] + 1)
		if nxt in pos and nxt not in late_ids:
			assert pos[nxt] < pos[t["event_id"]], t
			checked += 1
	assert checked > len(late) // 2
	bursts = [t for t in truth if t["fault"] == "burst"]
	assert len(bursts) > 20
	for t in bursts:
		assert t["market"] == "MX" and t["event_type"] == "payment_failed", t
		assert START <= t["ts"] < START + 3000 + 60000, t
	slow = [t for t in truth if t["fault"] == "slow"]
	assert len(slow) > 20
	assert all(t["service"] == "packing" and t["added_ms"] >= 100 for t in slow)


def test_same_seed_same_output(binary):
	args = ["--stdout", "--rate", "0", "--orders", "300", "--start-time", str(START),
		"--fault", "dup:share=0.02", "--fault", "late:share=0.02", "--fault", "stall:share=0.05"]
	a = run_sim(binary, args + ["--seed", "5"])
	b = run_sim(binary, args + ["--seed", "5"])
	c = run_sim(binary, args + ["--seed", "6"])
	assert a.stdout == b.stdout and len(a.stdout) > 10000
	assert a.stdout != c.stdout


def test_rate_limit(binary):
	# a huge time scale makes life cycles instant, so the pace is set by --rate
	t0 = time.monotonic()
	p = run_sim(binary, ["--stdout", "--rate", "2000", "--orders", "200", "--seed", "3",
			     "--time-scale", "1000000", "--availability-rate", "0"])
	took = time.monotonic() - t0
	n = len(p.stdout.splitlines())
	assert n > 3000
	assert took >= n / 2000 * 0.6, (n, took)
	assert took <= n / 2000 * 5 + 20, (n, took)


def test_duration(binary):
	t0 = time.monotonic()
	p = run_sim(binary, ["--stdout", "--rate", "500", "--duration", "2", "--seed", "3"])
	took = time.monotonic() - t0
	assert 1.5 <= took <= 30, took
	assert len(p.stdout.splitlines()) > 0


def test_emit_items_and_configs(binary, tmp_path):
	items_csv = tmp_path / "items.csv"
	items_nd = tmp_path / "items.ndjson"
	cfg = tmp_path / "cfg"
	run_sim(binary, ["--orders", "0", "--items", "50", "--emit-items", str(items_csv),
			 "--seed", "1"])
	run_sim(binary, ["--orders", "0", "--items", "50", "--emit-items", str(items_nd),
			 "--emit-configs", str(cfg), "--topic-prefix", "sim.", "--seed", "1"])
	rows = items_csv.read_text().splitlines()
	assert rows[0] == "item_id,category,department,price" and len(rows) == 51
	nd = [json.loads(l) for l in items_nd.read_text().splitlines()]
	assert len(nd) == 50 and set(nd[0]) == {"item_id", "category", "department", "price"}
	assert [r.split(",")[0] for r in rows[1:]] == [r["item_id"] for r in nd]
	for t in TOPICS:
		name = "sim_" + t
		schema = json.loads((cfg / (name + "_schema.json")).read_text())
		table = json.loads((cfg / (name + "_table_config.json")).read_text())
		assert schema["schemaName"] == name
		assert table["tableName"] == name and table["tableType"] == "REALTIME"
		tcol = table["segmentsConfig"]["timeColumnName"]
		assert tcol in [f["name"] for f in schema["dateTimeFieldSpecs"]]
		sc = table["ingestionConfig"]["streamIngestionConfig"]["streamConfigMaps"][0]
		assert sc["streamType"] == "kafka"
		assert sc["stream.kafka.topic.name"] == "sim." + t
		assert sc["stream.kafka.broker.list"] == "localhost:9092"
		assert sc["stream.kafka.decoder.class.name"].endswith("KafkaJSONMessageDecoder")
		assert sc["stream.kafka.consumer.prop.auto.offset.reset"] == "smallest"
	assert (cfg / "sim_items_schema.json").exists()
	assert json.loads((cfg / "sim_items_table_config.json").read_text())["isDimTable"] is True


@pytest.mark.parametrize("args,needle", [
	(["--bogus"], "--bogus"),
	([], "where to"),
	(["--stdout", "--brokers", "x:1"], "only one"),
	(["--stdout", "--rate"], "--rate"),
	(["--stdout", "--rate", "-1"], "--rate"),
	(["--stdout", "--rate", "fast"], "--rate"),
	(["--stdout", "--orders", "1.5"], "--orders"),
	(["--stdout", "--partitions", "0"], "--partitions"),
	(["--stdout", "--duration", "0"], "--duration"),
	(["--stdout", "--time-scale", "0"], "--time-scale"),
	(["--stdout", "--seed", "x"], "--seed"),
	(["--stdout", "--topic-prefix", "a b"], "--topic-prefix"),
	(["--stdout", "--fault", "melt"], "unknown fault kind"),
	(["--stdout", "--fault", "drop"], "service"),
	(["--stdout", "--fault", "drop:service=nope"], "unknown service"),
	(["--stdout", "--fault", "drop:service=payment,share=2"], "share"),
	(["--stdout", "--fault", "slow:service=payment,factor=x"], "factor"),
	(["--stdout", "--fault", "burst:market=XX"], "unknown market"),
	(["--stdout", "--fault", "burst:market=US,service=label"], "burst"),
	(["--stdout", "--fault", "stall:stage=delivered"], "final stage"),
	(["--stdout", "--fault", "stall:stage=nowhere"], "unknown stage"),
	(["--stdout", "--fault", "dup:factor=2"], "no 'factor'"),
	(["--stdout", "--fault", "late:share"], "KEY=VALUE"),
	(["--stdout", "--fault", "dup:from=10,until=5"], "until"),
])
def test_bad_options(binary, args, needle):
	p = run_sim(binary, args, timeout=60, check=False)
	err = p.stderr.decode("utf-8", "replace")
	assert p.returncode == 2, (args, p.returncode, err)
	assert needle in err, (args, err)
	assert p.stdout == b""


def test_help(binary):
	p = subprocess.run([binary, "simulate", "--help"], capture_output=True, timeout=30)
	assert p.returncode == 0 and b"--fault SPEC" in p.stdout


def test_unreachable_broker(binary):
	s = socket.socket()
	s.bind(("127.0.0.1", 0))
	port = s.getsockname()[1]
	s.close()	# nothing listens there now
	t0 = time.monotonic()
	p = run_sim(binary, ["--brokers", "127.0.0.1:%d" % port, "--orders", "10"],
		    timeout=120, check=False)
	took = time.monotonic() - t0
	err = p.stderr.decode("utf-8", "replace")
	assert p.returncode == 1, err
	assert "Kafka at 127.0.0.1:%d" % port in err, err
	assert took < 60, took


def test_missing_bootstrap_file(binary, tmp_path):
	p = run_sim(binary, ["--bootstrap-file", str(tmp_path / "none"), "--orders", "1"],
		    timeout=60, check=False)
	assert p.returncode == 1
	assert b"--bootstrap-file" in p.stderr


# ---- through the dev broker ----------------------------------------------------

def consume_topic(boot, topic, timeout=60):
	"""Every message of every partition of topic: [(partition, key, value)]."""
	import confluent_kafka
	from confluent_kafka.admin import AdminClient
	md = AdminClient({"bootstrap.servers": boot}).list_topics(topic=topic, timeout=10)
	parts = sorted(md.topics[topic].partitions)
	c = confluent_kafka.Consumer({"bootstrap.servers": boot, "group.id": "simulate-test",
				      "enable.auto.commit": False, "enable.partition.eof": True})
	try:
		hi = {}
		for p in parts:
			_, hi[p] = c.get_watermark_offsets(confluent_kafka.TopicPartition(topic, p),
							   timeout=10)
		c.assign([confluent_kafka.TopicPartition(topic, p, 0) for p in parts])
		got = []
		done = {p for p in parts if hi[p] == 0}
		deadline = time.monotonic() + timeout
		while len(done) < len(parts) and time.monotonic() < deadline:
			m = c.poll(0.5)
			if m is None:
				continue
			if m.error():
				if m.error().code() == confluent_kafka.KafkaError._PARTITION_EOF:
					continue
				raise AssertionError("consume error: %s" % m.error())
			got.append((m.partition(), m.key().decode(), m.value().decode()))
			if m.offset() + 1 >= hi[m.partition()]:
				done.add(m.partition())
		assert len(done) == len(parts), "%s: partitions %s not read to the end" % (topic, set(parts) - done)
		return parts, got
	finally:
		c.close()


def test_through_devbroker(binary, tmp_path):
	pytest.importorskip("confluent_kafka")
	from test_devbroker import Broker
	# librdkafka 2.0's mock cluster does not answer CreateTopics: the topics are
	# declared on the dev broker (as `make demo` does)
	b = Broker(binary, tmp_path, ["--topics", ",".join("t1." + t for t in TOPICS),
				      "--partitions", "3"])
	try:
		b.wait_address()
		common = ["--rate", "0", "--orders", "1500", "--seed", "21", "--start-time", str(START),
			  "--topic-prefix", "t1.", "--availability-rate", "200"] + FAULTS
		truth = tmp_path / "truth.ndjson"
		p = run_sim(binary, ["--bootstrap-file", str(b.boot_file), "--partitions", "3",
				     "--truth", str(truth)] + common)
		ref = run_sim(binary, ["--stdout"] + common)
		want = collections.defaultdict(list)
		for line in ref.stdout.decode().splitlines():
			m = json.loads(line)
			want[m.pop("topic")].append(m)
		boot = b.boot_file.read_text().strip()
		for t in TOPICS:
			topic = "t1." + t
			parts, got = consume_topic(boot, topic)
			assert len(parts) == 3, (topic, parts)
			vals = [json.loads(v) for _, _, v in got]
			key = lambda m: json.dumps(m, sort_keys=True)
			assert sorted(map(key, vals)) == sorted(map(key, want[topic])), topic
			where = {}
			for part, k, v in got:
				m = json.loads(v)
				if t == "item_availability":
					assert k == "%s:%s" % (m["item_id"], m["node_id"])
				else:
					assert k == m["order_id"]
				assert where.setdefault(k, part) == part, "key %s in two partitions" % k
		# the truth log is the same as with --stdout (same seed, same start)
		assert len(read_truth(truth)) > 100
		summary = p.stderr.decode()
		assert "1500 orders" in summary and "t1.item_availability" in summary
	finally:
		rc = b.stop()
	assert rc == 0, log_tail(b.log_path)
