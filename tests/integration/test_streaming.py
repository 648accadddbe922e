"""A ~300 MB NDJSON body (generated on the fly, chunked transfer) is
ingested while the server's RSS grows by less than a quarter of the body
size: the body is streamed, not buffered.  Under ASan (slower, with shadow memory) the
body is 200 MB with the quarantine off; with WB_LONG=1 it is 1 GB on a
release build.  WB_STREAM_MB overrides the size."""
import os
import threading

from conftest import LONG, is_asan, schema

# Each line carries a 1 KB member that is not in the schema (ignored on
# ingest), so what the table stores is small next to the body even with
# ASan's per-allocation overhead: a server that buffers the body grows by
# the body size, one that streams it grows by a fraction.
ROW = ('{"id": %d, "category": "category-%d", "status": "delivered-successfully-to-the-customer", '
       '"region": "region-%d", "carrier": "carrier-number-%d", "qty": %d, "note": "%s", '
       '"unused_payload": "' + "p" * 1000 + '"}\n')
PAD = "x" * 40


def body_gen(total_bytes, counter):
	i = 0
	sent = 0
	while sent < total_bytes:
		chunk = "".join(ROW % (n, n % 17, n % 5, n % 11, n % 100, PAD) for n in range(i, i + 1000)).encode()
		i += 1000
		sent += len(chunk)
		counter["rows"] = i
		counter["bytes"] = sent
		yield chunk


def test_streamed_body_bounded_memory(make_server, binary):
	asan = is_asan(binary)
	size = (200 if asan else (1000 if LONG else 300)) << 20
	if os.environ.get("WB_STREAM_MB"):
		size = int(os.environ["WB_STREAM_MB"]) << 20
	# ASan's quarantine keeps freed memory resident by design: turn it off
	# so RSS measures the server, not the sanitizer.
	env = {"ASAN_OPTIONS": "quarantine_size_mb=0:thread_local_quarantine_size_kb=0:detect_leaks=1"} if asan else None
	srv = make_server(env=env)
	srv.create(schema("big", dims=[("id", "LONG"), ("category", "STRING"), ("status", "STRING"),
				       ("region", "STRING"), ("carrier", "STRING"), ("note", "STRING")],
			  metrics=[("qty", "INT")]))
	# warm up the table so the baseline includes per-table structures
	srv.ingest("big", "".join(ROW % (n, 0, 0, 0, 0, PAD) for n in range(10 ** 9, 10 ** 9 + 100)).encode())
	base = srv.rss_kb()
	peak = [base]
	done = threading.Event()

	def sample():
		while not done.wait(0.05):
			try:
				peak[0] = max(peak[0], srv.rss_kb())
			except OSError:
				return
	t = threading.Thread(target=sample, daemon=True)
	t.start()
	counter = {}
	try:
		r = srv.post("/tables/big/ingest?format=ndjson", data=body_gen(size, counter),
			     headers={"Content-Type": "application/x-ndjson"}, timeout=(10, 600))
	finally:
		done.set()
		t.join(timeout=10)
	assert r.status_code == 200, r.text[:1000]
	j = r.json()
	assert j["accepted"] == counter["rows"] and j["rejected"] == 0, (j, counter)
	growth_mb = (peak[0] - base) / 1024
	body_mb = counter["bytes"] / (1 << 20)
	print("body %.0f MB, rows %d, RSS base %.0f MB, peak growth %.0f MB"
	      % (body_mb, counter["rows"], base / 1024, growth_mb))
	assert growth_mb < body_mb / 4, "RSS grew %.0f MB during a %.0f MB upload" % (growth_mb, body_mb)
	assert srv.count("big") == counter["rows"] + 100
	assert srv.scalar("SELECT count(DISTINCT category) FROM big") == 17
