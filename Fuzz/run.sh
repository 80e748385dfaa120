#!/usr/bin/env bash
# make fuzz: builds each fuzz target with libFuzzer and AddressSanitizer, then runs it over its corpus.
#   Fuzz/run.sh SCRATCH RUNS SECONDS TARGET...   (RUNS 0: no limit; SECONDS 0: no limit)
# New inputs that reach new code are added to Fuzz/corpus/TARGET; a crash is written to Fuzz/crashes/ and
# stops the target (Fuzz/README.md: make it a regression test under Fuzz/regressions/TARGET, then fix it).
set -euo pipefail
cd "$(dirname "$0")/.."
scratch=$1 runs=$2 seconds=$3
shift 3
export SCDNS_FUZZ=1
mkdir -p Fuzz/crashes
for target in "$@"; do
    swift build -c release --product "fuzz-$target" --scratch-path "$scratch" \
        -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library >&2
done
status=0
# libFuzzer's -runs=0 runs nothing past the corpus; -1 is its "no limit".
[ "$runs" != 0 ] || runs=-1
for target in "$@"; do
    options=(-runs="$runs" -print_final_stats=1 -artifact_prefix="Fuzz/crashes/$target-" -max_len=4096)
    [ "$seconds" = 0 ] || options+=(-max_total_time="$seconds")
    # Shallow, noisy leak reports come from the Swift runtime's caches, not from the code under test.
    SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=detect_leaks=0 "$scratch/release/fuzz-$target" "${options[@]}" "Fuzz/corpus/$target" \
        2>&1 | tee "Fuzz/crashes/$target.log" | grep -E "^#[0-9]+ *(DONE|pulse|INITED)|stat::|ERROR|Fatal|crash" || status=1
done
exit $status
