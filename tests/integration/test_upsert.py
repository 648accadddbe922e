"""Upsert tables (Pinot's upsertConfig) driven through the real server.

The contract under test: a query sees exactly the latest row per live
primary key -- never two versions of a key, never none -- including while
ingestion runs; queryOptions skipUpsert=true shows every stored version.
It holds for pushed data (POST /tables/{name}/ingest, rows partitioned by
a hash of the primary key), for Kafka tables (Kafka partition = table
partition, producers key by primary key) and for Debezium change feeds
(op 'd' deletes the key).

What is checked:
  - Pinot's own fixtures (integration-tests/gameScores*.tar.gz) with the
    table configs and answers of Pinot's UpsertTableIntegrationTest
    (testDeleteWithFullUpsert, testDeleteWithPartialUpsert), loaded by push
    and through Kafka;
  - every PARTIAL strategy, NULLs, multi-value APPEND / UNION, the default
    strategy; comparisonColumns (one or several); ties (the later arrival
    wins); out-of-order arrivals, dropOutOfOrderRecord,
    outOfOrderRecordColumn; deletes, deletedKeysTTL, metadataTTL;
  - an oracle run: 1M random updates and deletes with random (out-of-order)
    timestamps over 100k keys into 4 partitions that seal while it runs,
    every key's final row compared with a Python dict, before and after a
    restart (WB_LONG=1: a second million, checked again);
  - kill -9 at random moments while batches are pushed / messages consumed
    (20 cycles each; WB_LONG=1: 100);
  - concurrent readers during updates (push and Kafka): count(*) is the
    number of keys at every read and no key is ever seen twice;
  - Debezium change feeds: c/r/u upsert, d deletes (through the table's
    deleteRecordColumn, here the envelope's __deleted);
  - bad configs and bad rows.

Pinot semantics used (from Pinot's sources and docs):
  - FULL: the record with the larger comparison value wins; on a tie the
    later arrival wins. The comparison column defaults to the time column.
  - PARTIAL: a record that is not older than the current one is merged
    with it column by column: a NULL new value keeps the old one (except
    FORCE_OVERWRITE), a NULL old value takes the new one; the primary key
    and comparison columns are never merged. An older (out-of-order)
    record is stored but not merged and not visible. A record that follows
    a delete is not merged with the deleted row.
  - Several comparisonColumns: each record sets one of them; it is
    compared with the key's stored value of that same column (none
    stored: the record wins). The stored values carry forward: a record
    that wins keeps the other columns' stored values (Pinot's
    ComparisonColumns.compareTo merges them), so they are not the NULLs
    of the winning row.
  - A NULL comparison value (one comparison column): Pinot fills a
    default first; here the row may be refused naming the column or
    accepted, but the key keeps exactly one visible row.
  - deleteRecordColumn: a true value deletes the key (the delete row is
    stored; skipUpsert shows it); a later record with a newer comparison
    value revives the key.
  - deletedKeysTTL: a deleted key whose comparison value is older than the
    largest seen minus the TTL is forgotten: the key stays invisible, and a
    later record for it is a new key, whatever its comparison value.
  - metadataTTL: keys older than the largest comparison value minus the
    TTL are no longer tracked (Pinot accepts duplicates for updates that
    come later; here only the newest value being visible is checked).
"""
import json
import random
import tarfile
import threading
import time

import pytest
import requests

from conftest import (EXAMPLES, LONG, error_text, ndjson, schema, simple_table_config,
		      stream_table_config, wait_until)

IT = EXAMPLES / "integration-tests"
GAME_COLS = "playerId,name,game,score,timestampInEpoch,deleted"
SKIP = "skipUpsert=true"


# -- helpers -----------------------------------------------------------------

def up_schema(name, dims=(), metrics=(), times=("ts",), pk=("id",)):
	"""A schema with LONG epoch-ms date-time columns `times` and the
	primary key `pk`."""
	s = schema(name, dims=dims, metrics=metrics,
		   datetimes=[(t, "LONG", "1:MILLISECONDS:EPOCH", "1:MILLISECONDS") for t in times])
	s["primaryKeyColumns"] = list(pk)
	return s


def up_config(name, upsert, time_col="ts", partitions=1, pk="id", flush_rows=None):
	"""A push-fed REALTIME upsert table config (Pinot's shape)."""
	cfg = simple_table_config(name)
	if time_col:
		cfg["segmentsConfig"]["timeColumnName"] = time_col
	if partitions > 1:
		cfg["tableIndexConfig"]["segmentPartitionConfig"] = {
			"columnPartitionMap": {pk: {"functionName": "Murmur", "numPartitions": partitions}}}
	if flush_rows:
		cfg["tableIndexConfig"]["streamConfigs"] = {
			"realtime.segment.flush.threshold.rows": str(flush_rows)}
	cfg["upsertConfig"] = upsert
	return cfg


def make_table(s, sch, cfg):
	s.add_schema(sch)
	s.add_table(cfg)


def push(s, table, rows, expect_rejected=0):
	"""Pushes dicts as NDJSON; asserts every row accepted (or the given
	number rejected); returns the answer."""
	ans = s.ingest(table, ndjson(rows), fmt="ndjson")
	assert ans["rejected"] == expect_rejected, ans
	assert ans["accepted"] == len(rows) - expect_rejected, ans
	return ans


def push_csv(s, table, lines, columns):
	r = s.post("/tables/%s/ingest?format=csv&header=false&columns=%s" % (table, columns),
		   data=("\n".join(lines) + "\n").encode(), timeout=120)
	assert r.status_code == 200, "ingest %s: %d %s" % (table, r.status_code, r.text[:2000])
	ans = r.json()
	assert ans["rejected"] == 0 and ans["accepted"] == len(lines), ans
	return ans


def rows(s, sql, skip=False):
	return s.rows(sql, SKIP if skip else None)


def count(s, table, where="", skip=False):
	r = rows(s, "SELECT count(*) FROM %s %s" % (table, where), skip)
	return r[0][0]


def no_duplicates(s, table, key="id"):
	dup = rows(s, "SELECT %s, count(*) FROM %s GROUP BY %s HAVING count(*) > 1" % (key, table, key))
	assert dup == [], "keys seen twice in %s: %r" % (table, dup[:10])


def one(s, table, cols, key, key_col="id"):
	"""The one visible row of a key (asserts exactly one)."""
	r = rows(s, "SELECT %s FROM %s WHERE %s = %s" % (cols, table, key_col, key))
	assert len(r) == 1, "key %s of %s: %d visible rows: %r" % (key, table, len(r), r)
	return r[0]


def qrows(s, sess, sql):
	"""Rows of a query, on the caller's own session (for threads)."""
	r = sess.post(s.url + "/query/sql", json={"sql": sql}, timeout=60)
	assert r.status_code == 200, "query %r: HTTP %d %s" % (sql, r.status_code, r.text[:500])
	j = r.json()
	assert not j.get("exceptions"), "query %r failed: %s" % (sql, j.get("exceptions"))
	return j["resultTable"]["rows"]


def wait_rows(s, sql, want, timeout=30, skip=False):
	"""Polls a query until it answers want; the last answer is in the
	failure message."""
	deadline = time.monotonic() + timeout
	while True:
		got = rows(s, sql, skip)
		if got == want:
			return got
		if time.monotonic() > deadline:
			raise AssertionError("%s: want %r, last %r (after %ss)" % (sql, want, got, timeout))
		time.sleep(0.1)


def force_commit(s, table):
	r = s.post("/tables/%s/forceCommit" % table, timeout=120)
	assert r.status_code == 200, r.text


def bad_table(s, sch, cfg, *words):
	"""POST /tables must answer 400 with an error naming every word."""
	if sch is not None:
		s.add_schema(sch)
	r = s.post("/tables", data=json.dumps(cfg), headers={"Content-Type": "application/json"})
	assert r.status_code == 400, "expected 400, got %d %s" % (r.status_code, r.text)
	text = error_text(r)
	for w in words:
		assert w.lower() in text.lower(), "error does not name %r: %s" % (w, text)
	return text


def kafka_produce(b, topic, items, conf=None):
	"""items: (key, value bytes or None); asserts all delivered."""
	p = b.producer(**(conf or {}))
	failed = []

	def on_delivery(err, msg):
		if err is not None:
			failed.append(err)
	for k, v in items:
		while True:
			try:
				p.produce(topic, key=str(k).encode(), value=v, on_delivery=on_delivery)
				break
			except BufferError:
				p.poll(0.05)
		p.poll(0)
	assert p.flush(60) == 0
	assert not failed, failed[:3]


# -- 1. Pinot's fixtures -------------------------------------------------------

def game_lines(tar_name):
	with tarfile.open(str(IT / tar_name)) as tf:
		for m in tf.getmembers():
			if m.isfile() and m.name.endswith(".csv"):
				data = tf.extractfile(m).read().decode()
				return [ln for ln in data.splitlines() if ln.strip()]
	raise AssertionError("no CSV in " + tar_name)


class GameFeed:
	"""Feeds CSV lines of the gameScores fixtures into a Pinot-shaped
	upsert table, by push or through Kafka (2 partitions, keyed by
	playerId, Pinot's CSV decoder settings)."""

	def __init__(self, s, how, devbroker, name, schema_file, upsert):
		self.s = s
		self.how = how
		self.name = name
		self.sent = 0
		sch = json.loads((IT / schema_file).read_text())
		sch["schemaName"] = name
		s.add_schema(sch)
		if how == "kafka":
			self.b = devbroker((name, 2))
			cfg = stream_table_config(name, name, self.b.boot, "timestampInEpoch", {
				"stream.kafka.decoder.class.name":
					"org.apache.pinot.plugin.inputformat.csv.CSVMessageDecoder",
				"stream.kafka.decoder.prop.delimiter": ",",
				"stream.kafka.decoder.prop.header": GAME_COLS,
				"realtime.segment.flush.threshold.rows": "500"})
		else:
			cfg = simple_table_config(name)
			cfg["segmentsConfig"]["timeColumnName"] = "timestampInEpoch"
			cfg["tableIndexConfig"]["streamConfigs"] = {
				"realtime.segment.flush.threshold.rows": "500"}
		# as Pinot's createCSVUpsertTableConfig: partitioned by the key
		cfg["tableIndexConfig"]["segmentPartitionConfig"] = {
			"columnPartitionMap": {"playerId": {"functionName": "Murmur", "numPartitions": 2}}}
		cfg["upsertConfig"] = upsert
		s.add_table(cfg)

	def send(self, lines):
		if self.how == "kafka":
			kafka_produce(self.b, self.name, [(ln.split(",")[0], ln.encode()) for ln in lines])
		else:
			push_csv(self.s, self.name, lines, GAME_COLS)
		self.sent += len(lines)
		# Pinot's waitForAllDocsLoaded: every version stored
		wait_until(lambda: count(self.s, self.name, skip=True) == self.sent, timeout=60,
			   what="%d rows with skipUpsert" % self.sent)


@pytest.mark.parametrize("how", ["push", "kafka"])
def test_pinot_game_scores_full(make_server, devbroker, how):
	"""UpsertTableIntegrationTest: 10 rows, 3 keys; then
	testDeleteWithFullUpsert's deletes and revival."""
	s = make_server()
	f = GameFeed(s, how, devbroker, "gameScoresWithDelete", "upsert_table_test.schema",
		     {"mode": "FULL", "deleteRecordColumn": "deleted"})
	t = f.name
	f.send(game_lines("gameScores_csv.tar.gz"))
	assert count(s, t) == 3			# Pinot: getCountStarResult
	assert count(s, t, skip=True) == 10	# getCountStarResultWithoutUpsert
	no_duplicates(s, t, "playerId")
	got = rows(s, "SELECT playerId, name, score, timestampInEpoch FROM %s ORDER BY playerId" % t)
	assert [r[0] for r in got] == [100, 101, 102], got
	assert [r[1] for r in got] == ["Zook", "Suess", "Clifford"], got
	assert [r[3] for r in got] == [1681256400000, 1681258290000, 1681036400000], got
	assert [round(r[2], 1) for r in got] == [2050.0, 12500.2, 102.0], got

	# TEST 1: delete 100 and 102 with newer timestamps
	f.send(["102,Clifford,counter-strike,102,1681254200000,true",
		"100,Zook,counter-strike,2050,1681377200000,true"])
	star = s.query("SELECT * FROM %s" % t)
	assert not star.get("exceptions"), star
	names = star["resultTable"]["dataSchema"]["columnNames"]
	assert len(star["resultTable"]["rows"]) == 1, star["resultTable"]
	assert star["resultTable"]["rows"][0][names.index("playerId")] == 101
	gone = rows(s, "SELECT playerId FROM %s WHERE deleted = true" % t, skip=True)
	assert sorted(r[0] for r in gone) == [100, 102]

	# TEST 2: revive 100 with a newer timestamp; every column overwritten
	f.send(["100,Zook-New,,0.0,1684707335000,false"])
	assert rows(s, "SELECT playerId, name, game FROM %s WHERE playerId = 100" % t) == \
		[[100, "Zook-New", None]]		# Pinot prints its null string "null"
	assert len(rows(s, "SELECT playerId, name FROM %s WHERE playerId = 100" % t, skip=True)) > 1
	assert count(s, t) == 2
	no_duplicates(s, t, "playerId")


@pytest.mark.parametrize("how", ["push", "kafka"])
def test_pinot_game_scores_partial(make_server, devbroker, how):
	"""UpsertTableIntegrationTest.testDeleteWithPartialUpsert: game UNION,
	score INCREMENT, deleted OVERWRITE over gameScores_partial_upsert."""
	s = make_server()
	f = GameFeed(s, how, devbroker, "gameScoresPartialUpsertWithDelete",
		     "partial_upsert_table_test.schema",
		     {"mode": "PARTIAL", "deleteRecordColumn": "deleted",
		      "partialUpsertStrategies": {"game": "UNION", "score": "INCREMENT",
						  "deleted": "OVERWRITE"}})
	t = f.name
	f.send(game_lines("gameScores_partial_upsert_csv.tar.gz"))
	assert count(s, t) == 3
	assert count(s, t, skip=True) == 10
	# The merge, row by row (rows 4 and 9 are older than the current row
	# of their key: stored, not merged):
	#   100: 2001.9 [cs] -> +2050 [cs, wow]                    = 4051.9
	#   101: 8038 -> +9722 -> +10311 -> +12500.20              = 40571.2
	#   102: 98 [wow] -> +102 [wow, cs]                        = 200
	got = rows(s, "SELECT playerId, name, game, score FROM %s ORDER BY playerId" % t)
	assert [r[:3] for r in got] == [
		[100, "Zook", ["counter-strike", "world-of-warcraft"]],
		[101, "Suess", ["counter-strike"]],
		[102, "Clifford", ["world-of-warcraft", "counter-strike"]]], got
	assert [r[3] for r in got] == [pytest.approx(4051.9, rel=1e-5), pytest.approx(40571.2, rel=1e-5),
				       pytest.approx(200.0, rel=1e-5)], got

	# TEST 1: deletes
	f.send(["102,Clifford,counter-strike,102,1681054200000,true",
		"100,Zook,counter-strike,2050,1681377200000,true"])
	assert rows(s, "SELECT playerId FROM %s" % t) == [[101]]
	assert count(s, t) == 1
	gone = rows(s, "SELECT playerId FROM %s WHERE deleted = true" % t, skip=True)
	assert sorted(r[0] for r in gone) == [100, 102]

	# TEST 2: revival is not merged with the deleted row
	f.send(["100,Zook,,0.0,1684707335000,false"])
	got = rows(s, "SELECT playerId, name, game, score FROM %s WHERE playerId = 100" % t)
	assert len(got) == 1, got
	assert got[0][:2] == [100, "Zook"], got
	assert got[0][2] in ([], None, ["null"]), got	# Pinot: ["null"]
	assert got[0][3] == 0.0, got
	assert len(rows(s, "SELECT playerId, name FROM %s WHERE playerId = 100" % t, skip=True)) > 1
	# 101 untouched
	assert rows(s, "SELECT score FROM %s WHERE playerId = 101" % t)[0][0] == \
		pytest.approx(40571.2, rel=1e-5)


# -- 2. strategies, comparison columns, ties, order, deletes, TTLs -------------

STRAT = {"ow": "OVERWRITE", "fo": "FORCE_OVERWRITE", "inc": "INCREMENT", "incd": "INCREMENT",
	 "ap": "APPEND", "un": "UNION", "ig": "IGNORE", "mx": "MAX", "mn": "MIN"}
STRAT_COLS = "ow, fo, inc, incd, ap, un, ig, mx, mn, df"


def test_partial_every_strategy(server):
	s = server
	sch = up_schema("strat", dims=[("id", "INT"), ("ow", "STRING"), ("fo", "STRING"),
				       ("ap", "STRING", False), ("un", "STRING", False),
				       ("ig", "STRING"), ("df", "STRING")],
			metrics=[("inc", "LONG"), ("incd", "DOUBLE"), ("mx", "LONG"), ("mn", "DOUBLE")])
	make_table(s, sch, up_config("strat", {"mode": "PARTIAL", "partialUpsertStrategies": STRAT},
				     partitions=2))

	def state(k=1):
		return one(s, "strat", STRAT_COLS, k)

	push(s, "strat", [{"id": 1, "ts": 10, "ow": "a", "fo": "a", "inc": 1, "incd": 0.5, "ap": ["x"],
			   "un": ["x", "y"], "ig": "first", "mx": 5, "mn": 5.0, "df": "d1"}])
	assert state() == ["a", "a", 1, 0.5, ["x"], ["x", "y"], "first", 5, 5.0, "d1"]
	# NULLs (missing fields) keep the old value, except FORCE_OVERWRITE
	push(s, "strat", [{"id": 1, "ts": 20, "inc": 2, "ap": ["x"], "un": ["y", "z"], "ig": "second",
			   "mx": 3, "mn": 7.5}])
	assert state() == ["a", None, 3, 0.5, ["x", "x"], ["x", "y", "z"], "first", 5, 5.0, "d1"]
	push(s, "strat", [{"id": 1, "ts": 30, "ow": "b", "fo": "c", "incd": 1.25, "un": ["w", "x"],
			   "mx": 9, "mn": 1.5, "df": "d3"}])
	assert state() == ["b", "c", 3, 1.75, ["x", "x"], ["x", "y", "z", "w"], "first", 9, 1.5, "d3"]
	# out of order: stored, not merged, not visible
	push(s, "strat", [{"id": 1, "ts": 5, "ow": "old", "fo": "old", "inc": 100, "incd": 100.0,
			   "ap": ["old"], "un": ["old"], "ig": "old", "mx": 1000, "mn": -1000.0,
			   "df": "old"}])
	assert state() == ["b", "c", 3, 1.75, ["x", "x"], ["x", "y", "z", "w"], "first", 9, 1.5, "d3"]
	# a tie merges (the later arrival wins)
	push(s, "strat", [{"id": 1, "ts": 30, "ow": "t", "inc": 1, "ap": ["t"]}])
	assert state() == ["t", None, 4, 1.75, ["x", "x", "t"], ["x", "y", "z", "w"], "first", 9, 1.5,
			   "d3"]
	assert one(s, "strat", "ts", 1) == [30]
	# an old NULL takes the new value, whatever the strategy
	push(s, "strat", [{"id": 2, "ts": 1}])
	got = state(2)
	assert got[:4] == [None] * 4 and got[6:] == [None] * 4, got
	push(s, "strat", [{"id": 2, "ts": 2, "ow": "o", "fo": "f", "inc": 7, "incd": 2.5, "ap": ["p"],
			   "un": ["q", "q2"], "ig": "later", "mx": -3, "mn": 4.0, "df": "z"}])
	assert state(2) == ["o", "f", 7, 2.5, ["p"], ["q", "q2"], "later", -3, 4.0, "z"]
	# two rows of one key in one batch merge in arrival order
	push(s, "strat", [{"id": 3, "ts": 1, "inc": 1, "un": ["a"]}, {"id": 3, "ts": 2, "inc": 10, "un": ["b"]},
			  {"id": 3, "ts": 2, "inc": 100, "un": ["a", "c"]}])
	assert one(s, "strat", "inc, un", 3) == [111, ["a", "b", "c"]]
	assert count(s, "strat") == 3
	assert count(s, "strat", skip=True) == 10
	no_duplicates(s, "strat")
	# the merged rows survive a seal
	force_commit(s, "strat")
	assert state() == ["t", None, 4, 1.75, ["x", "x", "t"], ["x", "y", "z", "w"], "first", 9, 1.5,
			   "d3"]
	push(s, "strat", [{"id": 1, "ts": 40, "inc": 6, "un": ["x", "v"]}])
	assert one(s, "strat", "inc, un, ow", 1) == [10, ["x", "y", "z", "w", "v"], "t"]
	assert count(s, "strat") == 3


def test_partial_default_strategy(server):
	s = server
	sch = up_schema("pdef", dims=[("id", "INT"), ("a", "STRING"), ("v", "STRING")])
	make_table(s, sch, up_config("pdef", {"mode": "PARTIAL", "defaultPartialUpsertStrategy": "IGNORE",
					      "partialUpsertStrategies": {"v": "OVERWRITE"}}))
	push(s, "pdef", [{"id": 1, "ts": 1, "a": "a1", "v": "v1"}])
	push(s, "pdef", [{"id": 1, "ts": 2, "a": "a2", "v": "v2"}])
	assert one(s, "pdef", "a, v, ts", 1) == ["a1", "v2", 2]
	# no strategies at all: OVERWRITE (a NULL keeps the old value)
	sch = up_schema("pdef2", dims=[("id", "INT"), ("a", "STRING"), ("v", "STRING")])
	make_table(s, sch, up_config("pdef2", {"mode": "PARTIAL"}))
	push(s, "pdef2", [{"id": 1, "ts": 1, "a": "a1", "v": "v1"}])
	push(s, "pdef2", [{"id": 1, "ts": 2, "v": "v2"}])
	assert one(s, "pdef2", "a, v", 1) == ["a1", "v2"]


def test_comparison_columns_several(server):
	"""Each record sets one comparison column; it is compared with the
	stored value of the same column (none stored: it wins)."""
	s = server
	sch = up_schema("cmp2", dims=[("id", "INT"), ("v", "STRING")], times=("t1", "t2"))
	make_table(s, sch, up_config("cmp2", {"mode": "FULL", "comparisonColumns": ["t1", "t2"]},
				     time_col="t1"))
	steps = [({"t1": 100, "v": "a"}, "a"),
		 ({"t2": 50, "v": "b"}, "b"),	# no t2 stored yet: wins
		 ({"t1": 90, "v": "c"}, "b"),	# 90 < 100
		 ({"t2": 49, "v": "d"}, "b"),	# 49 < 50
		 ({"t2": 50, "v": "e"}, "e"),	# tie: the later arrival wins
		 ({"t1": 101, "v": "f"}, "f")]
	for i, (rec, want) in enumerate(steps):
		rec = dict(rec, id=1)
		push(s, "cmp2", [rec])
		assert one(s, "cmp2", "v", 1) == [want], "step %d %r" % (i, rec)
	assert count(s, "cmp2", skip=True) == len(steps)


def test_comparison_column_not_time(server):
	"""comparisonColumn (singular, older key) names a non-time column."""
	s = server
	sch = up_schema("cmpv", dims=[("id", "INT"), ("v", "STRING")], metrics=[("ver", "LONG")])
	make_table(s, sch, up_config("cmpv", {"mode": "FULL", "comparisonColumn": "ver"}))
	push(s, "cmpv", [{"id": 1, "ts": 1, "ver": 5, "v": "a"}])
	push(s, "cmpv", [{"id": 1, "ts": 999, "ver": 4, "v": "b"}])	# newer ts, older version
	assert one(s, "cmpv", "v, ver", 1) == ["a", 5]
	push(s, "cmpv", [{"id": 1, "ts": 0, "ver": 6, "v": "c"}])
	assert one(s, "cmpv", "v, ver", 1) == ["c", 6]


def test_ties_later_arrival_wins(server):
	s = server
	sch = up_schema("tie", dims=[("id", "INT"), ("v", "STRING")])
	make_table(s, sch, up_config("tie", {"mode": "FULL"}, partitions=2))
	push(s, "tie", [{"id": k, "ts": 5, "v": "a"} for k in range(20)] +
	     [{"id": k, "ts": 5, "v": "b"} for k in range(20)])	# same batch
	assert rows(s, "SELECT DISTINCT v FROM tie") == [["b"]]
	push(s, "tie", [{"id": k, "ts": 5, "v": "c"} for k in range(20)])	# next batch
	assert rows(s, "SELECT DISTINCT v FROM tie") == [["c"]]
	force_commit(s, "tie")		# the current rows are now in sealed segments
	push(s, "tie", [{"id": k, "ts": 5, "v": "d"} for k in range(0, 20, 2)])
	got = dict((r[0], r[1]) for r in rows(s, "SELECT id, v FROM tie"))
	assert got == {k: ("d" if k % 2 == 0 else "c") for k in range(20)}
	assert count(s, "tie") == 20 and count(s, "tie", skip=True) == 70


def test_out_of_order(server):
	s = server
	sch = up_schema("ooo", dims=[("id", "INT"), ("v", "STRING")])
	make_table(s, sch, up_config("ooo", {"mode": "FULL"}))
	push(s, "ooo", [{"id": 1, "ts": 10, "v": "new"}])
	push(s, "ooo", [{"id": 1, "ts": 5, "v": "old"}])
	assert one(s, "ooo", "v, ts", 1) == ["new", 10]
	assert sorted(rows(s, "SELECT v FROM ooo", skip=True)) == [["new"], ["old"]]
	force_commit(s, "ooo")
	push(s, "ooo", [{"id": 1, "ts": 9, "v": "old2"}])		# older than a sealed row
	assert one(s, "ooo", "v", 1) == ["new"]


def test_drop_out_of_order_record(server):
	s = server
	sch = up_schema("oood", dims=[("id", "INT"), ("v", "STRING")])
	make_table(s, sch, up_config("oood", {"mode": "FULL", "dropOutOfOrderRecord": True}))
	push(s, "oood", [{"id": 1, "ts": 10, "v": "new"}])
	s.ingest("oood", ndjson([{"id": 1, "ts": 5, "v": "old"}]), fmt="ndjson")
	assert one(s, "oood", "v", 1) == ["new"]
	assert rows(s, "SELECT v FROM oood", skip=True) == [["new"]]	# not even stored
	push(s, "oood", [{"id": 1, "ts": 10, "v": "tie"}])	# a tie is not out of order
	assert one(s, "oood", "v", 1) == ["tie"]
	assert count(s, "oood", skip=True) == 2


def test_out_of_order_record_column(server):
	s = server
	sch = up_schema("oooc", dims=[("id", "INT"), ("v", "STRING"), ("late", "BOOLEAN")])
	make_table(s, sch, up_config("oooc", {"mode": "FULL", "outOfOrderRecordColumn": "late"}))
	push(s, "oooc", [{"id": 1, "ts": 10, "v": "new"}, {"id": 2, "ts": 3, "v": "x"}])
	push(s, "oooc", [{"id": 1, "ts": 5, "v": "old"}, {"id": 2, "ts": 4, "v": "y"}])
	assert rows(s, "SELECT id, v, late FROM oooc ORDER BY id") == [[1, "new", False], [2, "y", False]]
	assert rows(s, "SELECT id, v FROM oooc WHERE late = true", skip=True) == [[1, "old"]]
	assert count(s, "oooc", "WHERE late = false", skip=True) == 3


def test_deletes(make_server):
	s = make_server()
	sch = up_schema("del", dims=[("id", "INT"), ("v", "STRING"), ("gone", "BOOLEAN")])
	make_table(s, sch, up_config("del", {"mode": "FULL", "deleteRecordColumn": "gone"}, partitions=2))
	push(s, "del", [{"id": k, "ts": 10, "v": "a%d" % k} for k in range(10)])
	push(s, "del", [{"id": 1, "ts": 20, "gone": True}, {"id": 2, "ts": 20, "gone": True, "v": "x"}])
	assert count(s, "del") == 8
	assert rows(s, "SELECT id FROM del WHERE id IN (1, 2)") == []
	assert count(s, "del", "WHERE gone = true", skip=True) == 2
	push(s, "del", [{"id": 1, "ts": 15, "v": "late"}])	# older than the delete
	assert rows(s, "SELECT id FROM del WHERE id = 1") == []
	push(s, "del", [{"id": 99, "ts": 1, "gone": True}])	# delete of an unknown key
	assert rows(s, "SELECT id FROM del WHERE id = 99") == []
	push(s, "del", [{"id": 1, "ts": 30, "v": "back"}])	# revived
	assert one(s, "del", "v", 1) == ["back"]
	push(s, "del", [{"id": 3, "ts": 10, "gone": True}])	# tie with the row: deletes
	assert rows(s, "SELECT id FROM del WHERE id = 3") == []
	# delete and revive within one batch; delete after a seal
	force_commit(s, "del")
	push(s, "del", [{"id": 4, "ts": 11, "gone": True}, {"id": 4, "ts": 12, "v": "again"},
			{"id": 5, "ts": 11, "gone": True}])
	want = sorted([[0, "a0"], [1, "back"], [4, "again"]] + [[k, "a%d" % k] for k in range(6, 10)])
	assert rows(s, "SELECT id, v FROM del ORDER BY id") == want
	s.restart()
	assert rows(s, "SELECT id, v FROM del ORDER BY id") == want
	assert count(s, "del") == len(want)


def test_deleted_keys_ttl(make_server):
	"""deletedKeysTTL: a deleted key older than the largest comparison
	value minus the TTL is forgotten: it stays invisible (also after a
	restart, whose rebuilt index must not revive older rows), and a later
	record for it is a new key."""
	s = make_server()
	sch = up_schema("dttl", dims=[("id", "INT"), ("v", "STRING"), ("gone", "BOOLEAN")])
	make_table(s, sch, up_config("dttl", {"mode": "FULL", "deleteRecordColumn": "gone",
					      "deletedKeysTTL": 100}))
	push(s, "dttl", [{"id": 1, "ts": 10, "v": "a"}, {"id": 2, "ts": 10, "v": "b"}])
	push(s, "dttl", [{"id": 1, "ts": 20, "gone": True}])
	assert rows(s, "SELECT id FROM dttl") == [[2]]
	# seals between the steps, so that no TTL bookkeeping (per key as
	# Pinot's, or per segment) can keep the delete alive
	force_commit(s, "dttl")
	push(s, "dttl", [{"id": 3, "ts": 1000, "v": "c"}])	# largest seen: 1000 > 20 + 100
	force_commit(s, "dttl")
	push(s, "dttl", [{"id": 4, "ts": 1001, "v": "d"}])
	force_commit(s, "dttl")
	push(s, "dttl", [{"id": 6, "ts": 1001, "v": "f"}])
	want = [[2, "b"], [3, "c"], [4, "d"], [6, "f"]]
	assert rows(s, "SELECT id, v FROM dttl ORDER BY id") == want
	s.restart()
	assert rows(s, "SELECT id, v FROM dttl ORDER BY id") == want
	# key 1 was forgotten: a record older than its delete is a new key
	push(s, "dttl", [{"id": 1, "ts": 15, "v": "new"}])
	assert one(s, "dttl", "v", 1) == ["new"]
	no_duplicates(s, "dttl")
	# a key deleted within the TTL is still remembered
	push(s, "dttl", [{"id": 5, "ts": 1000, "v": "e"}])
	push(s, "dttl", [{"id": 5, "ts": 1002, "gone": True}])
	push(s, "dttl", [{"id": 5, "ts": 1001, "v": "late"}])
	assert rows(s, "SELECT id FROM dttl WHERE id = 5") == []


def test_metadata_ttl(make_server):
	"""metadataTTL: keys within the TTL upsert as usual; a key past it
	is no longer tracked (Pinot then tolerates a duplicate); its newest
	value must be visible."""
	s = make_server()
	sch = up_schema("mttl", dims=[("id", "INT"), ("v", "STRING")])
	make_table(s, sch, up_config("mttl", {"mode": "FULL", "metadataTTL": 100,
					      "enableSnapshot": True}))
	push(s, "mttl", [{"id": 1, "ts": 10, "v": "a"}, {"id": 2, "ts": 950, "v": "b"}])
	push(s, "mttl", [{"id": 3, "ts": 1000, "v": "c"}])
	force_commit(s, "mttl")
	push(s, "mttl", [{"id": 2, "ts": 1001, "v": "b2"}, {"id": 3, "ts": 999, "v": "old"}])
	assert one(s, "mttl", "v", 2) == ["b2"]		# within the TTL: upserted
	assert one(s, "mttl", "v", 3) == ["c"]		# out of order within the TTL
	push(s, "mttl", [{"id": 1, "ts": 1002, "v": "a2"}])
	assert ["a2"] in rows(s, "SELECT v FROM mttl WHERE id = 1")
	s.restart()
	assert one(s, "mttl", "v", 2) == ["b2"]
	assert ["a2"] in rows(s, "SELECT v FROM mttl WHERE id = 1")


def test_composite_primary_key(server):
	s = server
	sch = up_schema("cpk", dims=[("a", "INT"), ("b", "STRING"), ("v", "LONG")], pk=("a", "b"))
	make_table(s, sch, up_config("cpk", {"mode": "FULL"}, partitions=3, pk="a"))
	push(s, "cpk", [{"a": 1, "b": "x", "ts": 1, "v": 1}, {"a": 1, "b": "y", "ts": 1, "v": 2},
			{"a": 2, "b": "x", "ts": 1, "v": 3}, {"a": 1, "b": "x", "ts": 2, "v": 4}])
	assert rows(s, "SELECT a, b, v FROM cpk ORDER BY a, b") == [[1, "x", 4], [1, "y", 2], [2, "x", 3]]


def test_debezium_change_feed(make_server, devbroker):
	"""Debezium envelope: c/r/u upsert the key, d deletes it, tombstones
	are skipped; the comparison column is the change time (__ts_ms)."""
	b = devbroker(("cdc", 2), ("cdc2", 1))
	s = make_server()
	# the envelope's __deleted marks a delete; deleteRecordColumn applies it
	s.add_schema(up_schema("cdc", dims=[("id", "INT"), ("name", "STRING"), ("__deleted", "BOOLEAN")],
			       times=("__ts_ms",)))
	cfg = stream_table_config("cdc", "cdc", b.boot, "__ts_ms",
				  {"stream.kafka.decoder.prop.envelope": "debezium"})
	cfg["upsertConfig"] = {"mode": "FULL", "deleteRecordColumn": "__deleted"}
	s.add_table(cfg)

	def ev(op, id_, name, ts):
		row = {"id": id_, "name": name}
		m = {"op": op, "ts_ms": ts + 5, "source": {"connector": "postgresql", "db": "shop",
							     "table": "items", "ts_ms": ts}}
		m["before"] = row if op in ("u", "d") else None
		m["after"] = None if op == "d" else row
		return (id_, json.dumps({"schema": {}, "payload": m}).encode())
	msgs = [ev("r", 1, "a", 1000), ev("c", 2, "b", 1001), ev("c", 3, "c", 1002),
		ev("u", 1, "a2", 1003), ev("d", 2, "b", 1004), (2, None),
		ev("u", 3, "c2", 1005), ev("d", 3, "c2", 1006), ev("c", 3, "c3", 1007),
		ev("c", 4, "d", 1008), ev("d", 4, "d", 1009), (4, None), ev("d", 9, "zz", 1010)]
	kafka_produce(b, "cdc", msgs)
	want = [[1, "a2"], [3, "c3"]]
	# every message consumed (tombstones included)
	wait_until(lambda: rows(s, "SELECT sum(currentOffset) FROM sys.ingestion "
				   "WHERE tableName = 'cdc'") == [[len(msgs)]], timeout=30,
		   what="%d messages consumed" % len(msgs))
	wait_rows(s, "SELECT id, name FROM cdc ORDER BY id", want)
	time.sleep(0.5)
	assert rows(s, "SELECT id, name FROM cdc ORDER BY id") == want
	assert rows(s, "SELECT count(*) FROM cdc WHERE __deleted = true", skip=True) == [[4]]
	s.restart()
	wait_rows(s, "SELECT id, name FROM cdc ORDER BY id", want)
	# without a deleteRecordColumn a delete cannot be applied: it is a
	# dead letter saying so, and the stream goes on
	s.add_schema(up_schema("cdc2", dims=[("id", "INT"), ("name", "STRING")], times=("__ts_ms",)))
	cfg = stream_table_config("cdc2", "cdc2", b.boot, "__ts_ms",
				  {"stream.kafka.decoder.prop.envelope": "debezium"})
	cfg["upsertConfig"] = {"mode": "FULL"}
	s.add_table(cfg)
	kafka_produce(b, "cdc2", [ev("c", 1, "a", 1000), ev("d", 1, "a", 1001), ev("c", 2, "b", 1002)])
	wait_rows(s, "SELECT id, name FROM cdc2 ORDER BY id", [[1, "a"], [2, "b"]])
	dead = wait_until(lambda: rows(s, "SELECT * FROM sys.dead_letters WHERE table_name = 'cdc2'"),
			  timeout=30, what="a dead letter for the delete")
	assert len(dead) == 1 and "deleteRecordColumn" in json.dumps(dead), dead


# -- 3. oracle -----------------------------------------------------------------

class Oracle:
	"""Latest row per key by comparison value, ties by arrival; deleted
	keys absent (a tombstone keeps its comparison value)."""

	def __init__(self):
		self.best = {}		# key -> (ts, value or None for deleted)

	def apply(self, k, ts, v):
		cur = self.best.get(k)
		if cur is None or ts >= cur[0]:
			self.best[k] = (ts, v)

	def live(self):
		return {k: (ts, v) for k, (ts, v) in self.best.items() if v is not None}


def oracle_table(s, name, partitions=4, flush_rows=50000):
	sch = up_schema(name, dims=[("id", "INT"), ("gone", "BOOLEAN")], metrics=[("v", "LONG")])
	make_table(s, sch, up_config(name, {"mode": "FULL", "deleteRecordColumn": "gone"},
				     partitions=partitions, flush_rows=flush_rows))


def check_oracle(s, name, orc, stored):
	live = orc.live()
	got = rows(s, "SELECT id, ts, v FROM %s" % name)
	seen = {}
	for k, ts, v in got:
		assert k not in seen, "key %d visible twice: %r and %r" % (k, seen[k], (ts, v))
		seen[k] = (ts, v)
	missing = [k for k in live if k not in seen]
	extra = [k for k in seen if k not in live]
	wrong = [(k, seen[k], live[k]) for k in live if k in seen and seen[k] != live[k]]
	assert not missing and not extra and not wrong, \
		"%d missing %r, %d extra %r, %d wrong (key, got, want) %r" % (
			len(missing), missing[:5], len(extra), extra[:5], len(wrong), wrong[:5])
	assert count(s, name) == len(live)
	assert count(s, name, skip=True) == stored


def test_oracle_random_updates_and_deletes(make_server):
	# about 40 s here under ASan; WB_LONG=1 adds a second million after
	# the restart
	n_updates, n_keys, flush, batch = 1000000, 100000, 50000, 25000
	rounds = 2 if LONG else 1
	s = make_server()
	oracle_table(s, "orc", flush_rows=flush)
	rnd = random.Random(20261201)
	orc = Oracle()
	seq = 0
	t0 = time.monotonic()
	for _ in range(rounds):
		push_updates(s, rnd, orc, seq, n_updates, n_keys, batch)
		seq += n_updates
		push_secs = time.monotonic() - t0
		segs = rows(s, "SELECT partition, count(*) FROM sys.segments WHERE tableName = 'orc' "
			       "AND state = 'SEALED' GROUP BY partition ORDER BY partition")
		assert len(segs) == 4 and all(r[1] >= 1 for r in segs), "no seals during the run: %r" % segs
		check_oracle(s, "orc", orc, seq)
		s.restart()
		check_oracle(s, "orc", orc, seq)
		print("oracle: %d updates over %d keys pushed in %.1fs" % (seq, n_keys, push_secs))


def push_updates(s, rnd, orc, seq, n_updates, n_keys, batch):
	"""n_updates random updates (10% deletes) with random timestamps."""
	end = seq + n_updates
	while seq < end:
		recs = []
		for _ in range(min(batch, end - seq)):
			k = rnd.randrange(n_keys)
			ts = rnd.randrange(1000000)		# random: many out of order
			seq += 1
			if rnd.random() < 0.1:
				recs.append({"id": k, "ts": ts, "v": seq, "gone": True})
				orc.apply(k, ts, None)
			else:
				recs.append({"id": k, "ts": ts, "v": seq})
				orc.apply(k, ts, seq)
		push(s, "orc", recs)


# -- 4. kill -9 ------------------------------------------------------------------

class Pusher(threading.Thread):
	"""Pushes batches of distinct keys with increasing timestamps (so the
	latest acknowledged write of a key wins unless a later unacknowledged
	one was applied). Records acked and unacked batches."""

	def __init__(self, s, table, n_keys, rnd, batch=200):
		super().__init__(daemon=True)
		self.s, self.table, self.n_keys, self.rnd, self.batch = s, table, n_keys, rnd, batch
		self.stop = threading.Event()
		self.batches = []	# (ts, {key: value or None}, acked)
		self.errors = []
		self.sess = requests.Session()

	def run(self):
		ts = 0
		while not self.stop.is_set():
			ts += 1
			keys = self.rnd.sample(range(self.n_keys), self.batch)
			recs, vals = [], {}
			for k in keys:
				if self.rnd.random() < 0.1:
					recs.append({"id": k, "ts": ts, "v": ts, "gone": True})
					vals[k] = None
				else:
					recs.append({"id": k, "ts": ts, "v": ts})
					vals[k] = ts
			ok = False
			try:
				url = self.s.url
				r = self.sess.post(url + "/tables/%s/ingest?format=ndjson" % self.table,
						   data=ndjson(recs), timeout=(2, 60))
				if r.status_code == 200:
					ans = r.json()
					if ans.get("accepted") != len(recs):
						self.errors.append(ans)
					ok = True
				elif r.status_code < 500:
					self.errors.append((r.status_code, r.text[:300]))
			except (requests.RequestException, ValueError):
				pass
			self.batches.append((ts, vals, ok))
			if not ok:
				self.sess = requests.Session()
				time.sleep(0.02)


def kill_oracle_check(s, table, batches, n_keys):
	"""Each key: the value of its last acknowledged batch (or absent), or
	that of a later unacknowledged batch."""
	allowed = {}
	for ts, vals, acked in batches:		# in ts order
		for k, v in vals.items():
			if acked:
				allowed[k] = {v}
			else:
				allowed.setdefault(k, {None}).add(v)
	got = rows(s, "SELECT id, v FROM %s" % table)
	seen = {}
	for k, v in got:
		assert k not in seen, "key %d visible twice (%r, %r)" % (k, seen[k], v)
		seen[k] = v
	bad = [(k, seen.get(k), sorted(allowed.get(k, {None}), key=str)) for k in range(n_keys)
	       if seen.get(k) not in allowed.get(k, {None})]
	assert not bad, "%d keys wrong (key, got, allowed): %r" % (len(bad), bad[:10])
	assert count(s, table) == len(seen)


def test_kill9_during_upserts_push(make_server):
	cycles = 100 if LONG else 20
	n_keys = 3000
	s = make_server()
	oracle_table(s, "kp", partitions=3, flush_rows=4000)
	rnd = random.Random(20261202)
	p = Pusher(s, "kp", n_keys, random.Random(7))
	p.start()
	try:
		for _ in range(cycles):
			time.sleep(rnd.uniform(0.05, 0.5))
			s.kill9()
			s.start()
	finally:
		p.stop.set()
		p.join(90)
	assert not p.is_alive()
	assert not p.errors, p.errors[:3]
	acked = sum(1 for b in p.batches if b[2])
	assert acked >= cycles, "only %d batches acknowledged" % acked
	kill_oracle_check(s, "kp", p.batches, n_keys)
	s.restart()
	kill_oracle_check(s, "kp", p.batches, n_keys)


def test_kill9_during_upserts_kafka(make_server, devbroker):
	"""Messages are consumed exactly once across kills: the final table is
	the produced messages' latest row per key."""
	cycles = 100 if LONG else 20
	n_keys = 2000
	b = devbroker(("ku", 3))
	s = make_server()
	s.add_schema(up_schema("ku", dims=[("id", "INT"), ("gone", "BOOLEAN")], metrics=[("v", "LONG")]))
	cfg = stream_table_config("ku", "ku", b.boot, "ts", {"realtime.segment.flush.threshold.rows": "3000"})
	cfg["upsertConfig"] = {"mode": "FULL", "deleteRecordColumn": "gone"}
	s.add_table(cfg)
	stop = threading.Event()
	orc = Oracle()
	produced = [0]
	errors = []

	def producer():
		p = b.producer()
		prnd = random.Random(11)

		def on_delivery(err, msg):
			if err is not None:
				errors.append(err)
		n = 0
		while not stop.is_set():
			for _ in range(100):
				n += 1
				k = prnd.randrange(n_keys)
				ts = n - prnd.randrange(50)		# a little out of order
				if prnd.random() < 0.1:
					rec = {"id": k, "ts": ts, "v": n, "gone": True}
					orc.apply(k, ts, None)
				else:
					rec = {"id": k, "ts": ts, "v": n}
					orc.apply(k, ts, n)
				while True:
					try:
						p.produce("ku", key=str(k).encode(), value=json.dumps(rec).encode(),
							  on_delivery=on_delivery)
						break
					except BufferError:
						p.poll(0.05)
			p.poll(0)
			time.sleep(0.05)
		assert p.flush(60) == 0
		produced[0] = n
	th = threading.Thread(target=producer, daemon=True)
	th.start()
	rnd = random.Random(20261203)
	try:
		for _ in range(cycles):
			time.sleep(rnd.uniform(0.05, 0.5))
			s.kill9()
			s.start()
	finally:
		stop.set()
		th.join(120)
	assert not errors, errors[:3]
	n = produced[0]
	assert n > 5000
	wait_until(lambda: count(s, "ku", skip=True) >= n, timeout=120, what="%d messages" % n)
	time.sleep(1.0)
	check_oracle(s, "ku", orc, n)
	s.restart()
	check_oracle(s, "ku", orc, n)


# -- 5. concurrent reads -----------------------------------------------------------

@pytest.mark.parametrize("how", ["push", "kafka"])
def test_concurrent_reads_see_one_row_per_key(make_server, devbroker, how):
	"""N keys loaded, then one thread streams updates only (some out of
	order) while readers loop: count(*) == N at every read, no key twice,
	and segments seal meanwhile."""
	n_keys = 5000
	s = make_server()
	if how == "kafka":
		b = devbroker(("cr", 2))
		s.add_schema(up_schema("cr", dims=[("id", "INT"), ("gone", "BOOLEAN")],
				       metrics=[("v", "LONG")]))
		cfg = stream_table_config("cr", "cr", b.boot, "ts",
					  {"realtime.segment.flush.threshold.rows": "6000"})
		cfg["upsertConfig"] = {"mode": "FULL"}
		s.add_table(cfg)
		kafka_produce(b, "cr", [(k, json.dumps({"id": k, "ts": 1, "v": 0}).encode())
					for k in range(n_keys)])
		wait_until(lambda: count(s, "cr", skip=True) == n_keys, timeout=60, what="keys loaded")
	else:
		oracle_table(s, "cr", partitions=2, flush_rows=6000)
		push(s, "cr", [{"id": k, "ts": 1, "v": 0} for k in range(n_keys)])
	stop = threading.Event()
	bad = []
	reads = [0]
	writes = [0]

	def updater():
		rnd = random.Random(5)
		sess = requests.Session()
		prod = b.producer() if how == "kafka" else None
		ts = 1
		while not stop.is_set():
			ts += 1
			recs = [{"id": k, "ts": ts - rnd.randrange(3), "v": ts}
				for k in rnd.sample(range(n_keys), 1500)]
			if prod is not None:
				for r in recs:
					while True:
						try:
							prod.produce("cr", key=str(r["id"]).encode(),
								     value=json.dumps(r).encode())
							break
						except BufferError:
							prod.poll(0.05)
				prod.poll(0)
				if prod.flush(30) != 0:
					bad.append("produce: not delivered")
					return
				time.sleep(0.1)
			else:
				r = sess.post(s.url + "/tables/cr/ingest?format=ndjson", data=ndjson(recs),
					      timeout=60)
				if r.status_code != 200 or r.json().get("accepted") != len(recs):
					bad.append("push: %d %s" % (r.status_code, r.text[:300]))
					return
			writes[0] += len(recs)

	def reader(sql, want):
		sess = requests.Session()
		while not stop.is_set():
			try:
				got = qrows(s, sess, sql)
			except (AssertionError, requests.RequestException) as e:
				bad.append("%s: %s" % (sql, e))
				return
			reads[0] += 1
			if got != want:
				bad.append("%s: %r" % (sql, got[:5]))
				return
	threads = [threading.Thread(target=updater, daemon=True),
		   threading.Thread(target=reader, args=("SELECT count(*) FROM cr", [[n_keys]]), daemon=True),
		   threading.Thread(target=reader, args=(
			   "SELECT id, count(*) FROM cr GROUP BY id HAVING count(*) > 1", []), daemon=True),
		   threading.Thread(target=reader, args=(
			   "SELECT count(DISTINCT id), count(*) FROM cr", [[n_keys, n_keys]]), daemon=True)]
	for t in threads:
		t.start()
	deadline = time.monotonic() + (60 if LONG else 12)
	while time.monotonic() < deadline and not bad:
		time.sleep(0.2)
	stop.set()
	for t in threads:
		t.join(60)
	assert not bad, bad[:3]
	assert reads[0] > 20 and writes[0] > 6000, (reads, writes)
	wait_until(lambda: count(s, "cr", skip=True) == n_keys + writes[0], timeout=60,
		   what="every update stored")
	segs = count(s, "sys.segments", "WHERE tableName = 'cr' AND state = 'SEALED'")
	assert segs >= 1, "no seal happened while reading"
	assert count(s, "cr") == n_keys
	no_duplicates(s, "cr")


# -- 6. bad input -------------------------------------------------------------------

def test_bad_configs(server):
	s = server
	plain = schema("nopk", dims=[("id", "INT")],
		       datetimes=[("ts", "LONG", "1:MILLISECONDS:EPOCH", "1:MILLISECONDS")])
	bad_table(s, plain, up_config("nopk", {"mode": "FULL"}), "primaryKeyColumns")
	bad_table(s, None, up_config("nopk", {"mode": "PARTIAL"}), "primaryKeyColumns")
	sch = up_schema("badc", dims=[("id", "INT"), ("v", "LONG")])
	s.add_schema(sch)
	bad_table(s, None, up_config("badc", {"mode": "PARTIAL", "partialUpsertStrategies": {"v": "SUM"}}),
		  "SUM")
	bad_table(s, None, up_config("badc", {"mode": "PARTIAL", "defaultPartialUpsertStrategy": "BOGUS"}),
		  "BOGUS")
	bad_table(s, None, up_config("badc", {"mode": "PARTIAL", "partialUpsertStrategies": {"nope": "MAX"}}),
		  "nope")
	bad_table(s, None, up_config("badc", {"mode": "FULL", "comparisonColumns": ["nope"]}), "nope")
	bad_table(s, None, up_config("badc", {"mode": "FULL", "deleteRecordColumn": "nope"}), "nope")
	bad_table(s, None, up_config("badc", {"mode": "FULL", "outOfOrderRecordColumn": "nope"}), "nope")
	bad_table(s, None, up_config("badc", {"mode": "SOMETIMES"}), "SOMETIMES")
	off = up_config("badc", {"mode": "FULL"})
	off["tableType"] = "OFFLINE"
	bad_table(s, None, off, "REALTIME")
	# and a good one is still accepted afterwards
	s.add_table(up_config("badc", {"mode": "PARTIAL", "partialUpsertStrategies": {"v": "MAX"}}))


def test_bad_rows(server):
	s = server
	sch = up_schema("badr", dims=[("id", "INT"), ("v", "STRING")])
	make_table(s, sch, up_config("badr", {"mode": "FULL"}, partitions=2))
	ans = s.ingest("badr", ndjson([{"id": 1, "ts": 1, "v": "a"}, {"ts": 2, "v": "nokey"},
				      {"id": None, "ts": 2, "v": "nullkey"}, {"id": 2, "ts": 1, "v": "b"}]),
		       fmt="ndjson")
	assert ans["accepted"] == 2 and ans["rejected"] == 2, ans
	for err in ans["errors"]:
		assert "primary key" in err["reason"].lower() or "'id'" in err["reason"], ans
	assert rows(s, "SELECT id, v FROM badr ORDER BY id") == [[1, "a"], [2, "b"]]
	# a NULL comparison value: rejected naming the column, or accepted;
	# either way the key keeps exactly one visible row
	ans = s.ingest("badr", ndjson([{"id": 1, "ts": None, "v": "nots"}]), fmt="ndjson")
	if ans["rejected"]:
		assert "ts" in ans["errors"][0]["reason"], ans
	one(s, "badr", "v", 1)
	assert count(s, "badr") == 2
	no_duplicates(s, "badr")
