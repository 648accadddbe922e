#!/bin/sh
# Installs the Debian packages Waybill builds and tests with, then the npm
# packages of tests/diff (npm ci).  Idempotent: does nothing when every
# package is already present.
set -eu
PKGS="build-essential cmake pkg-config git
libpg-query-dev libprotobuf-c-dev libmicrohttpd-dev libcjson-dev
libzstd-dev liblz4-dev libxxhash-dev libavro-dev librdkafka-dev libroaring-dev
libcmocka-dev libssl-dev libcurl4-openssl-dev
python3 python3-pytest python3-requests python3-psycopg2 python3-confluent-kafka python3-avro kcat curl nodejs
postgresql-client-15 postgresql-15 libpq-dev openssl"
missing=""
# Debian's nodejs has npm in a package of its own; a nodejs that bundles npm
# (and conflicts with Debian's) is fine as it is.
command -v npm >/dev/null 2>&1 || PKGS="$PKGS npm"
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "install-deps: installing$missing"
	SUDO=""
	[ "$(id -u)" -ne 0 ] && SUDO=sudo
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing
fi

# npm packages of the differential test's DuckDB oracle (tests/diff): `npm ci`
# from the pinned package-lock.json when node_modules is missing or was
# installed from another lock file (its hash is kept in node_modules).
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIFF="$ROOT/tests/diff"
if [ -f "$DIFF/package-lock.json" ]; then
	want=$(sha256sum "$DIFF/package-lock.json" | cut -d' ' -f1)
	have=$(cat "$DIFF/node_modules/.waybill-lock-sha256" 2>/dev/null || true)
	if [ "$want" != "$have" ]; then
		echo "install-deps: npm ci --prefix tests/diff"
		npm ci --prefix "$DIFF" --no-audit --no-fund --loglevel=error
		echo "$want" > "$DIFF/node_modules/.waybill-lock-sha256"
	fi
fi
