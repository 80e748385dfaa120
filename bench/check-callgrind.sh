#!/usr/bin/env bash
# User-space instructions of reading and compiling a registry, from callgrind of `scdns check` (which loads
# the registry and compiles every answer as `scdns serve` does before it listens, then exits): the start-up
# cost that grows with the registry, split into decoding the file and compiling the answers. Instruction
# counts repeat run to run where start times on this shared machine do not.
#   bench/check-callgrind.sh [SERVICES]     (default 10000; bench/gen.py's registry, 3 clusters a service)
# Keeps the callgrind output in $OUT (default /tmp/scdns-check-callgrind) for callgrind_annotate.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "valgrind is missing: apt-get install valgrind" >&2; exit 1; }
services=${1:-10000}
out=${OUT:-/tmp/scdns-check-callgrind}
mkdir -p "$out"
swift build -c release --product scdns ${SCRATCH:+--scratch-path "$SCRATCH"} >&2
data="$out/d$services"
[ -f "$data/registry.yaml" ] || python3 bench/gen.py --services "$services" --queries 1000 --out "$data" >&2
# valgrind 3.19 cannot read the DWARF the Swift toolchain emits: run a copy without it, keeping the symbols so
# callgrind_annotate can name functions. Its sigsuspend needs the shim (bench/valgrind/sigsuspend-shim.c).
strip --strip-debug -o "$out/scdns" "${SCRATCH:-.build}/release/scdns"
cc -O2 -shared -fPIC -o "$out/sigsuspend-shim.so" bench/valgrind/sigsuspend-shim.c
rm -f "$out/callgrind.out"
LD_PRELOAD="$out/sigsuspend-shim.so" valgrind --tool=callgrind --callgrind-out-file="$out/callgrind.out" \
    "$out/scdns" check --config "$data/scdns.yaml" --registry "$data/registry.yaml" --zones "$data/scdns-zones" \
    >"$out/check.log" 2>&1 || { cat "$out/check.log" >&2; exit 1; }
annotated=$(callgrind_annotate --inclusive=yes "$out/callgrind.out" 2>/dev/null)
total=$(awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1; exit }' <<<"$annotated")
part() {
    # The inclusive count of the first function whose mangled name contains $1.
    awk -v pattern="$1" 'index($0, pattern) { gsub(",", "", $1); print $1; exit }' <<<"$annotated"
}
decoding=$(part 'ServiceRegistry0B7DecoderO6decode_4file')
compiling=$(part 'DNSPipeline14AnswerCompilerV7compile')
printf 'services %d: scdns check %d instructions; decoding the registry %d; compiling answers %d\n' \
    "$services" "$total" "${decoding:-0}" "${compiling:-0}"
echo "callgrind_annotate --inclusive=yes $out/callgrind.out   # for the rest" >&2
