"""Ingestion transforms, filters and complex-type flattening (Pinot's
ingestionConfig) on HTTP push and `waybill ingest`, with Pinot's own
example tables; expected values are computed here from the raw data."""
import calendar
import datetime
import json
import subprocess

from conftest import EXAMPLES, SANITIZER_MARKERS

GH = EXAMPLES / "pinot-tools-examples/stream/githubEvents"
AIR = EXAMPLES / "pinot-tools-examples/stream/airlineStats"
UNNEST = EXAMPLES / "pinot-tools-examples/batch/testUnnest"


def load(p):
	return json.loads(p.read_text())


def iso_ms(s):
	return calendar.timegm(datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").timetuple()) * 1000


def pinot_ts(ms):
	d = datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc)
	return d.strftime("%Y-%m-%d %H:%M:%S") + ".0"


def gh_events():
	return [json.loads(l) for l in (GH / "rawdata/2021-07-21-few-hours.json").read_text().splitlines() if l.strip()]


def check_github(srv, table, events):
	want = {e["id"]: (e["type"], iso_ms(e["created_at"])) for e in events}
	rows = srv.rows("SELECT id, type, created_at_timestamp FROM %s" % table)
	assert len(rows) == len(events)
	for rid, typ, ts in rows:
		assert (typ, ts) == (want[rid][0], pinot_ts(want[rid][1])), rid


def test_github_events_realtime_example(make_server):
	"""The stream example exactly as shipped: REALTIME config with a
	streamType, accepting HTTP push; fromDateTime(created_at, ...)."""
	srv = make_server()
	srv.add_schema(load(GH / "githubEvents_schema.json"))
	srv.add_table(load(GH / "githubEvents_realtime_table_config.json"))
	body = (GH / "rawdata/2021-07-21-few-hours.json").read_bytes()
	res = srv.ingest("githubEvents", body)
	assert res["accepted"] == 800 and res["rejected"] == 0, res
	check_github(srv, "githubEvents", gh_events())


def test_github_events_quoted_z(make_server):
	"""Same data with the batch example's pattern ('Z' quoted)."""
	srv = make_server()
	s = load(GH / "githubEvents_schema.json")
	c = load(GH / "githubEvents_realtime_table_config.json")
	s["schemaName"] = c["tableName"] = "gh2"
	c["ingestionConfig"]["transformConfigs"][0]["transformFunction"] = \
		"fromDateTime(created_at, 'yyyy-MM-dd''T''HH:mm:ss''Z''')"
	srv.add_schema(s)
	srv.add_table(c)
	res = srv.ingest("gh2", (GH / "rawdata/2021-07-21-few-hours.json").read_bytes())
	assert res["accepted"] == 800 and res["rejected"] == 0, res
	check_github(srv, "gh2", gh_events())


def test_github_events_zone_offsets(make_server):
	"""Joda's 'ZZ' in a transform: +HH:MM offsets move the time to UTC,
	'Z' is UTC, and a value with a zone id is rejected with an error that
	names the function and the value."""
	srv = make_server()
	s = load(GH / "githubEvents_schema.json")
	c = load(GH / "githubEvents_realtime_table_config.json")
	s["schemaName"] = c["tableName"] = "gh3"
	c["ingestionConfig"]["transformConfigs"][0]["transformFunction"] = \
		"fromDateTime(created_at, 'yyyy-MM-dd''T''HH:mm:ssZZ')"
	srv.add_schema(s)
	srv.add_table(c)
	events = gh_events()[:3]
	shifted = [dict(events[0]), dict(events[1]), dict(events[2])]
	d = datetime.datetime.strptime(events[0]["created_at"], "%Y-%m-%dT%H:%M:%SZ") + datetime.timedelta(hours=5, minutes=30)
	shifted[0]["created_at"] = d.strftime("%Y-%m-%dT%H:%M:%S") + "+05:30"
	d = datetime.datetime.strptime(events[1]["created_at"], "%Y-%m-%dT%H:%M:%SZ") - datetime.timedelta(hours=8)
	shifted[1]["created_at"] = d.strftime("%Y-%m-%dT%H:%M:%S") + "-0800"
	bad = dict(events[2])
	bad["id"] = "bad"
	bad["created_at"] = "2021-07-21T08:00:00PST"
	body = "\n".join(json.dumps(e) for e in shifted + [bad]).encode()
	res = srv.ingest("gh3", body)
	assert res["accepted"] == 3 and res["rejected"] == 1, res
	reason = json.dumps(res["errors"])
	assert "fromdatetime" in reason.lower() and "2021-07-21T08:00:00PST" in reason, res
	check_github(srv, "gh3", events)


def test_github_complex_type(make_server):
	"""complexTypeConfig: nested objects flattened to repo.name, the
	commits of push events unnested into one row each, jsonPathString and
	jsonFormat over a nested object."""
	srv = make_server()
	srv.add_schema({
		"schemaName": "ghc",
		"dimensionFieldSpecs": [
			{"name": "id", "dataType": "STRING"},
			{"name": "type", "dataType": "STRING"},
			{"name": "repo.name", "dataType": "STRING"},
			{"name": "actor.login", "dataType": "STRING"},
			{"name": "payload.commits.sha", "dataType": "STRING"},
			{"name": "head", "dataType": "STRING"},
			{"name": "repo_json", "dataType": "JSON"},
		],
		"dateTimeFieldSpecs": [{"name": "ts", "dataType": "LONG", "format": "1:MILLISECONDS:EPOCH",
					"granularity": "1:MILLISECONDS"}],
	})
	srv.add_table({
		"tableName": "ghc", "tableType": "REALTIME",
		"segmentsConfig": {"timeColumnName": "ts"},
		"ingestionConfig": {
			"complexTypeConfig": {"fieldsToUnnest": ["payload.commits"]},
			"transformConfigs": [
				{"columnName": "ts", "transformFunction": "fromDateTime(created_at, 'yyyy-MM-dd''T''HH:mm:ss''Z''')"},
				{"columnName": "head", "transformFunction": "\"payload.head\""},
				{"columnName": "repo_json", "transformFunction": "jsonFormat(repo)"},
			],
		},
	})
	events = gh_events()
	res = srv.ingest("ghc", (GH / "rawdata/2021-07-21-few-hours.json").read_bytes())
	want = []
	for e in events:
		commits = (e.get("payload") or {}).get("commits") or []
		for c in commits or [None]:
			want.append((e["id"], e["repo"]["name"], e["actor"]["login"], c["sha"] if c else None,
				     (e.get("payload") or {}).get("head")))
	assert res["rejected"] == 0, res
	assert res["accepted"] == len(want), res
	rows = srv.rows('SELECT id, "repo.name", "actor.login", "payload.commits.sha", head FROM ghc')
	norm = lambda r: tuple(None if v in ("null", None) else v for v in r)
	assert sorted(map(norm, rows), key=repr) == sorted(map(norm, want), key=repr)
	one = next(e for e in events if e["repo"])
	rj = srv.scalar("SELECT repo_json FROM ghc WHERE id = '%s' LIMIT 1" % one["id"])
	assert json.loads(rj) == one["repo"]


def run_ingest(binary, srv, path, table, fmt):
	p = subprocess.run([binary, "ingest", str(path), "--table", table, "--server", srv.url, "--format", fmt],
			   stdin=subprocess.DEVNULL, capture_output=True, timeout=300)
	err = p.stderr.decode("utf-8", "replace")
	for m in SANITIZER_MARKERS:
		assert m not in err, err
	return p.returncode, p.stdout.decode("utf-8", "replace"), err


def test_airline_stats_example(make_server, binary):
	"""fromEpochDays transforms of the airlineStats stream example; the Avro
	rawdata goes through `waybill ingest`."""
	srv = make_server()
	srv.add_schema(load(AIR / "airlineStats_schema.json"))
	srv.add_table(load(AIR / "airlineStats_realtime_table_config.json"))
	rc, out, err = run_ingest(binary, srv, AIR / "rawdata/airlineStats_data.avro", "airlineStats", "avro")
	assert rc == 0, (out, err)
	assert srv.count("airlineStats") == 9746
	rows = srv.rows("SELECT DaysSinceEpoch, ts, tsRaw FROM airlineStats")
	assert len(rows) == 9746
	for d, ts, raw in rows:
		assert ts == raw == pinot_ts(d * 86400000), (d, ts, raw)


def test_filter_and_bad_records(make_server):
	"""filterConfig drops rows (counted, not dead letters); transforms over
	source fields that are not columns; 10% bad records are dead letters
	naming the column and the function."""
	srv = make_server()
	srv.add_schema({
		"schemaName": "xf",
		"dimensionFieldSpecs": [
			{"name": "id", "dataType": "INT"},
			{"name": "kind", "dataType": "STRING"},
			{"name": "city", "dataType": "STRING"},
			{"name": "tags", "dataType": "STRING", "singleValueField": False},
		],
		"metricFieldSpecs": [{"name": "amount2", "dataType": "DOUBLE"}],
		"dateTimeFieldSpecs": [{"name": "day", "dataType": "LONG", "format": "1:DAYS:EPOCH",
					"granularity": "1:DAYS"}],
	})
	srv.add_table({
		"tableName": "xf", "tableType": "REALTIME",
		"ingestionConfig": {
			"filterConfig": {"filterFunction": "kind = 'DROP'"},
			"transformConfigs": [
				{"columnName": "kind", "transformFunction": "upper(raw_kind)"},
				{"columnName": "amount2", "transformFunction": "times(amount, 2)"},
				{"columnName": "city", "transformFunction": "jsonPathString(address, '$.city', 'none')"},
				{"columnName": "tags", "transformFunction": "jsonPathArray(address, '$.tags')"},
				{"columnName": "day", "transformFunction": "toEpochDays(event_ms)"},
			],
		},
	})
	lines, want, bad = [], {}, 0
	for i in range(200):
		kind = "drop" if i % 7 == 0 else "k%d" % (i % 3)
		rec = {"id": i, "raw_kind": kind, "amount": i * 1.5, "event_ms": 1700000000000 + i * 3600000,
		       "address": {"city": "c%d" % (i % 5), "tags": ["a", "b%d" % i]}}
		if i % 10 == 3:
			rec["amount"] = "not a number"
			bad += 1
		elif i % 10 == 5 and kind != "drop":
			rec["address"] = "{broken json"
			bad += 1
		elif kind != "drop":
			want[i] = (kind.upper(), i * 3.0, "c%d" % (i % 5), (1700000000000 + i * 3600000) // 86400000)
		lines.append(json.dumps(rec))
	res = srv.ingest("xf", "\n".join(lines).encode())
	assert res["accepted"] == len(want), res
	assert res["rejected"] == bad, res
	assert res["filtered"] == 200 - len(want) - bad, res
	reasons = {e["line"]: (e["column"], e["reason"]) for e in res["errors"]}
	col, why = reasons[4]			# record 3: amount
	assert col == "amount2" and "times(amount, 2)" in why, why
	col, why = reasons[6]			# record 5: address
	assert col == "city" and "jsonPathString" in why and "not valid JSON" in why, why
	rows = srv.rows("SELECT id, kind, amount2, city, day FROM xf")
	assert {r[0]: tuple(r[1:]) for r in rows} == want
	tags = srv.rows("SELECT tags FROM xf WHERE id = 1")
	assert tags == [[["a", "b1"]]]
	dl = srv.scalar("SELECT count(*) FROM sys.dead_letters WHERE table_name = 'xf'")
	assert dl == bad


def refused(srv, name, fn):
	"""A table whose transform cannot be compiled: refused when the table
	is created (400 naming the field), or failing its first push."""
	srv.add_schema({"schemaName": name, "dimensionFieldSpecs": [{"name": "a", "dataType": "STRING"}]})
	r = srv.post("/tables", data=json.dumps({"tableName": name, "tableType": "REALTIME", "ingestionConfig": {
		"transformConfigs": [{"columnName": "a", "transformFunction": fn}]}}),
		headers={"Content-Type": "application/json"})
	if r.status_code == 200:
		r = srv.ingest(name, b'{"x": 1}\n', expect=400)
	assert r.status_code == 400, r.text
	return r.text


def test_groovy_and_bad_expressions_refused(make_server):
	srv = make_server()
	t = refused(srv, "gv", "Groovy({x + 1}, x)")
	assert "transformConfigs[0].transformFunction" in t and "Groovy" in t, t
	t = refused(srv, "nf", "noSuchFunction(x)")
	assert "transformConfigs[0]" in t, t


def test_unnest_example_delimiter(make_server):
	"""batch/testUnnest: fieldsToUnnest with the delimiter '||'."""
	srv = make_server()
	s = load(UNNEST / "testUnnest_schema.json")
	c = load(UNNEST / "testUnnest_offline_table_config.json")
	srv.add_schema(s)
	srv.add_table(c)
	recs = [{"key": "k1", "event_time": 1, "recordArray": [{"name": "a"}, {"name": "b"}]},
		{"key": "k2", "event_time": 2, "recordArray": []}]
	name = c["tableName"].replace("_OFFLINE", "")
	res = srv.ingest(name, "\n".join(json.dumps(r) for r in recs).encode())
	assert res["accepted"] == 3 and res["rejected"] == 0, res
	rows = srv.rows('SELECT key, "recordArray||name" FROM %s ORDER BY key, "recordArray||name"' % name)
	assert [tuple(r) for r in rows] in ([("k1", "a"), ("k1", "b"), ("k2", "null")],
					     [("k1", "a"), ("k1", "b"), ("k2", None)])
