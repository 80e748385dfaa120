#!/usr/bin/env python3
"""Writes the seed corpus of Fuzz/corpus/ (run once; the files are committed). Each seed is a message or file
that reaches a different path: every opcode, EDNS with ECS/NSID/cookie, TSIG, CHAOS, names that are pointers,
loops and lying label lengths, counts larger than the message, the names of the fuzz registry."""
import os, struct

def name(text):
    out = b""
    for label in text.strip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"

def header(id=0x4242, flags=0x0100, qd=1, an=0, ns=0, ar=0):
    return struct.pack(">HHHHHH", id, flags, qd, an, ns, ar)

def question(text, qtype=1, qclass=1):
    return name(text) + struct.pack(">HH", qtype, qclass)

def opt(options=b"", size=1232, flags=0):
    return b"\0" + struct.pack(">HHIH", 41, size, flags, len(options)) + options

def option(code, data):
    return struct.pack(">HH", code, len(data)) + data

def tsig():
    rdata = name("hmac-sha256") + b"\0\0\x65\x43\x21\x00" + b"\x01\x2c" + b"\0\x04abcd" + b"\x42\x42\0\0\0\0"
    return name("key.example") + struct.pack(">HHIH", 250, 255, 0, len(rdata)) + rdata

names = [
    ("backend.app.svc.supercluster.local", 1), ("BaCkEnD.App.SVC.supercluster.LOCAL", 28),
    ("_http._tcp.backend.app.svc.supercluster.local", 33), ("db.app.svc.supercluster.local", 255),
    ("db-0.cluster-a.db.app.svc.supercluster.local", 1), ("big.app.svc.supercluster.local", 1),
    ("cluster-b.backend.app.svc.supercluster.local", 1), ("nothere.app.svc.supercluster.local", 1),
    ("app.svc.supercluster.local", 1), ("supercluster.local", 6), ("supercluster.local", 2),
    ("kubernetes.default.svc.cluster.local", 1), ("other.cluster.local", 28), ("example.com", 1),
    ("1.0.100.10.in-addr.arpa", 12), (".", 2), ("backend.app.svc.supercluster.local", 252),
]
seeds = {}
for index, (text, qtype) in enumerate(names):
    seeds[f"q{index:02d}"] = header() + question(text, qtype)
    seeds[f"e{index:02d}"] = header(ar=1) + question(text, qtype) + opt()
seeds["ecs"] = header(ar=1) + question("backend.app.svc.supercluster.local") + opt(option(8, b"\0\x01\x18\0\x0a\x02\x03"))
seeds["ecs6"] = header(ar=1) + question("backend.app.svc.supercluster.local", 28) + opt(option(8, b"\0\x02\x38\0" + bytes(7)))
seeds["nsid"] = header(ar=1) + question("backend.app.svc.supercluster.local") + opt(option(3, b""))
seeds["cookie"] = header(ar=1) + question("example.com") + opt(option(10, bytes(8)))
seeds["ecs-cached"] = header(ar=1) + question("kubernetes.default.svc.cluster.local") + opt(option(8, b"\0\x01\x10\0\x0a\x02") + option(3, b""), size=512)
seeds["badvers"] = header(ar=1) + question("backend.app.svc.supercluster.local") + opt(flags=0x00010000)
seeds["do"] = header(ar=1) + question("backend.app.svc.supercluster.local") + opt(flags=0x8000, size=4096)
seeds["tsig"] = header(ar=1) + question("backend.app.svc.supercluster.local") + tsig()
seeds["tsig-opt"] = header(ar=2) + question("example.com") + opt() + tsig()
seeds["chaos"] = header() + question("version.bind", 16, 3)
seeds["chaos-id"] = header(ar=1) + question("id.server", 16, 3) + opt(option(3, b""))
for opcode in (1, 2, 3, 4, 5, 15):
    seeds[f"opcode{opcode}"] = header(flags=opcode << 11 | 0x0100) + question("supercluster.local", 6)
seeds["update"] = header(flags=5 << 11, qd=1, ns=1) + question("supercluster.local", 6) + name("www.supercluster.local") + struct.pack(">HHIH", 1, 255, 0, 0)
seeds["notify-empty"] = header(flags=4 << 11, qd=0)
seeds["qd0"] = header(qd=0)
seeds["qd2"] = header(qd=2) + question("a.example") + question("b.example")
seeds["pointer-header"] = header() + b"\xc0\x04\0\x01\0\x01"
seeds["pointer-self"] = header() + b"\xc0\x0c\0\x01\0\x01"
seeds["pointer-loop"] = header(an=1) + question("a.example") + b"\xc0\x1b\xc0\x1b" + bytes(10)
seeds["label-lies"] = header() + b"\x3fabc\0\0\x01\0\x01"
seeds["label-ext"] = header() + b"\x41abc\0\0\x01\0\x01"
seeds["huge-counts"] = header(qd=1, an=0xFFFF, ns=0xFFFF, ar=0xFFFF) + question("a.example")
seeds["cut-header"] = header()[:7]
seeds["response"] = header(flags=0x8180) + question("backend.app.svc.supercluster.local")
seeds["two-opt"] = header(ar=2) + question("a.example") + opt() + opt()
seeds["opt-in-answer"] = header(an=1) + question("a.example") + opt()
seeds["ecs-bad"] = header(ar=1) + question("a.example") + opt(option(8, b"\0\x01\x40\0\x01"))
seeds["option-overrun"] = header(ar=1) + question("a.example") + opt(b"\0\x08\0\x09\0")
seeds["packed-records"] = header(ar=60) + question("backend.app.svc.supercluster.local") + (b"\xc0\x0c\0\x05\0\x01\0\0\0\x1e\0\x02\xc0\x0c" * 60)
seeds["rdata-junk"] = header(ar=1) + question("other.cluster.local") + b"\0\0\x05\0\x01\0\0\0\x1e\0\x02\x40\0"
seeds["long-name"] = header() + (b"\x3f" + b"a" * 63) * 4 + b"\0\0\x01\0\x01"
for key, value in seeds.items():
    for target in ("wire", "pipeline"):
        with open(f"Fuzz/corpus/{target}/{key}", "wb") as f:
            f.write(value)

registry = {
    "example": open("registry.yaml", "rb").read(),
    "headless": b"services:\n  - name: db\n    namespace: app\n    type: Headless\n    clusters:\n      - cluster: a\n        endpoints:\n          - { hostname: db-0, addresses: [10.0.0.1], ready: false }\n",
    "vip": b"services:\n  - { name: web, namespace: shop, vip: 240.0.0.1, ports: [{ port: 80, protocol: TCP }], clusters: [{ cluster: a, addresses: [\"fd00::1\", 10.0.0.2], weight: 7, healthy: false }] }\n",
    "bad-address": b"services:\n  - name: web\n    namespace: shop\n    clusters:\n      - cluster: a\n        addresses: [10.0.0.300]\n",
    "unknown-key": b"services:\n  - name: web\n    namespace: shop\n    colour: red\n",
    "anchors": b"x: &a [1, 2]\nservices:\n  - name: *a\n",
    "empty": b"",
    "tabs": b"services:\n\t- name: x\n",
}
config = {
    "example": open("scdns.yaml", "rb").read(),
    "limits": b"limits: { udpPayload: 4096, tcpConnections: 10, tcpPerClient: 2, tcpIdle: 500ms, forwardInFlight: 5 }\n",
    "forward": b"forward:\n  - { zone: cluster.local, upstreams: [\"[::1]:53\", 10.96.0.10:53], policy: random, tryTimeout: 100ms, timeout: 1s }\ncache: { capacity: 10, maxBytes: 65536, minTTL: 5, maxTTL: 60 }\n",
    "overflow": b"limits: { tcpIdle: 9999999999999999h }\n",
    "allow-empty": b"allow: []\n",
    "etcd": b"registry: { etcd: { endpoints: [http://127.0.0.1:2379], prefix: /scdns/v1/, maxStale: 1m } }\n",
    "identity": b"identity: hide\nversion: \"1.0\"\n",
}
for target, files in (("registry", registry), ("config", config)):
    for key, value in files.items():
        with open(f"Fuzz/corpus/{target}/{key}", "wb") as f:
            f.write(value)
