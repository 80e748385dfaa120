#!/usr/bin/env bash
# The start from etcd, by hand: one etcd loaded with SERVICES x 3 clusters (EtcdBench's exports), then each
# scdns BINARY started against it in turn, ROUNDS times, each run printing the start to 'listening', the
# listing's took=, etcd's CPU over the start and the listing (utime+stime from /proc), scdns's CPU, and VmRSS and
# VmHWM once listening. Builds alternate so that a busy moment of this shared machine falls on both.
#
#   SCRATCH=.build-bench bash bench/etcd-start.sh BINARY [BINARY ...]
#
# Environment: SERVICES=100000, ROUNDS=3, ONE_ZONE=1 starts with serviceZones: [supercluster.local] (as
# bench/gen.py's scdns.yaml, make bench's file row), MSTATS=1 also prints malloc's own count once listening
# (mallinfo2, from bench/malloc-stats.c preloaded; SIGUSR2 sent after 'listening'), ETCD_BENCH_PORT=15470.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SCRATCH=${SCRATCH:-.build-bench}
BENCH=$ROOT/$SCRATCH/release/EtcdBench
SERVICES=${SERVICES:-100000}
ROUNDS=${ROUNDS:-3}
PORT=${ETCD_BENCH_PORT:-15470}
URL=http://127.0.0.1:$PORT
(($# > 0)) || { echo "usage: bench/etcd-start.sh BINARY [BINARY ...]" >&2; exit 2; }
[[ -x $BENCH ]] || { echo "$BENCH missing: make bench-etcd builds it" >&2; exit 1; }
source bench/lib.sh
bench_work etcd-start
bench_start_etcd start "$URL" "$PORT"
"$BENCH" load "$URL" "$SERVICES" 3 1000 >&2
extra=()
if [[ ${ONE_ZONE:-0} == 1 ]]; then
    printf 'zones: %s/zones\nserviceZones: [supercluster.local]\n' "$ROOT" >"$WORK/one-zone.yaml"
    extra=(--config "$WORK/one-zone.yaml")
fi
preload=()
if [[ ${MSTATS:-0} == 1 ]]; then
    cc -O2 -shared -fPIC -o "$WORK/malloc-stats.so" bench/malloc-stats.c
    preload=(env LD_PRELOAD="$WORK/malloc-stats.so")
fi
cpu() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat"; }
since() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
for _ in $(seq "$ROUNDS"); do
    for binary in "$@"; do
        log=$WORK/scdns.log
        etcd_before=$(cpu "$etcd_pid")
        started=$EPOCHREALTIME
        "${preload[@]}" "$binary" serve --listen "127.0.0.1:$((PORT + 2))" --etcd "$URL" "${extra[@]}" >"$log" 2>&1 &
        pid=$!
        until grep -q 'registry listed' "$log"; do kill -0 "$pid" || { cat "$log" >&2; exit 1; }; sleep 0.02; done
        etcd_listing=$(since "$etcd_before" "$(cpu "$etcd_pid")")
        until grep -q listening "$log"; do kill -0 "$pid" || { cat "$log" >&2; exit 1; }; sleep 0.02; done
        start=$(since "$started" "$EPOCHREALTIME")
        rss=$(awk '$1 == "VmRSS:" { printf "%.1f", $2 / 1024 }' "/proc/$pid/status")
        hwm=$(awk '$1 == "VmHWM:" { printf "%.1f", $2 / 1024 }' "/proc/$pid/status")
        took=$(grep -o 'took=[0-9.]*' "$log" | head -1 | cut -d= -f2)
        line="$(basename "$binary"): start ${start} s, listing ${took:0:5} s, etcd CPU ${etcd_listing} s (listing)"
        line+=" $(since "$etcd_before" "$(cpu "$etcd_pid")") s (start), scdns CPU $(cpu "$pid") s,"
        line+=" VmRSS ${rss} MiB, VmHWM ${hwm} MiB"
        if [[ ${MSTATS:-0} == 1 ]]; then
            kill -USR2 "$pid"
            until grep -q MSTATS "$log"; do sleep 0.05; done
            line+=", malloc $(grep -o 'MSTATS.*' "$log" | head -1 | cut -d' ' -f2-)"
        fi
        echo "$line"
        kill "$pid"
        wait "$pid" 2>/dev/null || true
    done
done
