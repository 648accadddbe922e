#!/bin/sh
# Builds the libFuzzer targets (tests/fuzz/build.sh, clang, into
# build-fuzz) and fuzzes one of them for N seconds on its corpus in
# tests/fuzz/corpus/<target>, then rebuilds that corpus from the seeds,
# the old corpus and the new inputs (libFuzzer -merge=1: only inputs that
# add coverage are kept).
# Crashes, leaks and timeouts are left as build-fuzz/artifacts/crash-*,
# leak-*, timeout-*; copy a minimized one into tests/fuzz/regressions/.
#
# usage: scripts/fuzz.sh [seconds=60] [pgwire|pglex|pgparam]
# WB_FUZZ_KEEP_GOING=1: fork mode that records crashes, leaks and
# timeouts and goes on fuzzing instead of stopping at the first one.
# WB_FUZZ_SKIP=v31,qempty,cr,num: step around known bugs (README.md).
set -eu
SECS=${1:-60}
TARGET=${2:-pgwire}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${WB_FUZZ_BUILD:-$ROOT/build-fuzz}
CORPUS=$ROOT/tests/fuzz/corpus/$TARGET
"$ROOT/tests/fuzz/build.sh" "$BUILD"
BIN=$BUILD/fuzz_$TARGET
[ -x "$BIN" ] || { echo "no such fuzz target: $TARGET" >&2; exit 2; }
mkdir -p "$CORPUS" "$BUILD/artifacts"
NEW=$BUILD/new-$TARGET
rm -rf "$NEW"
mkdir -p "$NEW"
MODE=
[ "${WB_FUZZ_KEEP_GOING:-0}" = 1 ] && MODE="-fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1"
DICT=
case $TARGET in
pgwire|pglex) DICT=-dict=$ROOT/tests/fuzz/pgwire.dict ;;
esac
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# one process on one core; new inputs go to $NEW (the first directory),
# the corpus is only read
status=0
"$BIN" $MODE $DICT -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
	-print_final_stats=1 \
	-artifact_prefix="$BUILD/artifacts/" "$NEW" "$CORPUS" || status=$?
# rebuild the corpus: the hand-made seeds (make_seeds.py) plus the fewest
# inputs of the old corpus and the new ones that cover every edge
# (-use_counters=0 keeps it small: edges, not hit counts)
MIN=$BUILD/min
rm -rf "$MIN"
/usr/bin/python3 "$ROOT/tests/fuzz/make_seeds.py" "$MIN" >/dev/null
if "$BIN" -merge=1 -use_counters=0 -timeout=10 -rss_limit_mb=2048 -artifact_prefix="$BUILD/artifacts/" \
	"$MIN/$TARGET" "$CORPUS" "$NEW" >"$BUILD/merge-$TARGET.log" 2>&1; then
	find "$CORPUS" -maxdepth 1 -type f ! -name 'README*' -delete
	cp "$MIN/$TARGET"/* "$CORPUS"/
	echo "corpus $CORPUS: $(ls "$CORPUS" | wc -l) files"
else
	echo "merge failed, corpus left as it was: see $BUILD/merge-$TARGET.log" >&2
fi
rm -rf "$MIN"
rm -rf "$NEW"
if [ "$status" -ne 0 ]; then
	echo "fuzz_$TARGET stopped with status $status; see $BUILD/artifacts/" >&2
fi
exit "$status"
