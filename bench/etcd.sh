#!/usr/bin/env bash
# The etcd registry's figures (issue 7): put-to-answer latency over many updates, and the time and memory to
# load a big registry from etcd. Starts its own etcd (a fresh data directory on a loopback port) and a release
# scdns; `make bench-etcd` builds both and runs this. Results go to bench/out/etcd.md.
#
#   bench/etcd.sh
#
# Environment (all optional):
#   SCRATCH=.build-bench          the SwiftPM scratch path scdns and EtcdBench were built in (release)
#   ETCD_BENCH_PORT=15400         first of the 3 loopback ports used (etcd client, etcd peer, scdns)
#   ETCD_BENCH_UPDATES=1000       updates timed from put to answer
#   ETCD_BENCH_BASE=1000          services (x 3 clusters) in the registry while latency is measured
#   ETCD_BENCH_SCALE=100000       services (x 3 clusters) of the load measurement; 0 leaves it out
#   ETCD_BENCH_SCALE_UPDATES=200  updates timed from put to answer once that registry is loaded
#
# What each figure is:
#   - put / put-to-answer: bench/EtcdBench/main.swift (one put at a time; the next put only after the answer
#     changed), percentiles over ETCD_BENCH_UPDATES;
#   - load: from starting `scdns serve --etcd` to its 'listening' line (etcd listed in pages, every value
#     decoded and validated, answers compiled), the 'etcd registry listed ... took=' and 'answers compiled'
#     lines of its log, and VmRSS / VmHWM from /proc once it listens; once with the default service zones
#     (supercluster.local and clusterset.local), and once more after the updates (one service more) with
#     supercluster.local alone, as make bench's scale row (bench/gen.py's scdns.yaml) measures a file.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SCRATCH=${SCRATCH:-.build-bench}
SCDNS=$ROOT/$SCRATCH/release/scdns
BENCH=$ROOT/$SCRATCH/release/EtcdBench
PORT=${ETCD_BENCH_PORT:-15400}
UPDATES=${ETCD_BENCH_UPDATES:-1000}
BASE=${ETCD_BENCH_BASE:-1000}
SCALE=${ETCD_BENCH_SCALE:-100000}
SCALE_UPDATES=${ETCD_BENCH_SCALE_UPDATES:-200}
ETCD_URL=http://127.0.0.1:$PORT
DNS_PORT=$((PORT + 2))

for binary in "$SCDNS" "$BENCH"; do
    [[ -x $binary ]] || { echo "etcd.sh: $binary missing: run make bench-etcd" >&2; exit 1; }
done
command -v etcd >/dev/null || { echo "etcd.sh: etcd missing: run scripts/install-deps.sh test" >&2; exit 1; }

WORK=$(mktemp -d /tmp/scdns-etcd-bench.XXXXXX)
mkdir -p bench/out
OUT=bench/out/etcd.md
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

start_etcd() {
    rm -rf "$WORK/etcd"
    # Bulk loading in transactions of 1,000 needs --max-txn-ops and a larger request limit; the quota leaves
    # room for 300,000 exports and their history.
    etcd --name bench --data-dir "$WORK/etcd" \
        --listen-client-urls "$ETCD_URL" --advertise-client-urls "$ETCD_URL" \
        --listen-peer-urls "http://127.0.0.1:$((PORT + 1))" \
        --initial-advertise-peer-urls "http://127.0.0.1:$((PORT + 1))" \
        --initial-cluster "bench=http://127.0.0.1:$((PORT + 1))" \
        --max-txn-ops 1000 --max-request-bytes 16777216 --quota-backend-bytes 8589934592 \
        --logger zap --log-level warn >"$WORK/etcd.log" 2>&1 &
    etcd_pid=$!
    pids+=("$etcd_pid")
    for _ in $(seq 200); do
        ETCDCTL_API=3 etcdctl --endpoints "$ETCD_URL" endpoint health >/dev/null 2>&1 && return 0
        sleep 0.05
    done
    echo "etcd.sh: etcd did not start" >&2
    cat "$WORK/etcd.log" >&2
    exit 1
}

# Starts scdns against etcd and waits for 'listening'; sets scdns_pid and load_seconds.
start_scdns() {
    local log=$1
    shift
    local started=$EPOCHREALTIME
    "$SCDNS" serve --listen "127.0.0.1:$DNS_PORT" --etcd "$ETCD_URL" "$@" >"$log" 2>&1 &
    scdns_pid=$!
    pids+=("$scdns_pid")
    for _ in $(seq 6000); do
        if grep -q "listening" "$log"; then
            load_seconds=$(awk -v a="$started" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')
            return 0
        fi
        kill -0 "$scdns_pid" 2>/dev/null || break
        sleep 0.05
    done
    echo "etcd.sh: scdns did not start" >&2
    cat "$log" >&2
    exit 1
}

rss() { awk -v key="$2:" '$1 == key { printf "%.1f MiB", $2 / 1024 }' "/proc/$1/status"; }

# etcd's CPU time (user + system) in ms, from /proc.
etcd_cpu_ms() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.0f", ($14 + $15) * 1000 / hz }' "/proc/$etcd_pid/stat"; }

# The liveness probe's cost to etcd: 20 calls of one request (JSON body $2 to $1), the etcd CPU and the time
# per call. Prints "CPU ms/call, wall ms/call".
probe_cost() {
    local before after started
    before=$(etcd_cpu_ms)
    started=$EPOCHREALTIME
    for _ in $(seq 20); do
        curl -sf -X POST "$ETCD_URL$1" -d "$2" >/dev/null || { echo "etcd.sh: probe $1 failed" >&2; exit 1; }
    done
    after=$(etcd_cpu_ms)
    awk -v c=$((after - before)) -v a="$started" -v b="$EPOCHREALTIME" \
        'BEGIN { printf "%.1f ms of etcd CPU and %.1f ms per call", c / 20, (b - a) * 1000 / 20 }'
}
b64() { printf %s "$1" | base64 -w0; }

{
    echo "# etcd registry (bench/etcd.sh, $(date -u +%Y-%m-%d))"
    echo
    echo "etcd $(etcd --version | awk '/etcd Version/ { print $3 }'), one member on loopback; scdns release."
    echo
} >"$OUT"

echo "== put-to-answer latency: $UPDATES updates over $BASE services x 3 clusters"
start_etcd
"$BENCH" load "$ETCD_URL" "$BASE" 3 1000 | tee -a "$WORK/notes"
start_scdns "$WORK/scdns-base.log"
"$BENCH" latency "$ETCD_URL" "$DNS_PORT" "$UPDATES" | tee "$WORK/latency"
{
    echo "## Put to answer, $UPDATES updates ($BASE services x 3 clusters in the registry)"
    echo
    echo '```'
    cat "$WORK/latency"
    echo '```'
    echo
} >>"$OUT"
# A build's time as Swift's Duration prints it, seconds, in exponent form when small (9.6e-05 seconds).
builds=$(grep -o 'build=[0-9.e+-]*' "$WORK/scdns-base.log" | cut -d= -f2 | sort -g | awk '{ a[NR] = $1 } END { if (NR) printf "%.2f ms p50, %.2f ms max over %d rebuilds", a[int((NR + 1) / 2)] * 1000, a[NR] * 1000, NR }')
echo "answer rebuilds: $builds" | tee -a "$OUT"
echo >>"$OUT"
kill "$scdns_pid" "$etcd_pid"
wait "$scdns_pid" "$etcd_pid" 2>/dev/null || true

if [[ $SCALE -eq 0 ]]; then
    cat "$OUT"
    exit 0
fi

echo "== load: $SCALE services x 3 clusters"
start_etcd
"$BENCH" load "$ETCD_URL" "$SCALE" 3 1000 | tee "$WORK/load"
# What each instance's liveness probe costs etcd every 2 s at this size: until issue 13, the newest mod revision
# under the prefix (a sorted range; etcd reads every key to sort, whatever the limit); now one linearizable read
# of each cluster's claim key (here 3).
sorted_probe=$(probe_cost /v3/kv/range "{\"key\":\"$(b64 /scdns/v1/clusters/)\",\"range_end\":\"$(b64 /scdns/v1/clusters0)\",\"limit\":\"1\",\"keys_only\":true,\"sort_order\":\"DESCEND\",\"sort_target\":\"MOD\"}")
claims=""
for cluster in c0 c1 c2; do claims+="{\"request_range\":{\"key\":\"$(b64 "/scdns/v1/clusters/$cluster/publisher")\"}},"; done
claim_probe=$(probe_cost /v3/kv/txn "{\"success\":[${claims%,}]}")
echo "probe: sorted range $sorted_probe; claim reads $claim_probe"
start_scdns "$WORK/scdns-scale.log"
listed_line=$(grep -m1 'etcd registry listed' "$WORK/scdns-scale.log")
compiled_line=$(grep -m1 'answers compiled' "$WORK/scdns-scale.log")
{
    echo "## Load $SCALE services x 3 clusters from etcd"
    echo
    echo "- written: $(cat "$WORK/load")"
    echo "- scdns start to listening: ${load_seconds} s"
    echo "- liveness probe, per instance every 2 s: sorted range (before issue 13) $sorted_probe; claim reads (now) $claim_probe"
    echo "- VmRSS $(rss "$scdns_pid" VmRSS), VmHWM $(rss "$scdns_pid" VmHWM) once listening"
    echo "- log: \`${listed_line#*scdns: }\`"
    echo "- log: \`${compiled_line#*scdns: }\`"
    echo
} >>"$OUT"
echo "== put-to-answer latency: $SCALE_UPDATES updates over $SCALE services x 3 clusters"
"$BENCH" latency "$ETCD_URL" "$DNS_PORT" "$SCALE_UPDATES" | tee "$WORK/scale-latency"
scale_builds=$(grep -o 'build=[0-9.e+-]*' "$WORK/scdns-scale.log" | cut -d= -f2 | sort -g | awk '{ a[NR] = $1 } END { if (NR) printf "%.2f ms p50, %.2f ms max over %d rebuilds", a[int((NR + 1) / 2)] * 1000, a[NR] * 1000, NR }')
{
    echo "## Put to answer, $SCALE_UPDATES updates ($SCALE services x 3 clusters in the registry)"
    echo
    echo '```'
    cat "$WORK/scale-latency"
    echo '```'
    echo
    echo "answer rebuilds: $scale_builds"
    echo
} >>"$OUT"
kill "$scdns_pid"
wait "$scdns_pid" 2>/dev/null || true

echo "== load again, one service zone"
printf 'zones: %s/zones\nserviceZones: [supercluster.local]\n' "$ROOT" >"$WORK/one-zone.yaml"
start_scdns "$WORK/scdns-one-zone.log" --config "$WORK/one-zone.yaml"
listed_line=$(grep -m1 'etcd registry listed' "$WORK/scdns-one-zone.log")
compiled_line=$(grep -m1 'answers compiled' "$WORK/scdns-one-zone.log")
{
    echo "## Load the same registry after those updates, serviceZones: [supercluster.local] (as make bench's scale row)"
    echo
    echo "- scdns start to listening: ${load_seconds} s"
    echo "- VmRSS $(rss "$scdns_pid" VmRSS), VmHWM $(rss "$scdns_pid" VmHWM) once listening"
    echo "- log: \`${listed_line#*scdns: }\`"
    echo "- log: \`${compiled_line#*scdns: }\`"
    echo
} >>"$OUT"
cat "$OUT"
