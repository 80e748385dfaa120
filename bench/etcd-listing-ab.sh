#!/usr/bin/env bash
# Listing 100,000 services x 3 clusters from etcd, two scdns binaries head to head on one etcd: the issue 13
# comparison in BENCHMARKS.md ("Issue 13 ..."), where the key layout changed. One etcd holds the same exports
# under both layouts (before issue 13: PREFIX services/NS/NAME/CLUSTER; after: PREFIX clusters/CLUSTER/services/
# NS/NAME), so each binary lists its own 300,000 keys; they run in turn, ROUNDS times, and each prints the
# `took=` of its `etcd registry listed` line.
#
#   SCRATCH=.build-bench bash bench/etcd-listing-ab.sh BEFORE_BINARY [AFTER_BINARY]
#
# BEFORE_BINARY is a release scdns built before issue 13 (git worktree add /tmp/before 6c3ec2d, then
# swift build -c release --product scdns in it); AFTER_BINARY defaults to $SCRATCH/release/scdns. EtcdBench
# (make bench-etcd builds it) writes the new layout; the old one is written here through etcd's gateway.
set -euo pipefail
cd "$(dirname "$0")/.."
SCRATCH=${SCRATCH:-.build-bench}
BEFORE=${1:?usage: etcd-listing-ab.sh BEFORE_BINARY [AFTER_BINARY]}
AFTER=${2:-$PWD/$SCRATCH/release/scdns}
BENCH=$PWD/$SCRATCH/release/EtcdBench
ROUNDS=${ROUNDS:-2}
PORT=${ETCD_BENCH_PORT:-15500}
URL=http://127.0.0.1:$PORT
source bench/lib.sh
bench_work listing-ab
bench_start_etcd ab "$URL" "$PORT"
"$BENCH" load "$URL" 100000 3 1000
# The same exports as EtcdBench's, under the layout before issue 13.
python3 - "$URL" <<'PY'
import base64, json, sys, urllib.request
url = sys.argv[1]
b64 = lambda text: base64.b64encode(text.encode()).decode()
operations = []
def flush():
    body = json.dumps({"success": operations}).encode()
    request = urllib.request.Request(url + "/v3/kv/txn", data=body, headers={"Content-Type": "application/json"})
    urllib.request.urlopen(request).read()
    operations.clear()
for index in range(100000):
    for cluster in range(3):
        value = ('{"name":"s%d","namespace":"bench","ports":[{"name":"http","port":80,"protocol":"TCP"}],'
                 '"cluster":"c%d","region":"r%d","zone":"r%d-z%d","addresses":["10.%d.%d.%d"],"weight":100}'
                 % (index, cluster, cluster % 2, cluster % 2, cluster, 100 + cluster, index // 250 % 250,
                    index % 250 + 1))
        key = "/scdns/v1/services/bench/s%d/c%d" % (index, cluster)
        operations.append({"request_put": {"key": b64(key), "value": b64(value)}})
        if len(operations) == 1000:
            flush()
if operations:
    flush()
print("loaded the old layout")
PY
for round in $(seq "$ROUNDS"); do
    for binary in "$BEFORE" "$AFTER"; do
        "$binary" serve --etcd "$URL" --listen "127.0.0.1:$((PORT + 2))" --admin off >"$WORK/scdns.log" 2>&1 &
        pid=$!
        for _ in $(seq 1200); do grep -q "etcd registry listed" "$WORK/scdns.log" && break; sleep 0.1; done
        echo "round $round $binary $(grep -o 'took=[0-9.]*' "$WORK/scdns.log")"
        kill -9 "$pid"; wait "$pid" 2>/dev/null || true
    done
done
