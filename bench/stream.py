#!/usr/bin/python3
"""Kafka ingestion benchmark: throughput and freshness, with the dev
broker's own ceiling and ClickHouse loading the same events beside them.

  throughput  ~200-byte JSON events (bench/e2e.py's EVENT) are produced to
	      a topic of P partitions of `waybill devbroker`; then a table
	      consuming it is created and the time until count(*) shows every
	      event is measured, with the server's CPU seconds (utime+stime of
	      /proc/PID/stat).  The dev broker keeps about 5 MiB a partition,
	      so the topic is filled and drained in rounds, and the figures
	      sum the rounds.  "Per core" = events / server CPU seconds: the
	      broker and the load generator share this machine's cores and are
	      not charged to the server.
  ceiling     kcat (librdkafka's C client) reads the same retained events
	      to /dev/null: what the dev broker can hand out at all.
  clickhouse  the same events as NDJSON, INSERT ... FORMAT JSONEachRow over
	      HTTP into a MergeTree table (ClickHouse 18.16 has no way to
	      consume this broker without a consumer group; its Kafka engine
	      is not part of the run): rows/s and rows per CPU second.
  freshness   a producer sends events at --rate per second for
	      --fresh-seconds; each event carries its produce time (the Kafka
	      message timestamp).  Waybill records, per batch made visible,
	      now - the oldest message's timestamp; the report gives the p50
	      and p99 over batches (sys.ingestion keeps the last 1,024 per
	      partition; sampled every 100 ms here) and the produced rate
	      actually reached.

Usage: bench/stream.py --waybill build/waybill [--partitions 8]
		       [--rounds 4] [--rate 100000] [--fresh-seconds 10]
		       [--no-clickhouse]
Prints a table and writes build/bench-stream.json.  No pass/fail by time.
"""
import argparse
import json
import multiprocessing as mp
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import e2e  # noqa: E402

PER_PART = 20000		# ~4.2 MB of events: under the dev broker's ~5 MiB


def start_broker(binary, tmp, topics):
	boot = os.path.join(tmp, "bootstrap")
	args = [binary, "devbroker", "--bootstrap-file", boot]
	for t, p in topics:
		args += ["--topic", "%s:%d" % (t, p)]
	log = open(os.path.join(tmp, "broker.log"), "wb")
	proc = subprocess.Popen(args, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
	t = time.monotonic() + 30
	while not os.path.exists(boot):
		if proc.poll() is not None or time.monotonic() > t:
			raise RuntimeError("devbroker did not start")
		time.sleep(0.05)
	return proc, open(boot).read().strip()


def fill(boot, topic, parts, lo, per_part):
	"""Produces per_part events into each partition, ids from lo."""
	import confluent_kafka
	p = confluent_kafka.Producer({"bootstrap.servers": boot, "linger.ms": 20,
				      "batch.num.messages": 10000, "queue.buffering.max.messages": 1000000})
	body = e2e.event_body(lo, per_part * parts).split(b"\n")
	for i, line in enumerate(body[:per_part * parts]):
		while True:
			try:
				p.produce(topic, line, partition=i % parts)
				break
			except BufferError:
				p.poll(0.01)
	if p.flush(120) != 0:
		raise RuntimeError("producer could not deliver")
	return per_part * parts


def _rate_producer(boot, topic, parts, rate, seconds, out):
	import confluent_kafka
	p = confluent_kafka.Producer({"bootstrap.servers": boot, "linger.ms": 1,
				      "batch.num.messages": 10000, "queue.buffering.max.messages": 2000000})
	lines = e2e.event_body(0, 20000).split(b"\n")[:20000]
	sent = 0
	t0 = time.monotonic()
	step = max(1, rate // 1000)		# one burst a millisecond
	while True:
		now = time.monotonic() - t0
		if now >= seconds:
			break
		due = int(now * rate)
		while sent < due:
			for _ in range(min(step, due - sent)):
				try:
					p.produce(topic, lines[sent % 20000], partition=sent % parts)
				except BufferError:
					p.poll(0.001)
					continue
				sent += 1
			p.poll(0)
		time.sleep(0.0005)
	p.flush(60)
	out.put((sent, time.monotonic() - t0))


def stream_config(name, topic, boot):
	return {"tableName": name, "tableType": "REALTIME",
		"segmentsConfig": {"schemaName": name, "timeColumnName": "ts", "replication": "1"},
		"tenants": {}, "metadata": {},
		"tableIndexConfig": {"loadMode": "MMAP", "streamConfigs": {
			"streamType": "kafka", "stream.kafka.topic.name": topic,
			"stream.kafka.broker.list": boot,
			"stream.kafka.decoder.class.name":
				"org.apache.pinot.plugin.stream.kafka.KafkaJSONMessageDecoder",
			"stream.kafka.consumer.prop.auto.offset.reset": "smallest",
			"realtime.segment.flush.threshold.rows": "500000"}}}


def schema(name):
	return {"schemaName": name,
		"dimensionFieldSpecs": [{"name": n, "dataType": t} for n, t in e2e.EV_DIMS],
		"metricFieldSpecs": [{"name": n, "dataType": t} for n, t in e2e.EV_METRICS],
		"dateTimeFieldSpecs": [{"name": "ts", "dataType": "LONG",
					"format": "1:MILLISECONDS:EPOCH", "granularity": "1:MILLISECONDS"}]}


def create(wb, name, topic, boot):
	for path, body in (("/schemas", schema(name)), ("/tables", stream_config(name, topic, boot))):
		st, txt = e2e.http_post(wb.port, path, json.dumps(body))
		if st != 200:
			raise RuntimeError("%s: %d %s" % (path, st, txt))


def wait_count(wb, table, n, timeout=600):
	t = time.monotonic() + timeout
	while time.monotonic() < t:
		if wb.count(table) >= n:
			return
		time.sleep(0.002)
	raise RuntimeError("%s: %d rows not reached" % (table, n))


def bench_throughput(wb, boot, parts, rounds):
	total, wall, cpu = 0, 0.0, 0.0
	created = False
	for r in range(rounds):
		n = fill(boot, "tput", parts, total, PER_PART)
		c0 = e2e.cpu_seconds(wb.proc.pid)
		t0 = time.perf_counter()
		if not created:
			create(wb, "tput", "tput", boot)
			created = True
		wait_count(wb, "tput", total + n)
		wall += time.perf_counter() - t0
		cpu += e2e.cpu_seconds(wb.proc.pid) - c0
		total += n
	return {"events": total, "wall_s": wall, "cpu_s": cpu,
		"events_per_s": total / wall, "events_per_cpu_s": total / cpu if cpu else None}


def bench_kcat(boot, parts):
	kcat = shutil.which("kcat") or shutil.which("kafkacat")
	if not kcat:
		return None
	import resource
	n = parts * PER_PART
	r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
	t0 = time.perf_counter()
	p = subprocess.Popen([kcat, "-C", "-b", boot, "-t", "tput", "-o", "beginning", "-e", "-q"],
			     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
	p.wait()
	lines = n		# every retained message (what the table consumed)
	wall = time.perf_counter() - t0
	r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
	cpu = r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime
	return {"events": lines, "expected": n, "wall_s": wall, "events_per_s": lines / wall,
		"kcat_cpu_s": cpu, "events_per_cpu_s": lines / cpu if cpu else None}


def bench_clickhouse(tmp, events):
	ch = e2e.ClickHouse(tmp)
	try:
		ch.create("tput", e2e.EV_DIMS, e2e.EV_METRICS)
		body = e2e.event_body(0, events)
		c0 = e2e.cpu_seconds(ch.proc.pid)
		t0 = time.perf_counter()
		step = len(body) // 8
		cuts = [0]
		for k in range(1, 8):
			cuts.append(body.index(b"\n", k * step) + 1)
		cuts.append(len(body))
		for a, b in zip(cuts, cuts[1:]):
			st, txt = e2e.http_post(ch.port, ch.ingest_path("tput"), body[a:b])
			if st != 200:
				raise RuntimeError("clickhouse insert: %s" % txt[:300])
		while ch.count("tput") < events:
			time.sleep(0.01)
		wall = time.perf_counter() - t0
		cpu = e2e.cpu_seconds(ch.proc.pid) - c0
		return {"events": events, "wall_s": wall, "cpu_s": cpu, "events_per_s": events / wall,
			"events_per_cpu_s": events / cpu if cpu else None}
	finally:
		ch.stop()


def bench_freshness(wb, boot, rate, seconds, parts=2):
	create(wb, "fresh", "fresh", boot)
	time.sleep(1.0)
	q = mp.Queue()
	prod = mp.Process(target=_rate_producer, args=(boot, "fresh", parts, rate, seconds, q))
	c0 = e2e.cpu_seconds(wb.proc.pid)
	prod.start()
	samples, warm = [], []
	t0 = time.monotonic()
	t_end = t0 + seconds
	while time.monotonic() < t_end:
		rows = wb.query("SELECT partition, freshnessMs FROM sys.ingestion WHERE tableName = 'fresh'")
		# the first second (producer and consumers warming up) apart
		(warm if time.monotonic() - t0 < 1.0 else samples).extend(
			r[1] for r in rows if r[1] is not None)
		time.sleep(0.1)
	prod.join(120)
	sent, took = q.get(timeout=10)
	wait_count(wb, "fresh", sent, timeout=120)
	cpu = e2e.cpu_seconds(wb.proc.pid) - c0
	p99s = wb.query("SELECT max(freshnessP99Ms) FROM sys.ingestion WHERE tableName = 'fresh'")[0][0]
	samples.sort()
	pick = (lambda f: samples[min(len(samples) - 1, int(f * len(samples)))]) if samples else (lambda f: None)
	return {"target_rate": rate, "produced": sent, "produced_rate": sent / took,
		"freshness_p50_ms": pick(0.50), "freshness_p99_ms": pick(0.99),
		"freshness_max_ms": samples[-1] if samples else None,
		"freshness_first_second_max_ms": max(warm) if warm else None,
		"freshness_p99_last1024_batches_ms": p99s, "samples": len(samples), "server_cpu_s": cpu}


def main():
	ap = argparse.ArgumentParser()
	ap.add_argument("--waybill", default="build/waybill")
	ap.add_argument("--partitions", type=int, default=8)
	ap.add_argument("--rounds", type=int, default=4)
	ap.add_argument("--rate", type=int, default=100000)
	ap.add_argument("--fresh-seconds", type=float, default=10)
	ap.add_argument("--no-clickhouse", action="store_true")
	a = ap.parse_args()
	tmp = tempfile.mkdtemp(prefix="wb-stream-")
	res = {}
	broker, boot = start_broker(a.waybill, tmp, [("tput", a.partitions), ("fresh", 2)])
	wb = e2e.Waybill(a.waybill, tmp)
	try:
		res["waybill_kafka"] = bench_throughput(wb, boot, a.partitions, a.rounds)
		res["devbroker_kcat"] = bench_kcat(boot, a.partitions)
		res["freshness"] = bench_freshness(wb, boot, a.rate, a.fresh_seconds)
	finally:
		wb.stop()
		broker.send_signal(signal.SIGTERM)
		broker.wait(30)
	if not a.no_clickhouse:
		res["clickhouse_http"] = bench_clickhouse(tmp, res["waybill_kafka"]["events"])
	shutil.rmtree(tmp, ignore_errors=True)
	os.makedirs("build", exist_ok=True)
	with open("build/bench-stream.json", "w") as f:
		json.dump(res, f, indent=1)
	report(res)


def report(res):
	w = res["waybill_kafka"]
	print("Kafka ingestion, %d events of ~200 bytes JSON" % w["events"])
	print("  %-34s %12s %14s" % ("", "events/s", "events/CPU-s"))
	print("  %-34s %12.0f %14.0f" % ("waybill (Kafka -> queryable)", w["events_per_s"],
					 w["events_per_cpu_s"] or 0))
	k = res.get("devbroker_kcat")
	if k:
		print("  %-34s %12.0f %14.0f" % ("dev broker ceiling (kcat reads)", k["events_per_s"],
						 k["events_per_cpu_s"] or 0))
	c = res.get("clickhouse_http")
	if c:
		print("  %-34s %12.0f %14.0f" % ("clickhouse (HTTP JSONEachRow)", c["events_per_s"],
						 c["events_per_cpu_s"] or 0))
		print("  waybill / clickhouse per CPU-second: %.2fx" % (
			(w["events_per_cpu_s"] or 0) / (c["events_per_cpu_s"] or 1)))
	f = res["freshness"]
	print("Freshness at %d events/s target (%.0f produced/s): p50 %s ms, p99 %s ms, max %s ms over %d "
	      "samples after the first second (first second max %s ms); p99 of the last 1,024 batches %s ms"
	      % (f["target_rate"], f["produced_rate"], f["freshness_p50_ms"], f["freshness_p99_ms"],
		 f["freshness_max_ms"], f["samples"], f["freshness_first_second_max_ms"],
		 f["freshness_p99_last1024_batches_ms"]))


if __name__ == "__main__":
	main()
