#!/usr/bin/env python3
"""The live mutation run of RELIABILITY.md: mutated and random packets at a running scdns, over UDP and TCP, and
between bursts a known set of queries that must be answered exactly as before, while RSS and open descriptors
stay flat. Everything on 127.0.0.1; bounded in count.

  bench/mutate.py BINARY [PACKETS]          (PACKETS: 1,000,000 unless given)

Exits non-zero if the server dies, a known query's answer changes, or RSS or descriptors grow past a bound.
"""
import os, random, select, socket, struct, subprocess, sys, time, urllib.request

BINARY = sys.argv[1]
TOTAL = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PORT = 15381
BURST = 20_000
rng = random.Random(0x5CD5)


def name(text):
    return b"".join(bytes([len(l)]) + l for l in text.encode().strip(b".").split(b".")) + b"\0"


def query(text, qtype=1, qid=0x4242, flags=0x0100, ar=b"", arcount=0, qclass=1):
    return struct.pack(">HHHHHH", qid, flags, 1, 0, 0, arcount) + name(text) + struct.pack(">HH", qtype, qclass) + ar


def opt(options=b"", size=1232, ttl=0):
    return b"\0" + struct.pack(">HHIH", 41, size, ttl, len(options)) + options


def option(code, data):
    return struct.pack(">HH", code, len(data)) + data


TSIG = name("key.example") + struct.pack(">HHIH", 250, 255, 0, 32) + name("hmac-sha256") + bytes(19)
KNOWN = [
    ("backend.app.svc.supercluster.local", 1), ("backend.app.svc.supercluster.local", 28),
    ("_http._tcp.backend.app.svc.supercluster.local", 33), ("nothere.app.svc.supercluster.local", 1),
    ("supercluster.local", 6), ("example.com", 1), ("version.bind", 16),
]
SEEDS = [query(n, t) for n, t in KNOWN] + [
    query("backend.app.svc.supercluster.local", ar=opt(option(8, b"\0\x01\x18\0\x0a\x02\x03")), arcount=1),
    query("backend.app.svc.supercluster.local", ar=opt(option(3, b"")), arcount=1),
    query("backend.app.svc.supercluster.local", ar=TSIG, arcount=1),
    query("supercluster.local", 255, ar=opt(ttl=0x8000), arcount=1),
]


def mutate(packet):
    """One of the hostile shapes the issue lists, from a seed."""
    data = bytearray(packet)
    kind = rng.randrange(12)
    if kind == 0:  # bit flips
        for _ in range(rng.randrange(1, 6)):
            i = rng.randrange(len(data))
            data[i] ^= 1 << rng.randrange(8)
    elif kind == 1:  # cut header or body
        data = data[:rng.randrange(len(data))]
    elif kind == 2:  # huge counts
        struct.pack_into(">HHHH", data, 4, *(rng.choice([0, 1, 2, 0xFFFF, rng.randrange(65536)]) for _ in range(4)))
    elif kind == 3:  # a pointer loop or a pointer into the header as the question name
        data = data[:12] + rng.choice([b"\xc0\x0c", b"\xc0\x04", b"\xc0\x0e\xc0\x0c", b"\x01a\xc0\x0c"]) + b"\0\x01\0\x01"
    elif kind == 4:  # a label length that lies
        i = 12 + rng.randrange(max(1, min(20, len(data) - 12)))
        data[i] = rng.choice([0x3F, 0x40, 0x80, 0xFF, rng.randrange(256)])
    elif kind == 5:  # every opcode
        data[2] = (data[2] & 0x87) | (rng.randrange(16) << 3)
    elif kind == 6:  # bad or duplicate OPT
        extra = rng.choice([opt(), opt() + opt(), opt(b"\0\x08\0\x20" + bytes(3)), b"\0\0\x29", opt(size=0)])
        data += extra
        struct.pack_into(">H", data, 10, struct.unpack_from(">H", data, 10)[0] + extra.count(b"\0\x29") + 1)
    elif kind == 7:  # ECS with bad lengths
        data = bytearray(query("backend.app.svc.supercluster.local", ar=opt(option(8, bytes(rng.randrange(0, 24)))), arcount=1))
    elif kind == 8:  # TSIG, placed right or wrong
        data = bytearray(query("backend.app.svc.supercluster.local", ar=TSIG + opt(), arcount=2))
    elif kind == 9:  # random bytes
        data = bytearray(rng.randbytes(rng.randrange(0, 600)))
    elif kind == 10:  # inserted and deleted bytes
        for _ in range(rng.randrange(1, 4)):
            i = rng.randrange(len(data) + 1)
            if rng.random() < 0.5:
                data[i:i] = rng.randbytes(rng.randrange(1, 8))
            else:
                del data[i:i + rng.randrange(1, 8)]
    else:  # records packed after the question
        body = b"\xc0\x0c\0\x05\0\x01\0\0\0\x1e\0\x02\xc0\x0c" * rng.randrange(1, 200)
        data = bytearray(query("backend.app.svc.supercluster.local")) + body
        struct.pack_into(">H", data, 10, body.count(b"\xc0\x0c\0\x05"))
    return bytes(data)


def signature(reply):
    """RCODE, flags that matter, and the answer and authority records as a set (rotation may reorder them)."""
    if reply is None or len(reply) < 12:
        return None
    flags = struct.unpack(">H", reply[2:4])[0]
    counts = struct.unpack(">HHHH", reply[4:12])
    return (flags & 0x860F, counts, tuple(sorted(split_records(reply))))


def split_records(reply):
    offset = 12
    def skip(o):
        while reply[o] != 0:
            if reply[o] & 0xC0 == 0xC0:
                return o + 2
            o += 1 + reply[o]
        return o + 1
    for _ in range(struct.unpack(">H", reply[4:6])[0]):
        offset = skip(offset) + 4
    records = []
    for _ in range(sum(struct.unpack(">HH", reply[6:10]))):
        start = offset
        offset = skip(offset) + 8
        length = struct.unpack(">H", reply[offset:offset + 2])[0]
        offset += 2 + length
        records.append(reply[start:offset])
    return records


def ask(text, qtype):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2)
    try:
        s.sendto(query(text, qtype, qid=rng.randrange(65536), qclass=3 if text == "version.bind" else 1), ("127.0.0.1", PORT))
        return s.recv(65535)
    except OSError:
        return None
    finally:
        s.close()


def status(pid, key):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


server = subprocess.Popen(
    [BINARY, "serve", "--config", f"{ROOT}/scdns.yaml", "--listen", f"127.0.0.1:{PORT}", "--admin", f"127.0.0.1:{PORT + 1}",
     "--lameduck", "0s"], cwd=ROOT, stderr=subprocess.DEVNULL)
deadline = time.time() + 20
while ask("backend.app.svc.supercluster.local", 1) is None:
    if time.time() > deadline:
        raise SystemExit("scdns did not start")
baseline = {key: signature(ask(*key)) for key in KNOWN}
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.setblocking(False)
sent = {"udp": 0, "tcp": 0}
rss, fds, mismatches = [], [], []
started = time.time()
while sent["udp"] + sent["tcp"] < TOTAL:
    for _ in range(BURST):
        packet = mutate(rng.choice(SEEDS))
        try:
            udp.sendto(packet, ("127.0.0.1", PORT))
            sent["udp"] += 1
        except BlockingIOError:
            select.select([], [udp], [], 0.01)
        if sent["udp"] % 64 == 0:
            try:
                while udp.recv(65535):
                    pass
            except BlockingIOError:
                pass
    # TCP: a few connections, framed mutated packets, some with lying length prefixes, some cut mid-message.
    for _ in range(4):
        try:
            c = socket.create_connection(("127.0.0.1", PORT), timeout=2)
            c.setblocking(False)
            stream = b""
            for _ in range(250):
                packet = mutate(rng.choice(SEEDS))
                length = len(packet) if rng.random() < 0.9 else rng.randrange(65536)
                stream += struct.pack(">H", length & 0xFFFF) + packet
                sent["tcp"] += 1
            try:
                c.send(stream[:rng.randrange(len(stream)) if rng.random() < 0.3 else len(stream)])
                select.select([c], [], [], 0.05)
                c.recv(1 << 20)
            except OSError:
                pass
            c.close()
        except OSError:
            pass
    if server.poll() is not None:
        raise SystemExit(f"scdns died after {sent} packets")
    for key in KNOWN:
        got = signature(ask(*key))
        if got != baseline[key]:
            mismatches.append((key, sent["udp"] + sent["tcp"]))
    rss.append(status(server.pid, "VmRSS"))
    fds.append(len(os.listdir(f"/proc/{server.pid}/fd")))
elapsed = time.time() - started


def metric(text, prefix):
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(prefix))


# What the server itself read and answered (UDP packets the kernel dropped on a full buffer never reached it).
text = urllib.request.urlopen(f"http://127.0.0.1:{PORT + 1}/metrics", timeout=5).read().decode(errors="replace")
requests, responses = metric(text, "scdns_dns_requests_total{"), metric(text, "scdns_dns_responses_total{")
server.terminate()
server.wait()
print(f"mutation: {sent['udp']:,} UDP and {sent['tcp']:,} TCP packets in {elapsed:.0f} s, {len(rss)} bursts; "
      f"known queries checked {len(rss) * len(KNOWN):,} times, wrong {len(mismatches)}; RSS {min(rss) / 1024:.1f}–"
      f"{max(rss) / 1024:.1f} MiB (first {rss[0] / 1024:.1f}, last {rss[-1] / 1024:.1f}); descriptors "
      f"{min(fds)}–{max(fds)} (first {fds[0]}, last {fds[-1]}); the server counted {requests:,.0f} requests and "
      f"{responses:,.0f} responses; alive to the end")
if mismatches:
    print("wrong answers:", mismatches[:10])
    sys.exit(1)
if rss[-1] > rss[0] * 1.5 + 20 * 1024 or fds[-1] > fds[0] + 16:
    sys.exit("RSS or descriptors grew")
