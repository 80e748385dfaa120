#!/usr/bin/env bash
# What the reachability probes cost (issue 14): a release scdns with `health.probes` on and SERVICES services
# of 3 clusters, each export one loopback address (127.1.x.y), all on one TCP port. With a listener on that port
# (one socket per address, accepting and closing) every probe completes a handshake, as with healthy copies; with none, every
# probe is refused. Reads scdns's CPU time from /proc and its probe count from /metrics over a window after a
# warm-up, and prints probes per second and CPU per probe, for both cases.
#
#   SCRATCH=.build-bench bash bench/probes.sh
#
# Environment: PROBE_BENCH_SERVICES=1000, PROBE_BENCH_RATE=200 (health.maxProbesPerSecond), PROBE_BENCH_SECONDS=30,
# PROBE_BENCH_PORT=15600 (first of three loopback ports: DNS, admin, the probed port).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SCDNS=$ROOT/${SCRATCH:-.build-bench}/release/scdns
SERVICES=${PROBE_BENCH_SERVICES:-1000}
RATE=${PROBE_BENCH_RATE:-200}
WINDOW=${PROBE_BENCH_SECONDS:-30}
PORT=${PROBE_BENCH_PORT:-15600}
[[ -x $SCDNS ]] || { echo "probes.sh: $SCDNS missing: build it in release" >&2; exit 1; }
WORK=$(mktemp -d /tmp/scdns-probe-bench.XXXXXX)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
mkdir -p "$WORK/zones"
python3 - "$WORK" "$SERVICES" "$((PORT + 2))" <<'PY'
import os, sys
work, services, port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
lines = ["services:"]
for index in range(services):
    lines += [f"  - name: s{index}", "    namespace: bench", f"    ports: [{{ name: http, port: {port} }}]", "    clusters:"]
    for cluster in range(3):
        n = index * 3 + cluster
        lines.append(f"      - {{ cluster: c{cluster}, addresses: [127.1.{n // 250}.{n % 250 + 1}] }}")
with open(os.path.join(work, "registry.yaml.tmp"), "w") as f:
    f.write("\n".join(lines) + "\n")
os.replace(os.path.join(work, "registry.yaml.tmp"), os.path.join(work, "registry.yaml"))
PY
cat >"$WORK/scdns.yaml" <<YAML
zones: zones
registry: { file: registry.yaml }
health: { probes: true, interval: 2s, timeout: 1s, fall: 3, rise: 2, maxProbesPerSecond: $RATE }
YAML

# User and kernel CPU milliseconds of a process: a probe's handshake on loopback is mostly the kernel's.
cpu_ms() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.0f %.0f\n", $14 * 1000 / hz, $15 * 1000 / hz }' "/proc/$1/stat"; }
probes() {
    curl -sf "http://127.0.0.1:$((PORT + 1))/metrics" \
        | awk '/^scdns_probe_requests_total/ { sum += $2 } END { printf "%d", sum }'
}

measure() {
    local label=$1
    "$SCDNS" serve --config "$WORK/scdns.yaml" --listen "127.0.0.1:$PORT" --admin "127.0.0.1:$((PORT + 1))" \
        >"$WORK/scdns.log" 2>&1 &
    local pid=$!
    pids+=("$pid")
    for _ in $(seq 600); do grep -q "listening" "$WORK/scdns.log" && break; sleep 0.05; done
    sleep 5
    local user0 kernel0 probes0 started user1 kernel1 probes1
    read -r user0 kernel0 < <(cpu_ms "$pid"); probes0=$(probes); started=$EPOCHREALTIME
    sleep "$WINDOW"
    read -r user1 kernel1 < <(cpu_ms "$pid"); probes1=$(probes)
    awk -v label="$label" -v u=$((user1 - user0)) -v k=$((kernel1 - kernel0)) -v p=$((probes1 - probes0)) \
        -v a="$started" -v b="$EPOCHREALTIME" -v targets=$((SERVICES * 3)) 'BEGIN {
            s = b - a; c = u + k
            printf "%s: %d targets, %.0f probes/s, scdns CPU %.1f%% of one core, %.1f µs per probe (user %.1f, kernel %.1f)\n",
                label, targets, p / s, c / s / 10, (p > 0 ? c * 1000 / p : 0), (p > 0 ? u * 1000 / p : 0),
                (p > 0 ? k * 1000 / p : 0)
        }'
    kill "$pid"; wait "$pid" 2>/dev/null || true
}

# One listening socket per export address (3 x SERVICES), each on loopback, accepting and closing at once.
python3 - "$SERVICES" "$((PORT + 2))" <<'PY' &
import selectors, socket, sys
services, port = int(sys.argv[1]), int(sys.argv[2])
selector = selectors.DefaultSelector()
for n in range(services * 3):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((f"127.1.{n // 250}.{n % 250 + 1}", port))
    s.listen(64)
    s.setblocking(False)
    selector.register(s, selectors.EVENT_READ)
while True:
    for key, _ in selector.select():
        try:
            connection, _ = key.fileobj.accept()
            connection.close()
        except BlockingIOError:
            pass
PY
listener=$!
pids+=("$listener")
sleep 2
measure "every copy up (handshake completes)"
kill "$listener"; wait "$listener" 2>/dev/null || true
measure "every copy refusing"
