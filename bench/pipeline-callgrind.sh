#!/usr/bin/env bash
# User-space instructions per query of the answering pipeline, from callgrind: the difference between two
# runs of different lengths cancels start-up (loading the registry, compiling answers), leaving the
# per-query cost. Instruction counts repeat run to run where times on this shared machine do not.
#   bench/pipeline-callgrind.sh [KIND ...]     KIND: hit nodata nxdomain edns mix ecs ecs-ordered
#                                              source-ordered cache truncated big rrl rrl-limited
#                                              (default: all)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "valgrind is missing: apt-get install valgrind" >&2; exit 1; }
swift build -c release --product PipelineBench ${SCRATCH:+--scratch-path "$SCRATCH"} >&2
# valgrind 3.19 cannot read the DWARF the Swift toolchain emits ("possibly corrupted debuginfo"): run a
# stripped copy. Symbols are not needed for a total count.
binary=$(mktemp)
trap 'rm -f "$binary"' EXIT
strip -o "$binary" "${SCRATCH:-.build}/release/PipelineBench"
small=20000
large=120000
instructions() {
    local out
    out=$(mktemp)
    valgrind --tool=callgrind --callgrind-out-file="$out" "$binary" registry.yaml "$1" "$2" >/dev/null 2>&1
    awk '/^summary:/ { print $2 }' "$out"
    rm -f "$out"
}
kinds=("$@")
[ ${#kinds[@]} -gt 0 ] || kinds=(hit nodata nxdomain edns mix ecs ecs-ordered source-ordered cache truncated big rrl rrl-limited)
printf '%-10s %s\n' kind instructions/query
for kind in "${kinds[@]}"; do
    a=$(instructions "$small" "$kind")
    b=$(instructions "$large" "$kind")
    printf '%-10s %d\n' "$kind" $(( (b - a) / (large - small) ))
done
