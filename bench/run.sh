#!/usr/bin/env bash
# The server comparison of DESIGN.md section 8 (issue 5): scdns beside Knot DNS, NSD, Unbound and dnsdist (forwarding
# caches in front of Knot), scdns as a forwarding cache in front of Knot and a floor responder that does no DNS
# work, all on loopback with one worker thread each, driven by dnsperf and by `scdns qps` with the same queries,
# each load run repeated (median and range, disturbed rows flagged). The caches are measured on the same names
# under cluster.local (Knot's second zone), every query a hit. Extra rows: p99 at a fixed rate and pipelined TCP
# for scdns and Knot; instructions per query under callgrind for scdns, Knot and the three caches.
# Writes bench/out/results.md (and the raw measurements, results.jsonl). `make bench` installs the peers,
# builds scdns in release and runs this.
#
#   bench/run.sh                      everything, in about 11-12 minutes on the 2-core VM
#
# Environment (all optional):
#   SCRATCH=.build-bench              the SwiftPM scratch path scdns was built in (release)
#   BENCH_DURATION=5                  seconds per load run; BENCH_LATENCY_DURATION=3 for the dnsperf -v pass
#   BENCH_REPEAT=3                    load runs per row and generator: the table gives their median and range, and
#                                     flags a row whose runs spread more than 10% or whose server core was idle
#   BENCH_WORKERS=1                   scdns's `workers` (UDP threads); with more, give the servers more cores
#                                     (BENCH_SERVER_CPU=0-3, a taskset list) and the generators others
#   BENCH_RATE=50000                  the fixed rate of the open-loop latency rows (scdns qps --rate)
#   BENCH_PORT=15300                  first of the 9 loopback ports used (127.0.0.1 only)
#   BENCH_SERVER_CPU=0 BENCH_GENERATOR_CPU=1
#                                     the core the servers are pinned to, and the generators' core
#   BENCH_SCALE=100000                services of the scale point (against 1,000)
#   BENCH_BUDGET=900                  seconds after which the run is abandoned (everything is stopped)
#   BENCH_KEEP=1                      keep the work directory (configs, logs, callgrind files)
#
# What each figure is:
#   - server CPU per answered query: utime+stime of the server's processes from /proc/PID/stat before and
#     after a run, over the queries answered in it (bench/measure.py); generator CPU from its rusage;
#   - p99 for dnsperf rows: a separate dnsperf -v pass (dnsperf 2.10 prints no percentiles);
#   - instructions per query: callgrind over one server process: 20,000 queries to warm it, the counters
#     zeroed (callgrind_control -z), 100,000 queries, the counters dumped (callgrind_control -d): start-up,
#     which varies from run to run (threads, timers), is left out, not subtracted;
#   - scale: scdns with BENCH_SCALE services against 1,000: CPU per query, start to 'listening', the snapshot
#     build a SIGHUP triggers ('answers compiled ... build='), and VmRSS.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export PATH="$PATH:/usr/sbin:/sbin"
export LC_ALL=C

SCRATCH=${SCRATCH:-.build-bench}
SCDNS=$ROOT/$SCRATCH/release/scdns
DURATION=${BENCH_DURATION:-5}
REPEAT=${BENCH_REPEAT:-3}
WORKERS=${BENCH_WORKERS:-1}
RATE=${BENCH_RATE:-50000}
LATENCY_DURATION=${BENCH_LATENCY_DURATION:-3}
PORT=${BENCH_PORT:-15300}
SERVER_CPU=${BENCH_SERVER_CPU:-0}
GENERATOR_CPU=${BENCH_GENERATOR_CPU:-1}
SCALE=${BENCH_SCALE:-100000}
BUDGET=${BENCH_BUDGET:-900}
OUT=$ROOT/bench/out
RESULTS=$OUT/results.jsonl
MEASURE=(python3 "$ROOT/bench/measure.py" --out "$RESULTS")
# dnsperf: 4 sockets, 200 queries outstanding (more overflows the loopback socket buffers and loses queries),
# 2 s timeout. Both generators get the same window; scdns qps uses one socket and thread (sendmmsg/recvmmsg)
# on its one core.
DNSPERF_OPTS=(-c 4 -q 200 -t 2)
QPS_OPTS=(--concurrency 200 --sockets 1 --timeout 2000)

PORT_FLOOR=$PORT
PORT_SCDNS=$((PORT + 1))
PORT_KNOT=$((PORT + 2))
PORT_NSD=$((PORT + 3))
PORT_UNBOUND=$((PORT + 4))
PORT_SCALE=$((PORT + 5))
PORT_CG_SCDNS=$((PORT + 6))
PORT_CG_KNOT=$((PORT + 7))
PORT_FORWARD=$((PORT + 8))
PORT_DNSDIST=$((PORT + 9))
# The caches under callgrind: scdns, Unbound and dnsdist in front of the measured Knot.
PORT_CG_FORWARD=$((PORT + 10))
PORT_CG_UNBOUND=$((PORT + 11))
PORT_CG_DNSDIST=$((PORT + 12))

started_at=$(date +%s)
log() { printf 'bench [%3ds] %s\n' "$(($(date +%s) - started_at))" "$*" >&2; }
die() {
    log "error: $*"
    exit 1
}

for tool in dnsperf dig knotd nsd nsd-checkzone unbound unbound-checkconf dnsdist valgrind callgrind_control cc strip \
    taskset python3; do
    command -v "$tool" >/dev/null || die "$tool is missing: run 'make bench' (it installs the peers) or scripts/install-deps.sh bench"
done
[[ -x $SCDNS ]] || die "$SCDNS is missing: swift build -c release --product scdns --scratch-path $SCRATCH"

WORK=$(mktemp -d -t scdns-bench.XXXXXX)
mkdir -p "$OUT"
: >"$RESULTS"

# Every process started here is in `pids`; EXIT stops them (TERM, then KILL after 5 s) and the watchdog.
pids=()
watchdog=
cleanup() {
    local status=$?
    set +e
    [[ -n $watchdog ]] && kill "$watchdog" 2>/dev/null
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
    for pid in "${pids[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    if [[ ${BENCH_KEEP:-} == 1 ]]; then log "work directory kept: $WORK"; else rm -rf "$WORK"; fi
    exit $status
}
trap cleanup EXIT
trap 'if [[ -e $WORK/over-budget ]]; then log "error: over the budget of $BUDGET s: stopped"; fi; exit 130' INT TERM
# The watchdog keeps no descriptor of ours open (a pipe reading our output would wait for it) and takes its
# sleep with it when cleanup stops it.
(
    trap 'kill "$sleeper" 2>/dev/null; exit 0' TERM
    sleep "$BUDGET" &
    sleeper=$!
    wait "$sleeper"
    touch "$WORK/over-budget"
    kill -TERM $$
) >/dev/null 2>&1 </dev/null &
watchdog=$!

# fact KEY VALUE: a figure for the report that is not a load run (start-up time, RSS, versions of things).
fact() {
    python3 -c 'import json,sys; v=sys.argv[2]
try: v=float(v) if "." in v or "e" in v else int(v)
except ValueError: pass
print(json.dumps({"kind": "fact", "key": sys.argv[1], "value": v}))' "$1" "$2" >>"$RESULTS"
}

# start NAME CMD...: starts CMD pinned to the server core with its output in $WORK/NAME.log; sets $started.
# taskset and valgrind exec the command, so $! is the server's own PID.
start() {
    local name=$1
    shift
    taskset -c "$SERVER_CPU" "$@" >"$WORK/$name.log" 2>&1 &
    started=$!
    pids+=("$started")
    log "started $name (pid $started): $*"
}

# wait_ready NAME PORT PID SECONDS: until the server answers a query (any RCODE), at most SECONDS.
wait_ready() {
    local name=$1 port=$2 pid=$3 limit=$4 deadline=$(($(date +%s) + $4))
    while (($(date +%s) < deadline)); do
        kill -0 "$pid" 2>/dev/null || {
            tail -n 20 "$WORK/$name.log" >&2
            die "$name exited while starting"
        }
        if dig +time=1 +tries=1 +norec -p "$port" @127.0.0.1 ns1.supercluster.local A 2>/dev/null | grep -q 'status:'; then
            return 0
        fi
        sleep 0.1
    done
    tail -n 20 "$WORK/$name.log" >&2
    die "$name did not answer on port $port within $limit s"
}

# wait_log FILE PATTERN COUNT SECONDS: until FILE has COUNT lines matching PATTERN; prints nothing.
wait_log() {
    local deadline=$(($(date +%s) + $4))
    while (($(date +%s) < deadline)); do
        (($(grep -c -- "$2" "$1" 2>/dev/null || true) >= $3)) && return 0
        sleep 0.05
    done
    return 1
}

# stop PID: TERM, then KILL after 60 s (valgrind writes its output on exit), reap, and forget the PID.
stop() {
    local pid=$1 kept=() other
    if kill -TERM "$pid" 2>/dev/null; then
        for _ in $(seq 600); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
    for other in "${pids[@]}"; do [[ $other == "$pid" ]] || kept+=("$other"); done
    pids=("${kept[@]}")
}

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }'; }

# ---------------------------------------------------------------------------------------------------------
log "work directory $WORK; results to $OUT"
# What the scdns binary was built from (make bench builds it from the work tree just before).
fact scdns_commit "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
fact scdns_dirty "$(git status --porcelain -- Sources Package.swift 2>/dev/null | wc -l)"
cc -O2 -Wall -o "$WORK/floor" bench/floor/floor.c
python3 bench/gen.py --services 1000 --queries 20000 --out "$WORK/d1k" --forward "127.0.0.1:$PORT_KNOT"
python3 bench/gen.py --services "$SCALE" --queries 200000 --out "$WORK/dscale"
# scdns's UDP threads: one by default, like every peer here.
for config in "$WORK/d1k/scdns.yaml" "$WORK/d1k/scdns-forward.yaml" "$WORK/dscale/scdns.yaml"; do
    echo "workers: $WORKERS" >>"$config"
done
nsd-checkzone supercluster.local "$WORK/d1k/supercluster.local.zone" >/dev/null
nsd-checkzone cluster.local "$WORK/d1k/cluster.local.zone" >/dev/null
log "generated 1,000 and $SCALE services (registry, zone file, queries)"
# Fixed-length query files for callgrind: the main file's lines, looping; the warm-up, then the measured run.
for n in 20000 100000; do
    awk -v n="$n" '{ q[NR] = $0 } END { for (i = 0; i < n; i++) print q[i % NR + 1] }' \
        "$WORK/d1k/queries.txt" >"$WORK/cg-$n.txt"
    awk -v n="$n" '{ q[NR] = $0 } END { for (i = 0; i < n; i++) print q[i % NR + 1] }' \
        "$WORK/d1k/queries-cluster.txt" >"$WORK/cg-cluster-$n.txt"
done

# Knot: one UDP, TCP and background worker, in the foreground as the current user, everything in $WORK. The
# measured Knot also serves cluster.local, the upstream of both forwarding caches (the same services, TTL 3600);
# the one under callgrind keeps supercluster.local alone: a second zone costs Knot ~210 instructions on every
# query (5,348 -> 5,558 by hand), which would not be like with like against scdns's one zone.
knot_conf() { # knot_conf NAME PORT [ZONE...]: supercluster.local and the ZONEs (ZONE.zone in $WORK/d1k)
    mkdir -p "$WORK/$1"
    cat >"$WORK/$1/knot.conf" <<EOF
server:
    listen: 127.0.0.1@$2
    rundir: $WORK/$1
    pidfile: $WORK/$1/knot.pid
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
database:
    storage: $WORK/$1/db
control:
    listen: $WORK/$1/knot.sock
log:
  - target: stderr
    any: info
template:
  - id: default
    storage: $WORK/d1k
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
zone:
  - domain: supercluster.local
    file: supercluster.local.zone
EOF
    local zone
    for zone in "${@:3}"; do
        printf '  - domain: %s\n    file: %s.zone\n' "$zone" "$zone" >>"$WORK/$1/knot.conf"
    done
}
knot_conf knot "$PORT_KNOT" cluster.local
knot_conf knot-cg "$PORT_CG_KNOT"

mkdir -p "$WORK/nsd"
cat >"$WORK/nsd/nsd.conf" <<EOF
server:
    server-count: 1
    ip-address: 127.0.0.1
    port: $PORT_NSD
    do-ip6: no
    username: ""
    chroot: ""
    zonesdir: "$WORK/d1k"
    database: ""
    zonelistfile: "$WORK/nsd/zone.list"
    xfrdfile: "$WORK/nsd/xfrd.state"
    xfrdir: "$WORK/nsd"
    pidfile: "$WORK/nsd/nsd.pid"
    logfile: "$WORK/nsd/nsd.log"
    verbosity: 1
    minimal-responses: yes
    # Debian's NSD limits responses per source network (RRL) by default: at 200 qps it starts dropping.
    rrl-ratelimit: 0
    rrl-whitelist-ratelimit: 0
remote-control:
    control-enable: no
zone:
    name: supercluster.local
    zonefile: supercluster.local.zone
EOF
nsd-checkconf "$WORK/nsd/nsd.conf"

# Unbound: a forwarding cache in front of Knot, measured on cluster.local (TTL 3600) like scdns's cache;
# supercluster.local is forwarded too, for the answer check. cache-min-ttl keeps the 5 s registry TTL from
# expiring those answers mid-run.
mkdir -p "$WORK/unbound"
cat >"$WORK/unbound/unbound.conf" <<EOF
server:
    num-threads: 1
    interface: 127.0.0.1
    port: $PORT_UNBOUND
    do-ip6: no
    chroot: ""
    username: ""
    directory: "$WORK/unbound"
    pidfile: "$WORK/unbound/unbound.pid"
    use-syslog: no
    logfile: ""
    verbosity: 1
    do-not-query-localhost: no
    access-control: 127.0.0.0/8 allow
    module-config: "iterator"
    qname-minimisation: no
    prefetch: no
    minimal-responses: yes
    cache-min-ttl: 3600
    domain-insecure: "supercluster.local"
    domain-insecure: "cluster.local"
    local-zone: "local." nodefault
remote-control:
    control-enable: no
forward-zone:
    name: "supercluster.local"
    forward-addr: 127.0.0.1@$PORT_KNOT
forward-zone:
    name: "cluster.local"
    forward-addr: 127.0.0.1@$PORT_KNOT
EOF
unbound-checkconf "$WORK/unbound/unbound.conf" >/dev/null

# dnsdist: its packet cache in front of the same Knot, the fastest-known DNS cache (DESIGN.md section 8). One
# listener thread (dnsdist's default), no console, no security polling (which would query the Internet).
mkdir -p "$WORK/dnsdist"
cat >"$WORK/dnsdist/dnsdist.conf" <<EOF
setLocal("127.0.0.1:$PORT_DNSDIST")
setACL({"127.0.0.0/8"})
setSecurityPollSuffix("")
newServer({address="127.0.0.1:$PORT_KNOT", name="knot"})
getPool(""):setCache(newPacketCache(100000, {maxTTL=86400, minTTL=0}))
EOF
dnsdist --check-config -C "$WORK/dnsdist/dnsdist.conf" >/dev/null

# ---------------------------------------------------------------------------------------------------------
# The servers, side by side.
start floor "$WORK/floor" 127.0.0.1 "$PORT_FLOOR"
pid_floor=$started
t0=$(now)
start scdns "$SCDNS" serve --config "$WORK/d1k/scdns.yaml" \
    --registry "$WORK/d1k/registry.yaml" --zones "$WORK/d1k/scdns-zones" --listen "127.0.0.1:$PORT_SCDNS"
pid_scdns=$started
wait_log "$WORK/scdns.log" listening 1 60 || die "scdns did not start: $(tail -n 5 "$WORK/scdns.log")"
fact scdns_1k_startup_s "$(since "$t0")"
start knot knotd -c "$WORK/knot/knot.conf"
pid_knot=$started
start nsd nsd -d -c "$WORK/nsd/nsd.conf"
pid_nsd=$started
for server in floor:$PORT_FLOOR:$pid_floor scdns:$PORT_SCDNS:$pid_scdns knot:$PORT_KNOT:$pid_knot nsd:$PORT_NSD:$pid_nsd; do
    IFS=: read -r name port pid <<<"$server"
    wait_ready "$name" "$port" "$pid" 60
done
start unbound unbound -d -c "$WORK/unbound/unbound.conf"
pid_unbound=$started
wait_ready unbound "$PORT_UNBOUND" "$pid_unbound" 30
start dnsdist dnsdist --supervised --disable-syslog -C "$WORK/dnsdist/dnsdist.conf"
pid_dnsdist=$started
wait_ready dnsdist "$PORT_DNSDIST" "$pid_dnsdist" 30
# scdns as a forwarding cache: the same registry (a realistic instance), plus forward: cluster.local to Knot
# and cache: (bench/gen.py --forward writes scdns-forward.yaml).
t0=$(now)
start scdns-forward "$SCDNS" serve --config "$WORK/d1k/scdns-forward.yaml" \
    --registry "$WORK/d1k/registry.yaml" --zones "$WORK/d1k/scdns-zones" --listen "127.0.0.1:$PORT_FORWARD"
pid_forward=$started
wait_log "$WORK/scdns-forward.log" listening 1 60 || die "scdns (forwarding) did not start: $(tail -n 5 "$WORK/scdns-forward.log")"
fact scdns_forward_startup_s "$(since "$t0")"
wait_ready scdns-forward "$PORT_FORWARD" "$pid_forward" 30
log "all servers answer"

# The same answers everywhere: a service, a NODATA and an NXDOMAIN, compared (answer section sorted, status).
answers() { # answers PORT NAME TYPE
    dig +time=2 +tries=1 -p "$1" @127.0.0.1 "$2" "$3" | awk '/status:/ { print $6 } /^[^;].*IN\t(A|SOA)/ { print $NF }' | sort | tr '\n' ' '
}
mismatch=0
for query in "svc-000637.ns-07.svc.supercluster.local A" "svc-000637.ns-07.svc.supercluster.local AAAA" \
    "missing-000001.ns-01.svc.supercluster.local A"; do
    read -r qname qtype <<<"$query"
    reference=$(answers "$PORT_KNOT" "$qname" "$qtype")
    for port in "$PORT_SCDNS" "$PORT_NSD" "$PORT_UNBOUND" "$PORT_FORWARD" "$PORT_DNSDIST"; do
        got=$(answers "$port" "$qname" "$qtype")
        if [[ $got != "$reference" ]]; then
            log "answers differ for $qname $qtype: port $port '$got', Knot '$reference'"
            mismatch=1
        fi
    done
done
# The cache path's names through both caches, twice: from Knot (then stored), then from the cache.
for query in "svc-000637.ns-07.svc.cluster.local A" "svc-000637.ns-07.svc.cluster.local AAAA" \
    "missing-000001.ns-01.svc.cluster.local A"; do
    read -r qname qtype <<<"$query"
    reference=$(answers "$PORT_KNOT" "$qname" "$qtype")
    for port in "$PORT_UNBOUND" "$PORT_FORWARD" "$PORT_DNSDIST"; do
        for pass in miss hit; do
            got=$(answers "$port" "$qname" "$qtype")
            if [[ $got != "$reference" ]]; then
                log "answers differ for $qname $qtype ($pass): port $port '$got', Knot '$reference'"
                mismatch=1
            fi
        done
    done
done
fact answers_match "$((1 - mismatch))"
# The order of the three addresses as scdns answers it, and as the zone file lists it for Knot and NSD.
fact scdns_order "$(dig +short -p "$PORT_SCDNS" @127.0.0.1 svc-000637.ns-07.svc.supercluster.local A | tr '\n' ' ')"
fact knot_order "$(dig +short -p "$PORT_KNOT" @127.0.0.1 svc-000637.ns-07.svc.supercluster.local A | tr '\n' ' ')"

# Warm both caches: every line of the cluster.local query file once, gently (1,910 distinct questions: the
# first of each goes to Knot). Knot's CPU during the measured runs then says whether any query missed.
for cache in unbound:$PORT_UNBOUND scdns-forward:$PORT_FORWARD dnsdist:$PORT_DNSDIST; do
    timeout 120 dnsperf -s 127.0.0.1 -p "${cache#*:}" -d "$WORK/d1k/queries-cluster.txt" -n 1 -c 1 -q 20 -t 5 \
        >"$WORK/warm-${cache%%:*}.out" 2>&1 ||
        log "warming ${cache%%:*}: dnsperf failed: $(tail -n 3 "$WORK/warm-${cache%%:*}.out")"
    log "${cache%%:*} warmed: $(grep -m1 'Queries completed' "$WORK/warm-${cache%%:*}.out" || true)"
done

qps_available=0
# Without the subcommand, `scdns qps --help` is serve's help (serve is the default subcommand): look for qps's
# own option.
if "$SCDNS" qps --help 2>&1 | grep -q -- '--queries'; then qps_available=1; fi
fact qps_available "$qps_available"
log "scdns qps available: $qps_available"

# dnsperf_run NAME PORT PID QUERIES LABEL [measure options]: the load run, the latency pass, the scdns qps run.
# Each load run is repeated REPEAT times (BENCH_REPEAT); report.py gives the median and the spread.
dnsperf_run() {
    local name=$1 port=$2 pid=$3 queries=$4 label=$5 round
    shift 5
    for round in $(seq 1 "$REPEAT"); do
        log "$name ($label): dnsperf $DURATION s, run $round of $REPEAT"
        "${MEASURE[@]}" --server "$name" --pid "$pid" --tool dnsperf --label "$label" --round "$round" \
            --timeout $((DURATION + 30)) "$@" -- \
            taskset -c "$GENERATOR_CPU" dnsperf -s 127.0.0.1 -p "$port" -d "$queries" -l "$DURATION" "${DNSPERF_OPTS[@]}"
    done
}
latency_run() {
    local name=$1 port=$2 pid=$3 queries=$4 label=$5
    log "$name ($label): dnsperf -v $LATENCY_DURATION s (latency percentiles)"
    "${MEASURE[@]}" --server "$name" --pid "$pid" --tool dnsperf-latency --label "$label" \
        --timeout $((LATENCY_DURATION + 30)) -- \
        taskset -c "$GENERATOR_CPU" dnsperf -v -s 127.0.0.1 -p "$port" -d "$queries" -l "$LATENCY_DURATION" "${DNSPERF_OPTS[@]}"
}
qps_run() {
    local name=$1 port=$2 pid=$3 queries=$4 label=$5
    shift 5
    if ((qps_available == 0)); then
        echo "{\"server\": \"$name\", \"tool\": \"qps\", \"label\": \"$label\", \"error\": \"scdns qps not available\"}" >>"$RESULTS"
        return 0
    fi
    local options=("${QPS_OPTS[@]}") round
    # The load of the extra rows: a fixed rate (open loop: latency without a queue of our own making), and
    # pipelined TCP over 4 connections.
    case $label in
    rate) options=(--rate "$RATE" --sockets 1 --timeout 2000) ;;
    tcp) options=(--tcp --connections 4 --concurrency 200 --timeout 2000) ;;
    esac
    for round in $(seq 1 "$REPEAT"); do
        log "$name ($label): scdns qps $DURATION s, run $round of $REPEAT"
        "${MEASURE[@]}" --server "$name" --pid "$pid" --tool qps --label "$label" --round "$round" \
            --timeout $((DURATION + 30)) "$@" -- \
            taskset -c "$GENERATOR_CPU" "$SCDNS" qps --server "127.0.0.1:$port" --queries "$queries" \
            --duration "$DURATION" "${options[@]}" --json
    done
}
measure_server() { # measure_server NAME PORT PID QUERIES [measure options]
    local name=$1 port=$2 pid=$3 queries=$4
    shift 4
    dnsperf_run "$name" "$port" "$pid" "$queries" main "$@"
    latency_run "$name" "$port" "$pid" "$queries" main
    qps_run "$name" "$port" "$pid" "$queries" main "$@"
}

# ---------------------------------------------------------------------------------------------------------
# Instructions per query: callgrind over one process per server, 20,000 queries to warm it, then 100,000 counted.
# valgrind 3.19 cannot read the Swift toolchain's DWARF: run a copy of scdns without debug info. It also dies
# on the sigsuspend of Swift's async main (bench/valgrind/sigsuspend-shim.c says why): preload the shim.
strip --strip-debug -o "$WORK/scdns-stripped" "$SCDNS"
cc -O2 -shared -fPIC -o "$WORK/sigsuspend-shim.so" bench/valgrind/sigsuspend-shim.c
callgrind_run() { # callgrind_run NAME PORT PRELOAD CMD...  (PRELOAD: a library for LD_PRELOAD, or "")
    local name=$1 port=$2 preload=$3 stem=${cg_stem:-cg}
    shift 3
    local out=$WORK/callgrind-$name.out
    start "cg-$name" env ${preload:+LD_PRELOAD="$preload"} \
        valgrind --tool=callgrind --trace-children=no --callgrind-out-file="$out" "$@"
    local pid=$started
    wait_ready "cg-$name" "$port" "$pid" 180
    timeout 300 taskset -c "$GENERATOR_CPU" dnsperf -s 127.0.0.1 -p "$port" -d "$WORK/$stem-20000.txt" -n 1 -c 1 -q 10 \
        -t 10 >"$WORK/cg-$name-warm.dnsperf" 2>&1 || true
    callgrind_control -z "$pid" >/dev/null
    timeout 300 taskset -c "$GENERATOR_CPU" dnsperf -s 127.0.0.1 -p "$port" -d "$WORK/$stem-100000.txt" -n 1 -c 1 -q 10 \
        -t 10 >"$WORK/cg-$name.dnsperf" 2>&1 || true
    callgrind_control -d "$pid" >/dev/null
    stop "$pid"
    local answered instructions
    answered=$(awk '/Queries completed:/ { print $3 }' "$WORK/cg-$name.dnsperf")
    instructions=$(awk '/^(summary|totals):/ { print $2; exit }' "$out.1" 2>/dev/null || true)
    echo "{\"kind\": \"callgrind\", \"server\": \"$name\", \"warmup\": 20000, \"queries\": 100000, \"answered\": ${answered:-0}, \"instructions\": ${instructions:-0}}" >>"$RESULTS"
    log "callgrind $name: answered ${answered:-?} after the warm-up, ${instructions:-?} instructions"
}

measure_server floor "$PORT_FLOOR" "$pid_floor" "$WORK/d1k/queries.txt"
measure_server scdns "$PORT_SCDNS" "$pid_scdns" "$WORK/d1k/queries.txt"
measure_server knot "$PORT_KNOT" "$pid_knot" "$WORK/d1k/queries.txt"
measure_server nsd "$PORT_NSD" "$pid_nsd" "$WORK/d1k/queries.txt"
# The cache path: both caches on the cluster.local names, with Knot's CPU over each run (0: all hits).
measure_server unbound "$PORT_UNBOUND" "$pid_unbound" "$WORK/d1k/queries-cluster.txt" --also "knot=$pid_knot"
measure_server scdns-forward "$PORT_FORWARD" "$pid_forward" "$WORK/d1k/queries-cluster.txt" --also "knot=$pid_knot"
measure_server dnsdist "$PORT_DNSDIST" "$pid_dnsdist" "$WORK/d1k/queries-cluster.txt" --also "knot=$pid_knot"
# The rows that keep what scdns already leads in: latency at a fixed rate, and pipelined TCP.
for server in scdns:$PORT_SCDNS:$pid_scdns knot:$PORT_KNOT:$pid_knot; do
    IFS=: read -r name port pid <<<"$server"
    qps_run "$name" "$port" "$pid" "$WORK/d1k/queries.txt" rate
    qps_run "$name" "$port" "$pid" "$WORK/d1k/queries.txt" tcp
done
# Instructions per cache hit: each cache under callgrind on a port of its own, in front of the measured Knot,
# warmed with the cluster.local queries (the first of each name goes to Knot), then 100,000 hits counted.
mkdir -p "$WORK/unbound-cg"
sed -e "s/port: $PORT_UNBOUND/port: $PORT_CG_UNBOUND/" -e "s|$WORK/unbound\"|$WORK/unbound-cg\"|" \
    -e "s|$WORK/unbound/unbound.pid|$WORK/unbound-cg/unbound.pid|" "$WORK/unbound/unbound.conf" >"$WORK/unbound-cg/unbound.conf"
sed "s/127.0.0.1:$PORT_DNSDIST/127.0.0.1:$PORT_CG_DNSDIST/" "$WORK/dnsdist/dnsdist.conf" >"$WORK/dnsdist/dnsdist-cg.conf"
cg_stem=cg-cluster callgrind_run scdns-forward "$PORT_CG_FORWARD" "$WORK/sigsuspend-shim.so" \
    "$WORK/scdns-stripped" serve --config "$WORK/d1k/scdns-forward.yaml" \
    --registry "$WORK/d1k/registry.yaml" --zones "$WORK/d1k/scdns-zones" --listen "127.0.0.1:$PORT_CG_FORWARD"
cg_stem=cg-cluster callgrind_run unbound "$PORT_CG_UNBOUND" "" unbound -d -c "$WORK/unbound-cg/unbound.conf"
cg_stem=cg-cluster callgrind_run dnsdist "$PORT_CG_DNSDIST" "" \
    dnsdist --supervised --disable-syslog -C "$WORK/dnsdist/dnsdist-cg.conf"
# The floor again: how far this shared machine drifted over the table.
dnsperf_run floor "$PORT_FLOOR" "$pid_floor" "$WORK/d1k/queries.txt" again
for server in scdns-forward:$pid_forward dnsdist:$pid_dnsdist unbound:$pid_unbound nsd:$pid_nsd knot:$pid_knot \
    floor:$pid_floor; do
    fact "${server%%:*}_rss_kib" "$(rss_kib "${server#*:}")"
    stop "${server#*:}"
done

# ---------------------------------------------------------------------------------------------------------
# The scale point: SCALE services against 1,000, back to back, with the 1,000 server still running.
t0=$(now)
start scdns-scale "$SCDNS" serve --config "$WORK/dscale/scdns.yaml" \
    --registry "$WORK/dscale/registry.yaml" --zones "$WORK/dscale/scdns-zones" --listen "127.0.0.1:$PORT_SCALE"
pid_scale=$started
wait_log "$WORK/scdns-scale.log" listening 1 240 || die "scdns ($SCALE services) did not start: $(tail -n 5 "$WORK/scdns-scale.log")"
fact scdns_scale_startup_s "$(since "$t0")"
wait_ready scdns-scale "$PORT_SCALE" "$pid_scale" 30
fact scale_services "$SCALE"
dnsperf_run scdns "$PORT_SCDNS" "$pid_scdns" "$WORK/d1k/queries.txt" scale-1k
dnsperf_run scdns-scale "$PORT_SCALE" "$pid_scale" "$WORK/dscale/queries.txt" scale
qps_run scdns "$PORT_SCDNS" "$pid_scdns" "$WORK/d1k/queries.txt" scale-1k
qps_run scdns-scale "$PORT_SCALE" "$pid_scale" "$WORK/dscale/queries.txt" scale
fact scdns_1k_rss_kib "$(rss_kib "$pid_scdns")"
fact scdns_scale_rss_kib "$(rss_kib "$pid_scale")"
# SIGHUP rebuilds the answer snapshot from the registry in memory and logs how long it took.
for server in scdns:$pid_scdns scdns-scale:$pid_scale; do
    name=${server%%:*}
    pid=${server#*:}
    before=$(grep -c 'answers compiled' "$WORK/$name.log" || true)
    kill -HUP "$pid"
    if wait_log "$WORK/$name.log" 'build=.*answers compiled' 1 120; then
        line=$(grep -m1 'build=.*answers compiled' "$WORK/$name.log")
        fact "${name}_build" "$(sed -n 's/.*build=\([^ ]* [a-z]*\).*/\1/p' <<<"$line")"
        fact "${name}_names" "$(sed -n 's/.*names=\([0-9]*\).*/\1/p' <<<"$line")"
    else
        log "$name: no 'answers compiled ... build=' within 120 s of SIGHUP (had $before lines)"
    fi
done
stop "$pid_scale"
stop "$pid_scdns"

callgrind_run scdns "$PORT_CG_SCDNS" "$WORK/sigsuspend-shim.so" \
    "$WORK/scdns-stripped" serve --config "$WORK/d1k/scdns.yaml" \
        --registry "$WORK/d1k/registry.yaml" --zones "$WORK/d1k/scdns-zones" --listen "127.0.0.1:$PORT_CG_SCDNS"
callgrind_run knot "$PORT_CG_KNOT" "" knotd -c "$WORK/knot-cg/knot.conf"

# ---------------------------------------------------------------------------------------------------------
fact elapsed_s "$(($(date +%s) - started_at))"
fact duration_s "$DURATION"
fact repeat "$REPEAT"
fact workers "$WORKERS"
fact rate "$RATE"
fact latency_duration_s "$LATENCY_DURATION"
fact dnsperf_opts "${DNSPERF_OPTS[*]}"
fact qps_opts "${QPS_OPTS[*]}"
fact server_cpu "$SERVER_CPU"
fact generator_cpu "$GENERATOR_CPU"
python3 bench/report.py --results "$RESULTS" --out "$OUT/results.md" --scdns "$SCDNS"
log "done: $OUT/results.md"
