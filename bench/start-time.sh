#!/usr/bin/env bash
# Start to listening and resident memory of one `scdns serve` on a bench/gen.py registry: seconds from exec to
# the 'listening' line and the CPU it had used by then (utime+stime: steadier than the seconds on a shared
# machine), then VmRSS and VmHWM a second later. For comparing builds by hand, alternating them;
# `make bench` has the same start figure in its scale row, for its own build only.
#   bench/start-time.sh BINARY DATA_DIR [PORT]   (DATA_DIR from: python3 bench/gen.py --services N --out DATA_DIR)
set -euo pipefail
binary=$1 data=$2 port=${3:-15410}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
started=$EPOCHREALTIME
"$binary" serve --config "$data/scdns.yaml" --registry "$data/registry.yaml" --zones "$data/scdns-zones" \
    --listen "127.0.0.1:$port" >"$log" 2>&1 &
pid=$!
until grep -q listening "$log"; do
    kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; exit 1; }
    sleep 0.05
done
seconds=$(awk -v a="$started" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')
read -r -a stat <"/proc/$pid/stat"
cpu=$(awk -v u="${stat[13]}" -v s="${stat[14]}" -v t="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", (u + s) / t }')
sleep 1
status=$(cat "/proc/$pid/status")
kill "$pid"
wait "$pid" 2>/dev/null || true
awk -v s="$seconds" -v c="$cpu" -v b="$(basename "$binary")" '
    $1 == "VmRSS:" { rss = $2 } $1 == "VmHWM:" { hwm = $2 }
    END { printf "%s: start %s s, CPU %s s, RSS %d MiB, peak (VmHWM) %d MiB\n", b, s, c, rss / 1024, hwm / 1024 }' <<<"$status"
