"""`waybill devbroker`: an in-memory Kafka cluster (librdkafka's mock).

A real Kafka client (confluent_kafka) produces 1,000 numbered messages to
a 3-partition topic declared with --topic and reads them back with
assign() at explicit offsets (no group join: slow on the mock); every
message must arrive exactly once and in order within its partition.
SIGTERM must end the broker with exit code 0 and no sanitizer report.
Bad arguments are exit code 2 with a message on stderr.
"""
import os
import signal
import subprocess
import time

import pytest

from conftest import SANITIZER_MARKERS, log_tail

confluent_kafka = pytest.importorskip("confluent_kafka")
from confluent_kafka.admin import AdminClient  # noqa: E402

N = 1000
PARTS = 3


class Broker:
	def __init__(self, binary, tmp_path, args):
		self.boot_file = tmp_path / "bootstrap"
		self.log_path = tmp_path / "devbroker.err"
		self.out_path = tmp_path / "devbroker.out"
		env = dict(os.environ)
		env.setdefault("ASAN_OPTIONS", "abort_on_error=0:detect_leaks=1")
		with open(self.log_path, "wb") as err, open(self.out_path, "wb") as out:
			self.proc = subprocess.Popen(
				[binary, "devbroker", "--bootstrap-file", str(self.boot_file)] + list(args),
				stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env,
				start_new_session=True)

	def wait_address(self, timeout=30):
		deadline = time.monotonic() + timeout
		while time.monotonic() < deadline:
			if self.proc.poll() is not None:
				raise AssertionError("devbroker exited with %s:\n%s"
						     % (self.proc.returncode, log_tail(self.log_path)))
			if self.boot_file.exists():
				return self.boot_file.read_text().strip()
			time.sleep(0.05)
		raise AssertionError("no bootstrap file after %ss:\n%s" % (timeout, log_tail(self.log_path)))

	def stop(self, timeout=10):
		if self.proc.poll() is None:
			self.proc.send_signal(signal.SIGTERM)
		try:
			return self.proc.wait(timeout=timeout)
		except subprocess.TimeoutExpired:
			self.proc.kill()
			self.proc.wait(timeout=30)
			raise AssertionError("devbroker did not exit %ss after SIGTERM" % timeout)

	def kill(self):
		if self.proc.poll() is None:
			self.proc.kill()
			self.proc.wait(timeout=30)


@pytest.fixture
def broker(binary, tmp_path):
	started = []

	def start(*args):
		b = Broker(binary, tmp_path, args)
		started.append(b)
		return b
	yield start
	for b in started:
		b.kill()


def consume_all(boot, topic, parts, expect, timeout=60):
	c = confluent_kafka.Consumer({"bootstrap.servers": boot, "group.id": "devbroker-test",
				      "enable.auto.commit": False, "enable.partition.eof": True})
	try:
		c.assign([confluent_kafka.TopicPartition(topic, p, 0) for p in range(parts)])
		got = {p: [] for p in range(parts)}
		eof = set()
		deadline = time.monotonic() + timeout
		while time.monotonic() < deadline:
			if len(eof) == parts and sum(len(v) for v in got.values()) >= expect:
				break
			m = c.poll(0.5)
			if m is None:
				continue
			if m.error():
				if m.error().code() == confluent_kafka.KafkaError._PARTITION_EOF:
					eof.add(m.partition())
					continue
				raise AssertionError("consume error: %s" % m.error())
			eof.discard(m.partition())
			got[m.partition()].append((m.offset(), int(m.value())))
		return got
	finally:
		c.close()


def test_produce_consume_and_sigterm(broker):
	b = broker("--topic", "events:%d" % PARTS)
	boot = b.wait_address()
	assert boot.startswith("127.0.0.1:"), boot
	md = AdminClient({"bootstrap.servers": boot}).list_topics(timeout=10)
	assert len(md.topics["events"].partitions) == PARTS

	p = confluent_kafka.Producer({"bootstrap.servers": boot, "enable.idempotence": True,
				      "linger.ms": 5})
	failed = []

	def on_delivery(err, msg):
		if err is not None:
			failed.append(err)
	for i in range(N):
		p.produce("events", str(i).encode(), partition=i % PARTS, on_delivery=on_delivery)
		p.poll(0)
	assert p.flush(30) == 0, "messages left unsent"
	assert not failed, failed[:5]

	got = consume_all(boot, "events", PARTS, N)
	for part in range(PARTS):
		offsets = [o for o, _ in got[part]]
		values = [v for _, v in got[part]]
		assert offsets == list(range(len(offsets))), "partition %d offsets" % part
		assert values == list(range(part, N, PARTS)), "partition %d: %d messages, first %r" % (
			part, len(values), values[:10])

	# a topic not declared is created on first use
	p.produce("other", b"x")
	assert p.flush(30) == 0

	rc = b.stop()
	err = log_tail(b.log_path)
	for m in SANITIZER_MARKERS:
		assert m not in err, err
	assert rc == 0, "exit %s:\n%s" % (rc, err)
	assert b.out_path.read_text() == boot + "\n", "stdout is the address as one line"
	assert not b.boot_file.exists(), "the bootstrap file is removed on exit"


def test_brokers_and_sigint(broker):
	b = broker("--brokers", "3", "--topic", "a:2", "--topic", "b.c_d-e:1")
	boot = b.wait_address()
	assert len(boot.split(",")) == 3, boot
	md = AdminClient({"bootstrap.servers": boot}).list_topics(timeout=10)
	assert len(md.brokers) == 3
	assert len(md.topics["a"].partitions) == 2
	assert len(md.topics["b.c_d-e"].partitions) == 1
	b.proc.send_signal(signal.SIGINT)
	assert b.stop() == 0, log_tail(b.log_path)


@pytest.mark.parametrize("args,needle", [
	(["--bogus"], "--bogus"),
	(["--brokers"], "--brokers"),
	(["--brokers", "0"], "--brokers"),
	(["--brokers", "x"], "--brokers"),
	(["--brokers", "1000"], "--brokers"),
	(["--topic"], "--topic"),
	(["--topic", "events"], "NAME:PARTITIONS"),
	(["--topic", ":3"], "empty"),
	(["--topic", "ev ents:3"], "not allowed"),
	(["--topic", "events:0"], "partition count"),
	(["--topic", "events:-1"], "partition count"),
	(["--topic", "events:abc"], "partition count"),
	(["--topic", "e:1", "--topic", "e:2"], "twice"),
	(["--bootstrap-file"], "--bootstrap-file"),
	(["stray"], "stray"),
	(["--topics"], "--topics"),
	(["--topics", "a,,b"], "empty"),
	(["--topics", "a,b c"], "not allowed"),
	(["--topics", "a,b,a"], "twice"),
	(["--topics", "a", "--topic", "a:2"], "twice"),
	(["--topics", "a", "--partitions", "0"], "--partitions"),
	(["--topics", "a", "--partitions", "x"], "--partitions"),
	(["--partitions", "3"], "--topics"),
])
def test_bad_arguments(binary, args, needle):
	p = subprocess.run([binary, "devbroker"] + args, stdin=subprocess.DEVNULL,
			   capture_output=True, timeout=30)
	err = p.stderr.decode("utf-8", "replace")
	assert p.returncode == 2, (args, p.returncode, err)
	assert needle in err, (args, err)
	assert p.stdout == b"", "nothing on stdout on bad usage"


def test_topics_and_partitions(broker):
	b = broker("--topics", "x,y.z", "--partitions", "5", "--topics", "w", "--topic", "v:2")
	boot = b.wait_address()
	md = AdminClient({"bootstrap.servers": boot}).list_topics(timeout=10)
	assert len(md.topics["x"].partitions) == 5
	assert len(md.topics["y.z"].partitions) == 5
	assert len(md.topics["w"].partitions) == 5
	assert len(md.topics["v"].partitions) == 2
	assert b.stop() == 0, log_tail(b.log_path)


def test_topics_default_one_partition(broker):
	b = broker("--topics", "solo")
	boot = b.wait_address()
	md = AdminClient({"bootstrap.servers": boot}).list_topics(timeout=10)
	assert len(md.topics["solo"].partitions) == 1
	assert b.stop() == 0, log_tail(b.log_path)


def test_help(binary):
	p = subprocess.run([binary, "devbroker", "--help"], capture_output=True, timeout=30)
	assert p.returncode == 0
	assert b"--topic NAME:PARTITIONS" in p.stdout
	assert b"--topics NAME,..." in p.stdout and b"--partitions N" in p.stdout


def test_unwritable_bootstrap_file(binary, tmp_path):
	p = subprocess.run([binary, "devbroker", "--bootstrap-file", str(tmp_path / "no" / "such" / "f")],
			   stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
	err = p.stderr.decode("utf-8", "replace")
	assert p.returncode == 1, err
	assert "--bootstrap-file" in err, err
	for m in SANITIZER_MARKERS:
		assert m not in err, err
