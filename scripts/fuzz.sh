#!/usr/bin/env bash
# Runs every go test -fuzz target in the module for FUZZTIME each (default 2m).
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime="${FUZZTIME:-2m}"
status=0
while IFS=: read -r file name; do
	pkg="./$(dirname "$file")"
	echo "== $pkg $name ($fuzztime)"
	if ! go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" "$pkg"; then
		status=1
	fi
done < <(grep -rHo --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*' . | sed 's/func //' | sort)
exit $status
