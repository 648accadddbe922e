#!/bin/sh
# Generates docs/errors.md from src/base/errcodes.def (the one error
# table).  `scripts/gen-errdocs.sh --check` fails if the file is stale.
set -eu
cd "$(dirname "$0")/.."
out=$(mktemp)
{
	echo "# Waybill error codes"
	echo
	echo "Generated from \`src/base/errcodes.def\` by \`scripts/gen-errdocs.sh\`; do not edit."
	echo "The same table drives the HTTP API's status codes, the Pinot broker"
	echo "response's \`errorCode\`, and the SQLSTATE of the PostgreSQL wire protocol."
	echo
	echo "| code | name | SQLSTATE | HTTP | Pinot errorCode | meaning |"
	echo "|---|---|---|---|---|---|"
	sed -n 's/^ERRCODE(\([A-Z_]*\), *\(-[0-9]*\), *"\([0-9A-Z]*\)", *\([0-9]*\), *\([0-9]*\), *"\(.*\)")$/| \2 | \1 | \3 | \4 | \5 | \6 |/p' src/base/errcodes.def
} > "$out"
if [ "${1:-}" = "--check" ]; then
	if ! cmp -s "$out" docs/errors.md; then
		rm -f "$out"
		echo "docs/errors.md is stale: run scripts/gen-errdocs.sh" >&2
		exit 1
	fi
	rm -f "$out"
	echo "gen-errdocs: docs/errors.md is current"
	exit 0
fi
mv "$out" docs/errors.md
