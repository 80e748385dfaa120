#!/usr/bin/env bash
# `workers` (issue 15): CPU per answered query with one UDP worker thread against several on one port
# (SO_REUSEPORT), and how the kernel spread the queries over the workers. A release scdns serves bench/gen.py's
# 1,000 services; `scdns qps` on the generator core sends over QPS_SOCKETS sockets (the kernel picks a worker
# by each socket's address and port, so one socket would reach one worker). Each row runs REPEAT times; the
# table gives the median and the range.
#
#   SCRATCH=.build-bench bash bench/workers.sh
#
# Environment (all optional):
#   WORKERS_BENCH_ROWS="1:0 2:0 2:0,1"   rows as WORKERS:SERVER_CPUS (taskset list) for the server
#   WORKERS_BENCH_GENERATOR_CPU=1        the generator's core
#   WORKERS_BENCH_SOCKETS=8              the generator's sockets
#   WORKERS_BENCH_DURATION=8 WORKERS_BENCH_REPEAT=3
#   WORKERS_BENCH_PORT=15700             DNS port; the admin endpoint on the next
# On a bigger machine, rows such as "1:0 4:0-3 8:0-7" with the generator on other cores show how it scales.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SCDNS=$ROOT/${SCRATCH:-.build-bench}/release/scdns
ROWS=${WORKERS_BENCH_ROWS:-"1:0 2:0 2:0,1"}
GENERATOR_CPU=${WORKERS_BENCH_GENERATOR_CPU:-1}
SOCKETS=${WORKERS_BENCH_SOCKETS:-8}
DURATION=${WORKERS_BENCH_DURATION:-8}
REPEAT=${WORKERS_BENCH_REPEAT:-3}
PORT=${WORKERS_BENCH_PORT:-15700}
[[ -x $SCDNS ]] || { echo "workers.sh: $SCDNS missing: build it in release" >&2; exit 1; }
WORK=$(mktemp -d /tmp/scdns-workers-bench.XXXXXX)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
python3 bench/gen.py --services 1000 --queries 20000 --out "$WORK/d1k" >/dev/null

per_worker() {
    curl -sf "http://127.0.0.1:$((PORT + 1))/metrics" \
        | awk '/^scdns_udp_worker_requests_total/ { sub(/.*worker="/, "", $1); sub(/".*/, "", $1); printf "%s=%s ", $1, $2 }'
}

for row in $ROWS; do
    workers=${row%%:*}
    cpus=${row#*:}
    { cat "$WORK/d1k/scdns.yaml"; echo "workers: $workers"; } >"$WORK/d1k/scdns-w.yaml"
    for round in $(seq 1 "$REPEAT"); do
        taskset -c "$cpus" "$SCDNS" serve --config "$WORK/d1k/scdns-w.yaml" --listen "127.0.0.1:$PORT" \
            --admin "127.0.0.1:$((PORT + 1))" >"$WORK/scdns.log" 2>&1 &
        pid=$!
        pids+=("$pid")
        for _ in $(seq 1 100); do
            grep -q listening "$WORK/scdns.log" && break
            sleep 0.1
        done
        grep -q listening "$WORK/scdns.log" || { tail -n 5 "$WORK/scdns.log" >&2; exit 1; }
        python3 bench/measure.py --out "$WORK/results.jsonl" --server "scdns" --pid "$pid" --tool qps \
            --label "$workers:$cpus" --timeout $((DURATION + 30)) -- \
            taskset -c "$GENERATOR_CPU" "$SCDNS" qps --server "127.0.0.1:$PORT" --queries "$WORK/d1k/queries.txt" \
            --duration "$DURATION" --concurrency 200 --sockets "$SOCKETS" --timeout 2000 --json >/dev/null
        echo "$workers:$cpus round $round: $(tail -n 1 "$WORK/results.jsonl" | python3 -c 'import json,sys; r=json.load(sys.stdin); print("qps %.0f, server %.2f us/query, lost %s" % (r["qps"], r["server_us_per_query"], r["lost"]))'); per worker: $(per_worker)" \
            | tee -a "$WORK/workers.txt" >&2
        kill "$pid"
        wait "$pid" 2>/dev/null || true
    done
done

python3 - "$WORK/results.jsonl" <<'PY'
import json, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    r = json.loads(line)
    rows.setdefault(r["label"], []).append(r)
print("| workers | server CPUs | qps median (range) | server CPU µs/query median (range) | runs |")
print("|---:|---|---:|---:|---:|")
for label, runs in rows.items():
    workers, cpus = label.split(":", 1)
    qps = [r["qps"] for r in runs]
    cpu = [r["server_us_per_query"] for r in runs]
    print(f"| {workers} | {cpus} | {statistics.median(qps):,.0f} ({min(qps):,.0f}–{max(qps):,.0f}) "
          f"| {statistics.median(cpu):.2f} ({min(cpu):.2f}–{max(cpu):.2f}) | {len(runs)} |")
PY
