#!/usr/bin/env bash
# Runs the whole XCTest suite (serially, in one deterministic order) and ends with one plain summary line,
# "N passed, N failed", so the result reads the same to a person and to CI. Swift Testing is disabled: the
# suite has no Swift Testing tests, and its empty "0 tests" summary would otherwise be the last word.
set -uo pipefail
log=$(mktemp)
trap 'rm -f "$log"' EXIT
swift test --skip-build --no-parallel --disable-swift-testing 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
summary=$(grep -E "^[[:space:]]*Executed [0-9]+ tests?, with [0-9]+ failures?" "$log" | tail -n 1)
executed=$(sed -E 's/.*Executed ([0-9]+) tests?.*/\1/' <<<"$summary")
failed=$(sed -E 's/.*with ([0-9]+) failures?.*/\1/' <<<"$summary")
if [ -z "$summary" ]; then
    echo "run-tests: no XCTest summary found (swift test exited $status)" >&2
    exit 1
fi
echo
echo "$((executed - failed)) passed, $failed failed"
if [ "$status" -ne 0 ] || [ "$failed" -ne 0 ] || [ "$executed" -eq 0 ]; then exit 1; fi
