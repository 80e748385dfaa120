#!/usr/bin/env bash
# User-space instructions of listing a registry from etcd, per key, from callgrind of `scdns check --etcd`
# against a fresh etcd holding SERVICES services x 3 clusters (EtcdBench's exports): reading the range answers
# (gRPC's protobuf, or the gateway's JSON before), and reading each key (its kind, its export decoded). Counts per
# call repeat run to run where a listing's time on this shared machine does not.
#   SCRATCH=.build-bench bash bench/etcd-callgrind.sh [SERVICES] [BINARY]
# SERVICES defaults to 3000 (9,000 exports, one page: under valgrind a bigger page can outlast the client's
# 3 s call timeout); BINARY to $SCRATCH/release/scdns (another build, to compare). Keeps the callgrind output
# in $OUT (default /tmp/scdns-etcd-callgrind).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "valgrind is missing: apt-get install valgrind" >&2; exit 1; }
command -v etcd >/dev/null || { echo "etcd is missing: scripts/install-deps.sh test" >&2; exit 1; }
SCRATCH=${SCRATCH:-.build-bench}
services=${1:-3000}
binary=${2:-$SCRATCH/release/scdns}
bench=$SCRATCH/release/EtcdBench
[[ -x $bench ]] || { echo "$bench missing: make bench-etcd builds it" >&2; exit 1; }
out=${OUT:-/tmp/scdns-etcd-callgrind}
port=${ETCD_BENCH_PORT:-15450}
url=http://127.0.0.1:$port
rm -rf "$out"
mkdir -p "$out"
etcd --name cg --data-dir "$out/etcd" --listen-client-urls "$url" --advertise-client-urls "$url" \
    --listen-peer-urls "http://127.0.0.1:$((port + 1))" --initial-advertise-peer-urls "http://127.0.0.1:$((port + 1))" \
    --initial-cluster "cg=http://127.0.0.1:$((port + 1))" --max-txn-ops 1000 --max-request-bytes 16777216 \
    --logger zap --log-level warn >"$out/etcd.log" 2>&1 &
etcd_pid=$!
trap 'kill $etcd_pid 2>/dev/null; wait 2>/dev/null' EXIT
for _ in $(seq 200); do ETCDCTL_API=3 etcdctl --endpoints "$url" endpoint health >/dev/null 2>&1 && break; sleep 0.05; done
"$bench" load "$url" "$services" 3 1000 >&2
# valgrind 3.19 cannot read the DWARF the Swift toolchain emits (bench/check-callgrind.sh).
strip --strip-debug -o "$out/scdns" "$binary"
cc -O2 -shared -fPIC -o "$out/sigsuspend-shim.so" bench/valgrind/sigsuspend-shim.c
LD_PRELOAD="$out/sigsuspend-shim.so" valgrind --tool=callgrind --callgrind-out-file="$out/callgrind.out" \
    "$out/scdns" check --etcd "$url" >"$out/check.log" 2>&1 || { cat "$out/check.log" >&2; exit 1; }
grep -q "$services service(s)" "$out/check.log" || { cat "$out/check.log" >&2; exit 1; }
tree=$(callgrind_annotate --tree=caller --inclusive=yes "$out/callgrind.out" 2>/dev/null)
# "TOTAL CALLS" of the first function whose mangled name contains $1: its callers' lines summed.
cost() {
    awk -v pattern="$1" '
        /^ *[0-9,]+ .*\*  / { if (index($0, pattern) > 0) { found = 1; exit } }
        /^ *[0-9,]+ .*< / { line[++n] = $0 }
        /^$/ { n = 0 }
        END {
            if (!found) { print "0 0"; exit }
            for (i = 1; i <= n; i++) {
                cost = line[i]; sub(/^ */, "", cost); sub(/ .*/, "", cost); gsub(",", "", cost)
                calls = line[i]; sub(/.*\(/, "", calls); sub(/x\).*/, "", calls); gsub(",", "", calls)
                total += cost; count += calls
            }
            print total, count
        }' <<<"$tree"
}
exports=$((services * 3))
# Per key of the listing: a function's instructions over the exports listed.
per_key() { cost "$1" | awk -v keys="$exports" '{ if ($2 == 0) print "not called"; else printf "%.0f instructions a key (%d calls)", $1 / keys, $2 }'; }
echo "exports $exports ($(basename "$binary")):"
echo "  decoding an export (RegistryDecoder.decodeExport): $(per_key 'DecoderO12decodeExport_4fileAA0A0VSS_SS')"
echo "  reading a key (EtcdRegistryState.read: classifying it, decoding its export): $(per_key 'StateV4read_6layout')"
echo "  reading the pages, gRPC (RangeProtobuf.decodeResponse): $(per_key 'RangeProtobufO14decodeResponse')"
echo "  reading the pages, gateway JSON (RangeResponseReader.read): $(per_key 'RangeResponseReaderV4read')"
echo "  the whole check: $(awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1; exit }' < <(callgrind_annotate "$out/callgrind.out" 2>/dev/null)) instructions"
echo "callgrind_annotate --inclusive=yes $out/callgrind.out   # for the rest" >&2
