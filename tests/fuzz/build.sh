#!/bin/sh
# Configures and builds the libFuzzer targets with clang into build-fuzz
# (or $1): fuzz_pgwire, fuzz_pglex, fuzz_pgparam.
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$ROOT/build-fuzz}
CC=${CC:-clang-14}
if [ ! -f "$BUILD/CMakeCache.txt" ]; then
	CC=$CC cmake -S "$ROOT/tests/fuzz" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$BUILD" -j"${JOBS:-2}" --target fuzz_pgwire fuzz_pglex fuzz_pgparam
