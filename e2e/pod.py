#!/usr/bin/env python3
"""The e2e supercluster's client side, run inside a cluster's namespace (`ip netns exec sce2e-X ...`).

    pod.py watch --out FILE [--scdns IP] NAME   getaddrinfo(NAME) every 100 ms, as a pod's application does
    pod.py connect --server DNS NAME ...    N timed TCP connects to the service, by a choice strategy
    pod.py query SERVER NAME                the A records of NAME in the server's order, one a line
    pod.py get URL                          an HTTP GET; prints the body, exits 1 unless 200

`watch` resolves through glibc, so /etc/resolv.conf applies (ip netns exec bind-mounts
/etc/netns/NS/resolv.conf over it: the cluster's resolver, the search list, ndots:5). glibc sorts the addresses
it returns by RFC 6724's destination address selection, whose rule 9 (longest matching prefix with the
source address) puts the pod's own /16 first and may reorder the rest: the set is what the server answered,
the order is glibc's. `query` and `connect` read the server's order with a DNS query of their own.
Each `watch` record is one JSON line: {"t": monotonic seconds at the start, "took": seconds, "ok": bool,
"addrs": [...sorted], "first": glibc's first address, "error": "..."}; with --scdns, each lookup is followed by
the same question straight to scdns, past the resolver's cache: "direct": [...sorted] (null when it failed) and
"direct_at" (when it was answered). CLOCK_MONOTONIC is one clock for every namespace, so the orchestrator
compares these times with its own.
"""

import argparse
import json
import random
import socket
import struct
import sys
import time
import urllib.request


def watch(arguments):
    with open(arguments.out, "a", buffering=1) as out:
        while True:
            started = time.monotonic()
            record = {"t": started}
            try:
                infos = socket.getaddrinfo(arguments.name, arguments.port, socket.AF_INET, socket.SOCK_STREAM)
                addresses = [info[4][0] for info in infos]
                record.update(ok=True, addrs=sorted(addresses), first=addresses[0] if addresses else None)
            except socket.gaierror as error:
                record.update(ok=False, addrs=[], first=None, error=str(error))
            record["took"] = round(time.monotonic() - started, 4)
            if arguments.scdns:
                try:
                    record["direct"] = sorted(query(arguments.scdns, arguments.name, timeout=0.5))
                except OSError:
                    record["direct"] = None
                record["direct_at"] = time.monotonic()
            out.write(json.dumps(record) + "\n")
            time.sleep(max(0.0, arguments.interval - (time.monotonic() - started)))


def encode_name(name):
    return b"".join(bytes([len(label)]) + label.encode() for label in name.rstrip(".").split(".")) + b"\0"


def skip_name(message, offset):
    """The offset just past the (possibly compressed) name at `offset`."""
    while True:
        length = message[offset]
        if length == 0:
            return offset + 1
        if length & 0xC0 == 0xC0:
            return offset + 2
        offset += 1 + length


def query(server, name, timeout=1.0):
    """The A records of `name` in the order `server` gave them (UDP, recursion desired)."""
    identifier = random.randrange(65536)
    request = struct.pack(">HHHHHH", identifier, 0x0100, 1, 0, 0, 0) + encode_name(name) + struct.pack(">HH", 1, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        sock.connect((server, 53))
        sock.send(request)
        deadline = time.monotonic() + timeout
        while True:
            sock.settimeout(max(0.001, deadline - time.monotonic()))
            message = sock.recv(65535)
            if len(message) >= 12 and struct.unpack(">H", message[:2])[0] == identifier:
                break
    _, flags, questions, answers, _, _ = struct.unpack(">HHHHHH", message[:12])
    if flags & 0x000F not in (0, 3):
        raise OSError(f"rcode {flags & 0x000F}")
    offset = 12
    for _ in range(questions):
        offset = skip_name(message, offset) + 4
    addresses = []
    for _ in range(answers):
        offset = skip_name(message, offset)
        record_type, _, _, length = struct.unpack(">HHIH", message[offset : offset + 10])
        offset += 10
        if record_type == 1 and length == 4:
            addresses.append(socket.inet_ntoa(message[offset : offset + 4]))
        offset += length
    return addresses


def connect_times(arguments):
    """Times N connects to the service, choosing the address each time by the strategy:
    first: the first address of the server's answer (scdns puts the client's own cluster first);
    roundrobin: one address rotated over the copies, as a one-answer (Lighthouse-like) server does;
    random: a uniformly random copy."""
    times = []
    turn = 0
    for _ in range(arguments.count):
        addresses = query(arguments.server, arguments.name)
        if arguments.strategy == "first":
            address = addresses[0]
        elif arguments.strategy == "roundrobin":
            ordered = sorted(addresses)
            address = ordered[turn % len(ordered)]
            turn += 1
        else:
            address = random.choice(addresses)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.settimeout(5)
            started = time.perf_counter()
            sock.connect((address, arguments.port))
            times.append({"address": address, "ms": (time.perf_counter() - started) * 1000})
    print(json.dumps(times))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    w = commands.add_parser("watch")
    w.add_argument("--out", required=True)
    w.add_argument("--interval", type=float, default=0.1)
    w.add_argument("--scdns", help="also ask this server directly after each lookup")
    w.add_argument("--port", type=int, default=80)
    w.add_argument("name")
    c = commands.add_parser("connect")
    c.add_argument("--server", required=True)
    c.add_argument("--count", type=int, default=300)
    c.add_argument("--port", type=int, default=80)
    c.add_argument("--strategy", choices=["first", "roundrobin", "random"], required=True)
    c.add_argument("name")
    q = commands.add_parser("query")
    q.add_argument("server")
    q.add_argument("name")
    g = commands.add_parser("get")
    g.add_argument("url")
    arguments = parser.parse_args()
    if arguments.command == "watch":
        watch(arguments)
    elif arguments.command == "connect":
        connect_times(arguments)
    elif arguments.command == "query":
        print("\n".join(query(arguments.server, arguments.name)))
    else:
        try:
            with urllib.request.urlopen(arguments.url, timeout=2) as response:
                sys.stdout.write(response.read().decode())
        except OSError as error:
            print(error, file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
