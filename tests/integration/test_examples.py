"""Pinot's example schemas and table configs load unchanged through the
controller API; broken variants get 400 naming the exact field.

Every JSON/.schema file under pinot-examples (outside query-test folders)
is classified: a schema has `schemaName` and field specs, a table config
has `tableType`.  A config's schema is the one beside it (same folder and
schemaName == raw table name), else one elsewhere with that name whose
columns cover every column the config mentions.  Configs with no schema in
the examples must be refused naming the missing schema (as Pinot does).
"""
import copy
import json
import os

import pytest

from conftest import EXAMPLES, error_text

SKIP_DIRS = ("multistage-query-tests", "query-results", "queries", "rawdata")
FIELD_LISTS = ("dimensionFieldSpecs", "metricFieldSpecs", "dateTimeFieldSpecs",
	       "timeFieldSpec", "complexFieldSpecs")


def _scan():
	schemas, configs = [], []
	for root, dirs, files in os.walk(EXAMPLES):
		dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
		for f in sorted(files):
			if not (f.endswith(".json") or f.endswith(".schema")):
				continue
			p = os.path.join(root, f)
			try:
				with open(p, "rb") as fh:
					j = json.loads(fh.read())
			except ValueError:
				continue		# NDJSON data files
			if not isinstance(j, dict):
				continue
			if "tableType" in j and "tableName" in j:
				configs.append(p)
			elif "schemaName" in j and any(k in j for k in FIELD_LISTS):
				schemas.append(p)
	return schemas, configs


SCHEMAS, CONFIGS = _scan() if EXAMPLES.exists() else ([], [])


def rel(p):
	return os.path.relpath(p, EXAMPLES)


def load(p):
	with open(p, "rb") as f:
		return json.loads(f.read())


def raw_name(name):
	for suf in ("_OFFLINE", "_REALTIME"):
		if name.endswith(suf):
			return name[:-len(suf)]
	return name


def schema_columns(s):
	cols = {}
	for k in FIELD_LISTS:
		v = s.get(k)
		if isinstance(v, dict):
			v = [v.get("incomingGranularitySpec", v)]
		for spec in v or []:
			if isinstance(spec, dict) and "name" in spec:
				cols[spec["name"]] = (spec.get("dataType"), spec.get("singleValueField", True))
	return cols


def config_columns(c):
	"""Column names a table config refers to."""
	out = set()
	tic = c.get("tableIndexConfig", {}) or {}
	for k in ("invertedIndexColumns", "rangeIndexColumns", "noDictionaryColumns",
		  "bloomFilterColumns", "onHeapDictionaryColumns", "varLengthDictionaryColumns",
		  "sortedColumn", "jsonIndexColumns"):
		v = tic.get(k)
		if isinstance(v, list):
			out.update(x for x in v if isinstance(x, str))
	for fc in c.get("fieldConfigList", []) or []:
		if isinstance(fc, dict) and "name" in fc:
			out.add(fc["name"])
	t = (c.get("segmentsConfig") or {}).get("timeColumnName")
	if t:
		out.add(t)
	return out


def resolve_schema(cfg_path):
	cfg = load(cfg_path)
	name = (cfg.get("segmentsConfig") or {}).get("schemaName") or raw_name(cfg["tableName"])
	cands = [p for p in SCHEMAS if load(p).get("schemaName") == name]
	d = os.path.dirname(cfg_path)
	near = [p for p in cands if os.path.dirname(p) == d]
	if near:
		return near[0]
	need = config_columns(cfg)
	for p in cands:
		if need <= set(schema_columns(load(p))):
			return p
	return None


RESOLVED = [(c, resolve_schema(c)) for c in CONFIGS]
WITH_SCHEMA = [(c, s) for c, s in RESOLVED if s]
WITHOUT_SCHEMA = [c for c, s in RESOLVED if not s]


def test_examples_found():
	assert EXAMPLES.exists(), "pinot-examples not found at %s (set WB_SHARED)" % EXAMPLES
	assert len(SCHEMAS) >= 60 and len(CONFIGS) >= 60, (len(SCHEMAS), len(CONFIGS))
	assert len(WITH_SCHEMA) >= 55


def check_schema_round_trip(server, path):
	original = load(path)
	name = original["schemaName"]
	with open(path, "rb") as f:
		body = f.read()		# unchanged bytes
	r = server.post("/schemas?override=true", data=body,
			headers={"Content-Type": "application/json"})
	assert r.status_code == 200, "%s: %d %s" % (rel(path), r.status_code, r.text)
	j = r.json()
	assert "unrecognizedProperties" in j and isinstance(j["unrecognizedProperties"], dict), j
	assert name in j.get("status", ""), j
	r = server.get("/schemas")
	assert r.status_code == 200 and name in r.json(), r.text
	r = server.get("/schemas/" + name)
	assert r.status_code == 200, r.text
	got = r.json()
	assert got["schemaName"] == name
	want_cols = schema_columns(original)
	got_cols = schema_columns(got)
	for col, (dt, sv) in want_cols.items():
		assert col in got_cols, "%s: column %s lost in GET /schemas/%s" % (rel(path), col, name)
		gdt, gsv = got_cols[col]
		if dt != "BIG_DECIMAL":		# documented: stored as DOUBLE
			assert gdt == dt, "%s: %s type %s became %s" % (rel(path), col, dt, gdt)
		assert bool(gsv) == bool(sv), "%s: %s singleValueField changed" % (rel(path), col)
	return name


@pytest.mark.parametrize("path", SCHEMAS, ids=[rel(p) for p in SCHEMAS])
def test_schema_loads_unchanged(server, path):
	name = check_schema_round_trip(server, path)
	r = server.delete("/schemas/" + name)
	assert r.status_code == 200, r.text
	assert "status" in r.json()
	r = server.get("/schemas/" + name)
	assert r.status_code == 404, r.text
	assert r.json().get("code") == 404 and r.json().get("error")


@pytest.mark.parametrize("cfg_path,schema_path", WITH_SCHEMA,
			 ids=[rel(c) for c, _ in WITH_SCHEMA])
def test_table_config_loads_unchanged(server, cfg_path, schema_path):
	sname = check_schema_round_trip(server, schema_path)
	cfg = load(cfg_path)
	name = raw_name(cfg["tableName"])
	ttype = cfg["tableType"].upper()
	with open(cfg_path, "rb") as f:
		body = f.read()
	r = server.post("/tables", data=body, headers={"Content-Type": "application/json"})
	assert r.status_code == 200, "%s: %d %s" % (rel(cfg_path), r.status_code, r.text)
	try:
		j = r.json()
		assert isinstance(j.get("unrecognizedProperties"), dict), j
		assert j.get("status") == "Table %s_%s successfully added" % (name, ttype), j
		r = server.get("/tables")
		assert r.status_code == 200 and name in r.json()["tables"], r.text
		r = server.get("/tables/" + name)
		assert r.status_code == 200, r.text
		got = r.json()
		assert ttype in got, got
		assert raw_name(got[ttype]["tableName"]) == name
		assert got[ttype]["tableType"].upper() == ttype
		r = server.get("/tables/%s/schema" % name)
		assert r.status_code == 200 and r.json()["schemaName"] == sname, r.text
		# the schema is in use: deleting it is a conflict
		r = server.delete("/schemas/" + sname)
		assert r.status_code == 409, "DELETE of a schema in use: %d %s" % (r.status_code, r.text)
	finally:
		r = server.delete("/tables/%s?type=%s" % (name, ttype.lower()))
		assert r.status_code == 200, r.text
		r2 = server.delete("/schemas/" + sname)
		assert r2.status_code == 200, r2.text
	r = server.get("/tables/" + name)
	assert r.status_code == 404, r.text


@pytest.mark.parametrize("cfg_path", WITHOUT_SCHEMA, ids=[rel(c) for c in WITHOUT_SCHEMA])
def test_table_config_without_schema_is_refused(server, cfg_path):
	cfg = load(cfg_path)
	name = (cfg.get("segmentsConfig") or {}).get("schemaName") or raw_name(cfg["tableName"])
	if server.get("/schemas/" + name).status_code == 200:
		server.delete("/schemas/" + name)
	with open(cfg_path, "rb") as f:
		r = server.post("/tables", data=f.read(), headers={"Content-Type": "application/json"})
	assert r.status_code in (400, 404), r.text
	assert name in error_text(r), "error must name the schema %s: %s" % (name, r.text)


def test_unrecognized_properties_are_json_paths(server):
	"""Unknown keys come back as Pinot writes them (JsonUtils): one entry per
	leaf, keyed by its '/'-separated path, e.g.
	{"/tableIndexConfig/someUnknownKnob": 5}."""
	d = EXAMPLES / "compatibility-verifier/sample-test-suite/config"
	server.add_schema((d / "FeatureTest1-schema.json").read_bytes(), override=True)
	c = load(d / "feature-test-1.json")
	c["tableIndexConfig"]["someUnknownKnob"] = 5
	c["tableIndexConfig"]["nested"] = {"a": {"b": "x"}}
	j = server.add_table(c)
	try:
		unk = j["unrecognizedProperties"]
		assert unk.get("/tableIndexConfig/someUnknownKnob") == 5, unk
		assert unk.get("/tableIndexConfig/nested/a/b") == "x", unk
		for k in unk:
			assert k.startswith("/"), "unrecognizedProperties keys are '/' paths: %r" % k
		# keys Waybill implements are never reported
		assert not any(k.startswith("/tableName") or k.startswith("/tableType") for k in unk), unk
	finally:
		assert server.delete("/tables/FeatureTest1").status_code == 200
		assert server.delete("/schemas/FeatureTest1").status_code == 200


def test_hybrid_table_offline_and_realtime(server):
	d = EXAMPLES / "pinot-tools-examples/minions/stream/githubEvents"
	server.add_schema((d / "githubEvents_schema.json").read_bytes(), override=True)
	server.add_table((d / "githubEvents_offline_table_config.json").read_bytes())
	server.add_table((d / "githubEvents_realtime_table_config.json").read_bytes())
	got = server.get("/tables/githubEvents").json()
	assert "OFFLINE" in got and "REALTIME" in got, got
	assert server.delete("/tables/githubEvents?type=offline").status_code == 200
	got = server.get("/tables/githubEvents").json()
	assert "OFFLINE" not in got and "REALTIME" in got, got
	assert server.delete("/tables/githubEvents").status_code == 200
	assert server.get("/tables/githubEvents").status_code == 404
	assert server.delete("/schemas/githubEvents").status_code == 200


# -- refused inputs ---------------------------------------------------------

AIRLINE = EXAMPLES / "pinot-tools-examples/batch/airlineStats"


def airline_schema():
	return load(AIRLINE / "airlineStats_schema.json")


def airline_config():
	return load(AIRLINE / "airlineStats_offline_table_config.json")


def post_schema(server, body, override=True):
	if not isinstance(body, (bytes, str)):
		body = json.dumps(body)
	return server.post("/schemas" + ("?override=true" if override else ""), data=body,
			   headers={"Content-Type": "application/json"})


def assert_400(r, *needles):
	assert r.status_code == 400, "want 400, got %d %s" % (r.status_code, r.text)
	j = r.json()
	assert j.get("code") == 400 and isinstance(j.get("error"), str), j
	for n in needles:
		assert n in j["error"], "error should name %r: %r" % (n, j["error"])
	return j["error"]


def test_schema_wrong_type_name(server):
	s = airline_schema()
	s["schemaName"] = "badType"
	s["dimensionFieldSpecs"][3]["dataType"] = "STRNG"
	assert_400(post_schema(server, s), "dimensionFieldSpecs[3].dataType", "STRNG")
	s = airline_schema()
	s["schemaName"] = "badType"
	s["dateTimeFieldSpecs"][0]["dataType"] = 7
	assert_400(post_schema(server, s), "dateTimeFieldSpecs[0].dataType")
	assert server.get("/schemas/badType").status_code == 404


def test_schema_missing_name(server):
	s = airline_schema()
	del s["schemaName"]
	assert_400(post_schema(server, s), "schemaName")


def test_schema_field_without_name(server):
	s = airline_schema()
	s["schemaName"] = "noFieldName"
	del s["dimensionFieldSpecs"][2]["name"]
	assert_400(post_schema(server, s), "dimensionFieldSpecs[2].name")


def test_schema_duplicate_column(server):
	s = airline_schema()
	s["schemaName"] = "dupCol"
	dup = copy.deepcopy(s["dimensionFieldSpecs"][1])
	s["dimensionFieldSpecs"].append(dup)
	assert_400(post_schema(server, s), dup["name"])


def test_bad_json_names_position(server):
	body = '{\n  "schemaName": "broken",\n  "dimensionFieldSpecs": [{"name": "a" "dataType": "INT"}]\n}\n'
	err = assert_400(post_schema(server, body))
	off = body.index('"dataType"')
	ok = ("line 3" in err.lower()) or any(str(o) in err for o in range(off - 2, off + 3))
	assert ok, "bad JSON error should give the position (line 3 / offset %d): %r" % (off, err)
	r = server.post("/tables", data=body.replace("schemaName", "tableName"),
			headers={"Content-Type": "application/json"})
	err = assert_400(r)
	assert ("line 3" in err.lower()) or any(str(o) in err for o in range(off - 2, off + 3)), err


def test_schema_exists_without_override_is_conflict(server):
	s = airline_schema()
	s["schemaName"] = "dupSchema"
	assert post_schema(server, s, override=False).status_code == 200
	r = post_schema(server, s, override=False)
	assert r.status_code == 409, r.text
	s["dimensionFieldSpecs"] = s["dimensionFieldSpecs"][:3]
	assert post_schema(server, s, override=True).status_code == 200
	assert len(server.get("/schemas/dupSchema").json()["dimensionFieldSpecs"]) == 3
	s["dimensionFieldSpecs"] = s["dimensionFieldSpecs"][:2]
	r = server.put("/schemas/dupSchema", data=json.dumps(s), headers={"Content-Type": "application/json"})
	assert r.status_code == 200, r.text
	assert len(server.get("/schemas/dupSchema").json()["dimensionFieldSpecs"]) == 2
	assert server.delete("/schemas/dupSchema").status_code == 200
	assert server.delete("/schemas/dupSchema").status_code == 404


def test_table_missing_schema_name_and_table_name(server):
	c = airline_config()
	del c["tableName"]
	assert_400(server.post("/tables", json=c), "tableName")
	c = airline_config()
	c["tableName"] = "noSuchSchemaAnywhere"
	r = server.post("/tables", json=c)
	assert r.status_code in (400, 404), r.text
	assert "noSuchSchemaAnywhere" in error_text(r)


def test_table_type_batch(server):
	server.add_schema(airline_schema(), override=True)
	c = airline_config()
	c["tableType"] = "BATCH"
	assert_400(server.post("/tables", json=c), "tableType", "BATCH")
	assert server.get("/tables/airlineStats").status_code == 404


def test_index_on_missing_column(server):
	server.add_schema(airline_schema(), override=True)
	c = airline_config()
	c.setdefault("tableIndexConfig", {})["invertedIndexColumns"] = ["Carrier", "NoSuchColumn"]
	err = assert_400(server.post("/tables", json=c), "NoSuchColumn")
	assert "invertedIndexColumns" in err, err
	c = airline_config()
	c["segmentsConfig"]["timeColumnName"] = "NoSuchTime"
	assert_400(server.post("/tables", json=c), "NoSuchTime")
	assert server.get("/tables/airlineStats").status_code == 404


def test_table_put_replaces_and_unknown_keys_reported(server):
	server.add_schema(airline_schema(), override=True)
	c = airline_config()
	c["someUnknownKey"] = {"x": 1}
	j = server.add_table(c)
	assert any("someUnknownKey" in k for k in j["unrecognizedProperties"]), j
	c2 = airline_config()
	c2["tableIndexConfig"]["invertedIndexColumns"] = ["Carrier"]
	r = server.put("/tables/airlineStats", json=c2)
	assert r.status_code == 200, r.text
	got = server.get("/tables/airlineStats").json()["OFFLINE"]
	assert got["tableIndexConfig"]["invertedIndexColumns"] == ["Carrier"], got
	assert server.delete("/tables/airlineStats").status_code == 200
	assert server.delete("/tables/airlineStats").status_code == 404
	assert server.delete("/schemas/airlineStats").status_code == 200


def test_server_still_healthy(server):
	r = server.get("/health")
	assert r.status_code == 200 and r.text.strip() == "OK"
