"""GET /metrics: Prometheus text with the counters of metrics.def and the
per-table gauges; the numbers follow what the server did."""
import re

from conftest import ndjson, schema


def metrics(srv):
	r = srv.get("/metrics")
	assert r.status_code == 200
	assert r.headers["Content-Type"].startswith("text/plain")
	out = {}
	for line in r.text.splitlines():
		if line.startswith("#") or not line.strip():
			continue
		m = re.match(r'^([a-z_]+(?:\{[^}]*\})?) (\d+)$', line)
		assert m, "not Prometheus text: %r" % line
		out[m.group(1)] = int(m.group(2))
	return out


def test_metrics_follow_activity(make_server):
	srv = make_server()
	m0 = metrics(srv)
	for name in ("waybill_ingest_rows_total", "waybill_queries_total", "waybill_wal_syncs_total",
		     "waybill_memory_allocated_bytes"):
		assert name in m0, name
	srv.create(schema("mt", dims=[("id", "INT")]))
	body = ndjson([{"id": i} for i in range(1000)]) + b'not json\n'
	j = srv.ingest("mt", body)
	assert (j["accepted"], j["rejected"]) == (1000, 1)
	srv.query("SELECT count(*) FROM mt")
	srv.query("SELECT nosuchcolumn FROM mt")
	m1 = metrics(srv)
	assert m1["waybill_ingest_rows_total"] - m0["waybill_ingest_rows_total"] == 1000
	assert m1["waybill_ingest_rejected_total"] - m0["waybill_ingest_rejected_total"] == 1
	assert m1["waybill_ingest_requests_total"] - m0["waybill_ingest_requests_total"] == 1
	assert m1["waybill_queries_total"] - m0["waybill_queries_total"] >= 2
	assert m1["waybill_query_errors_total"] - m0["waybill_query_errors_total"] >= 1
	assert m1["waybill_wal_syncs_total"] > m0["waybill_wal_syncs_total"]
	assert m1['waybill_table_rows{table="mt"}'] == 1000
	assert m1['waybill_table_rows{table="sys.dead_letters"}'] == 1
