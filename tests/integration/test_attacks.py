"""Query limits under attack: the server runs under a memory cap and is fed
queries built to exhaust it -- a 10^7-group GROUP BY, a 10^6-item IN list,
10^4-deep nesting, a cross join -- and two queries at once, one blowing its
budget.  Every attack must end with a clear error (or the right answer),
and afterwards the server must still be up: /health answers, a normal
query works, and at the end it stops cleanly (exit 0).

The memory cap is RLIMIT_AS (resource.prlimit on the running server: its
address space right after start plus CAP_HEADROOM).  A cgroup is not
assumed: CI and this machine run as root on Debian 12, but whether a
cgroup v2 memory controller is writable there depends on the container
(here only a v1 hierarchy owned by the sandbox is mounted).  RLIMIT_AS
does not work under AddressSanitizer (it reserves terabytes of shadow
memory), so these tests drive a non-sanitized binary: $WAYBILL_PLAIN, or
$WAYBILL when it is not an ASan build, or else build/waybill (the
Makefile's `make all` binary, RelWithDebInfo without sanitizers; another
build directory with $WB_PLAIN_BUILD), built here with CMake (a no-op when
it is up to date).

10^7 groups without ingesting 10^7 rows: GROUP BY over multi-value
columns follows Pinot -- a row joins one group per combination of its
keys' elements -- so 1,000 rows with an id and two 100-element arrays
make 1,000 x 100 x 100 = 10^7 distinct (id, a, b) groups, from a 1 MB
upload.  The group table really grows towards 10^7 entries: it is the
group cap or the memory budget that stops it.  One server also gets a
per-query budget far above its cap, so that the allocator itself fails
first: that too must end the query, not the process.

Shapes known to crash the server would be marked xfail(run=False) with
where they crash (CRASHES), so that the module's shared server is not taken
down.
"""
import json
import os
import resource
import subprocess
import threading
import time
from pathlib import Path

import pytest
import requests

from conftest import REPO, is_asan, ndjson, schema

MiB = 1 << 20
QUERY_MEM_MIB = 128		# --query-memory: the per-query budget ceiling
CAP_HEADROOM = 1024 * MiB	# RLIMIT_AS = address space at start + this
ROWS = 1000			# rows of table g
ELEMS = 100			# elements of each of g's two arrays


def plain_binary():
	b = os.environ.get("WAYBILL_PLAIN")
	if b:
		assert os.path.exists(b), "WAYBILL_PLAIN=%s does not exist" % b
		return b
	w = os.environ.get("WAYBILL")
	if w and os.path.exists(w) and not is_asan(w):
		return w
	build = Path(os.environ.get("WB_PLAIN_BUILD") or (REPO / "build"))
	cfg = ["cmake", "-S", str(REPO), "-B", str(build), "-DCMAKE_BUILD_TYPE=RelWithDebInfo",
	       "-DWB_SANITIZE=OFF"]
	p = subprocess.run(cfg, capture_output=True, timeout=300)
	if p.returncode == 0:
		p = subprocess.run(["cmake", "--build", str(build), "--target", "waybill", "-j",
				    str(os.cpu_count() or 2)], capture_output=True, timeout=900)
	assert p.returncode == 0, "building a non-sanitized waybill for the memory-cap tests failed:\n%s" % (
		p.stdout.decode(errors="replace")[-3000:] + p.stderr.decode(errors="replace")[-3000:])
	return str(build / "waybill")


def vm_kb(pid, field):
	with open("/proc/%d/status" % pid) as f:
		for line in f:
			if line.startswith(field + ":"):
				return int(line.split()[1])
	return 0


def capped_server(factory, args, headroom):
	"""A plain server under RLIMIT_AS = its address space now + headroom,
	with table g loaded."""
	s = factory(binary=plain_binary(),
		    # few malloc arenas: the address space then tracks what is used
		    env={"MALLOC_ARENA_MAX": "2"}, args=args)
	cap = vm_kb(s.pid, "VmSize") * 1024 + headroom
	resource.prlimit(s.pid, resource.RLIMIT_AS, (cap, cap))
	s.cap = cap
	s.create(schema("g", dims=[("id", "LONG"), ("a", "LONG", False), ("b", "LONG", False)]))
	rows = [{"id": i, "a": list(range(ELEMS)), "b": list(range(1000, 1000 + ELEMS))} for i in range(ROWS)]
	assert s.ingest("g", ndjson(rows))["accepted"] == ROWS
	return s


@pytest.fixture(scope="module")
def srv(module_server_factory):
	return capped_server(module_server_factory,
			     ["--query-memory", str(QUERY_MEM_MIB), "--max-groups", "20000000",
			      "--query-timeout", "20000", "--max-result-rows", "100000"], CAP_HEADROOM)


def answer(s, sql, options=None, timeout=120):
	"""(rows, None) or (None, error message) of one query."""
	body = {"sql": sql}
	if options:
		body["queryOptions"] = options
	r = s.post("/query/sql", json=body, timeout=timeout)
	assert r.status_code in (200, 400, 413), "HTTP %d: %s" % (r.status_code, r.text[:500])
	j = r.json()
	if r.status_code != 200:
		return None, str(j.get("error", j))
	if j.get("exceptions"):
		return None, " ".join(x["message"] for x in j["exceptions"])
	return j["resultTable"]["rows"], None


def still_fine(s):
	"""The server survived: alive, /health, a normal query, under its cap."""
	assert s.alive(), "server died (exit %s)" % s.proc.returncode
	r = s.get("/health", timeout=10)
	assert r.status_code == 200 and r.text.startswith("OK"), r.text
	assert s.scalar("SELECT count(*) FROM g") == ROWS
	assert s.rows("SELECT id, count(*) FROM g WHERE id < 3 GROUP BY id ORDER BY id") == [[0, 1], [1, 1], [2, 1]]
	assert vm_kb(s.pid, "VmPeak") * 1024 <= s.cap


GROUPS_10M = "SELECT id, a, b, count(*) FROM g GROUP BY id, a, b ORDER BY id LIMIT 5"


def test_ten_million_groups_stopped_by_memory_budget(srv):
	t0 = time.monotonic()
	rows, err = answer(srv, GROUPS_10M)
	assert rows is None, "10^7 groups fit in %d MiB?" % QUERY_MEM_MIB
	assert "memory budget of %d MiB" % QUERY_MEM_MIB in err and "--query-memory" in err, err
	assert time.monotonic() - t0 < 60
	still_fine(srv)


def test_ten_million_groups_stopped_by_group_cap(srv):
	rows, err = answer(srv, GROUPS_10M, options="numGroupsLimit=100000")
	assert rows is None
	assert "limit of 100000 groups" in err and "numGroupsLimit" in err, err
	rows, err = answer(srv, "SET numGroupsLimit = 5000; " + GROUPS_10M)
	assert rows is None
	assert "limit of 5000 groups" in err, err
	# the memory is back: a query needing most of the budget works
	rows, err = answer(srv, "SELECT a, b, count(*) FROM g GROUP BY a, b ORDER BY a, b LIMIT 2")
	assert err is None, err
	assert rows == [[0, 1000, ROWS], [0, 1001, ROWS]]
	still_fine(srv)


def test_group_cap_allows_what_fits(srv):
	# 10^4 groups under a cap of 10^4: exactly at the limit is fine
	rows, err = answer(srv, "SELECT a, b, count(*) FROM g GROUP BY a, b LIMIT 100000",
			   options="numGroupsLimit=10000")
	assert err is None, err
	assert len(rows) == ELEMS * ELEMS
	rows, err = answer(srv, "SELECT a, b, count(*) FROM g GROUP BY a, b LIMIT 100000",
			   options="numGroupsLimit=9999")
	assert rows is None and "limit of 9999 groups" in err, err


def test_budget_blown_while_another_query_runs(srv):
	"""One query exceeds its budget while others run beside it: they
	succeed, and the budget error is the blown query's only."""
	big = {}

	def run_big():
		big["res"] = answer(srv, GROUPS_10M)

	t = threading.Thread(target=run_big)
	t.start()
	small = 0
	try:
		while t.is_alive() or small < 3:
			rows, err = answer(srv, "SELECT a, count(*), sum(id) FROM g WHERE id < 500 GROUP BY a "
					   "ORDER BY a LIMIT 3")
			assert err is None, err
			assert rows == [[a, 500, 124750] for a in range(3)]
			small += 1
	finally:
		t.join(120)
	rows, err = big["res"]
	assert rows is None and "memory budget" in err, err
	still_fine(srv)


def test_million_item_in_list(srv):
	ids = ",".join(str(i) for i in range(0, 2 * 10 ** 6, 2))	# 10^6 items, ~6.9 MB of SQL
	sql = "SELECT count(*) FROM g WHERE id IN (%s)" % ids
	assert len(sql) > 6 * MiB
	rows, err = answer(srv, sql, timeout=180)
	# either the right answer (the even ids below ROWS) or a clear refusal
	if err is None:
		assert rows == [[ROWS // 2]]
	else:
		assert "IN" in err or "too large" in err or "memory" in err, err
	still_fine(srv)


def test_in_list_at_the_body_limit(srv):
	ids = ",".join(str(i) for i in range(2200000))
	rows, err = answer(srv, "SELECT count(*) FROM g WHERE id IN (%s)" % ids, timeout=300)
	assert rows == [[ROWS]] or "too large" in err, err
	still_fine(srv)


def test_body_over_the_http_limit_is_refused(srv):
	sql = "SELECT count(*) FROM g WHERE id IN (%s)" % ",".join(["1234567"] * (3 * 10 ** 6))	# ~24 MB
	r = srv.post("/query/sql", json={"sql": sql}, timeout=120)
	assert r.status_code == 413, r.text[:300]
	assert "larger than" in r.text
	still_fine(srv)


DEPTH = 10 ** 4
NEST = {
	"parentheses": ("SELECT " + "(" * DEPTH + "1" + ")" * DEPTH, [[1]]),
	"right-nested +": ("SELECT " + "1+(" * DEPTH + "1" + ")" * DEPTH, [[DEPTH + 1]]),
	"left-deep +": ("SELECT " + "1+" * DEPTH + "1", [[DEPTH + 1]]),
	"NOT chain": ("SELECT " + "NOT " * DEPTH + "true", [[True]]),
	"unary minus": ("SELECT " + "- " * DEPTH + "1", [[1]]),
	"nested CASE": ("SELECT " + "CASE WHEN true THEN " * DEPTH + "1" + " ELSE 0 END" * DEPTH, [[1]]),
	"nested function calls": ("SELECT " + "abs(" * DEPTH + "1" + ")" * DEPTH, [[1]]),
	"nested COALESCE": ("SELECT " + "coalesce(" * DEPTH + "1" + ", 2)" * DEPTH, [[1]]),
	"|| chain": ("SELECT length(" + "'a' || " * DEPTH + "'b')", [[DEPTH + 1]]),
	"nested derived tables": ("SELECT count(*) FROM " + "(SELECT * FROM " * DEPTH + "g" + ") t" * DEPTH,
				  [[ROWS]]),
	"nested scalar subqueries": ("SELECT " + "(SELECT " * DEPTH + "1" + ")" * DEPTH, [[1]]),
	"nested IN subqueries": ("SELECT count(*) FROM g WHERE " + "id IN (SELECT id FROM g WHERE " * DEPTH +
				 "true" + ")" * DEPTH, [[ROWS]]),
}

# Shapes that would crash the server at this depth (none since pgparse.c
# parses long statements on a large stack and refuses expressions nested
# deeper than PGPARSE_MAX_DEPTH).  Not run (run=False) if listed: a crash
# would take the module's server down with it.
CRASHES = {}


@pytest.mark.parametrize("name", [
	pytest.param(n, marks=pytest.mark.xfail(reason=CRASHES[n], run=False)) if n in CRASHES else n
	for n in NEST])
def test_deep_nesting(srv, name):
	sql, want = NEST[name]
	rows, err = answer(srv, sql)
	if err is None:
		assert rows == want, (name, rows)
	else:
		# a clear refusal names the nesting, the parser's limit, or depth
		low = err.lower()
		assert any(w in low for w in ("nest", "deep", "depth", "memory exhausted", "too", "limit")), err
	still_fine(srv)


def test_cross_join(srv):
	rows, err = answer(srv, "SELECT count(*) FROM g x CROSS JOIN g y")
	if err is not None and ("not supported" in err.lower() or "unsupported" in err.lower()):
		pytest.skip("joins are not supported yet: %s" % err)
	assert err is None, err
	assert rows == [[ROWS * ROWS]]
	# a cross join big enough to blow the budget or the time limit ends
	# with a clear error
	rows, err = answer(srv, "SELECT x.id, y.id, z.id, count(*) FROM g x, g y, g z "
			   "GROUP BY x.id, y.id, z.id LIMIT 1")
	assert rows is None and ("memory budget" in err or "timed out" in err or "groups" in err), err
	still_fine(srv)


def test_memory_returns_after_attacks(srv):
	"""After all the attacks the server's memory is back near where the
	data alone puts it: nothing a failed query charged was kept."""
	still_fine(srv)
	rss0 = vm_kb(srv.pid, "VmRSS")
	for _ in range(2):
		rows, err = answer(srv, GROUPS_10M)
		assert rows is None
	rss1 = vm_kb(srv.pid, "VmRSS")
	# freed memory may stay in malloc's pools; it must not pile up
	assert rss1 < rss0 + 2 * QUERY_MEM_MIB * 1024, (rss0, rss1)
	still_fine(srv)


def test_budget_above_the_cap_still_fails_cleanly(make_server):
	"""A server whose per-query budget is set above the memory it really
	has: the allocator itself refuses (RLIMIT_AS), and the query must
	still end with an out-of-memory error instead of taking the process
	down."""
	s = capped_server(make_server, ["--query-memory", "65536", "--max-groups", "100000000",
					"--query-timeout", "60000"], 512 * MiB)
	rows, err = answer(s, GROUPS_10M)
	assert rows is None
	assert "out of memory" in err or "memory budget" in err, err
	still_fine(s)
