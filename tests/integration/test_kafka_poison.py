"""Poison pills, message formats and Pinot's stream examples over Kafka.

Three tables read three topics of one devbroker: JSON, Avro (Pinot's
SimpleAvroMessageDecoder with the schema in the config) and Debezium
change events (the envelope setting).  About 10% of the messages are bad
in every way the issue lists (bad JSON, wrong types, invalid UTF-8, a
message over the size limit, empty messages, truncated Avro, change events
missing before/after); the stream must go on, every bad message must be
in sys.dead_letters exactly once (also after a kill -9 and a restart that
consumes part of them again), and the good rows must equal the oracle.

Pinot's githubEvents and airlineStats stream examples are then loaded with
their table configs as shipped (only the broker address changed), fed
from their raw data through Kafka.
"""
import io
import json
import random
import struct
import time

import pytest

from conftest import EXAMPLES, schema, stream_table_config, wait_until

confluent_kafka = pytest.importorskip("confluent_kafka")
avro = pytest.importorskip("avro")
import avro.datafile  # noqa: E402
import avro.io  # noqa: E402
import avro.schema  # noqa: E402

AVRO_SCHEMA = {"type": "record", "name": "Ev", "fields": [
	{"name": "id", "type": "long"}, {"name": "name", "type": "string"},
	{"name": "ts", "type": "long"}]}


def avro_bytes(sch, rec):
	buf = io.BytesIO()
	avro.io.DatumWriter(sch).write(rec, avro.io.BinaryEncoder(buf))
	return buf.getvalue()


def send(b, topic, msgs, partitions):
	p = b.producer(**{"message.max.bytes": 8 << 20})
	failed = []
	for i, m in enumerate(msgs):
		while True:
			try:
				p.produce(topic, value=m, partition=i % partitions,
					  on_delivery=lambda err, msg: err and failed.append(err))
				break
			except BufferError:
				p.poll(0.05)
		p.poll(0)
	assert p.flush(60) == 0
	assert not failed, failed[:3]


def dead(s, table):
	return s.rows("SELECT source, position, column_name, error FROM sys.dead_letters "
		      "WHERE table_name = '%s' ORDER BY source, position" % table)


def test_poison_pills(make_server, devbroker):
	rnd = random.Random(5)
	parts = 2
	b = devbroker(("pj", parts), ("pa", parts), ("pd", parts))
	s = make_server()
	ts = 1700000000000
	# -- JSON ---------------------------------------------------------------
	s.add_schema(schema("pj", dims=[("id", "LONG"), ("name", "STRING")],
			    datetimes=[("ts", "LONG", "1:MILLISECONDS:EPOCH", "1:MILLISECONDS")]))
	s.add_table(stream_table_config("pj", "pj", b.boot, "ts",
					{"stream.kafka.decoder.prop.maxMessageBytes": "1M"}))
	bad_json = [b'{"id": 1, "name": "x"', b"not json at all", b'{"id": "abc", "name": "x", "ts": 1}',
		    b'{"id": 5, "name": "\xff\xfe bad utf-8", "ts": 1}', b"",
		    b"[1, 2, 3]", b'{"id": 99999999999999999999999, "ts": 1}']
	# one message over the limit: the dev broker keeps ~5 MiB a partition
	msgs, good_j, nbad_j = [b'{"id": 7, "name": "' + b"x" * (3 << 19) + b'", "ts": 1}'], [], 1
	for i in range(3000):
		if rnd.random() < 0.1:
			msgs.append(bad_json[nbad_j % len(bad_json)])
			nbad_j += 1
		else:
			msgs.append(json.dumps({"id": i, "name": "n%d" % (i % 5), "ts": ts + i}).encode())
			good_j.append(i)
	send(b, "pj", msgs, parts)
	# -- Avro ---------------------------------------------------------------
	sch = avro.schema.parse(json.dumps(AVRO_SCHEMA))
	s.add_schema(schema("pa", dims=[("id", "LONG"), ("name", "STRING")],
			    datetimes=[("ts", "LONG", "1:MILLISECONDS:EPOCH", "1:MILLISECONDS")]))
	s.add_table(stream_table_config("pa", "pa", b.boot, "ts", {
		"stream.kafka.decoder.class.name":
			"org.apache.pinot.plugin.inputformat.avro.SimpleAvroMessageDecoder",
		"stream.kafka.decoder.prop.schema": json.dumps(AVRO_SCHEMA)}))
	msgs, good_a, nbad_a = [], [], 0
	for i in range(3000):
		m = avro_bytes(sch, {"id": i, "name": "a%d" % (i % 3), "ts": ts + i})
		if rnd.random() < 0.1:
			cut = rnd.randrange(1, len(m) - 1)
			msgs.append(m[:cut] if nbad_a % 2 == 0 else b"\x02" + m[:cut])
			nbad_a += 1
		else:
			msgs.append(m)
			good_a.append(i)
	send(b, "pa", msgs, parts)
	# -- Debezium -------------------------------------------------------------
	s.add_schema(schema("pd", dims=[("id", "LONG"), ("name", "STRING"), ("__op", "STRING")],
			    datetimes=[("ts", "LONG", "1:MILLISECONDS:EPOCH", "1:MILLISECONDS")]))
	s.add_table(stream_table_config("pd", "pd", b.boot, "ts",
					{"stream.kafka.decoder.prop.envelope": "debezium"}))
	msgs, good_d, nbad_d = [], {}, 0
	for i in range(2000):
		row = {"id": i, "name": "d%d" % i, "ts": ts + i}
		op = "cud"[i % 3]
		if rnd.random() < 0.1:
			kind = nbad_d % 4
			nbad_d += 1
			if kind == 0:
				ev = {"op": "c", "before": None, "ts_ms": ts}
			elif kind == 1:
				ev = {"op": "d", "before": None, "after": None, "ts_ms": ts}
			elif kind == 2:
				ev = {"op": "x", "after": row, "ts_ms": ts}
			else:
				ev = {"before": None, "after": row}
			msgs.append(json.dumps({"payload": ev}).encode())
		else:
			ev = {"op": op, "ts_ms": ts + i, "source": {"table": "orders"},
			      "before": row if op in "ud" else None, "after": row if op in "cu" else None}
			msgs.append(json.dumps(ev).encode() if i % 2 else json.dumps({"schema": {}, "payload": ev}).encode())
			good_d[i] = op
	send(b, "pd", msgs, parts)

	want = [len(good_j), len(good_a), len(good_d), nbad_j, nbad_a, nbad_d]
	seen = []

	def settled():
		seen[:] = [s.count("pj"), s.count("pa"), s.count("pd"),
			   len(dead(s, "pj")), len(dead(s, "pa")), len(dead(s, "pd"))]
		return seen == want
	try:
		wait_until(settled, timeout=90, what="all good rows and dead letters")
	except AssertionError:
		raise AssertionError("rows and dead letters (pj, pa, pd): %r, expected %r; %r" % (
			seen, want, s.rows("SELECT tableName, partition, state, error FROM sys.ingestion")))

	def check():
		assert s.rows("SELECT count(*), count(DISTINCT id), sum(id) FROM pj") == \
			[[len(good_j), len(good_j), sum(good_j)]]
		assert s.rows("SELECT count(*), count(DISTINCT id), sum(id) FROM pa") == \
			[[len(good_a), len(good_a), sum(good_a)]]
		assert s.rows("SELECT __op, count(*) FROM pd GROUP BY __op ORDER BY __op") == \
			[[op, sum(1 for v in good_d.values() if v == op)] for op in "cdu"]
		for t, n in (("pj", nbad_j), ("pa", nbad_a), ("pd", nbad_d)):
			d = dead(s, t)
			assert len(d) == n and len({(r[0], r[1]) for r in d}) == n, (t, d[:5])
			assert all(r[0].startswith("kafka:%s/" % t) and r[3] for r in d), d[:5]
		errs = " | ".join(r[3] for r in dead(s, "pj"))
		for needle in ("invalid JSON", "'id'", "UTF-8", "larger than maxMessageBytes", "empty"):
			assert needle in errs, (needle, errs[:2000])
		assert any("column" in r[3] or r[2] == "id" for r in dead(s, "pj"))
		derrs = " | ".join(r[3] for r in dead(s, "pd"))
		assert "after" in derrs and "op" in derrs, derrs
		ing = s.rows("SELECT tableName, sum(deadLetters), sum(offsetLag) FROM sys.ingestion "
			     "GROUP BY tableName ORDER BY tableName")
		return ing
	ing = check()
	assert [r[0] for r in ing] == ["pa", "pd", "pj"]
	# a crash: the partitions' logs survive, nothing is recorded twice
	s.kill9()
	s.start()
	time.sleep(1.5)
	check()
	# and a clean restart after the consuming segments were sealed
	assert s.post("/tables/pj/forceCommit").status_code == 200
	s.restart()
	time.sleep(1.0)
	check()


def _example(name):
	d = EXAMPLES / "pinot-tools-examples" / "stream" / name
	sch = json.loads((d / ("%s_schema.json" % name)).read_text())
	cfg = json.loads((d / ("%s_realtime_table_config.json" % name)).read_text())
	return d, sch, cfg


def _point_at(cfg, boot):
	"""The shipped config with only the broker address changed."""
	for m in cfg.get("ingestionConfig", {}).get("streamIngestionConfig", {}).get("streamConfigMaps", []):
		m["stream.kafka.broker.list"] = boot
	sc = cfg.get("tableIndexConfig", {}).get("streamConfigs")
	if sc:
		sc["stream.kafka.broker.list"] = boot
	return cfg


def test_airline_stats_stream_example(make_server, devbroker):
	d, sch, cfg = _example("airlineStats")
	rows = []
	with open(d / "rawdata" / "airlineStats_data.avro", "rb") as f:
		for rec in avro.datafile.DataFileReader(f, avro.io.DatumReader()):
			rows.append(rec)
	topic = cfg["ingestionConfig"]["streamIngestionConfig"]["streamConfigMaps"][0]["stream.kafka.topic.name"]
	# 15 MB of JSON: spread so no partition passes the dev broker's ~5 MiB
	b = devbroker((topic, 8))
	send(b, topic, [json.dumps(r).encode() for r in rows], 8)
	s = make_server()
	s.add_schema(sch)
	s.add_table(_point_at(cfg, b.boot))
	wait_until(lambda: s.count("airlineStats") == len(rows), timeout=120, what="%d flights" % len(rows))
	days = sorted({r["DaysSinceEpoch"] for r in rows})
	got = s.rows("SELECT DaysSinceEpoch, min(ts), max(tsRaw), count(*) FROM airlineStats "
		     "GROUP BY DaysSinceEpoch ORDER BY DaysSinceEpoch")
	assert [g[0] for g in got] == days
	for day, ts_min, raw_max, n in got:
		assert ts_min == raw_max or isinstance(ts_min, str)
		assert n == sum(1 for r in rows if r["DaysSinceEpoch"] == day)
	assert s.scalar("SELECT count(*) FROM airlineStats WHERE ts = fromEpochDays(DaysSinceEpoch)") == len(rows)
	assert s.scalar("SELECT count(*) FROM sys.dead_letters WHERE table_name = 'airlineStats'") == 0


def test_github_events_stream_example(make_server, devbroker):
	d, sch, cfg = _example("githubEvents")
	lines = [l for l in (d / "rawdata" / "2021-07-21-few-hours.json").read_bytes().splitlines() if l.strip()]
	topic = cfg["ingestionConfig"]["streamIngestionConfig"]["streamConfigMaps"][0]["stream.kafka.topic.name"]
	b = devbroker((topic, 2))
	send(b, topic, lines, 2)
	s = make_server()
	s.add_schema(sch)
	s.add_table(_point_at(cfg, b.boot))
	wait_until(lambda: s.count("githubEvents") + s.scalar(
		"SELECT count(*) FROM sys.dead_letters WHERE table_name = 'githubEvents'") == len(lines),
		timeout=60, what="800 events")
	deadl = s.rows("SELECT error FROM sys.dead_letters WHERE table_name = 'githubEvents' LIMIT 3")
	assert deadl == [], deadl
	want = {}
	for l in lines:
		e = json.loads(l)
		t = time.strptime(e["created_at"], "%Y-%m-%dT%H:%M:%SZ")
		want[str(e["id"])] = (int(time.mktime(t) - time.timezone) * 1000)
	got = dict(s.rows("SELECT id, created_at_timestamp FROM githubEvents"))
	assert len(got) == len(want)
	for k, v in want.items():
		g = got[k]
		if isinstance(g, str):		# TIMESTAMP rendered as text
			g = int(time.mktime(time.strptime(g[:19], "%Y-%m-%d %H:%M:%S")) - time.timezone) * 1000
		assert g == v, (k, got[k], v)
