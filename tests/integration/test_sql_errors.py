"""Bad SQL is answered with Pinot's error codes inside an HTTP 200 broker
response, and the server keeps serving."""
import re

import pytest

from conftest import schema, ndjson


@pytest.fixture(scope="module")
def tbl(server):
	server.create(schema("q", dims=[("id", "INT"), ("name", "STRING")], metrics=[("x", "LONG")]))
	server.ingest("q", ndjson([{"id": i, "name": "n%d" % i, "x": i * 10} for i in range(1, 11)]))
	return "q"


def exc(server, sql, code, *needles):
	resp = server.query(sql)
	ex = resp.get("exceptions") or []
	assert ex, "no exception for %r: %s" % (sql, resp)
	assert ex[0]["errorCode"] == code, "%r: %s" % (sql, ex)
	msg = ex[0]["message"]
	for n in needles:
		assert n.lower() in msg.lower(), "%r: message should mention %r: %r" % (sql, n, msg)
	rt = resp.get("resultTable")
	assert not rt or not rt.get("rows"), rt
	# the server is still serving
	assert server.scalar("SELECT count(*) FROM q") == 10
	return msg


POSITION = re.compile(r"(position|offset|line|column|col|char(acter)?)\D{0,8}\d+", re.I)


@pytest.mark.parametrize("sql,pos", [
	("SELEC * FROM q", 1),
	("SELECT * FROM q WHERE", 22),
	("SELECT id,, name FROM q", 11),
	("SELECT * FROM q WHERE name = 'unterminated", None),
	("SELECT count(* FROM q", None),
])
def test_parse_error_150_with_position(server, tbl, sql, pos):
	msg = exc(server, sql, 150)
	assert POSITION.search(msg), "parse error should give a position: %r" % msg
	if pos is not None:
		nums = [int(n) for n in re.findall(r"\d+", msg)]
		assert any(abs(n - pos) <= 1 for n in nums), "position %d not in %r" % (pos, msg)


def test_table_missing_190(server, tbl):
	exc(server, "SELECT * FROM no_such_table", 190, "no_such_table")
	exc(server, "SELECT count(*) FROM nope WHERE id = 1", 190, "nope")


def test_unknown_column_710(server, tbl):
	exc(server, "SELECT no_such_col FROM q", 710, "no_such_col")
	exc(server, "SELECT id FROM q WHERE zzz > 1", 710, "zzz")
	exc(server, "SELECT id, count(*) FROM q GROUP BY yyy", 710, "yyy")


def test_execution_error_200(server, tbl):
	exc(server, "SELECT id / (x - x) FROM q", 200)


def test_get_endpoint_errors(server, tbl):
	r = server.get("/query/sql", params={"sql": "SELEC 1"})
	assert r.status_code == 200
	assert r.json()["exceptions"][0]["errorCode"] == 150


@pytest.mark.parametrize("sql", [
	"", "   ", ";", "SELECT", "SELECT " + "(" * 5000 + "1" + ")" * 5000 + " FROM q",
	"SELECT id FROM q WHERE name = '" + "a" * 200000 + "'",
	"SELECT id FROM q; DROP TABLE q", "SELECT \x00 FROM q",
	"SELECT * FROM q WHERE id IN (" + ",".join(str(i) for i in range(20000)) + ")",
	"SELECT id FROM q ORDER BY 99", "SELECT id FROM q LIMIT -1",
	"SELECT sum(name) FROM q", "SELECT id FROM q GROUP BY name",
	"SELECT cast('abc' AS INT) FROM q",
])
def test_weird_sql_does_not_crash(server, tbl, sql):
	r = server.post("/query/sql", json={"sql": sql}, timeout=120)
	assert r.status_code < 500, (r.status_code, r.text[:500])
	if r.status_code == 200:
		j = r.json()
		assert "exceptions" in j
	assert server.scalar("SELECT count(*) FROM q") == 10


@pytest.mark.parametrize("body", [b"", b"{", b"[]", b'{"sql": 5}', b'{"nosql": "x"}', b"\xff\xfe"])
def test_bad_request_bodies(server, tbl, body):
	r = server.post("/query/sql", data=body, headers={"Content-Type": "application/json"})
	assert r.status_code < 500, (r.status_code, r.text[:500])
	assert server.get("/health").text.strip() == "OK"


def test_still_answers_correctly(server, tbl):
	assert server.rows("SELECT id, name, x FROM q WHERE id > 8 ORDER BY id") == \
		[[9, "n9", 90], [10, "n10", 100]]
