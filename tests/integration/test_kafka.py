"""Tables fed from Kafka (`waybill devbroker` as the broker).

Each test starts its own devbroker and server.  Messages are produced with
a real Kafka client (confluent_kafka); what arrives is checked with SQL
against what was produced (the oracle): every message exactly once, bad
messages in sys.dead_letters exactly once, positions recorded in
sys.segments, state and lag in sys.ingestion and /metrics, Pinot's
pause / resume endpoints, the rate limit, and the kill -9 loop that proves
exactly-once across crashes at random moments.
"""
import json
import random
import re
import threading
import time

import pytest

from conftest import LONG, schema, stream_table_config, wait_until

confluent_kafka = pytest.importorskip("confluent_kafka")

EV_SCHEMA = schema("ev", dims=[("id", "LONG"), ("name", "STRING")],
		   datetimes=[("ts", "LONG", "1:MILLISECONDS:EPOCH", "1:MILLISECONDS")])


def produce(b, topic, values, key=None, partition=None, conf=None):
	"""Produces values (dicts become JSON, bytes as they are); returns
	the number delivered (asserts none failed)."""
	p = b.producer(**(conf or {}))
	failed = []

	def on_delivery(err, msg):
		if err is not None:
			failed.append(err)
	for i, v in enumerate(values):
		data = v if isinstance(v, (bytes, type(None))) else json.dumps(v).encode()
		kw = {"value": data, "on_delivery": on_delivery}
		k = key(i) if callable(key) else key
		if k is not None:
			kw["key"] = str(k)
		if partition is not None:
			kw["partition"] = partition
		while True:
			try:
				p.produce(topic, **kw)
				break
			except BufferError:
				p.poll(0.05)
		p.poll(0)
	assert p.flush(60) == 0
	assert not failed, failed[:3]
	return len(values)


def ev(i):
	return {"id": i, "name": "n%d" % (i % 7), "ts": int(time.time() * 1000)}


def ingestion(s, table):
	return {r[0]: r for r in s.rows(
		"SELECT partition, state, error, currentOffset, highWatermark, offsetLag, messages, "
		"rows, deadLetters FROM sys.ingestion WHERE tableName = '%s' ORDER BY partition" % table)}


def test_consume_seal_and_report(make_server, devbroker):
	b = devbroker(("ev", 3))
	s = make_server()
	s.add_schema(EV_SCHEMA)
	s.add_table(stream_table_config("ev", "ev", b.boot, "ts",
					{"realtime.segment.flush.threshold.rows": "400"}))
	n = produce(b, "ev", [ev(i) for i in range(3000)], key=lambda i: i)
	wait_until(lambda: s.count("ev") == n, what="3000 rows")
	assert s.rows("SELECT count(DISTINCT id), sum(id), min(id), max(id) FROM ev") == \
		[[n, n * (n - 1) // 2, 0, n - 1]]
	# every partition consumed to its end, no lag, no errors
	ing = wait_until(lambda: (lambda g: g if len(g) == 3 and all(
		r[5] == 0 and r[3] == r[4] for r in g.values()) else None)(ingestion(s, "ev")),
		what="lag 0 on every partition")
	assert sum(r[3] for r in ing.values()) == n
	assert all(r[1] == "CONSUMING" and r[2] is None for r in ing.values())
	# sealed segments cover contiguous offset ranges from 0
	segs = s.rows("SELECT partition, startOffset, endOffset, numRows, state FROM sys.segments "
		      "WHERE tableName = 'ev' ORDER BY partition, seqNumber")
	for p in range(3):
		mine = [r for r in segs if r[0] == p]
		assert sum(1 for r in mine if r[4] == "SEALED") >= 1, segs
		at = 0
		for part, start, end, rows, state in mine:
			assert start == at, (p, mine)
			if state == "SEALED":
				assert end - start == rows, mine	# no bad messages here
				at = end
		assert mine[-1][4] == "MUTABLE" and mine[-1][2] is None
	m = s.get("/metrics").text
	assert re.search(r'waybill_realtime_ingestion_offset_lag\{table="ev",partition="0"\} 0\n', m), m[-3000:]
	assert "waybill_realtime_ingestion_freshness_ms{" in m
	assert re.search(r"waybill_stream_rows_total %d\n" % n, m)


@pytest.mark.parametrize("where", ["indexConfig", "maps"])
def test_restart_resumes_where_it_stopped(make_server, devbroker, where):
	b = devbroker(("ev", 2))
	s = make_server()
	s.add_schema(EV_SCHEMA)
	s.add_table(stream_table_config("ev", "ev", b.boot, "ts", where=where))
	produce(b, "ev", [ev(i) for i in range(500)], key=lambda i: i)
	wait_until(lambda: s.count("ev") == 500)
	s.restart()
	assert s.count("ev") == 500		# replayed from the partitions' logs
	produce(b, "ev", [ev(i) for i in range(500, 1000)], key=lambda i: i)
	wait_until(lambda: s.count("ev") == 1000)
	s.rows("SELECT 1")
	time.sleep(0.5)
	assert s.rows("SELECT count(*), count(DISTINCT id) FROM ev") == [[1000, 1000]]


def test_offset_reset_largest_and_config_change(make_server, devbroker):
	b = devbroker(("ev", 1))
	produce(b, "ev", [ev(i) for i in range(100)])
	s = make_server()
	s.add_schema(EV_SCHEMA)
	cfg = stream_table_config("ev", "ev", b.boot, "ts",
				  {"stream.kafka.consumer.prop.auto.offset.reset": "largest"})
	s.add_table(cfg)
	wait_until(lambda: ingestion(s, "ev").get(0, [0, ""])[1] == "CONSUMING")
	produce(b, "ev", [ev(i) for i in range(100, 150)])
	wait_until(lambda: s.count("ev") == 50)
	assert s.scalar("SELECT min(id) FROM ev") == 100
	# a new config restarts the source from where it was, not from the reset
	cfg["tableIndexConfig"]["streamConfigs"]["stream.kafka.consumer.prop.auto.offset.reset"] = "smallest"
	r = s.put("/tables/ev", json=cfg)
	assert r.status_code == 200, r.text
	produce(b, "ev", [ev(i) for i in range(150, 160)])
	wait_until(lambda: s.count("ev") == 60)
	time.sleep(0.5)
	assert s.count("ev") == 60


def test_pause_resume(make_server, devbroker):
	b = devbroker(("ev", 2))
	s = make_server()
	s.add_schema(EV_SCHEMA)
	s.add_table(stream_table_config("ev", "ev", b.boot, "ts"))
	produce(b, "ev", [ev(i) for i in range(200)], key=lambda i: i)
	wait_until(lambda: s.count("ev") == 200)
	r = s.post("/tables/ev/pauseConsumption")
	assert r.status_code == 200 and r.json()["pauseFlag"] is True, r.text
	wait_until(lambda: all(r[1] == "PAUSED" for r in ingestion(s, "ev").values()))
	# pausing commits the consuming segments
	assert s.scalar("SELECT count(*) FROM sys.segments WHERE tableName = 'ev' AND state = 'SEALED'") == 2
	produce(b, "ev", [ev(i) for i in range(200, 300)], key=lambda i: i)
	time.sleep(1.0)
	assert s.count("ev") == 200
	assert s.get("/tables/ev/pauseStatus").json()["pauseFlag"] is True
	s.restart()				# the pause survives a restart
	time.sleep(1.0)
	assert s.count("ev") == 200
	assert s.get("/tables/ev/pauseStatus").json()["pauseFlag"] is True
	r = s.post("/tables/ev/resumeConsumption")
	assert r.status_code == 200 and r.json()["pauseFlag"] is False, r.text
	wait_until(lambda: s.count("ev") == 300)
	# resume from largest skips what arrived while paused
	s.post("/tables/ev/pauseConsumption")
	wait_until(lambda: all(r[1] == "PAUSED" for r in ingestion(s, "ev").values()))
	produce(b, "ev", [ev(i) for i in range(300, 400)], key=lambda i: i)
	r = s.post("/tables/ev/resumeConsumption?consumeFrom=largest")
	assert r.status_code == 200, r.text
	wait_until(lambda: all(r[1] == "CONSUMING" for r in ingestion(s, "ev").values()))
	produce(b, "ev", [ev(i) for i in range(400, 410)], key=lambda i: i)
	wait_until(lambda: s.count("ev") == 310)
	assert s.scalar("SELECT count(*) FROM ev WHERE id >= 300 AND id < 400") == 0
	# errors: not a stream table, bad consumeFrom, no such table
	assert s.post("/tables/ev/resumeConsumption?consumeFrom=middle").status_code == 400
	assert s.post("/tables/nosuch/pauseConsumption").status_code == 404


def test_rate_limit(make_server, devbroker):
	b = devbroker(("ev", 1))
	s = make_server()
	s.add_schema(EV_SCHEMA)
	produce(b, "ev", [ev(i) for i in range(3000)])
	s.add_table(stream_table_config("ev", "ev", b.boot, "ts", {"topic.consumption.rate.limit": "500"}))
	wait_until(lambda: s.count("ev") > 0)
	t0 = time.monotonic()
	time.sleep(2.0)
	got = s.count("ev")
	elapsed = time.monotonic() - t0
	# 500/s with a one-second bucket: far below the 3,000 available
	assert got <= 500 * (elapsed + 2) + 200, got
	assert s.scalar("SELECT rateLimit FROM sys.ingestion WHERE tableName = 'ev'") == 500
	wait_until(lambda: s.count("ev") == 3000, timeout=60)


def test_bad_settings_and_unreachable_broker(make_server, devbroker):
	s = make_server()
	s.add_schema(EV_SCHEMA)
	# a broker nobody listens on: the table exists, the source reports why
	# it cannot consume, and the server goes on serving
	s.add_table(stream_table_config("ev", "ev", "127.0.0.1:1", "ts",
					{"stream.kafka.consumer.prop.socket.timeout.ms": "1000"}))
	row = wait_until(lambda: s.rows("SELECT state, error FROM sys.ingestion WHERE tableName = 'ev'"),
			 timeout=30)
	assert row[0][0] == "ERROR" and row[0][1], row
	assert s.count("ev") == 0
	assert s.delete("/tables/ev").status_code == 200
	# settings that cannot work are refused when the table is created
	for props, needle in [
		({"stream.kafka.consumer.prop.auto.offset.reset": "sideways"}, "auto.offset.reset"),
		({"topic.consumption.rate.limit": "fast"}, "rate.limit"),
		({"stream.kafka.decoder.prop.maxMessageBytes": "huge"}, "maxMessageBytes"),
	]:
		r = s.post("/tables", json=stream_table_config("ev", "ev", "127.0.0.1:1", "ts", props))
		assert r.status_code == 400 and needle in r.text, (props, r.status_code, r.text)
	# a decoder Waybill lacks (Pinot configs name other companies'
	# classes) loads; the source says why it does not consume
	for props, needle in [
		({"stream.kafka.decoder.class.name": "com.example.NoSuchDecoder"}, "NoSuchDecoder"),
		({"stream.kafka.decoder.class.name":
		  "org.apache.pinot.plugin.inputformat.avro.SimpleAvroMessageDecoder"}, "schema"),
	]:
		s.add_table(stream_table_config("ev", "ev", "127.0.0.1:1", "ts", props))
		row = wait_until(lambda: s.rows("SELECT state, error FROM sys.ingestion WHERE tableName = 'ev'"))
		assert row[0][0] == "ERROR" and needle in row[0][1], row
		assert s.delete("/tables/ev").status_code == 200
	cfg = stream_table_config("ev", "ev", "127.0.0.1:1", "ts")
	cfg["ingestionConfig"] = {"transformConfigs": [
		{"columnName": "name", "transformFunction": "Groovy({name}, name)"}]}
	r = s.post("/tables", json=cfg)
	assert r.status_code == 400 and "Groovy" in r.text, r.text
	assert s.rows("SELECT count(*) FROM sys.ingestion") == [[0]]


def test_dropped_table_stops_consuming(make_server, devbroker):
	b = devbroker(("ev", 1))
	s = make_server()
	s.add_schema(EV_SCHEMA)
	s.add_table(stream_table_config("ev", "ev", b.boot, "ts"))
	produce(b, "ev", [ev(i) for i in range(100)])
	wait_until(lambda: s.count("ev") == 100)
	assert s.delete("/tables/ev").status_code == 200
	assert s.rows("SELECT count(*) FROM sys.ingestion") == [[0]]
	s.add_table(stream_table_config("ev", "ev", b.boot, "ts"))
	wait_until(lambda: s.count("ev") == 100)	# a new table starts afresh


def test_kill9_exactly_once(make_server, devbroker):
	"""Kills the server at random moments while a producer streams
	numbered events (every tenth one bad); the table must end with each
	good event exactly once and sys.dead_letters with each bad one exactly
	once."""
	cycles = 200 if LONG else 50
	b = devbroker(("seq", 3))
	s = make_server()
	s.add_schema(schema("seq", dims=[("n", "LONG"), ("k", "INT")]))
	s.add_table(stream_table_config("seq", "seq", b.boot, None,
					{"realtime.segment.flush.threshold.rows": "2500"}))
	stop = threading.Event()
	produced = [0]
	errors = []

	def producer():
		p = b.producer()

		def on_delivery(err, msg):
			if err is not None:
				errors.append(err)
		n = 0
		while not stop.is_set():
			for _ in range(200):
				# every 10th message is bad: a dead letter, exactly once
				v = (b'{"n": %d, "k": "not an int"}' % n) if n % 10 == 9 else \
					json.dumps({"n": n, "k": n % 3}).encode()
				p.produce("seq", key=str(n), value=v, on_delivery=on_delivery)
				n += 1
			p.poll(0)
			time.sleep(0.05)		# ~4,000 events a second
		assert p.flush(60) == 0
		produced[0] = n
	th = threading.Thread(target=producer)
	th.start()
	rnd = random.Random(20261126)
	try:
		for _ in range(cycles):
			time.sleep(rnd.uniform(0.05, 0.6))
			s.kill9()
			s.start()
	finally:
		stop.set()
		th.join(120)
	assert not errors, errors[:3]
	n = produced[0]
	assert n > 10000
	bad = n // 10
	good = n - bad
	wait_until(lambda: s.count("seq") >= good, timeout=120, what="all %d good events" % good)
	time.sleep(1.0)
	assert s.rows("SELECT count(*), count(DISTINCT n), min(n), max(n), sum(n) FROM seq") == \
		[[good, good, 0, max(i for i in range(n - 12, n) if i % 10 != 9),
		  n * (n - 1) // 2 - sum(i for i in range(9, n, 10))]]
	assert s.rows("SELECT count(*) FROM sys.dead_letters WHERE table_name = 'seq'") == [[bad]]
	assert s.rows("SELECT count(*) FROM (SELECT DISTINCT source, position FROM sys.dead_letters "
		      "WHERE table_name = 'seq') d") == [[bad]]
	# sealed segments chain their offset ranges per partition
	segs = s.rows("SELECT partition, startOffset, endOffset, state FROM sys.segments "
		      "WHERE tableName = 'seq' ORDER BY partition, seqNumber")
	for p in range(3):
		mine = [r for r in segs if r[0] == p]
		for a, c in zip(mine, mine[1:]):
			assert a[2] == c[1], mine
	s.clean_stop()


def test_topic_partitions_picked_up(make_server, devbroker):
	"""The table config names no partition count: the table takes the
	topic's (the dev broker creates an undeclared topic with 4 partitions
	when it is first asked for it), and keeps them across restarts."""
	b = devbroker(("other", 1))
	s = make_server()
	s.add_schema(EV_SCHEMA)
	s.add_table(stream_table_config("ev", "late", b.boot, "ts"))
	produce(b, "late", [ev(i) for i in range(400)], key=lambda i: i)
	wait_until(lambda: s.count("ev") == 400, timeout=60, what="400 rows from the new topic")
	parts = s.rows("SELECT partition, state, currentOffset FROM sys.ingestion WHERE tableName = 'ev' "
		       "ORDER BY partition")
	assert len(parts) == 4 and all(p[1] == "CONSUMING" for p in parts), parts
	assert sum(p[2] for p in parts) == 400
	assert s.scalar("SELECT partitions FROM sys.tables WHERE tableName = 'ev'") == 4
	s.restart()
	produce(b, "late", [ev(i) for i in range(400, 500)], key=lambda i: i)
	wait_until(lambda: s.count("ev") == 500)
	assert s.rows("SELECT count(*), count(DISTINCT id) FROM ev") == [[500, 500]]
	assert s.scalar("SELECT partitions FROM sys.tables WHERE tableName = 'ev'") == 4


def test_dead_letter_topic(make_server, devbroker):
	b = devbroker(("ev", 1), ("ev_dlq", 1))
	s = make_server()
	s.add_schema(EV_SCHEMA)
	s.add_table(stream_table_config("ev", "ev", b.boot, "ts",
					{"stream.kafka.deadletter.topic.name": "ev_dlq"}))
	vals = [ev(i) if i % 4 else b"bad %d" % i for i in range(40)]
	produce(b, "ev", vals, key=lambda i: "k%d" % i)
	wait_until(lambda: s.count("ev") == 30)
	wait_until(lambda: s.scalar("SELECT count(*) FROM sys.dead_letters WHERE table_name = 'ev'") == 10)
	c = confluent_kafka.Consumer({"bootstrap.servers": b.boot, "group.id": "t",
				      "enable.auto.commit": False})
	c.assign([confluent_kafka.TopicPartition("ev_dlq", 0, 0)])
	got = []
	deadline = time.monotonic() + 30
	while len(got) < 10 and time.monotonic() < deadline:
		m = c.poll(0.5)
		if m is not None and m.error() is None:
			got.append((m.key(), m.value()))
	c.close()
	assert sorted(got) == sorted((b"k%d" % i, b"bad %d" % i) for i in range(0, 40, 4))
