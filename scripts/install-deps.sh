#!/bin/sh
# Installs the Debian packages Waybill builds and tests with.  Idempotent:
# does nothing when every package is already present.
set -eu
PKGS="build-essential cmake pkg-config git
libpg-query-dev libprotobuf-c-dev libmicrohttpd-dev libcjson-dev
libzstd-dev liblz4-dev libxxhash-dev libavro-dev librdkafka-dev libroaring-dev
libcmocka-dev libssl-dev libcurl4-openssl-dev
python3 python3-pytest python3-requests curl"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "install-deps: installing$missing"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing
