#!/usr/bin/env python3
"""Reflection figures for RELIABILITY.md: how many octets a server sends to the victims of a spoofed-source flood
for each octet of query, with response rate limiting off and on, scdns beside Knot DNS (mod-rrl) in one run.

  bench/amplification.py SCDNS_BINARY [QPS] [SECONDS]      (default: 10,000 queries a second for 5 s each)

A spoofed flood is queries whose source address is the victim's. On loopback every 127.0.0.0/8 address is ours,
so each victim is a UDP socket bound to its own address (64 of them, each in its own /24, spread over
127.0.0.0/8) and "spoofing" needs no raw socket: the victims send the queries and count what comes back. Every
query asks for the largest answer the servers give (a name with 70 addresses: 1,183 octets with EDNS 1232,
which fits, so no server truncates it). Four servers on 127.0.0.1, each flooded in turn by the same sender:
scdns and Knot without RRL, then both with 20 responses a second per /24 and slip 2 (Knot's mod-rrl:
rate-limit 20, slip 2). Bounded: QPS x SECONDS queries per server, then a second of quiet to collect replies.

Figures per server: queries and octets sent, replies received (full answers, slipped TC=1 replies, none), the
amplification factor (reply octets / query octets), what one victim received per second, and the server's CPU
time (utime + stime from /proc/PID/stat, 10 ms ticks) per query of the flood.
"""
import os, select, shutil, socket, struct, subprocess, sys, tempfile, time

BINARY = os.path.abspath(sys.argv[1])
QPS = int(sys.argv[2]) if len(sys.argv) > 2 else 10_000
SECONDS = float(sys.argv[3]) if len(sys.argv) > 3 else 5.0
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NAME = "big.app.svc.supercluster.local."
ADDRESSES = [f"10.7.{i // 250}.{i % 250 + 1}" for i in range(70)]
VICTIMS = [f"127.{4 * i + 1}.{(37 * i) % 256}.{i + 10}" for i in range(64)]
RATE, SLIP = 20, 2


def wire_name(text):
    return b"".join(bytes([len(l)]) + l for l in text.encode().strip(b".").split(b".")) + b"\0"


def query(qid):
    # RD clear, one question, EDNS 1232 (the OPT record a resolver sends).
    opt = b"\0" + struct.pack(">HHIH", 41, 1232, 0, 0)
    return struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 1) + wire_name(NAME) + struct.pack(">HH", 1, 1) + opt


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ask(port, timeout=0.5):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(query(7), ("127.0.0.1", port))
        try:
            return s.recv(65535)
        except socket.timeout:
            return None


class Daemon:
    def __init__(self, label, argv, port, directory):
        self.label, self.port = label, port
        self.log = open(f"{directory}/{label}.log", "w")
        self.process = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while time.time() < deadline:
            if ask(port) is not None:
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        raise SystemExit(f"{label} did not answer; see {directory}/{label}.log")

    def cpu_seconds(self):
        fields = open(f"/proc/{self.process.pid}/stat").read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)


def start_scdns(directory, rrl):
    port = free_port()
    label = "scdns-rrl" if rrl else "scdns"
    config = f"{directory}/{label}.yaml"
    with open(config, "w") as f:
        f.write(f"zones: {ROOT}/zones\nregistry: {{ file: registry.yaml }}\n")
        f.write("allow: [0.0.0.0/0, \"::/0\"]\n")
        if rrl:
            f.write(f"limits: {{ rrl: {{ responsesPerSecond: {RATE}, slip: {SLIP} }} }}\n")
    argv = [BINARY, "serve", "--config", config, "--listen", f"127.0.0.1:{port}", "--lameduck", "0s",
            "--admin", "off"]
    return Daemon(label, argv, port, directory)


def start_knot(directory, rrl):
    port = free_port()
    label = "knot-rrl" if rrl else "knot"
    run = f"{directory}/{label}"
    os.makedirs(run)
    module = f"mod-rrl:\n  - id: flood\n    rate-limit: {RATE}\n    slip: {SLIP}\n" if rrl else ""
    global_module = "    global-module: mod-rrl/flood\n" if rrl else ""
    with open(f"{run}/knot.conf", "w") as f:
        f.write(f"""server:
    listen: 127.0.0.1@{port}
    rundir: {run}
    pidfile: {run}/knot.pid
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
database:
    storage: {run}/db
control:
    listen: {run}/knot.sock
log:
  - target: stderr
    any: warning
{module}template:
  - id: default
    storage: {directory}
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
{global_module}zone:
  - domain: supercluster.local
    file: supercluster.local.zone
""")
    return Daemon(label, ["knotd", "-c", f"{run}/knot.conf"], port, directory)


def flood(port):
    """QPS x SECONDS queries round-robin from the victims, paced in 1 ms steps; replies counted as they come."""
    sockets = []
    for address in VICTIMS:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        s.bind((address, 0))
        s.setblocking(False)
        sockets.append(s)
    poller = select.epoll()
    for index, s in enumerate(sockets):
        poller.register(s.fileno(), select.EPOLLIN)
    by_fd = {s.fileno(): s for s in sockets}
    total = int(QPS * SECONDS)
    sent = sent_octets = full = slipped = received_octets = 0
    start = time.monotonic()

    def drain(timeout):
        nonlocal full, slipped, received_octets
        for fd, _ in poller.poll(timeout):
            s = by_fd[fd]
            while True:
                try:
                    reply = s.recv(65535)
                except BlockingIOError:
                    break
                received_octets += len(reply)
                if reply[2] & 0x02:
                    slipped += 1
                else:
                    full += 1

    while sent < total:
        due = min(total, int((time.monotonic() - start) * QPS) + 1)
        while sent < due:
            message = query(sent & 0xFFFF)
            try:
                sockets[sent % len(sockets)].sendto(message, ("127.0.0.1", port))
                sent_octets += len(message)
            except BlockingIOError:
                pass
            sent += 1
        drain(0.001)
    elapsed = time.monotonic() - start
    quiet = time.monotonic() + 1.0
    while time.monotonic() < quiet:
        drain(0.05)
    for s in sockets:
        s.close()
    poller.close()
    return {"queries": sent, "query_octets": sent_octets, "full": full, "slipped": slipped,
            "none": sent - full - slipped, "reply_octets": received_octets, "seconds": elapsed}


def main():
    directory = tempfile.mkdtemp(prefix="scdns-amplification-")
    with open(f"{directory}/registry.yaml", "w") as f:
        f.write("services:\n  - name: big\n    namespace: app\n    clusters:\n"
                f"      - cluster: cluster-a\n        addresses: [{', '.join(ADDRESSES)}]\n")
    with open(f"{directory}/supercluster.local.zone", "w") as f:
        f.write("$ORIGIN supercluster.local.\n$TTL 5\n"
                "@ IN SOA ns.dns hostmaster 1 7200 1800 86400 5\n@ IN NS ns.dns\nns.dns IN A 127.0.0.1\n")
        f.writelines(f"big.app.svc IN A {address}\n" for address in ADDRESSES)
    servers = [("scdns", start_scdns, False), ("knot", start_knot, False),
               ("scdns", start_scdns, True), ("knot", start_knot, True)]
    print(f"# {len(VICTIMS)} victims (one per /24 over 127.0.0.0/8), {QPS} queries/s for {SECONDS:g} s per server, "
          f"RRL {RATE}/s per /24 and slip {SLIP} where on", flush=True)
    print("| server | RRL | queries | full answers | slipped (TC) | no reply | query octets | reply octets "
          "| amplification | per victim | server CPU µs/query |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    try:
        for label, start, rrl in servers:
            daemon = start(directory, rrl)
            try:
                largest = ask(daemon.port)
                cpu = daemon.cpu_seconds()
                figures = flood(daemon.port)
                cpu = daemon.cpu_seconds() - cpu
            finally:
                daemon.stop()
            factor = figures["reply_octets"] / figures["query_octets"]
            per_victim = figures["reply_octets"] / len(VICTIMS) / figures["seconds"]
            print(f"| {label} | {'on' if rrl else 'off'} | {figures['queries']:,} | {figures['full']:,} "
                  f"| {figures['slipped']:,} | {figures['none']:,} | {figures['query_octets']:,} "
                  f"| {figures['reply_octets']:,} | {factor:.2f} | {per_victim / 1000:,.1f} kB/s "
                  f"| {cpu * 1e6 / figures['queries']:.2f} |", flush=True)
            print(f"#   {label}: {figures['queries'] / figures['seconds']:,.0f} queries/s sent; largest answer "
                  f"{len(largest or b'')} octets to a {len(query(7))}-octet query",
                  file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
