# Shared by the by-hand etcd benchmarks (bench/etcd-start.sh, bench/etcd-listing-ab.sh); sourced, not run.
# bench/etcd.sh (make bench-etcd) still starts its own etcd the same way.

# A work directory in $WORK, removed on exit with every process whose pid is in $pids.
bench_work() {
    WORK=$(mktemp -d "/tmp/scdns-$1.XXXXXX")
    pids=()
    trap bench_cleanup EXIT
}

bench_cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}

# One etcd member NAME serving URL (peers on PORT + 1), with the limits a bulk load of 300,000 exports in
# transactions of 1,000 needs; waits until it answers and sets $etcd_pid.
bench_start_etcd() {
    local name=$1 url=$2 port=$3
    etcd --name "$name" --data-dir "$WORK/etcd" --listen-client-urls "$url" --advertise-client-urls "$url" \
        --listen-peer-urls "http://127.0.0.1:$((port + 1))" \
        --initial-advertise-peer-urls "http://127.0.0.1:$((port + 1))" \
        --initial-cluster "$name=http://127.0.0.1:$((port + 1))" --max-txn-ops 1000 --max-request-bytes 16777216 \
        --quota-backend-bytes 8589934592 --logger zap --log-level warn >"$WORK/etcd.log" 2>&1 &
    etcd_pid=$!
    pids+=("$etcd_pid")
    for _ in $(seq 200); do
        ETCDCTL_API=3 etcdctl --endpoints "$url" endpoint health >/dev/null 2>&1 && return 0
        sleep 0.05
    done
    echo "etcd did not start" >&2
    cat "$WORK/etcd.log" >&2
    exit 1
}
