#!/usr/bin/env python3
"""netem in user space: the links between the clusters of the e2e supercluster.

This kernel has no netem qdisc (CONFIG_NET_SCH_NETEM is not set), so the clusters' traffic goes through this
process instead. It opens one TUN device per cluster (in the router namespace it is started in); the
orchestrator then moves each device into its cluster's namespace, and this process keeps reading and writing
it through the file descriptor it holds. A packet read from cluster X's device, addressed to cluster Y's /16,
is written to Y's device after the (X, Y) link's one-way delay, or dropped per the link's loss probability or
its `blocked` flag. Only IPv4 is routed; anything else is dropped.

    router.py --config CONFIG.json --control SOCKET

CONFIG.json: {"clusters": {"a": {"tun": "sce2e-a", "network": "10.244.0.0/16"}, ...},
              "delay_ms": {"a b": 1, "a c": 30, "b c": 30}}       (each pair, both directions)

Control: a Unix stream socket, one JSON command a line, one JSON answer a line:
    {"op": "set", "a": "a", "b": "b", "delay_ms": 200, "jitter_ms": 0, "loss": 0.3, "blocked": true}
        changes the given fields of the links a->b and b->a; without "b", of every link to and from "a".
        delay_ms is the link's whole one-way delay (replacing the baseline); jitter_ms adds a uniform
        -jitter..+jitter to each packet (which may reorder, as netem's jitter does).
    {"op": "reset"}   every link back to its baseline delay, no jitter, no loss, not blocked
    {"op": "show"}    every link's settings and counters
The first line on stdout, "ready", says the devices exist and the control socket listens.
"""

import argparse
import errno
import fcntl
import heapq
import ipaddress
import json
import os
import random
import select
import socket
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000


def open_tun(name):
    """Creates the TUN device `name` (in this process's namespace) and returns its non-blocking fd."""
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


class Link:
    """One direction between two clusters, with netem's knobs and counters."""

    def __init__(self, delay_ms):
        self.baseline_ms = delay_ms
        self.reset()
        self.forwarded = 0
        self.dropped = 0

    def reset(self):
        self.delay_ms = self.baseline_ms
        self.jitter_ms = 0.0
        self.loss = 0.0
        self.blocked = False

    def update(self, command):
        for key in ("delay_ms", "jitter_ms", "loss"):
            if key in command:
                setattr(self, key, float(command[key]))
        if "blocked" in command:
            self.blocked = bool(command["blocked"])

    def state(self):
        return {
            "delay_ms": self.delay_ms,
            "jitter_ms": self.jitter_ms,
            "loss": self.loss,
            "blocked": self.blocked,
            "forwarded": self.forwarded,
            "dropped": self.dropped,
        }

    def due(self, now):
        """When a packet sent now arrives, or None when it is lost."""
        if self.blocked or (self.loss > 0 and random.random() < self.loss):
            self.dropped += 1
            return None
        self.forwarded += 1
        delay = self.delay_ms
        if self.jitter_ms > 0:
            delay = max(0.0, delay + random.uniform(-self.jitter_ms, self.jitter_ms))
        return now + delay / 1000.0


class Router:
    def __init__(self, config, control_path):
        self.fds = {}  # cluster name -> TUN fd
        self.cluster_of_fd = {}
        self.cluster_by_prefix = {}  # the first two octets of a cluster's /16 -> cluster name
        for name, cluster in config["clusters"].items():
            fd = open_tun(cluster["tun"])
            self.fds[name] = fd
            self.cluster_of_fd[fd] = name
            network = ipaddress.IPv4Network(cluster["network"])
            if network.prefixlen != 16:
                raise ValueError(f"cluster {name}: the router routes /16 networks, not {network}")
            self.cluster_by_prefix[network.network_address.packed[:2]] = name
        self.links = {}
        for pair, delay in config["delay_ms"].items():
            x, y = pair.split()
            self.links[(x, y)] = Link(float(delay))
            self.links[(y, x)] = Link(float(delay))
        # Packets in flight: (due time, sequence, destination fd, packet). The sequence keeps packets of equal
        # due time in arrival order, so a link without jitter never reorders.
        self.queue = []
        self.sequence = 0
        if os.path.exists(control_path):
            os.unlink(control_path)
        self.control = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.control.bind(control_path)
        self.control.listen(16)
        self.clients = {}  # socket -> bytes read so far

    def receive(self, fd, now):
        """Reads every packet waiting on one device and queues (or drops) each."""
        source_cluster = self.cluster_of_fd[fd]
        while True:
            try:
                packet = os.read(fd, 65536)
            except BlockingIOError:
                return
            except OSError as error:
                if error.errno in (errno.EAGAIN, errno.EIO):
                    return
                raise
            if len(packet) < 20 or packet[0] >> 4 != 4:
                continue  # not IPv4
            destination = self.cluster_by_prefix.get(packet[16:18])
            link = self.links.get((source_cluster, destination))
            if link is None:
                continue  # outside the supercluster, or to itself
            due = link.due(now)
            if due is None:
                continue
            self.sequence += 1
            heapq.heappush(self.queue, (due, self.sequence, self.fds[destination], packet))

    def deliver(self, now):
        while self.queue and self.queue[0][0] <= now:
            _, _, fd, packet = heapq.heappop(self.queue)
            try:
                os.write(fd, packet)
            except OSError:
                pass  # the device is down (its namespace being torn down): the packet is lost

    def command(self, line):
        try:
            command = json.loads(line)
            op = command.get("op")
            if op == "set":
                x, y = command["a"], command.get("b")
                links = [
                    link
                    for (s, d), link in self.links.items()
                    if (s == x and y in (None, d)) or (d == x and y in (None, s))
                ]
                if not links:
                    return {"ok": False, "error": f"no link between {x} and {y}"}
                for link in links:
                    link.update(command)
                return {"ok": True, "links": len(links)}
            if op == "reset":
                for link in self.links.values():
                    link.reset()
                return {"ok": True}
            if op == "show":
                links = {f"{s}->{d}": link.state() for (s, d), link in sorted(self.links.items())}
                return {"ok": True, "links": links, "queued": len(self.queue)}
            return {"ok": False, "error": f"unknown op {op!r}"}
        except (ValueError, KeyError, TypeError) as error:
            return {"ok": False, "error": str(error)}

    def serve_client(self, client):
        data = client.recv(65536)
        buffer = self.clients[client] + data
        if b"\n" in buffer or not data:
            line = buffer.split(b"\n", 1)[0]
            if line.strip():
                try:
                    client.sendall((json.dumps(self.command(line)) + "\n").encode())
                except OSError:
                    pass
            del self.clients[client]
            client.close()
        else:
            self.clients[client] = buffer

    def run(self):
        print("ready", flush=True)
        tuns = list(self.fds.values())
        while True:
            now = time.monotonic()
            timeout = max(0.0, self.queue[0][0] - now) if self.queue else None
            readable, _, _ = select.select(tuns + [self.control] + list(self.clients), [], [], timeout)
            now = time.monotonic()
            for item in readable:
                if item is self.control:
                    client, _ = self.control.accept()
                    self.clients[client] = b""
                elif isinstance(item, int):
                    self.receive(item, now)
                else:
                    self.serve_client(item)
            self.deliver(time.monotonic())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", required=True)
    parser.add_argument("--control", required=True)
    arguments = parser.parse_args()
    with open(arguments.config) as file:
        config = json.load(file)
    Router(config, arguments.control).run()


if __name__ == "__main__":
    sys.exit(main())
