"""The PostgreSQL wire protocol at the message level, and its security.

test_pgwire_clients.py drives the server with real clients (psql,
psycopg2, libpq, pgbench); this file speaks the protocol byte by byte
where a client library would hide what is checked:

  - extended protocol: named and unnamed statements and portals, Describe
    of a statement (ParameterDescription + RowDescription) and of a portal,
    Execute row limits with PortalSuspended, Close, Flush, errors skipping
    to Sync, parameter values spliced safely (a quote in a parameter stays
    data), error positions mapped back into the client's text, binary
    result formats;
  - simple protocol: several statements in one message, the first error
    stops the rest, the empty query, transaction status bytes and the
    aborted-transaction state (25P02);
  - authentication: users file with SCRAM-SHA-256 (the default), MD5 and
    cleartext, wrong passwords and unknown users (28P01), a server without
    users refusing to start with a password method;
  - TLS: a certificate makes SSLRequest answer 'S' and psql connects with
    sslmode=require; without one the answer is 'N';
  - CancelRequest: the wrong secret cancels nothing, the right one stops a
    long query with 57014 and the connection goes on.
"""
import os
import socket
import struct
import subprocess
import threading
import time

import pytest

PY = "/usr/bin/python3"


# ---- a raw protocol client ---------------------------------------------------

class Raw:
	def __init__(self, port, user="waybill", database="waybill", startup=True):
		self.s = socket.create_connection(("127.0.0.1", port), timeout=30)
		self.buf = b""
		self.params = {}
		if startup:
			self.startup(user, database)

	def send(self, data):
		self.s.sendall(data)

	def msg(self, t, body=b""):
		return t + struct.pack("!I", len(body) + 4) + body

	def startup(self, user, database):
		body = struct.pack("!I", 196608)
		for k, v in (("user", user), ("database", database)):
			body += k.encode() + b"\0" + v.encode() + b"\0"
		body += b"\0"
		self.send(struct.pack("!I", len(body) + 4) + body)
		msgs = self.until(b"Z")
		for t, b in msgs:
			if t == b"S":
				k, v, _ = b.split(b"\0")
				self.params[k.decode()] = v.decode()
			if t == b"K":
				self.pid, self.secret = struct.unpack("!ii", b)
			assert t != b"E", b

	def read(self):
		while True:
			if len(self.buf) >= 5:
				t = self.buf[:1]
				n = struct.unpack("!I", self.buf[1:5])[0]
				if len(self.buf) >= 1 + n:
					body = self.buf[5:1 + n]
					self.buf = self.buf[1 + n:]
					return t, body
			d = self.s.recv(65536)
			if not d:
				return None, None
			self.buf += d

	def until(self, stop=b"Z"):
		out = []
		while True:
			t, b = self.read()
			if t is None:
				return out
			out.append((t, b))
			if t == stop:
				return out

	def close(self):
		try:
			self.send(self.msg(b"X"))
		except OSError:
			pass
		self.s.close()

	# message builders
	def parse(self, name, sql, types=()):
		return self.msg(b"P", name.encode() + b"\0" + sql.encode() + b"\0" +
				struct.pack("!h", len(types)) + b"".join(struct.pack("!i", t) for t in types))

	def bind(self, portal, stmt, params=(), pfmts=(), rfmts=()):
		b = portal.encode() + b"\0" + stmt.encode() + b"\0"
		b += struct.pack("!h", len(pfmts)) + b"".join(struct.pack("!h", f) for f in pfmts)
		b += struct.pack("!h", len(params))
		for p in params:
			if p is None:
				b += struct.pack("!i", -1)
			else:
				p = p if isinstance(p, bytes) else str(p).encode()
				b += struct.pack("!i", len(p)) + p
		b += struct.pack("!h", len(rfmts)) + b"".join(struct.pack("!h", f) for f in rfmts)
		return self.msg(b"B", b)

	def describe(self, kind, name):
		return self.msg(b"D", kind + name.encode() + b"\0")

	def execute(self, portal, maxrows=0):
		return self.msg(b"E", portal.encode() + b"\0" + struct.pack("!i", maxrows))

	def close_msg(self, kind, name):
		return self.msg(b"C", kind + name.encode() + b"\0")

	def sync(self):
		return self.msg(b"S")

	def query(self, sql):
		self.send(self.msg(b"Q", sql.encode() + b"\0"))
		return self.until(b"Z")


def fields(body):
	"""ErrorResponse fields as a dict."""
	out = {}
	for part in body.split(b"\0"):
		if part:
			out[chr(part[0])] = part[1:].decode()
	return out


def datarow(body):
	n = struct.unpack("!h", body[:2])[0]
	off = 2
	vals = []
	for _ in range(n):
		ln = struct.unpack("!i", body[off:off + 4])[0]
		off += 4
		if ln < 0:
			vals.append(None)
		else:
			vals.append(body[off:off + ln])
			off += ln
	return vals


def rowdesc(body):
	n = struct.unpack("!h", body[:2])[0]
	off = 2
	cols = []
	for _ in range(n):
		end = body.index(b"\0", off)
		name = body[off:end].decode()
		off = end + 1
		_tab, _att, oid, _len, _mod, fmt = struct.unpack("!ihihih", body[off:off + 18])
		off += 18
		cols.append((name, oid, fmt))
	return cols


def types(msgs):
	return b"".join(t for t, _ in msgs)


# ---- fixtures -------------------------------------------------------------------

ORDERS = [
	{"order_id": i, "status": ["NEW", "PAID", "SHIPPED"][i % 3], "amount": i * 1.5,
	 "flag": i % 2 == 0, "ts": 1700000000000 + i * 1000, "note": "it's %d" % i}
	for i in range(1, 11)
]


@pytest.fixture(scope="module")
def pg(server):
	server.create({"schemaName": "orders",
		       "dimensionFieldSpecs": [{"name": "order_id", "dataType": "LONG"},
					       {"name": "status", "dataType": "STRING"},
					       {"name": "flag", "dataType": "BOOLEAN"},
					       {"name": "note", "dataType": "STRING"}],
		       "metricFieldSpecs": [{"name": "amount", "dataType": "DOUBLE"}],
		       "dateTimeFieldSpecs": [{"name": "ts", "dataType": "TIMESTAMP", "format": "1:MILLISECONDS:EPOCH",
					       "granularity": "1:MILLISECONDS"}]})
	import json
	server.ingest("orders", "\n".join(json.dumps(r) for r in ORDERS), fmt="json")
	return server


# ---- extended protocol ------------------------------------------------------------

def test_named_statement_reused_with_parameters(pg):
	c = Raw(pg.pg_port)
	c.send(c.parse("q1", "SELECT order_id, note FROM orders WHERE order_id = $1", [20]) +
	       c.describe(b"S", "q1") + c.sync())
	m = c.until()
	assert types(m) == b"1tTZ", m
	assert struct.unpack("!hi", m[1][1]) == (1, 20)
	assert [x[:2] for x in rowdesc(m[2][1])] == [("order_id", 20), ("note", 25)]
	for oid in (3, 7):
		c.send(c.bind("", "q1", [oid]) + c.execute("") + c.sync())
		m = c.until()
		assert types(m) == b"2DCZ", m
		assert datarow(m[1][1]) == [str(oid).encode(), ("it's %d" % oid).encode()]
		assert m[2][1] == b"SELECT 1\0"
	c.close()


def test_row_limit_suspends_the_portal(pg):
	c = Raw(pg.pg_port)
	c.send(c.parse("", "SELECT order_id FROM orders ORDER BY order_id") + c.bind("p", "") +
	       c.execute("p", 4) + c.execute("p", 4) + c.execute("p", 4) + c.sync())
	m = c.until()
	assert types(m) == b"12DDDDsDDDDsDDCZ", types(m)
	got = [int(datarow(b)[0]) for t, b in m if t == b"D"]
	assert got == list(range(1, 11))
	assert m[-2][1] == b"SELECT 2\0"	# the rows of the last Execute, as PostgreSQL counts
	c.close()


def test_quote_in_parameter_stays_data(pg):
	c = Raw(pg.pg_port)
	c.send(c.parse("", "SELECT count(*) FROM orders WHERE note = $1", [25]) +
	       c.bind("", "", ["it's 4"]) + c.execute("") + c.sync())
	m = c.until()
	assert datarow([b for t, b in m if t == b"D"][0]) == [b"1"]
	c.send(c.parse("", "SELECT count(*) FROM orders WHERE note = $1") +
	       c.bind("", "", ["x' OR '1'='1"]) + c.execute("") + c.sync())
	m = c.until()
	assert datarow([b for t, b in m if t == b"D"][0]) == [b"0"]
	c.close()


def test_typed_parameter_checked(pg):
	c = Raw(pg.pg_port)
	c.send(c.parse("", "SELECT count(*) FROM orders WHERE order_id = $1", [20]) +
	       c.bind("", "", ["1; DROP"]) + c.execute("") + c.sync())
	m = c.until()
	assert types(m) == b"1EZ", m
	f = fields(m[1][1])
	assert f["C"] == "22P02" and "bigint" in f["M"], f
	# binary int8 parameter
	c.send(c.parse("", "SELECT note FROM orders WHERE order_id = $1", [20]) +
	       c.bind("", "", [struct.pack("!q", 5)], pfmts=[1]) + c.execute("") + c.sync())
	m = c.until()
	assert datarow([b for t, b in m if t == b"D"][0]) == [b"it's 5"]
	c.close()


def test_error_skips_to_sync_and_maps_position(pg):
	c = Raw(pg.pg_port)
	sql = "SELECT $1, nosuchcol FROM orders"
	c.send(c.parse("", sql, [25]) + c.bind("", "", ["a much longer parameter value"]) + c.execute("") +
	       c.parse("x", "SELECT 1") + c.sync())
	m = c.until()
	assert types(m) == b"EZ", m	# found at Parse, as PostgreSQL does
	f = fields(m[0][1])
	assert f["C"] == "42703", f
	assert int(f["P"]) == sql.index("nosuchcol") + 1, f
	# the statement after the error was skipped: x does not exist
	c.send(c.bind("", "x") + c.sync())
	m = c.until()
	assert types(m) == b"EZ" and fields(m[0][1])["C"] == "26000", m
	c.close()


def test_binary_results(pg):
	c = Raw(pg.pg_port)
	c.send(c.parse("", "SELECT order_id, amount, flag, ts, status FROM orders WHERE order_id = 2") +
	       c.bind("", "", rfmts=[1]) + c.describe(b"P", "") + c.execute("") + c.sync())
	m = c.until()
	assert types(m) == b"12TDCZ", m
	cols = rowdesc(m[2][1])
	assert [(o, f) for _, o, f in cols] == [(20, 1), (701, 1), (16, 1), (1114, 1), (25, 1)]
	v = datarow(m[3][1])
	assert struct.unpack("!q", v[0])[0] == 2
	assert struct.unpack("!d", v[1])[0] == 3.0
	assert v[2] == b"\x01"
	us = struct.unpack("!q", v[3])[0]
	assert us == (1700000002000 - 946684800000) * 1000
	assert v[4] == b"SHIPPED"
	c.close()


def test_close_and_unknown_portal(pg):
	c = Raw(pg.pg_port)
	c.send(c.parse("s", "SELECT 1") + c.close_msg(b"S", "s") + c.bind("", "s") + c.sync())
	m = c.until()
	assert types(m) == b"13EZ", m
	c.send(c.execute("nope") + c.sync())
	m = c.until()
	assert types(m) == b"EZ" and fields(m[0][1])["C"] == "34000"
	c.send(c.parse("", "SELECT 1; SELECT 2") + c.sync())
	m = c.until()
	assert types(m) == b"EZ" and fields(m[0][1])["C"] == "42601"
	c.close()


# ---- simple protocol ------------------------------------------------------------------

def test_several_statements_first_error_stops(pg):
	c = Raw(pg.pg_port)
	m = c.query("SELECT 1; SELECT count(*) FROM orders; SELECT nosuch FROM orders; SELECT 3")
	assert types(m) == b"TDCTDCEZ", types(m)
	f = fields(m[6][1])
	assert f["C"] == "42703"
	# position counts from the start of the whole message
	assert int(f["P"]) == len("SELECT 1; SELECT count(*) FROM orders; SELECT ") + 1, f
	assert c.query("") == [(b"I", b""), (b"Z", b"I")]
	assert types(c.query(" ; -- nothing\n;")) == b"IZ"
	c.close()


def test_transaction_states(pg):
	c = Raw(pg.pg_port)
	assert c.query("BEGIN")[-1] == (b"Z", b"T")
	m = c.query("SELECT nosuch")
	assert m[-1] == (b"Z", b"E")
	m = c.query("SELECT 1")
	assert fields(m[0][1])["C"] == "25P02" and m[-1] == (b"Z", b"E")
	m = c.query("COMMIT")
	assert m[0][1] == b"ROLLBACK\0" and m[-1] == (b"Z", b"I")
	c.close()


def test_show_set_and_report(pg):
	c = Raw(pg.pg_port)
	assert c.params["server_version"].startswith("15")
	assert c.params["client_encoding"] == "UTF8"
	assert c.params["integer_datetimes"] == "on"
	assert c.params["standard_conforming_strings"] == "on"
	m = c.query("SET application_name = 'wire test'")
	assert (b"S", b"application_name\0wire test\0") in m
	m = c.query("SHOW application_name")
	assert datarow([b for t, b in m if t == b"D"][0]) == [b"wire test"]
	m = c.query("SET no_such_param = 1")
	assert fields(m[0][1])["C"] == "42704"
	m = c.query("SET client_encoding = 'LATIN1'")
	assert fields(m[0][1])["C"] == "22023"
	c.close()


def test_cursor_declare_fetch(pg):
	c = Raw(pg.pg_port)
	m = c.query("DECLARE c CURSOR FOR SELECT 1")
	assert fields(m[0][1])["C"] == "25P01"
	m = c.query("BEGIN; DECLARE c CURSOR FOR SELECT order_id FROM orders ORDER BY order_id; "
		    "FETCH 3 FROM c; FETCH FORWARD 100 FROM c; FETCH c; CLOSE c; COMMIT")
	rows = [int(datarow(b)[0]) for t, b in m if t == b"D"]
	assert rows == list(range(1, 11))
	tags = [b for t, b in m if t == b"C"]
	assert tags == [b"BEGIN\0", b"DECLARE CURSOR\0", b"FETCH 3\0", b"FETCH 7\0", b"FETCH 0\0",
			b"CLOSE CURSOR\0", b"COMMIT\0"]
	c.close()


def test_copy_out(pg):
	c = Raw(pg.pg_port)
	m = c.query("COPY (SELECT order_id, note FROM orders WHERE order_id <= 2 ORDER BY order_id) TO STDOUT "
		    "WITH (FORMAT csv, HEADER)")
	assert types(m) == b"HdddcCZ", m
	assert b"".join(b for t, b in m if t == b"d") == b"order_id,note\n1,it's 1\n2,it's 2\n"
	assert m[-2][1] == b"COPY 2\0"
	m = c.query("COPY orders FROM STDIN")
	assert fields(m[0][1])["C"] == "0A000"
	c.close()


# ---- authentication and TLS ------------------------------------------------------------------

def psql(port, sql, user="waybill", password=None, extra=(), sslmode="disable"):
	env = dict(os.environ, PGCONNECT_TIMEOUT="10", PGSSLMODE=sslmode)
	if password is not None:
		env["PGPASSWORD"] = password
	else:
		env.pop("PGPASSWORD", None)
	return subprocess.run(["psql", "-X", "-A", "-t", "-w", "-h", "127.0.0.1", "-p", str(port), "-U", user,
			       "-d", "waybill", "-c", sql] + list(extra),
			      env=env, capture_output=True, text=True, timeout=30)


@pytest.mark.parametrize("method", ["scram-sha-256", "md5", "password"])
def test_password_methods(make_server, tmp_path, method):
	users = tmp_path / "users"
	users.write_text("# test users\nalice:s3cret\nbob:other pw\n")
	s = make_server(args=["--pg-users", str(users), "--pg-auth", method])
	r = psql(s.pg_port, "SELECT current_user", user="alice", password="s3cret")
	assert r.returncode == 0, r.stderr
	r = psql(s.pg_port, "SELECT 1", user="alice", password="wrong")
	assert r.returncode != 0 and "password authentication failed" in r.stderr, r.stderr
	r = psql(s.pg_port, "SELECT 1", user="mallory", password="s3cret")
	assert r.returncode != 0 and "password authentication failed" in r.stderr, r.stderr
	r = psql(s.pg_port, "SELECT 1", user="bob", password="other pw")
	assert r.returncode == 0, r.stderr


def test_scram_stored_verifier_and_default(make_server, tmp_path):
	# a verifier as PostgreSQL stores it (pg_authid), for password "pencil"
	import base64
	import hashlib
	import hmac
	salt = b"0123456789abcdef"
	salted = hashlib.pbkdf2_hmac("sha256", b"pencil", salt, 4096)
	ck = hmac.new(salted, b"Client Key", "sha256").digest()
	sk = hmac.new(salted, b"Server Key", "sha256").digest()
	b64 = lambda b: base64.b64encode(b).decode()
	users = tmp_path / "users"
	users.write_text("carol:SCRAM-SHA-256$4096:%s$%s:%s\n" % (b64(salt), b64(hashlib.sha256(ck).digest()), b64(sk)))
	s = make_server(args=["--pg-users", str(users)])		# scram-sha-256 by default
	assert psql(s.pg_port, "SELECT 1", user="carol", password="pencil").returncode == 0
	r = psql(s.pg_port, "SELECT 1", user="carol", password="Pencil")
	assert r.returncode != 0 and "password authentication failed" in r.stderr


def test_bad_auth_configuration_refuses_to_start(make_server, tmp_path):
	s = make_server(start=False, args=["--pg-auth", "md5"])
	with pytest.raises(Exception):
		s.start(timeout=20)
	bad = tmp_path / "users"
	bad.write_text("no colon here\n")
	s = make_server(start=False, args=["--pg-users", str(bad)])
	with pytest.raises(Exception):
		s.start(timeout=20)
	assert "line 1" in open(s.log_path).read()


def test_tls(make_server, tmp_path):
	key, crt = tmp_path / "k.pem", tmp_path / "c.pem"
	subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(crt),
			"-days", "2", "-subj", "/CN=127.0.0.1"], check=True, capture_output=True, timeout=60)
	s = make_server(args=["--pg-cert", str(crt), "--pg-key", str(key)])
	r = psql(s.pg_port, "SHOW ssl", sslmode="require")
	assert r.returncode == 0 and r.stdout.strip() == "on", r.stderr
	r = psql(s.pg_port, "SHOW ssl", sslmode="disable")
	assert r.returncode == 0 and r.stdout.strip() == "off", r.stderr
	# the raw answer to SSLRequest
	raw = socket.create_connection(("127.0.0.1", s.pg_port), timeout=10)
	raw.sendall(struct.pack("!II", 8, 80877103))
	assert raw.recv(1) == b"S"
	raw.close()


def test_no_tls_answers_n(pg):
	raw = socket.create_connection(("127.0.0.1", pg.pg_port), timeout=10)
	raw.sendall(struct.pack("!II", 8, 80877103))
	assert raw.recv(1) == b"N"
	raw.close()
	r = psql(pg.pg_port, "SELECT 1", sslmode="require")
	assert r.returncode != 0 and "SSL" in r.stderr


def test_wrong_database_and_protocol(pg):
	r = psql(pg.pg_port, "SELECT 1", extra=["-d", "postgres"])
	assert r.returncode != 0 and 'database "postgres" does not exist' in r.stderr, r.stderr
	raw = socket.create_connection(("127.0.0.1", pg.pg_port), timeout=10)
	body = struct.pack("!I", 2 << 16) + b"user\0waybill\0\0"
	raw.sendall(struct.pack("!I", len(body) + 4) + body)
	data = raw.recv(4096)
	assert data[:1] == b"E" and b"0A000" in data and b"unsupported frontend protocol" in data
	raw.close()


# ---- cancel -----------------------------------------------------------------------------

def test_cancel_request(make_server):
	s = make_server()
	s.create({"schemaName": "big", "dimensionFieldSpecs": [{"name": "k", "dataType": "LONG"},
								{"name": "s", "dataType": "STRING"}]})
	n = 200000
	s.ingest("big", "k,s\n" + "".join("%d,v%d\n" % (i, i % 5000) for i in range(n)), fmt="csv")
	c = Raw(s.pg_port)
	# long: every pair of a 200k x 200k self join (filtered to nothing)
	slow = ("SET statement_timeout = '60s'; SELECT count(*) FROM big a JOIN big b ON a.s = b.s "
		"WHERE a.k + b.k < 0")
	res = {}

	def run():
		t0 = time.time()
		res["m"] = c.query(slow)
		res["t"] = time.time() - t0

	th = threading.Thread(target=run)
	th.start()
	time.sleep(1.0)
	# the wrong secret cancels nothing
	x = socket.create_connection(("127.0.0.1", s.pg_port), timeout=10)
	x.sendall(struct.pack("!IIii", 16, 80877102, c.pid, c.secret ^ 1))
	x.close()
	time.sleep(0.5)
	assert th.is_alive(), "query ended before the cancel (make it slower): %r" % res
	t1 = time.time()
	x = socket.create_connection(("127.0.0.1", s.pg_port), timeout=10)
	x.sendall(struct.pack("!IIii", 16, 80877102, c.pid, c.secret))
	x.close()
	th.join(60)
	assert not th.is_alive()
	m = res["m"]
	errs = [fields(b) for t, b in m if t == b"E"]
	assert errs and errs[0]["C"] == "57014", m
	assert time.time() - t1 < 10
	# the session goes on
	m = c.query("SELECT 42")
	assert datarow([b for t, b in m if t == b"D"][0]) == [b"42"]
	c.close()


def test_empty_statement_and_portal_lifetime(pg):
	c = Raw(pg.pg_port)
	c.send(c.parse("", " -- nothing") + c.bind("", "") + c.describe(b"P", "") + c.execute("") + c.sync())
	m = c.until()
	assert types(m) == b"12nIZ", m
	# a named portal outside a transaction block ends at Sync
	c.send(c.parse("", "SELECT 1") + c.bind("named", "") + c.sync())
	assert types(c.until()) == b"12Z"
	c.send(c.execute("named") + c.sync())
	m = c.until()
	assert types(m) == b"EZ" and fields(m[0][1])["C"] == "34000", m
	# inside one it lives on until the block ends
	c.query("BEGIN")
	c.send(c.parse("", "SELECT 1") + c.bind("named", "") + c.sync())
	assert types(c.until()) == b"12Z"
	c.send(c.execute("named") + c.sync())
	assert types(c.until()) == b"DCZ"
	c.query("COMMIT")
	c.close()
