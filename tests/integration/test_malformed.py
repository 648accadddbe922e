"""Malformed input: a body with 10% bad lines of many kinds is answered
with exact counts and line numbers, the good rows land, each bad record is
in sys.dead_letters exactly once (also after a restart), and broken or
abandoned request bodies leave the server serving with consistent data."""
import json
import random
import socket
import time

import pytest

from conftest import schema, last_int

LINES = 2000


def mal_schema(name):
	return schema(name, dims=[("id", "INT"), ("v", "INT"), ("s", "STRING")],
		      metrics=[("d", "DOUBLE")])


def bad_ndjson_line(kind, i):
	"""Returns (bytes, column-or-None) for a malformed NDJSON line."""
	if kind == 0:
		return b'{"id": %d, "v": 1, "s": "trunc' % i, None		# bad JSON
	if kind == 1:
		return b'[%d, 1, "x"]' % i, None				# not an object
	if kind == 2:
		return b'"just a string"', None
	if kind == 3:
		return b'{"id": %d, "v": "seven", "s": "x", "d": 1.0}' % i, "v"	# wrong type
	if kind == 4:
		return b'{"id": %d, "v": 3000000000, "s": "x", "d": 1.0}' % i, "v"	# INT out of range
	if kind == 5:
		return b'{"id": %d, "v": 1, "s": "bad \xff\xfe utf8", "d": 1.0}' % i, None	# invalid UTF-8
	if kind == 6:
		return b'{"id": %d, "v": 1, "s": "x", "d": "NaNish"}' % i, "d"
	if kind == 7:
		return b'{"id": %d, "v": 1, "s": "x"} trailing' % i, None	# junk after object
	if kind == 8:
		return b'{"id": %d, "v": -2147483649, "s": "x", "d": 1.0}' % i, "v"
	return b'{"id": %d, "v": 1,, "s": "x"}' % i, None


KINDS = 10


def gen_ndjson(seed):
	rnd = random.Random(seed)
	bad_lines = set(rnd.sample(range(1, LINES + 1), LINES // 10))
	lines, good, bad = [], [], {}
	for ln in range(1, LINES + 1):
		if ln in bad_lines:
			b, col = bad_ndjson_line(ln % KINDS, ln)
			bad[ln] = (b, col)
			lines.append(b)
		else:
			good.append(ln)
			lines.append(json.dumps({"id": ln, "v": ln % 1000, "s": "ok%d" % ln, "d": ln / 2}).encode())
	return b"\n".join(lines) + b"\n", good, bad


def gen_csv(seed):
	rnd = random.Random(seed)
	bad_lines = set(rnd.sample(range(2, LINES + 2), LINES // 10))
	lines, good, bad = [b"id,v,s,d"], [], {}
	for ln in range(2, LINES + 2):		# line 1 is the header
		if ln in bad_lines:
			k = ln % 4
			if k == 0:
				b, col = b"%d,1,x" % ln, None			# too few fields
			elif k == 1:
				b, col = b"%d,1,x,not-a-double" % ln, "d"	# wrong type, last column
			elif k == 2:
				b, col = b"%d,notanint,x,1.0" % ln, "v"
			else:
				b, col = b"%d,99999999999,x,1.0" % ln, "v"
			bad[ln] = (b, col)
			lines.append(b)
		else:
			good.append(ln)
			lines.append(b"%d,%d,ok%d,%s" % (ln, ln % 1000, ln, repr(ln / 2).encode()))
	return b"\n".join(lines) + b"\n", good, bad


def check_answer(resp, good, bad):
	assert resp["accepted"] == len(good), resp
	assert resp["rejected"] == len(bad), {k: resp[k] for k in ("accepted", "rejected")}
	errs = resp["errors"]
	assert len(errs) == min(100, len(bad)), len(errs)
	want_lines = sorted(bad)[:100]
	assert [e["line"] for e in errs] == want_lines, "error line numbers differ"
	for e in errs:
		assert isinstance(e["reason"], str) and e["reason"], e
		col = bad[e["line"]][1]
		if col is not None:
			assert e["column"] == col, "line %d: column %r, want %r (%s)" % (
				e["line"], e["column"], col, e["reason"])


def dead_letters(server, table):
	"""sys.dead_letters rows of `table` as dicts keyed by column name."""
	resp = server.query("SELECT * FROM sys.dead_letters")
	assert not resp["exceptions"], resp["exceptions"]
	names = resp["resultTable"]["dataSchema"]["columnNames"]
	tcol = next(n for n in names if "table" in n.lower())
	out = [dict(zip(names, r)) for r in resp["resultTable"]["rows"]]
	return [r for r in out if r[tcol] == table], names


def dl_positions(rows, names):
	pcol = next(n for n in names if n.lower() in ("position", "line", "offset", "source_position"))
	return [last_int(r[pcol]) for r in rows]


def line_offsets(body):
	offs, o = {}, 0
	for i, line in enumerate(body.split(b"\n")):
		offs[i + 1] = o
		o += len(line) + 1
	return offs


def check_dead_letters(server, table, bad, body):
	rows, names = dead_letters(server, table)
	pos = dl_positions(rows, names)
	assert len(rows) == len(bad), "dead letters %d != rejected %d" % (len(rows), len(bad))
	offs = line_offsets(body)
	by_offset = {offs[ln]: ln for ln in bad}
	if sorted(pos) != sorted(bad) and sorted(pos) == sorted(by_offset):
		pos = [by_offset[p] for p in pos]		# positions are byte offsets
	assert sorted(pos) == sorted(bad), "dead letter positions differ from rejected lines"
	rawcol = next((n for n in names if n.lower() == "raw"), None)
	if rawcol:
		for r, p in zip(rows, pos):
			raw = r[rawcol]
			want = bad[p][0].decode("utf-8", "replace")
			assert raw is not None and (raw == want or raw.rstrip("\n") == want
						    or want.split('"')[0] in raw), (p, raw, want)


def test_ndjson_malformed(make_server):
	srv = make_server()
	srv.create(mal_schema("mal"))
	body, good, bad = gen_ndjson(11)
	resp = srv.ingest("mal", body, fmt="ndjson")
	check_answer(resp, good, bad)
	assert srv.count("mal") == len(good)
	got = sorted(r[0] for r in srv.rows("SELECT id FROM mal"))
	assert got == good
	check_dead_letters(srv, "mal", bad, body)
	srv.restart()
	assert srv.count("mal") == len(good)
	check_dead_letters(srv, "mal", bad, body)
	# the same body again: same answer, dead letters doubled (two records)
	resp = srv.ingest("mal", body, fmt="ndjson")
	check_answer(resp, good, bad)
	rows, _ = dead_letters(srv, "mal")
	assert len(rows) == 2 * len(bad)


def test_csv_malformed(make_server):
	srv = make_server()
	srv.create(mal_schema("malcsv"))
	body, good, bad = gen_csv(12)
	resp = srv.ingest("malcsv", body, fmt="csv")
	check_answer(resp, good, bad)
	assert srv.count("malcsv") == len(good)
	check_dead_letters(srv, "malcsv", bad, body)
	srv.restart()
	check_dead_letters(srv, "malcsv", bad, body)
	assert srv.count("malcsv") == len(good)


def test_huge_single_line(make_server):
	"""A 4 MB line among good ones: accepted or rejected, never a crash."""
	srv = make_server()
	srv.create(mal_schema("big"))
	body = b'{"id": 1, "v": 1, "s": "a"}\n' + b'{"id": 2, "v": 2, "s": "' + b"x" * (4 << 20) + \
		b'"}\n' + b'{"id": 3, "v": 3, "s": "c"}\n' + b"y" * (2 << 20) + b"\n"
	r = srv.post("/tables/big/ingest?format=ndjson", data=body, timeout=120)
	assert r.status_code in (200, 400, 413), r.status_code
	if r.status_code == 200:
		j = r.json()
		assert j["accepted"] + j["rejected"] == 4, j
		assert 4 in [e["line"] for e in j["errors"]], j
		assert srv.count("big") == j["accepted"]
	else:
		assert srv.count("big") == 0
	assert srv.get("/health").text.strip() == "OK"


def raw_request(port, head, body_part, close_after=0.0):
	s = socket.create_connection(("127.0.0.1", port), timeout=10)
	s.sendall(head + body_part)
	if close_after:
		time.sleep(close_after)
	s.close()


def test_client_disconnects_mid_body(make_server):
	srv = make_server()
	srv.create(mal_schema("cut"))
	assert srv.ingest("cut", b'{"id": 0, "v": 0}\n')["accepted"] == 1
	lines = b"".join(b'{"id": %d, "v": %d, "s": "s"}\n' % (i, i) for i in range(1, 20001))
	# Content-Length promises more than is sent
	head = (b"POST /tables/cut/ingest?format=ndjson HTTP/1.1\r\nHost: x\r\n"
		b"Content-Type: application/x-ndjson\r\nContent-Length: %d\r\n\r\n" % (len(lines) * 2))
	raw_request(srv.http_port, head, lines, close_after=0.3)
	# chunked without the final chunk
	chunk = b"%x\r\n%s\r\n" % (len(lines), lines)
	head = (b"POST /tables/cut/ingest?format=ndjson HTTP/1.1\r\nHost: x\r\n"
		b"Transfer-Encoding: chunked\r\n\r\n")
	raw_request(srv.http_port, head, chunk, close_after=0.3)
	# cut in the middle of a line
	raw_request(srv.http_port, head, b"%x\r\n" % (len(lines)) + lines[:len(lines) // 2])
	time.sleep(0.5)
	assert srv.get("/health").text.strip() == "OK"
	# nothing of an unfinished request is visible
	assert srv.count("cut") == 1
	assert srv.ingest("cut", b'{"id": 99999, "v": 1}\n')["accepted"] == 1
	assert srv.count("cut") == 2
	srv.restart(kill=True)
	assert srv.count("cut") == 2
	assert sorted(r[0] for r in srv.rows("SELECT id FROM cut")) == [0, 99999]


def test_garbage_requests_keep_server_up(make_server):
	srv = make_server()
	srv.create(mal_schema("junk"))
	cases = [b"GARBAGE\r\n\r\n",
		 b"POST /tables/junk/ingest HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
		 b"POST /tables/junk/ingest HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
		 b"POST /schemas HTTP/1.1\r\nContent-Length: 3\r\n\r\n{{{",
		 b"GET /" + b"a" * 100000 + b" HTTP/1.1\r\n\r\n"]
	for c in cases:
		try:
			s = socket.create_connection(("127.0.0.1", srv.http_port), timeout=5)
			s.sendall(c)
			try:
				s.recv(4096)
			except socket.timeout:
				pass
			s.close()
		except OSError:
			pass
	assert srv.get("/health").text.strip() == "OK"
	assert srv.count("junk") == 0
	r = srv.post("/tables/junk/ingest?format=parquet", data=b"x")

