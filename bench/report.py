#!/usr/bin/env python3
"""Writes bench/out/results.md from the measurements bench/run.sh collected (results.jsonl).

    bench/report.py --results FILE --out FILE [--scdns PATH]

Every ratio divides figures measured in the same run: server CPU per answered query against the floor
responder's, Knot's (the authoritative path) and Unbound's (the cache path); a generator's CPU per query against
dnsperf's on the same responder; scdns with many services against 1,000; instructions against Knot's.
"""

import argparse
import datetime
import json
import os
import platform
import re
import subprocess

UNAVAILABLE = "scdns qps not available"

# (key, label, path): the rows of the main table, in order.
ROWS = [
    ("floor", "floor (recvmmsg/sendmmsg, no DNS work)", "floor"),
    ("scdns", "scdns (registry, 1,000 services)", "authoritative"),
    ("knot", "Knot DNS", "authoritative"),
    ("nsd", "NSD", "authoritative"),
    ("unbound", "Unbound (cache, forwarding to Knot)", "cache"),
    ("scdns-forward", "scdns (cache, forwarding to Knot)", "cache"),
    ("dnsdist", "dnsdist (packet cache, forwarding to Knot)", "cache"),
]
# A row is flagged as disturbed when its repeated runs spread more than this (max - min over the median of server
# CPU per query), when the hypervisor stole more than STEAL_SHARE of a run, or when the server's core was less
# busy than IDLE_SERVER_CORE under a closed loop (something else held the machine, or the generator stalled).
SPREAD_LIMIT = 0.10
STEAL_SHARE = 0.02
IDLE_SERVER_CORE = 0.6


def version(command):
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"unavailable ({error})"
    lines = [line.strip() for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    return lines


def first(lines, contains=""):
    if isinstance(lines, str):
        return lines
    for line in lines:
        if contains.lower() in line.lower():
            return line
    return lines[0] if lines else "unknown"


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def fmt(value, digits=2, unit=""):
    if value is None:
        return "–"
    if isinstance(value, (int,)) or (isinstance(value, float) and digits == 0):
        return f"{value:,.0f}{unit}"
    return f"{value:,.{digits}f}{unit}"


def ratio(value, reference):
    if value is None or not reference:
        return "–"
    return f"{value / reference:.2f}×"


def busy(record):
    cores = record.get("core_busy") or {}
    return " / ".join(f"{cores[c]:.2f}" for c in sorted(cores)) or "–"


def build_time(text):
    """Swift's Duration description ("0.110042562 seconds") in ms or s."""
    try:
        seconds = float(str(text).split()[0])
    except (ValueError, IndexError):
        return str(text) if text is not None else "–"
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def spread(record):
    low_high = record.get("spread")
    return f"{low_high[0]:.2f}–{low_high[1]:.2f}" if low_high else "–"


def loss(record):
    sent, lost = record.get("sent"), record.get("lost")
    if sent is None or lost is None:
        return "–"
    return f"{lost:,} ({100.0 * lost / sent:.2f}%)" if sent else "–"


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--results", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--scdns", default=".build-bench/release/scdns")
    args = parser.parse_args()

    facts, runs, callgrind = {}, [], []
    with open(args.results) as f:
        for line in f:
            record = json.loads(line)
            kind = record.get("kind")
            if kind == "fact":
                facts[record["key"]] = record["value"]
            elif kind == "callgrind":
                callgrind.append(record)
            else:
                runs.append(record)

    def run(server, tool, label="main"):
        """The median of the row's repeated runs by server CPU per query, with `runs`, `spread` (the lowest and
        highest server CPU per query) and `disturbed` (why the row should not be trusted) added; an error
        record when no run succeeded; None when the row was not measured."""
        matching = [r for r in runs if r["server"] == server and r["tool"] == tool and r["label"] == label]
        good = [r for r in matching if "error" not in r and r.get("server_us_per_query") is not None]
        if not good:
            return matching[0] if matching else None
        good.sort(key=lambda r: r["server_us_per_query"])
        median = dict(good[(len(good) - 1) // 2])
        values = [r["server_us_per_query"] for r in good]
        median["runs"] = len(good)
        median["spread"] = (values[0], values[-1])
        reasons = []
        if len(good) > 1 and (values[-1] - values[0]) / median["server_us_per_query"] > SPREAD_LIMIT:
            reasons.append(f"runs spread {100 * (values[-1] - values[0]) / median['server_us_per_query']:.0f}%")
        if any(r.get("steal_ms", 0) > STEAL_SHARE * 1000 * r.get("wall_s", 1e9) for r in good):
            reasons.append("steal")
        server_core = "cpu" + re.split(r"[,-]", str(facts.get("server_cpu", 0)))[0]
        if label != "rate" and tool != "dnsperf-latency":
            idle = [r for r in good if (r.get("core_busy") or {}).get(server_core, 1) < IDLE_SERVER_CORE]
            if idle:
                reasons.append(f"server core idle in {len(idle)} of {len(good)} runs")
        median["disturbed"] = reasons
        return median

    def per_query(server, tool, label="main"):
        record = run(server, tool, label)
        return record.get("server_us_per_query") if record and "error" not in record else None

    out = []
    w = out.append
    w("# scdns server comparison (make bench)\n")
    w(f"Date: {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}. "
      f"`make bench` run time: {facts.get('elapsed_s', '?')} s (bench/run.sh, after the build).\n")
    w("Machine: " + f"{os.cpu_count()} cores (nproc), {cpu_model()}, Linux {platform.release()}.\n")
    w("Versions:\n")
    for name, command, pick in [
        ("scdns", [args.scdns, "--version"], ""),
        ("swift", ["swift", "--version"], "swift"),
        ("Knot DNS", ["knotd", "-V"], "knot"),
        ("NSD", ["nsd", "-v"], "nsd"),
        ("Unbound", ["unbound", "-V"], "version"),
        ("dnsdist", ["dnsdist", "--version"], "dnsdist"),
        ("dnsperf", ["dnsperf", "-h"], "version"),
        ("valgrind", ["valgrind", "--version"], "valgrind"),
    ]:
        if name == "scdns":
            commit, dirty = facts.get("scdns_commit", "unknown"), facts.get("scdns_dirty", 0)
            w(f"- scdns: release build of commit {commit}"
              f"{' plus uncommitted changes in Sources' if dirty else ''} (the work tree when the run started)")
            continue
        w(f"- {name}: {first(version(command), pick)}")
    w("")
    duration = facts.get("duration_s", "?")
    w("Setup: every server on its own 127.0.0.1 port, one worker thread each, all pinned to core "
      f"{facts.get('server_cpu', 0)} (`taskset`); the generators pinned to core {facts.get('generator_cpu', 1)}. "
      "The same data for all: 1,000 services × 3 clusters (bench/gen.py), scdns from its registry, Knot and NSD "
      "from the equivalent zone file; 20,000 queries in a fixed shuffled order, looping: 94% A of a service "
      "(3 addresses), 3% AAAA (NODATA), 3% A of a missing name (NXDOMAIN). "
      "The two caches (Unbound and scdns, each forwarding to Knot) are measured on queries-cluster.txt: the same "
      "20,000 queries with every name under cluster.local, Knot's second zone (the same services, TTL 3600), "
      "both caches warmed with every name first, so every measured query is a cache hit. "
      f"Answers identical across servers (status and records): {'yes' if facts.get('answers_match') == 1 else 'NO'}.\n")
    w("Commands (PORT differs per server):\n")
    w(f"- dnsperf: `taskset -c 1 dnsperf -s 127.0.0.1 -p PORT -d queries.txt -l {duration} "
      f"{facts.get('dnsperf_opts', '')}`; p99 from a separate {facts.get('latency_duration_s', '?')} s pass with "
      "`-v` (dnsperf 2.10 prints no percentiles)")
    w(f"- scdns qps: `taskset -c 1 scdns qps --server 127.0.0.1:PORT --queries queries.txt --duration {duration} "
      f"{facts.get('qps_opts', '')} --json`")
    w("- scdns: `scdns serve --config scdns.yaml --registry registry.yaml --zones scdns-zones --listen 127.0.0.1:PORT` (scdns.yaml: the locality, ttl 5; the zone directory holds the apex only)")
    w("- scdns as a cache: the same command with scdns-forward.yaml: scdns.yaml plus "
      "`forward: [{ zone: cluster.local, upstreams: [\"127.0.0.1:KNOTPORT\"] }]` and "
      "`cache: { capacity: 100000, maxTTL: 3600, serveStale: 86400 }`")
    w("- Knot: `knotd -c knot.conf` (udp-workers, tcp-workers, background-workers: 1; zones supercluster.local and "
      "cluster.local, the one under callgrind supercluster.local only); "
      "NSD: `nsd -d -c nsd.conf` (server-count: 1); "
      "Unbound: `unbound -d -c unbound.conf` (num-threads: 1, forward-zones to Knot, cache warmed first, "
      "cache-min-ttl 3600); dnsdist: `dnsdist --supervised -C dnsdist.conf` (one listener, Knot as its one backend, "
      "a packet cache of 100,000 entries, warmed first)")
    w("- callgrind: `valgrind --tool=callgrind --trace-children=no SERVER` answering 20,000 queries (dnsperf -n 1 "
      "-q 10), counters zeroed with `callgrind_control -z`, 100,000 more, counters dumped with `callgrind_control "
      "-d`: instructions of the dump / queries answered after the warm-up")
    w("")

    # The main table.
    floor_dnsperf = per_query("floor", "dnsperf")
    floor_qps = per_query("floor", "qps")
    knot_dnsperf, knot_qps = per_query("knot", "dnsperf"), per_query("knot", "qps")
    unbound_dnsperf, unbound_qps = per_query("unbound", "dnsperf"), per_query("unbound", "qps")
    dnsdist_dnsperf, dnsdist_qps = per_query("dnsdist", "dnsperf"), per_query("dnsdist", "qps")
    instructions = {}
    for server in ("scdns", "knot", "scdns-forward", "unbound", "dnsdist"):
        measured = next((r for r in callgrind if r["server"] == server), None)
        if measured and measured["answered"] > 0 and measured["instructions"]:
            instructions[server] = measured["instructions"] / measured["answered"]

    repeat = facts.get("repeat", 1)
    w(f"## Server CPU per answered query ({duration} s per run, median of {repeat} runs)\n")
    w("Each row is the median run of its repeats by server CPU per query; \"range\" is the lowest and highest server "
      "CPU per query of them. \"disturbed\" flags a row not to be trusted: its runs spread more than "
      f"{100 * SPREAD_LIMIT:.0f}%, the hypervisor stole more than {100 * STEAL_SHARE:.0f}% of a run, or the "
      f"server's core was less than {IDLE_SERVER_CORE:.0%} busy under a closed loop.\n")
    w("| server | generator | qps | lost | p99 ms | server CPU µs/query | range | × floor | × Knot | × Unbound | "
      "× dnsdist | generator CPU µs/query | instructions/query | cores busy 0 / 1 | steal ms | disturbed |")
    w("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for tool, floor_ref, knot_ref, unbound_ref, dnsdist_ref in [
        ("dnsperf", floor_dnsperf, knot_dnsperf, unbound_dnsperf, dnsdist_dnsperf),
        ("qps", floor_qps, knot_qps, unbound_qps, dnsdist_qps),
    ]:
        tool_name = "dnsperf" if tool == "dnsperf" else "scdns qps"
        for key, label, path in ROWS:
            record = run(key, tool)
            cells = [label, tool_name]
            if record is None or "error" in record:
                reason = record["error"] if record else "not measured"
                cells += [reason] + [""] * 13
                w("| " + " | ".join(cells) + " |")
                continue
            us = record.get("server_us_per_query")
            p99 = record.get("p99_ms")
            if tool == "dnsperf":
                latency = run(key, "dnsperf-latency")
                p99 = latency.get("p99_ms") if latency and "error" not in latency else None
            cells += [
                fmt(record.get("qps"), 0),
                loss(record),
                fmt(p99, 3),
                fmt(us, 2),
                spread(record),
                ratio(us, floor_ref),
                ratio(us, knot_ref) if path in ("authoritative",) else "",
                ratio(us, unbound_ref) if path == "cache" else "",
                ratio(us, dnsdist_ref) if path == "cache" else "",
                fmt(record.get("generator_us_per_query"), 2),
                fmt(instructions.get(key), 0) if tool == "dnsperf" else "",
                busy(record),
                fmt(record.get("steal_ms"), 0),
                "; ".join(record.get("disturbed", [])),
            ]
            w("| " + " | ".join(cells) + " |")
    again = run("floor", "dnsperf", "again")
    if again and "error" not in again:
        w(f"| floor again, after the table | dnsperf | {fmt(again.get('qps'), 0)} | {loss(again)} | – | "
          f"{fmt(again.get('server_us_per_query'), 2)} | {spread(again)} | "
          f"{ratio(again.get('server_us_per_query'), floor_dnsperf)} "
          f"| | | | {fmt(again.get('generator_us_per_query'), 2)} | | {busy(again)} | {fmt(again.get('steal_ms'), 0)} "
          f"| {'; '.join(again.get('disturbed', []))} |")
    w("")
    knot_cpu = []
    for key, label, path in ROWS:
        if path != "cache":
            continue
        for tool, tool_name in (("dnsperf", "dnsperf"), ("qps", "scdns qps")):
            record = run(key, tool)
            if record and "knot_cpu_us" in record:
                knot_cpu.append(f"{label.split(' (')[0]} with {tool_name} {record['knot_cpu_us'] / 1000:.0f} ms over "
                                f"{record.get('answered', 0):,} queries")
    if knot_cpu:
        w("Knot's CPU time while the caches were measured: " + "; ".join(knot_cpu) +
          " (all cache hits when near zero).\n")
    for tool, tool_name, floor_ref, unbound_ref, dnsdist_ref in (
            ("dnsperf", "dnsperf", floor_dnsperf, unbound_dnsperf, dnsdist_dnsperf),
            ("qps", "scdns qps", floor_qps, unbound_qps, dnsdist_qps)):
        us = per_query("scdns-forward", tool)
        if us is not None:
            w(f"scdns cache hit with {tool_name}: {us:.2f} µs of server CPU per query, {ratio(us, unbound_ref)} "
              f"Unbound's, {ratio(us, dnsdist_ref)} dnsdist's and {ratio(us, floor_ref)} the floor's.\n")
    if again and "error" not in again and floor_dnsperf:
        drift = again["server_us_per_query"] / floor_dnsperf - 1
        if abs(drift) > SPREAD_LIMIT:
            w(f"**Disturbed run:** the floor measured again after the table differs from its first measurement by "
              f"{100 * drift:+.0f}%: the machine's speed moved during the run, so compare rows with care.\n")
        else:
            w(f"The floor measured again after the table is within {100 * abs(drift):.0f}% of its first measurement.\n")

    # The rows that keep scdns's leads visible: latency at a fixed rate, and pipelined TCP.
    w(f"## Latency at a fixed rate, and pipelined TCP (scdns qps, median of {repeat} runs)\n")
    w(f"`rate`: `scdns qps --rate {facts.get('rate', '?')} --sockets 1` (open loop: each query sent on time, whatever "
      "came back, so p99 is the server's latency, not a queue of the generator's). `tcp`: `scdns qps --tcp "
      "--connections 4 --concurrency 200` (queries pipelined on 4 connections).\n")
    w("| server | load | qps | lost | p50 ms | p99 ms | server CPU µs/query | range | disturbed |")
    w("|---|---|---:|---:|---:|---:|---:|---:|---|")
    for key, label in (("scdns", "scdns (registry, 1,000 services)"), ("knot", "Knot DNS")):
        for load in ("rate", "tcp"):
            record = run(key, "qps", load)
            if record is None or "error" in record:
                w(f"| {label} | {load} | {record['error'] if record else 'not measured'} | | | | | | |")
                continue
            w(f"| {label} | {load} | {fmt(record.get('qps'), 0)} | {loss(record)} | {fmt(record.get('p50_ms'), 3)} | "
              f"{fmt(record.get('p99_ms'), 3)} | {fmt(record.get('server_us_per_query'), 2)} | {spread(record)} | "
              f"{'; '.join(record.get('disturbed', []))} |")
    w("")
    w("Cores busy: each core's load over the run from /proc/stat, everyone's (servers on core 0, generators on "
      "core 1); steal: time the hypervisor ran someone else on this VM's cores. Both say how disturbed a run was.\n")
    notes = [r for r in runs if r.get("p99_ms_key")]
    if notes:
        w(f"scdns qps latency read from JSON key `{notes[0]['p99_ms_key']}`.\n")

    # Generators.
    w("## Generators: CPU per completed query against the same responder\n")
    w("| responder | dnsperf µs/query | scdns qps µs/query | scdns qps / dnsperf |")
    w("|---|---:|---:|---:|")
    for key, label, _ in ROWS:
        d, q = run(key, "dnsperf"), run(key, "qps")
        d_us = d.get("generator_us_per_query") if d and "error" not in d else None
        if q is None or "error" in q:
            w(f"| {label} | {fmt(d_us, 2)} | {q['error'] if q else 'not measured'} | – |")
        else:
            q_us = q.get("generator_us_per_query")
            w(f"| {label} | {fmt(d_us, 2)} | {fmt(q_us, 2)} | {ratio(q_us, d_us)} |")
    w("")

    # Instructions.
    w("## User-space instructions per answered query (callgrind)\n")
    w("The caches answer the cluster.local names (queries-cluster.txt); the warm-up fills them, so every counted "
      "query is a cache hit.\n")
    w("| server | warm-up queries | answered after it | instructions | per query | × Knot | × Unbound | × dnsdist |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|")
    for server, label, path in (("scdns", "scdns (registry)", "authoritative"), ("knot", "Knot DNS", "authoritative"),
                                ("scdns-forward", "scdns (cache hit)", "cache"),
                                ("unbound", "Unbound (cache hit)", "cache"),
                                ("dnsdist", "dnsdist (packet cache hit)", "cache")):
        measured = next((r for r in callgrind if r["server"] == server), None)
        if not measured:
            w(f"| {label} | not measured | | | | | | |")
            continue
        mine = instructions.get(server)
        w(f"| {label} | {measured.get('warmup', 0):,} | {measured['answered']:,} | {measured['instructions']:,} | "
          f"{fmt(mine, 0)} | {ratio(mine, instructions.get('knot')) if path == 'authoritative' else ''} | "
          f"{ratio(mine, instructions.get('unbound')) if path == 'cache' else ''} | "
          f"{ratio(mine, instructions.get('dnsdist')) if path == 'cache' else ''} |")
    w("")

    # Scale.
    scale = facts.get("scale_services", 100000)
    w(f"## Scale: {scale:,} services against 1,000 (scdns, dnsperf, back to back)\n")
    w("| services | names answered | start to 'listening' s | snapshot build (SIGHUP) | RSS MiB | qps | "
      "server CPU µs/query | × 1,000 |")
    w("|---:|---:|---:|---:|---:|---:|---:|---:|")
    one = run("scdns", "dnsperf", "scale-1k")
    big = run("scdns-scale", "dnsperf", "scale")
    one_us = one.get("server_us_per_query") if one and "error" not in one else None
    for services, record, prefix, startup in (
        (1000, one, "scdns", "scdns_1k_startup_s"),
        (scale, big, "scdns-scale", "scdns_scale_startup_s"),
    ):
        rss = facts.get("scdns_1k_rss_kib" if services == 1000 else "scdns_scale_rss_kib")
        us = record.get("server_us_per_query") if record and "error" not in record else None
        w(f"| {services:,} | {fmt(facts.get(prefix + '_names'), 0)} | {fmt(facts.get(startup), 2)} | "
          f"{build_time(facts.get(prefix + '_build'))} | {fmt(rss / 1024 if rss else None, 1)} | "
          f"{fmt(record.get('qps') if record else None, 0)} | {fmt(us, 2)} | {ratio(us, one_us)} |")
    w("")
    qone, qbig = run("scdns", "qps", "scale-1k"), run("scdns-scale", "qps", "scale")
    if qone and qbig and "error" not in qone and "error" not in qbig:
        w(f"With scdns qps: {fmt(qone.get('server_us_per_query'))} µs/query at 1,000 services, "
          f"{fmt(qbig.get('server_us_per_query'))} at {scale:,} "
          f"({ratio(qbig.get('server_us_per_query'), qone.get('server_us_per_query'))}).\n")
    elif qone or qbig:
        w(f"scdns qps at the scale point: {(qone or qbig).get('error', 'not measured')}.\n")
    w(f"The {scale:,}-service queries spread over every service (200,000 queries in a shuffled order), so the "
      "name table does not stay in cache; startup includes reading and validating the registry YAML.\n")

    # Other servers' RSS, for reference.
    rss = [(name, facts.get(f"{name}_rss_kib")) for name in ("scdns-forward", "knot", "nsd", "unbound", "floor")]
    w("RSS at the end of the table (MiB): " + ", ".join(
        f"{name} {value / 1024:.1f}" for name, value in rss if isinstance(value, (int, float))) + ".\n")
    with open(args.out, "w") as f:
        f.write("\n".join(out))


if __name__ == "__main__":
    main()
