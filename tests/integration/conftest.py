"""Shared fixtures for Waybill's integration tests.

The tests drive the real binary ($WAYBILL, default build-test/waybill) as a
black box over HTTP.  A `Server` is one `waybill serve` process on free
loopback ports with its own data directory; its stdout+stderr go to a log
file that is attached to the report of any failing test, and scanned for
sanitizer reports when the process stops.  Every wait is bounded; every
process started here is stopped (SIGTERM, then SIGKILL) at teardown.

Environment:
  WAYBILL    path of the binary under test (ASan build under `make test`)
  WB_SHARED  the shared/ folder holding pinot-examples (default ../shared)
  WB_LONG=1  long mode: more cycles / bigger inputs
"""
import json
import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("WB_SHARED") or (REPO.parent / "shared"))
EXAMPLES = SHARED / "pinot-examples"
LONG = os.environ.get("WB_LONG") == "1"

SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
		     "runtime error:", "ERROR: UndefinedBehaviorSanitizer")

_LIVE = []		# Servers started and not yet stopped (for failure reports)


def waybill_bin():
	b = os.environ.get("WAYBILL") or str(REPO / "build-test" / "waybill")
	if not os.path.exists(b):
		pytest.exit("waybill binary not found: %s (set WAYBILL)" % b, 2)
	return b


def is_asan(binary):
	"""True when the binary was built with AddressSanitizer."""
	try:
		with open(binary, "rb") as f:
			return b"__asan_init" in f.read()
	except OSError:
		return False


def free_port():
	s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
	s.bind(("127.0.0.1", 0))
	p = s.getsockname()[1]
	s.close()
	return p


def log_tail(path, n=12000):
	try:
		with open(path, "rb") as f:
			data = f.read()
	except OSError:
		return "(no log)"
	return data[-n:].decode("utf-8", "replace")


class WaybillError(AssertionError):
	pass


class Server:
	"""One `waybill serve` process.  restart() keeps the data directory."""

	def __init__(self, binary, data_dir, log_path, env=None, args=()):
		self.binary = binary
		self.args = list(args)	# extra `waybill serve` options
		self.data_dir = str(data_dir)
		self.log_path = str(log_path)
		self.env = env
		self.proc = None
		self.http_port = None
		self.pg_port = None
		self.starts = 0
		self.session = requests.Session()

	# -- process control ------------------------------------------------
	@property
	def url(self):
		return "http://127.0.0.1:%d" % self.http_port

	@property
	def pid(self):
		return self.proc.pid

	def start(self, timeout=90):
		last = None
		for _attempt in range(3):	# a picked port may be taken meanwhile
			self.http_port = free_port()
			self.pg_port = free_port()
			while self.pg_port == self.http_port:
				self.pg_port = free_port()
			logf = open(self.log_path, "ab")
			self.starts += 1
			logf.write(("\n===== start #%d: http %d pg %d =====\n" % (
				self.starts, self.http_port, self.pg_port)).encode())
			logf.flush()
			env = dict(os.environ)
			env.setdefault("ASAN_OPTIONS", "abort_on_error=0:detect_leaks=1")
			if self.env:
				env.update(self.env)
			self.proc = subprocess.Popen(
				[self.binary, "serve", "--data-dir", self.data_dir,
				 "--http", "127.0.0.1:%d" % self.http_port,
				 "--pg", "127.0.0.1:%d" % self.pg_port] + self.args,
				stdin=subprocess.DEVNULL, stdout=logf, stderr=logf,
				env=env, start_new_session=True)
			logf.close()
			if self not in _LIVE:
				_LIVE.append(self)
			try:
				self.wait_ready(timeout)
				return self
			except WaybillError as e:
				last = e
				if self.proc.poll() is None:
					raise
				# exited early: maybe a port clash; try new ports
		raise last

	def wait_ready(self, timeout=90):
		deadline = time.monotonic() + timeout
		while time.monotonic() < deadline:
			if self.proc.poll() is not None:
				raise WaybillError("waybill exited with %s before ready:\n%s"
						   % (self.proc.returncode, log_tail(self.log_path)))
			try:
				r = requests.get(self.url + "/health", timeout=2)
				if r.status_code == 200 and r.text.startswith("OK"):
					return
			except requests.RequestException:
				pass
			time.sleep(0.05)
		raise WaybillError("waybill not ready after %ss:\n%s"
				   % (timeout, log_tail(self.log_path)))

	def alive(self):
		return self.proc is not None and self.proc.poll() is None

	def stop(self, sig=signal.SIGTERM, timeout=60):
		"""Stops the process; returns its exit code (SIGKILL after timeout,
		in which case WaybillError is raised)."""
		if self.proc is None:
			return None
		if self.proc.poll() is None:
			try:
				self.proc.send_signal(sig)
			except ProcessLookupError:
				pass
			try:
				self.proc.wait(timeout=timeout)
			except subprocess.TimeoutExpired:
				self.proc.kill()
				self.proc.wait(timeout=30)
				self._forget()
				raise WaybillError("waybill did not exit %ss after signal %s"
						   % (timeout, sig))
		rc = self.proc.returncode
		self._forget()
		return rc

	def kill9(self):
		if self.proc is not None and self.proc.poll() is None:
			os.kill(self.proc.pid, signal.SIGKILL)
			self.proc.wait(timeout=30)
		self._forget()

	def _forget(self):
		if self in _LIVE:
			_LIVE.remove(self)

	def clean_stop(self):
		"""SIGTERM; asserts exit code 0 and no sanitizer report."""
		rc = self.stop(signal.SIGTERM)
		self.check_log()
		assert rc == 0, "waybill exited %s on SIGTERM:\n%s" % (rc, log_tail(self.log_path))

	def restart(self, kill=False):
		if kill:
			self.kill9()
		else:
			self.clean_stop()
		return self.start()

	def check_log(self):
		text = log_tail(self.log_path, 10 ** 9)
		for m in SANITIZER_MARKERS:
			if m in text:
				raise WaybillError("sanitizer report in server log:\n%s"
						   % log_tail(self.log_path))

	def rss_kb(self):
		with open("/proc/%d/status" % self.proc.pid) as f:
			for line in f:
				if line.startswith("VmRSS:"):
					return int(line.split()[1])
		return 0

	def cpu_seconds(self):
		with open("/proc/%d/stat" % self.proc.pid) as f:
			fields = f.read().rsplit(")", 1)[1].split()
		tck = os.sysconf("SC_CLK_TCK")
		return (int(fields[11]) + int(fields[12])) / tck

	# -- HTTP helpers ---------------------------------------------------
	def get(self, path, **kw):
		kw.setdefault("timeout", 60)
		return self.session.get(self.url + path, **kw)

	def post(self, path, **kw):
		kw.setdefault("timeout", 60)
		return self.session.post(self.url + path, **kw)

	def put(self, path, **kw):
		kw.setdefault("timeout", 60)
		return self.session.put(self.url + path, **kw)

	def delete(self, path, **kw):
		kw.setdefault("timeout", 60)
		return self.session.delete(self.url + path, **kw)

	def add_schema(self, schema, override=False):
		body = schema if isinstance(schema, (bytes, str)) else json.dumps(schema)
		r = self.post("/schemas" + ("?override=true" if override else ""), data=body,
			      headers={"Content-Type": "application/json"})
		assert r.status_code == 200, "POST /schemas: %d %s" % (r.status_code, r.text)
		return r.json()

	def add_table(self, config):
		body = config if isinstance(config, (bytes, str)) else json.dumps(config)
		r = self.post("/tables", data=body, headers={"Content-Type": "application/json"})
		assert r.status_code == 200, "POST /tables: %d %s" % (r.status_code, r.text)
		return r.json()

	def create(self, schema, table_type="REALTIME", extra=None):
		"""Adds `schema` and a minimal table config of the same name."""
		self.add_schema(schema)
		cfg = simple_table_config(schema["schemaName"], table_type)
		if extra:
			cfg.update(extra)
		return self.add_table(cfg)

	def ingest(self, table, body, fmt=None, content_type=None, timeout=300, expect=200):
		path = "/tables/%s/ingest" % table
		if fmt:
			path += "?format=" + fmt
		headers = {}
		if content_type:
			headers["Content-Type"] = content_type
		r = self.post(path, data=body, headers=headers, timeout=timeout)
		assert r.status_code == expect, "ingest %s: %d %s" % (table, r.status_code, r.text[:2000])
		return r.json() if expect == 200 else r

	def query(self, sql, options=None, timeout=120):
		"""POST /query/sql; returns the broker response (HTTP 200 asserted)."""
		body = {"sql": sql}
		if options:
			body["queryOptions"] = options
		r = self.post("/query/sql", json=body, timeout=timeout)
		assert r.status_code == 200, "query %r: HTTP %d %s" % (sql, r.status_code, r.text[:2000])
		return r.json()

	def rows(self, sql, options=None):
		"""Rows of a query that must succeed."""
		resp = self.query(sql, options)
		assert not resp.get("exceptions"), "query %r failed: %s" % (sql, resp.get("exceptions"))
		return resp["resultTable"]["rows"]

	def scalar(self, sql):
		rows = self.rows(sql)
		assert len(rows) == 1 and len(rows[0]) == 1, "query %r: %r" % (sql, rows)
		return rows[0][0]

	def count(self, table, where=""):
		return self.scalar("SELECT count(*) FROM %s %s" % (table, where))


def simple_table_config(name, table_type="REALTIME"):
	return {
		"tableName": name,
		"tableType": table_type,
		"segmentsConfig": {"schemaName": name, "replication": "1"},
		"tenants": {},
		"tableIndexConfig": {"loadMode": "MMAP"},
		"metadata": {},
	}


def schema(name, dims=(), metrics=(), datetimes=()):
	"""Builds a Pinot schema. dims/metrics: (name, type[, single_value]);
	datetimes: (name, type, format, granularity)."""
	def spec(t):
		d = {"name": t[0], "dataType": t[1]}
		if len(t) > 2 and not t[2]:
			d["singleValueField"] = False
		return d
	s = {"schemaName": name,
	     "dimensionFieldSpecs": [spec(t) for t in dims],
	     "metricFieldSpecs": [spec(t) for t in metrics]}
	if datetimes:
		s["dateTimeFieldSpecs"] = [{"name": n, "dataType": t, "format": f, "granularity": g}
					   for (n, t, f, g) in datetimes]
	return s


def ndjson(rows):
	return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8")


# -- pytest plumbing ---------------------------------------------------------

@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
	outcome = yield
	rep = outcome.get_result()
	if rep.failed:
		for s in list(_LIVE):
			rep.sections.append(("waybill log %s (pid %s)" % (s.log_path, s.proc.pid if s.proc else "-"),
					     log_tail(s.log_path)))


class ServerFactory:
	def __init__(self, tmp_path_factory, binary):
		self.tmp = tmp_path_factory
		self.binary = binary
		self.servers = []

	def __call__(self, data_dir=None, start=True, binary=None, env=None, args=()):
		d = self.tmp.mktemp("wb")
		data = Path(data_dir) if data_dir else d / "data"
		s = Server(binary or self.binary, data, d / "server.log", env=env, args=args)
		self.servers.append(s)
		if start:
			s.start()
		return s

	def close(self):
		errors = []
		for s in self.servers:
			if s.alive():
				try:
					s.clean_stop()
				except Exception as e:		# report, but stop the others
					errors.append(str(e))
					s.kill9()
			else:
				try:
					s.check_log()
				except Exception as e:
					errors.append(str(e))
		if errors:
			raise WaybillError("\n".join(errors))


@pytest.fixture(scope="session")
def binary():
	return waybill_bin()


@pytest.fixture
def make_server(tmp_path_factory, binary):
	f = ServerFactory(tmp_path_factory, binary)
	try:
		yield f
	finally:
		f.close()


@pytest.fixture(scope="module")
def module_server_factory(tmp_path_factory, binary):
	f = ServerFactory(tmp_path_factory, binary)
	try:
		yield f
	finally:
		f.close()


@pytest.fixture(scope="module")
def server(module_server_factory):
	"""One server shared by the tests of a module."""
	return module_server_factory()


def pytest_configure(config):
	def on_term(signum, frame):		# e.g. `timeout` ending the run
		for s in list(_LIVE):
			try:
				s.kill9()
			except Exception:
				pass
		raise KeyboardInterrupt()
	signal.signal(signal.SIGTERM, on_term)


def pytest_sessionfinish(session, exitstatus):
	for s in list(_LIVE):		# never leave a process behind
		try:
			s.kill9()
		except Exception:
			pass


def error_text(resp):
	"""The error message of a 4xx controller answer."""
	try:
		j = resp.json()
	except ValueError:
		return resp.text
	if isinstance(j, dict):
		return str(j.get("error", "")) + " " + json.dumps(j)
	return resp.text


def last_int(s):
	m = re.findall(r"\d+", str(s))
	return int(m[-1]) if m else None


# -- Kafka: `waybill devbroker` and stream-fed tables --------------------------

class DevBroker:
	"""One `waybill devbroker` process (librdkafka's mock cluster)."""

	def __init__(self, binary, workdir, topics):
		self.boot_file = Path(workdir) / "bootstrap"
		self.log_path = Path(workdir) / "devbroker.log"
		args = []
		for name, parts in topics:
			args += ["--topic", "%s:%d" % (name, parts)]
		env = dict(os.environ)
		env.setdefault("ASAN_OPTIONS", "abort_on_error=0:detect_leaks=1")
		with open(self.log_path, "wb") as logf:
			self.proc = subprocess.Popen(
				[binary, "devbroker", "--bootstrap-file", str(self.boot_file)] + args,
				stdin=subprocess.DEVNULL, stdout=logf, stderr=logf, env=env,
				start_new_session=True)
		deadline = time.monotonic() + 30
		while not self.boot_file.exists():
			if self.proc.poll() is not None or time.monotonic() > deadline:
				raise WaybillError("devbroker did not start:\n%s" % log_tail(self.log_path))
			time.sleep(0.05)
		self.boot = self.boot_file.read_text().strip()

	def producer(self, **conf):
		import confluent_kafka
		c = {"bootstrap.servers": self.boot, "linger.ms": 5}
		c.update(conf)
		return confluent_kafka.Producer(c)

	def stop(self):
		if self.proc.poll() is None:
			self.proc.send_signal(signal.SIGTERM)
			try:
				self.proc.wait(timeout=20)
			except subprocess.TimeoutExpired:
				self.proc.kill()
				self.proc.wait(timeout=20)


@pytest.fixture
def devbroker(binary, tmp_path):
	"""devbroker(("topic", partitions), ...) starts a broker for the test."""
	started = []

	def start(*topics):
		d = tmp_path / ("broker%d" % len(started))
		d.mkdir()
		b = DevBroker(binary, d, topics)
		started.append(b)
		return b
	yield start
	for b in started:
		b.stop()


def stream_table_config(name, topic, boot, time_column=None, props=None, where="indexConfig"):
	"""A REALTIME table config consuming `topic` from the broker `boot`.
	props: more stream settings; where: "indexConfig" puts them in
	tableIndexConfig.streamConfigs, "maps" in ingestionConfig's
	streamConfigMaps[0] (Pinot accepts both)."""
	sc = {
		"streamType": "kafka",
		"stream.kafka.topic.name": topic,
		"stream.kafka.broker.list": boot,
		"stream.kafka.decoder.class.name":
			"org.apache.pinot.plugin.stream.kafka.KafkaJSONMessageDecoder",
		"stream.kafka.consumer.factory.class.name":
			"org.apache.pinot.plugin.stream.kafka30.KafkaConsumerFactory",
		"stream.kafka.consumer.prop.auto.offset.reset": "smallest",
	}
	sc.update(props or {})
	cfg = simple_table_config(name)
	if time_column:
		cfg["segmentsConfig"]["timeColumnName"] = time_column
	if where == "maps":
		cfg["ingestionConfig"] = {"streamIngestionConfig": {"streamConfigMaps": [sc]}}
	else:
		cfg["tableIndexConfig"]["streamConfigs"] = sc
	return cfg


def wait_until(fn, timeout=60, interval=0.1, what="condition"):
	"""Polls fn() until it returns a true value; returns it (bounded)."""
	deadline = time.monotonic() + timeout
	last = None
	while time.monotonic() < deadline:
		last = fn()
		if last:
			return last
		time.sleep(interval)
	raise AssertionError("%s not reached in %ss (last: %r)" % (what, timeout, last))
