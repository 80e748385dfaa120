#!/usr/bin/env python3
"""Hostile-client figures for RELIABILITY.md: runs one scdns binary against each attack on loopback and prints
what it cost the server. Bounded in time and count; everything on 127.0.0.0/8.

  bench/hostile.py BINARY [never-reading|slowloris|forward-flood ...]    (default: all three)

never-reading  one TCP client pipelines 60,000 queries for a 2.5 KB answer and never reads: the server's RSS
               growth and open descriptors, and whether and when it hangs up.
slowloris      200 connections (tcpConnections: 200, tcpIdle: 2s) each trickling one octet every 0.5 s: how long
               until a new client gets an answer over TCP, and the connections still open after 10 s.
forward-flood  30 s of random names under a forwarded zone whose upstream answers after 2 s, 2,000 queries a
               second: peak descriptors and threads of the server, and a registry name's and a cached name's
               answers during the flood (answered / asked, worst latency).
"""
import os, random, select, socket, struct, subprocess, sys, tempfile, threading, time

BINARY = sys.argv[1]
SCENARIOS = sys.argv[2:] or ["never-reading", "slowloris", "forward-flood"]
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def name(text):
    return b"".join(bytes([len(l)]) + l for l in text.encode().strip(b".").split(b".")) + b"\0"


def query(text, qid=0x4242, qtype=1):
    return struct.pack(">HHHHHH", qid & 0xFFFF, 0x0100, 1, 0, 0, 0) + name(text) + struct.pack(">HH", qtype, 1)


def framed(message):
    return struct.pack(">H", len(message)) + message


class Server:
    def __init__(self, config, port):
        self.port = port
        self.dir = tempfile.mkdtemp(prefix="scdns-hostile-")
        addresses = ", ".join(f"10.7.{i // 250}.{i % 250 + 1}" for i in range(150))
        with open(f"{self.dir}/registry.yaml", "w") as f:
            f.write(f"services:\n  - name: big\n    namespace: app\n    clusters:\n"
                    f"      - cluster: cluster-a\n        addresses: [{addresses}]\n")
        with open(f"{self.dir}/scdns.yaml", "w") as f:
            f.write(f"zones: {ROOT}/zones\nregistry: {{ file: registry.yaml }}\n{config}\n")
        self.process = subprocess.Popen(
            [BINARY, "serve", "--config", f"{self.dir}/scdns.yaml", "--listen", f"127.0.0.1:{port}",
             "--lameduck", "0s", "--admin", "off"], stderr=subprocess.DEVNULL)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.udp("big.app.svc.supercluster.local") is not None:
                return
            time.sleep(0.1)
        raise SystemExit("scdns did not answer")

    def status(self, key):
        for line in open(f"/proc/{self.process.pid}/status"):
            if line.startswith(key + ":"):
                return int(line.split()[1])
        return 0

    def fds(self):
        return len(os.listdir(f"/proc/{self.process.pid}/fd"))

    def udp(self, text, timeout=1.0, edns=True):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(timeout)
        message = query(text, random.randrange(65536))
        if edns:
            message = message[:11] + b"\x01" + message[12:] + b"\0\0\x29\x04\xd0\0\0\0\0\0\0"
        try:
            s.sendto(message, ("127.0.0.1", self.port))
            return s.recv(65535)
        except OSError:
            return None
        finally:
            s.close()

    def tcp_answers(self, text, timeout=1.0):
        try:
            s = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
            s.sendall(framed(query(text)))
            data = b""
            while len(data) < 2 or len(data) < 2 + struct.unpack(">H", data[:2])[0]:
                chunk = s.recv(65535)
                if not chunk:
                    return False
                data += chunk
            s.close()
            return True
        except OSError:
            return False

    def stop(self):
        self.process.terminate()
        self.process.wait()


def never_reading():
    server = Server("limits: { tcpIdle: 2s }", 15391)
    rss, fds = server.status("VmRSS"), server.fds()
    s = socket.create_connection(("127.0.0.1", server.port))
    s.setblocking(False)
    data = b"".join(framed(query("big.app.svc.supercluster.local", i)) for i in range(60000))
    sent, started = 0, time.time()
    while sent < len(data) and time.time() - started < 8:
        try:
            sent += s.send(data[sent:sent + 65536])
        except BlockingIOError:
            select.select([], [s], [], 0.1)
    # Wait for the hang-up without reading (POLLRDHUP), or 15 s.
    poller = select.poll()
    poller.register(s, 0x2000)
    hung_up = None
    while time.time() - started < 15:
        if poller.poll(100):
            hung_up = time.time() - started
            break
    peak = server.status("VmHWM")
    print(f"never-reading: sent {sent:,} of {len(data):,} octets; RSS {rss / 1024:.1f} -> "
          f"{server.status('VmRSS') / 1024:.1f} MiB (peak {peak / 1024:.1f}); descriptors {fds} -> {server.fds()}; "
          f"hung up: {'after %.1f s' % hung_up if hung_up else 'no (15 s)'}; "
          f"another client answered over TCP: {server.tcp_answers('big.app.svc.supercluster.local')}")
    s.close()
    server.stop()


def slowloris():
    server = Server("limits: { tcpConnections: 200, tcpIdle: 2s }", 15392)
    held = []
    for _ in range(200):
        c = socket.create_connection(("127.0.0.1", server.port))
        c.setblocking(False)
        held.append(c)
    message = framed(query("big.app.svc.supercluster.local"))
    started, admitted, position = time.time(), None, 0
    while time.time() - started < 10:
        for c in held:
            try:
                c.send(message[position % len(message):position % len(message) + 1])
            except OSError:
                pass
        position += 1
        if admitted is None and server.tcp_answers("big.app.svc.supercluster.local", timeout=0.4):
            admitted = time.time() - started
        time.sleep(0.5)
    open_now = 0
    for c in held:
        try:
            if c.recv(1) != b"":
                open_now += 1
        except BlockingIOError:
            open_now += 1
        except OSError:
            pass
    print(f"slowloris: 200 trickling connections; a new TCP client answered "
          f"{'after %.1f s' % admitted if admitted is not None else 'never in 10 s'}; "
          f"trickling connections still open after 10 s: {open_now}; server descriptors {server.fds()}")
    for c in held:
        c.close()
    server.stop()


def slow_upstream(port, delay, stop):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", port))
    s.settimeout(0.2)
    pending = []
    while not stop.is_set():
        try:
            data, peer = s.recvfrom(4096)
            pending.append((time.time() + delay, data, peer))
        except socket.timeout:
            pass
        now = time.time()
        while pending and pending[0][0] <= now:
            _, data, peer = pending.pop(0)
            end = 12
            while data[end] != 0:
                end += 1 + data[end]
            question = data[12:end + 5]
            if b"\x06cached" in question:
                # One A record, TTL 300: cached by scdns.
                answer = b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x01\x2c\x00\x04\x0a\x00\x00\x01"
                s.sendto(data[:2] + b"\x81\x80\x00\x01\x00\x01\x00\x00\x00\x00" + question + answer, peer)
            else:
                # NXDOMAIN, as an upstream answers a random name.
                s.sendto(data[:2] + b"\x81\x83\x00\x01\x00\x00\x00\x00\x00\x00" + question, peer)
    s.close()


def forward_flood():
    stop = threading.Event()
    upstream = threading.Thread(target=slow_upstream, args=(15394, 2.0, stop), daemon=True)
    upstream.start()
    server = Server("forward:\n  - { zone: cluster.local, upstreams: [127.0.0.1:15394], tryTimeout: 2500ms, "
                    "timeout: 3s }\ncache: { capacity: 10000 }", 15393)
    # A cached name first: the slow upstream answers it once, then it is served from the cache.
    server.udp("cached.cluster.local", timeout=4)
    fds0, threads0 = server.fds(), server.status("Threads")
    flooding = True
    peaks = {"fds": fds0, "threads": threads0}

    def flood():
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setblocking(False)
        sent = 0
        started = time.time()
        while flooding and time.time() - started < 30:
            for _ in range(200):
                label = "%016x" % random.getrandbits(64)
                try:
                    s.sendto(query(f"{label}.cluster.local", sent), ("127.0.0.1", server.port))
                except BlockingIOError:
                    pass
                sent += 1
            try:
                while s.recv(4096):
                    pass
            except BlockingIOError:
                pass
            time.sleep(0.1)
        s.close()

    flooder = threading.Thread(target=flood)
    flooder.start()
    asked = {"registry": 0, "cached": 0}
    answered = {"registry": 0, "cached": 0}
    worst = {"registry": 0.0, "cached": 0.0}
    started = time.time()
    while time.time() - started < 30:
        for key, text in (("registry", "big.app.svc.supercluster.local"), ("cached", "cached.cluster.local")):
            asked[key] += 1
            t = time.time()
            if server.udp(text, timeout=1.0) is not None:
                answered[key] += 1
                worst[key] = max(worst[key], time.time() - t)
        try:
            peaks["fds"] = max(peaks["fds"], server.fds())
            peaks["threads"] = max(peaks["threads"], server.status("Threads"))
        except OSError:
            pass
        time.sleep(0.2)
    flooding = False
    flooder.join()
    print(f"forward-flood: 30 s, 2,000 random names/s under cluster.local, upstream 2 s slow; server descriptors "
          f"{fds0} -> peak {peaks['fds']}, threads {threads0} -> peak {peaks['threads']}; registry name answered "
          f"{answered['registry']}/{asked['registry']} (worst {worst['registry'] * 1000:.1f} ms), cached name "
          f"{answered['cached']}/{asked['cached']} (worst {worst['cached'] * 1000:.1f} ms); alive: "
          f"{server.process.poll() is None}")
    server.stop()
    stop.set()


for scenario in SCENARIOS:
    {"never-reading": never_reading, "slowloris": slowloris, "forward-flood": forward_flood}[scenario]()
