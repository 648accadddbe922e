#!/bin/sh
# Runs Waybill's end-to-end benchmarks against the release build and
# ClickHouse (Debian's clickhouse-server 18.16) on the same data, in the
# same run.  Usage: bench/run.sh [e2e.py options, e.g. --rows 2000000]
# Steps: build (make all), bench-deps (install the peer; benchmark-only,
# not a test dependency), then bench/e2e.py.  Results: stdout and
# bench/results.json.  Nothing here passes or fails by time.
set -eu
cd "$(dirname "$0")/.."

make all

# bench-deps: peers used only by benchmarks.
bench_deps() {
	PKGS="clickhouse-server clickhouse-client"
	missing=""
	for p in $PKGS; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	echo "bench-deps: installing$missing"
	SUDO=""
	[ "$(id -u)" -ne 0 ] && SUDO=sudo
	$SUDO apt-get update -qq
	# the package's init script must not start a system-wide server
	DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 $SUDO apt-get install -y -qq $missing
}
if ! bench_deps; then
	echo "bench-deps: could not install ClickHouse; running Waybill alone" >&2
	set -- --no-clickhouse "$@"
fi

# Segment files: write speed, size and scan speed, printed by the release
# build of the segment tests at benchmark sizes (they also check results).
echo "== segment files (5M rows x 10 columns)"
WB_SEGFILE_ROWS=5000000 build/test_segfile 2>&1 | grep '^\[segfile\] [0-9]' || true
echo "== scans: segment file vs mutable segment (2M rows)"
WB_SCANFILE_ROWS=2000000 build/test_scanfile 2>&1 | grep 'Mrows/s' || true

echo "== sealed segments (bench/segments.py)"
/usr/bin/python3 bench/segments.py --waybill build/waybill \
	$(case " $* " in *" --no-clickhouse "*) echo --no-clickhouse;; esac) || true

echo "== Kafka ingestion: throughput and freshness (bench/stream.py)"
/usr/bin/python3 bench/stream.py --waybill build/waybill \
	$(case " $* " in *" --no-clickhouse "*) echo --no-clickhouse;; esac) || true

echo "== upserts: Waybill vs PostgreSQL ON CONFLICT vs ClickHouse ReplacingMergeTree (bench/upsert.py)"; /usr/bin/python3 bench/upsert.py --waybill build/waybill $(case " $* " in *" --no-clickhouse "*) echo --no-clickhouse;; esac) || true

echo "== PostgreSQL wire vs HTTP vs PostgreSQL 15: lookup and group-by (bench/pgwire.py)"; /usr/bin/python3 bench/pgwire.py --waybill build/waybill || true

echo "== peers: ClickHouse, PostgreSQL, DuckDB, 12 questions (bench/peers.py)"; /usr/bin/python3 bench/peers.py --waybill build/waybill || true

echo "== life-cycle tracking: ingest with/without a flow, where-is under load, stuck/gaps vs ClickHouse and DuckDB (bench/lifecycle.py)"
/usr/bin/python3 bench/lifecycle.py --waybill build/waybill \
	$(case " $* " in *" --no-clickhouse "*) echo --no-clickhouse;; esac) || true

exec /usr/bin/python3 bench/e2e.py --waybill build/waybill "$@"
