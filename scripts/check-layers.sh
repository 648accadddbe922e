#!/bin/sh
# Checks that every #include "layer/..." in src/ points to the file's own
# layer or a lower one (DESIGN.md: source tree and layers).
set -eu
cd "$(dirname "$0")/../src"
layer() {
	case "$1" in
	base) echo 0 ;; storage) echo 1 ;; table|expr) echo 2 ;;
	ingest|query) echo 3 ;; lifecycle|alert|export) echo 4 ;;
	server) echo 5 ;; cli) echo 6 ;; *) echo 99 ;;
	esac
}
bad=0
for f in $(find . -name '*.[ch]' | sed 's|^\./||'); do
	dir=${f%%/*}
	mine=$(layer "$dir")
	for inc in $(grep -oE '^#include "[a-z_]+/[^"]+"' "$f" | sed -E 's/#include "([a-z_]+)\/.*/\1/'); do
		theirs=$(layer "$inc")
		if [ "$theirs" -gt "$mine" ] || { [ "$theirs" -eq "$mine" ] && [ "$inc" != "$dir" ]; }; then
			echo "layer violation: src/$f (layer $mine) includes $inc/ (layer $theirs)"
			bad=1
		fi
	done
done
[ $bad -eq 0 ] && echo "check-layers: ok"
exit $bad
