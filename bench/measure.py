#!/usr/bin/env python3
"""One measurement for bench/run.sh: runs a load generator against a server that is already running and
appends one JSON object to a results file.

    bench/measure.py --out FILE --server NAME --pid PID --tool dnsperf|dnsperf-latency|qps [--label L]
                     [--timeout S] -- COMMAND ...

The server's CPU time is the utime+stime of PID and of every process below it (NSD forks a server child and
xfrd), read from /proc/PID/stat before the generator starts and after it exits; clock ticks become
microseconds through `getconf CLK_TCK`. The generator's own CPU time comes from wait4's rusage of COMMAND.
Tools:
  dnsperf          dnsperf's summary: sent, completed, lost, qps, average latency, rcodes
  dnsperf-latency  dnsperf -v: every response's latency, for the percentiles (dnsperf 2.10 prints none)
  qps              `scdns qps --json`: the JSON object it prints on stdout
A run that cannot start, fails or times out is recorded with "error" and the command's last output lines, so
the table says what went wrong instead of the harness stopping.
"""

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

TICK_US = 1_000_000 / os.sysconf("SC_CLK_TCK")


def children_map():
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    return children


def tree(pid):
    children = children_map()
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        todo.extend(children.get(current, []))
    return pids


def cpu_us(pids):
    """utime+stime of each process (all its threads), in microseconds; processes gone count 0."""
    total = {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read()
        except OSError:
            continue
        rest = fields[fields.rindex(")") + 2 :].split()
        total[pid] = (int(rest[11]) + int(rest[12])) * TICK_US  # fields 14 and 15 of proc(5)
    return total


def cpu_stat():
    """Per-core (busy, steal) clock ticks from /proc/stat: what the cores did, whoever did it."""
    cores = {}
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("cpu") and line[3].isdigit():
                name, *values = line.split()
                user, nice, system, idle, iowait, irq, softirq, steal = (int(v) for v in values[:8])
                cores[name] = (user + nice + system + irq + softirq, steal)
    return cores


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def parse_dnsperf(text):
    result = {}
    patterns = {
        "sent": r"Queries sent:\s+(\d+)",
        "answered": r"Queries completed:\s+(\d+)",
        "lost": r"Queries lost:\s+(\d+)",
        "qps": r"Queries per second:\s+([\d.]+)",
        "run_s": r"Run time \(s\):\s+([\d.]+)",
        "latency_avg_ms": r"Average Latency \(s\):\s+([\d.]+)",
        "latency_max_ms": r"Average Latency \(s\):.*max ([\d.]+)",
    }
    for key, pattern in patterns.items():
        match = re.search(pattern, text)
        if match:
            value = float(match.group(1))
            result[key] = value * 1000 if key.endswith("_ms") else value
    match = re.search(r"Response codes:\s+(.*)", text)
    if match:
        result["rcodes"] = {name: int(count) for name, count in re.findall(r"([A-Z]+) (\d+) \(", match.group(1))}
    for key in ("sent", "answered", "lost"):
        if key in result:
            result[key] = int(result[key])
    return result


def percentile(sorted_values, fraction):
    if not sorted_values:
        return None
    index = min(len(sorted_values) - 1, max(0, int(round(fraction * len(sorted_values) + 0.5)) - 1))
    return sorted_values[index]


def parse_dnsperf_latency(path):
    latencies, timeouts = [], 0
    with open(path, errors="replace") as f:
        for line in f:
            if not line.startswith("> "):
                continue
            parts = line.split()
            if parts[1] == "T":
                timeouts += 1
            elif len(parts) >= 5:
                try:
                    latencies.append(float(parts[-1]) * 1000)
                except ValueError:
                    pass
    latencies.sort()
    return {
        "latency_samples": len(latencies),
        "latency_timeouts": timeouts,
        "p50_ms": percentile(latencies, 0.50),
        "p99_ms": percentile(latencies, 0.99),
        "p999_ms": percentile(latencies, 0.999),
    }


UNIT_MS = [("_ns", 1e-6), ("nanos", 1e-6), ("_us", 1e-3), ("micro", 1e-3), ("usec", 1e-3), ("_ms", 1.0),
           ("milli", 1.0), ("msec", 1.0)]


def unit_factor(name):
    lowered = name.lower()
    for suffix, factor in UNIT_MS:
        if suffix in lowered:
            return factor
    if lowered.endswith("_s") or "second" in lowered:
        return 1000.0
    return None


def find_number(data, names, path=""):
    """The first number under a key in `names`, depth first, with the path of keys that led to it."""
    if isinstance(data, dict):
        for key, value in data.items():
            if key.lower() in names and isinstance(value, (int, float)) and not isinstance(value, bool):
                return value, path + key
        for key, value in data.items():
            if isinstance(value, (dict, list)):
                found = find_number(value, names, path + key + ".")
                if found:
                    return found
    elif isinstance(data, list):
        for value in data:
            found = find_number(value, names, path)
            if found:
                return found
    return None


def numeric_leaves(data, path=()):
    if isinstance(data, dict):
        for key, value in data.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                yield path + (str(key),), value
            else:
                yield from numeric_leaves(value, path + (str(key),))


def parse_qps(text):
    start = text.find("{")
    if start < 0:
        raise ValueError("no JSON object on stdout")
    data = json.JSONDecoder().raw_decode(text[start:])[0]
    result = {"raw": data}
    for key, names in {
        "sent": {"sent"},
        "answered": {"answered", "received", "completed"},
        "qps": {"qps", "queries_per_second", "queriespersecond"},
    }.items():
        found = find_number(data, names)
        if found:
            result[key] = found[0]
    lost = data.get("lost")
    if isinstance(lost, dict):
        found = find_number(lost, {"count", "queries", "lost"})
        if found:
            result["lost"] = found[0]
    elif isinstance(lost, (int, float)):
        result["lost"] = lost
    if "lost" not in result and "sent" in result and "answered" in result:
        result["lost"] = result["sent"] - result["answered"]
    # Percentiles: any numeric key named like p50 / p99 / p99.9 (p99_us, p99Micros, latency_ms.p99, ...); the
    # unit from the key or its parents, else a "unit" field, else milliseconds (the path is kept so the report
    # can say which key it read).
    leaves = list(numeric_leaves(data))
    for name, pattern in (("p50_ms", r"p50(?!\d)"), ("p99_ms", r"p99(?![._]?9)(?!\d)"),
                          ("p999_ms", r"p99[._]?9(?!\d)")):
        match = next(((path, value) for path, value in leaves if re.match(pattern, path[-1].lower())), None)
        if not match:
            continue
        path, value = match
        factor = None
        for part in reversed(path):
            factor = unit_factor(part)
            if factor is not None:
                break
        latency = data.get("latency")
        unit = data.get("unit") or (latency.get("unit") if isinstance(latency, dict) else None)
        if factor is None and isinstance(unit, str):
            factor = {"ns": 1e-6, "us": 1e-3, "µs": 1e-3, "ms": 1.0, "s": 1000.0}.get(unit.lower())
        result[name] = value * (factor if factor is not None else 1.0)
        result[name + "_key"] = ".".join(path) + ("" if factor is not None else " (unit assumed ms)")
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True)
    parser.add_argument("--server", required=True)
    parser.add_argument("--pid", type=int, required=True)
    parser.add_argument("--tool", required=True, choices=["dnsperf", "dnsperf-latency", "qps"])
    parser.add_argument("--label", default="main")
    parser.add_argument("--round", type=int, default=1, help="which of the row's repeated runs this is")
    parser.add_argument("--timeout", type=float, default=60)
    parser.add_argument("--also", action="append", default=[], metavar="NAME=PID",
                        help="another process whose CPU time over the run is recorded (Knot behind Unbound)")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    record = {"server": args.server, "tool": args.tool, "label": args.label, "round": args.round,
              "command": " ".join(command)}

    also = {name: int(pid) for name, pid in (item.split("=", 1) for item in args.also)}
    also_before = {name: cpu_us(tree(pid)) for name, pid in also.items()}
    pids = tree(args.pid)
    before = cpu_us(pids)
    if args.pid not in before:
        record["error"] = f"server process {args.pid} is not running"
    else:
        output = tempfile.NamedTemporaryFile(prefix="scdns-bench-", suffix=".out", delete=False)
        cores_before = cpu_stat()
        started = time.monotonic()
        try:
            process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
        except OSError as error:
            record["error"] = f"cannot start: {error}"
            process = None
        if process:
            deadline = started + args.timeout
            status = rusage = None
            while True:
                pid, status, rusage = os.wait4(process.pid, os.WNOHANG)
                if pid:
                    break
                if time.monotonic() > deadline:
                    process.send_signal(signal.SIGKILL)
                    pid, status, rusage = os.wait4(process.pid, 0)
                    record["error"] = f"timed out after {args.timeout:.0f} s"
                    break
                time.sleep(0.05)
            process.returncode = 0  # reaped by wait4 above; keeps Popen from waiting again
            wall = time.monotonic() - started
            after = cpu_us(tree(args.pid) + pids)
            cores_after = cpu_stat()
            # Steal: time the hypervisor gave this VM's cores to someone else; busy: each core's load, ours
            # and everyone's (a busy core that is neither the server's nor the generator's work is noise).
            record["steal_ms"] = sum(cores_after[c][1] - cores_before[c][1] for c in cores_after) * TICK_US / 1000
            record["core_busy"] = {c: round((cores_after[c][0] - cores_before[c][0]) * TICK_US / 1e6 / wall, 2)
                                   for c in cores_after}
            output.close()
            record["wall_s"] = round(wall, 3)
            # A process that exited during the run counts what it used before; one started during it counts all.
            record["server_cpu_us"] = sum(after.get(p, before.get(p, 0)) - before.get(p, 0)
                                          for p in set(after) | set(before))
            record["server_processes"] = len(set(after) | set(before))
            for name, pid in also.items():
                was = also_before[name]
                now = cpu_us(tree(pid) + list(was))
                record[f"{name}_cpu_us"] = sum(now.get(p, was.get(p, 0)) - was.get(p, 0) for p in set(now) | set(was))
            record["generator_cpu_us"] = (rusage.ru_utime + rusage.ru_stime) * 1e6
            record["generator_user_us"] = rusage.ru_utime * 1e6
            record["generator_sys_us"] = rusage.ru_stime * 1e6
            record["server_rss_kib"] = rss_kib(args.pid)
            code = os.waitstatus_to_exitcode(status)
            record["exit"] = code
            with open(output.name, errors="replace") as f:
                text = f.read()
            try:
                if args.tool == "dnsperf":
                    record.update(parse_dnsperf(text))
                elif args.tool == "dnsperf-latency":
                    record.update(parse_dnsperf(text))
                    record.update(parse_dnsperf_latency(output.name))
                else:
                    record.update(parse_qps(text))
            except (ValueError, KeyError) as error:
                record.setdefault("error", f"cannot read the output: {error}")
            if code != 0 and "error" not in record and not record.get("answered"):
                record["error"] = f"exit {code}"
            if "error" in record:
                record["output_tail"] = text.strip().splitlines()[-5:]
            os.unlink(output.name)
            answered = record.get("answered") or 0
            if answered:
                record["server_us_per_query"] = record["server_cpu_us"] / answered
                record["generator_us_per_query"] = record["generator_cpu_us"] / answered
    with open(args.out, "a") as f:
        f.write(json.dumps(record) + "\n")
    summary = {k: record.get(k) for k in ("server", "tool", "qps", "lost", "server_us_per_query",
                                          "generator_us_per_query", "p99_ms", "error")}
    print("measure: " + json.dumps({k: (round(v, 3) if isinstance(v, float) else v)
                                    for k, v in summary.items() if v is not None}), file=sys.stderr)


if __name__ == "__main__":
    main()
