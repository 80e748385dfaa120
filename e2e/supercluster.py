#!/usr/bin/env python3
"""A supercluster of three clusters on one machine, in network namespaces, and its failure scenarios.

    supercluster.py e2e                       the assertion run of `make e2e` (needs root)
    supercluster.py figures [--repeat N]      the scenarios repeated: Markdown tables of failover and connect times
    supercluster.py up [--no-probes]          build the world and leave it running (docs/supercluster.md)
    supercluster.py down                      remove it
    supercluster.py partition A B | heal | isolate X | loss A B P | delay A B MS | show
                                              change the links of a running world (the router's control socket)

The world (docs/supercluster.md): clusters a and b in region r1 (zones r1a, r1b), c in region r2 (zone r2a).
Each cluster is a namespace holding one etcd member (of one 3-member cluster), `scdns registry publish` of its
export of default/web, scdns, Unbound standing in for CoreDNS, a pod resolving through glibc, and the
service's backend. A user-space router (router.py) links the namespaces with per-pair delay, loss and
partitions: 1 ms one way within r1, 30 ms across regions. The scdns binary is $SCDNS_BINARY, else
.build/debug/scdns.
"""

import argparse
import json
import os
import random
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
E2E = REPO / "e2e"
PREFIX = "sce2e-"
ROUTER_NS = PREFIX + "r"
# Fixed, so that `up` leaves a world that `down`, `partition` and `heal` find again. Wiped at every build.
STATE = Path("/tmp/sce2e")
CONTROL = STATE / "router.sock"
SERVICE = "web.default.svc.supercluster.local"
DELAY_MS = {"a b": 1, "a c": 30, "b c": 30}  # one way
HEALTH = {"interval": 2.0, "timeout": 1.0, "fall": 3, "rise": 2}
TTL = 5  # scdns's answer TTL, which Unbound honours
LEASE_TTL = 15  # the publishers' --lease-ttl (their default)


@dataclass(frozen=True)
class Cluster:
    key: str  # a, b, c
    octet: int  # second octet of the cluster's 10.X.0.0/16
    region: str
    zone: str

    @property
    def name(self):
        return f"cluster-{self.key}"

    @property
    def ns(self):
        return PREFIX + self.key

    @property
    def network(self):
        return f"10.{self.octet}.0.0/16"

    def ip(self, host):
        return f"10.{self.octet}.{host}"

    @property
    def etcd(self):
        return self.ip("0.2")

    @property
    def scdns(self):
        return self.ip("0.3")

    @property
    def unbound(self):
        return self.ip("0.4")

    @property
    def pod(self):
        return self.ip("0.5")

    @property
    def web(self):
        return self.ip("1.10")

    @property
    def dir(self):
        return STATE / self.key


CLUSTERS = {
    c.key: c for c in (Cluster("a", 244, "r1", "r1a"), Cluster("b", 245, "r1", "r1b"), Cluster("c", 246, "r2", "r2a"))
}
A, B, C = CLUSTERS["a"], CLUSTERS["b"], CLUSTERS["c"]
# An address cluster-c adds to its export during scenario 4; its backend listens there from the start.
C_SECOND = C.ip("1.11")


class E2EError(Exception):
    pass


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def run(argv, check=True, timeout=30):
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise E2EError(f"{' '.join(argv)} did not finish in {timeout} s") from None
    if check and result.returncode != 0:
        output = result.stderr.strip() or result.stdout.strip()
        raise E2EError(f"{' '.join(argv)} failed ({result.returncode}): {output}")
    return result


def in_ns(ns, argv):
    return ["ip", "netns", "exec", ns, *argv]


def await_condition(what, deadline_s, condition, every=0.1):
    """Polls `condition` until it returns something truthy, which is returned; fails after `deadline_s`."""
    deadline = time.monotonic() + deadline_s
    last_error = None
    while True:
        try:
            value = condition()
            if value:
                return value
        except (E2EError, OSError, subprocess.SubprocessError, ValueError) as error:
            last_error = error
        if time.monotonic() > deadline:
            detail = f" (last error: {last_error})" if last_error else ""
            raise E2EError(f"timed out after {deadline_s:.0f} s waiting for {what}{detail}")
        time.sleep(every)


def router(command):
    """Sends one command to the router's control socket and returns its answer."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(5)
        sock.connect(str(CONTROL))
        sock.sendall((json.dumps(command) + "\n").encode())
        answer = json.loads(sock.makefile().readline())
    if not answer.get("ok"):
        raise E2EError(f"router refused {command}: {answer.get('error')}")
    return answer


def namespaces():
    return [c.ns for c in CLUSTERS.values()] + [ROUTER_NS]


def kill_namespace(ns):
    """SIGKILLs every process in network namespace `ns` and waits until they are gone."""

    def pids():
        result = run(["ip", "netns", "pids", ns], check=False)
        return [int(p) for p in result.stdout.split()] if result.returncode == 0 else []

    for pid in pids():
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    await_condition(f"the processes of {ns} to exit", 10, lambda: not pids())


def teardown():
    """Removes every namespace of the world, and the processes in them. Safe to call when there is none."""
    existing = run(["ip", "netns", "list"], check=False).stdout.split("\n")
    present = {line.split()[0] for line in existing if line.strip()}
    for ns in namespaces():
        if ns in present:
            kill_namespace(ns)
            run(["ip", "netns", "del", ns], check=False)
        shutil.rmtree(f"/etc/netns/{ns}", ignore_errors=True)


def preflight(binary):
    problems = []
    if os.geteuid() != 0:
        problems.append("not root: network namespaces and TUN devices need root (run as root, e.g. sudo make e2e)")
    for tool in ("ip", "etcd", "etcdctl", "unbound"):
        if shutil.which(tool) is None:
            problems.append(f"{tool} not found (make test-deps installs it)")
    if not os.access(binary, os.X_OK):
        problems.append(f"scdns binary {binary} missing (swift build, or set SCDNS_BINARY)")
    if not os.path.exists("/dev/net/tun"):
        problems.append("/dev/net/tun missing: the router needs TUN devices")
    if problems:
        raise E2EError("cannot run the supercluster:\n  " + "\n  ".join(problems))


class PodLog:
    """The records of one pod's `pod.py watch`, read incrementally."""

    def __init__(self, cluster):
        self.path = cluster.dir / "pod.jsonl"
        self.records = []
        self.offset = 0
        self.partial = b""

    def refresh(self):
        try:
            with open(self.path, "rb") as file:
                file.seek(self.offset)
                data = file.read()
        except FileNotFoundError:
            return self.records
        self.offset += len(data)
        lines = (self.partial + data).split(b"\n")
        self.partial = lines.pop()
        for line in lines:
            record = json.loads(line)
            # Two views of each moment: what the pod got through Unbound (None: the lookup failed), and what
            # scdns answered when asked directly right after.
            record["pod"] = record["addrs"] if record["ok"] else None
            record["pod_at"] = record["t"] + record["took"]
            record["scdns"] = record.get("direct")
            self.records.append(record)
        return self.records

    def since(self, t):
        return [r for r in self.refresh() if r["t"] >= t]

    def first(self, t, predicate, view="pod"):
        """The first record started at or after `t` whose `view` ("pod" or "scdns") satisfies predicate."""
        return next((r for r in self.since(t) if predicate(r[view])), None)


class World:
    """The running supercluster: namespaces, router and every process. Built by build(), removed by teardown()."""

    def __init__(self, binary, probes):
        self.binary = str(binary)
        self.probes = probes
        self.processes = {}  # label -> Popen
        self.pods = {k: PodLog(c) for k, c in CLUSTERS.items()}

    # --- building -------------------------------------------------------------------------------------------

    def start(self, label, ns, argv, log_name=None):
        """Starts `argv` in namespace `ns` with its output in STATE/KEY/NAME.log (NAME: log_name, else label);
        in a session of its own, so a ^C reaches only the orchestrator, which then kills it."""
        directory = STATE / ns.removeprefix(PREFIX)
        directory.mkdir(parents=True, exist_ok=True)
        output = open(directory / f"{log_name or label}.log", "ab")
        process = subprocess.Popen(
            in_ns(ns, argv), stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
        )
        output.close()
        self.processes[label] = process
        return process

    def build(self):
        started = time.monotonic()
        teardown()
        shutil.rmtree(STATE, ignore_errors=True)
        STATE.mkdir(parents=True)
        (STATE / "zones").mkdir()
        self.make_namespaces()
        self.start_router()
        self.wire_clusters()
        self.start_etcd()
        for c in CLUSTERS.values():
            addresses = [f"{c.web}:80"] + ([f"{C_SECOND}:80"] if c is C else [])
            self.start(f"backend-{c.key}", c.ns, [sys.executable, str(E2E / "backend.py"), *addresses], "backend")
            self.write_exports(c, [c.web])
            publish = [self.binary, "registry", "publish", *self.etcd_flags(c), "--cluster", c.name]
            if self.probes:
                # The cluster's beacon: its scdns over TCP. The other clusters' instances probe it, so a lost
                # cluster leaves their answers as a whole, however many services it exports.
                publish += ["--beacon", f"{c.scdns}:53"]
            self.start(f"publisher-{c.key}", c.ns, [*publish, "--file", str(c.dir / "exports.yaml")], "publisher")
            self.write_scdns_config(c)
            self.start(f"scdns-{c.key}", c.ns, [self.binary, "serve", "--config", str(c.dir / "scdns.yaml")], "scdns")
            self.write_unbound_config(c)
            self.start(f"unbound-{c.key}", c.ns, ["unbound", "-d", "-c", str(c.dir / "unbound.conf")], "unbound")
        expected = sorted(x.web for x in CLUSTERS.values())
        for c in CLUSTERS.values():
            await_condition(
                f"scdns in {c.name} to be ready", 60, lambda c=c: self.admin(c, "/ready").startswith("ready"), every=0.2
            )
            await_condition(
                f"scdns in {c.name} to answer every cluster's copy",
                60,
                lambda c=c: sorted(self.query(c, c.scdns)) == expected,
                every=0.2,
            )
            await_condition(
                f"Unbound in {c.name} to answer through scdns",
                30,
                lambda c=c: sorted(self.query(c, c.unbound)) == expected,
                every=0.2,
            )
        for c in CLUSTERS.values():
            watch = [sys.executable, str(E2E / "pod.py"), "watch", "--out", str(c.dir / "pod.jsonl")]
            watch += ["--scdns", c.scdns, SERVICE]
            self.start(f"pod-{c.key}", c.ns, watch, "pod")
        now = time.monotonic()
        for key, pod in self.pods.items():
            await_condition(
                f"pod {key} to resolve every copy", 30, lambda pod=pod: pod.first(now, everyone)
            )
        log(f"world up ({'probes' if self.probes else 'lease only'}) in {time.monotonic() - started:.1f} s")

    def make_namespaces(self):
        for ns in namespaces():
            run(["ip", "netns", "add", ns])
            run(["ip", "-n", ns, "link", "set", "lo", "up"])
            # No IPv6 anywhere: no router solicitations or DAD on the links, and getaddrinfo asks for A only.
            run(in_ns(ns, ["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"]))
            run(in_ns(ns, ["sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1"]))

    def start_router(self):
        clusters = {k: {"tun": c.ns, "network": c.network} for k, c in CLUSTERS.items()}
        (STATE / "router.json").write_text(json.dumps({"clusters": clusters, "delay_ms": DELAY_MS}, indent=2))
        argv = [sys.executable, str(E2E / "router.py"), "--config", str(STATE / "router.json")]
        argv += ["--control", str(CONTROL)]
        process = subprocess.Popen(
            in_ns(ROUTER_NS, argv),
            stdout=subprocess.PIPE,
            stderr=open(STATE / "router.log", "ab"),
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.processes["router"] = process
        ready, _, _ = select.select([process.stdout], [], [], 10)
        if not ready or process.stdout.readline().strip() != b"ready":
            raise E2EError(f"the router did not start; see {STATE / 'router.log'}")

    def wire_clusters(self):
        """Moves each TUN from the router's namespace into its cluster's, and addresses it."""
        for c in CLUSTERS.values():
            run(["ip", "-n", ROUTER_NS, "link", "set", c.ns, "netns", c.ns])
            for address in (c.etcd, c.scdns, c.unbound, c.pod, c.web) + ((C_SECOND,) if c is C else ()):
                run(["ip", "-n", c.ns, "addr", "add", f"{address}/16", "dev", c.ns])
            run(["ip", "-n", c.ns, "link", "set", c.ns, "up"])
            run(["ip", "-n", c.ns, "route", "add", "10.0.0.0/8", "dev", c.ns])
            # `ip netns exec` bind-mounts this over /etc/resolv.conf: the pod resolves as a Kubernetes pod does.
            Path(f"/etc/netns/{c.ns}").mkdir(parents=True, exist_ok=True)
            Path(f"/etc/netns/{c.ns}/resolv.conf").write_text(
                f"nameserver {c.unbound}\n"
                "search default.svc.cluster.local svc.cluster.local cluster.local\n"
                "options ndots:5\n"
            )

    def start_etcd(self):
        initial = ",".join(f"{k}=http://{c.etcd}:2380" for k, c in CLUSTERS.items())
        for k, c in CLUSTERS.items():
            self.start(
                f"etcd-{k}",
                c.ns,
                [
                    "etcd", "--name", k, "--data-dir", str(c.dir / "etcd"),
                    "--listen-peer-urls", f"http://{c.etcd}:2380",
                    "--initial-advertise-peer-urls", f"http://{c.etcd}:2380",
                    "--listen-client-urls", f"http://{c.etcd}:2379",
                    "--advertise-client-urls", f"http://{c.etcd}:2379",
                    "--initial-cluster", initial, "--initial-cluster-token", "sce2e",
                    "--initial-cluster-state", "new",
                    # Pre-vote (etcd 3.5's default): a member cut off from the leader does not depose it on return.
                    "--pre-vote",
                    "--auto-compaction-mode", "periodic", "--auto-compaction-retention", "1h",
                ],
                "etcd",
            )  # fmt: skip
        endpoints = ",".join(f"http://{c.etcd}:2379" for c in CLUSTERS.values())
        health = ["etcdctl", "--endpoints", endpoints, "--command-timeout", "2s", "endpoint", "health"]

        def healthy():
            return run(in_ns(A.ns, health), check=False).returncode == 0

        await_condition("the etcd cluster to be healthy", 60, healthy, every=0.3)

    @staticmethod
    def etcd_flags(c):
        """--etcd for every member, the cluster's own first."""
        members = [c] + [x for x in CLUSTERS.values() if x is not c]
        return [flag for m in members for flag in ("--etcd", f"http://{m.etcd}:2379")]

    @staticmethod
    def write_exports(c, addresses):
        """The cluster's export of default/web, written aside and renamed into place as registry.md says."""
        text = (
            "services:\n"
            "  - name: web\n"
            "    namespace: default\n"
            "    ports: [{ name: http, port: 80, protocol: TCP }]\n"
            "    clusters:\n"
            f"      - {{ cluster: {c.name}, region: {c.region}, zone: {c.zone},\n"
            f"           addresses: [{', '.join(addresses)}] }}\n"
        )
        (c.dir / "exports.yaml.new").write_text(text)
        os.rename(c.dir / "exports.yaml.new", c.dir / "exports.yaml")

    def write_scdns_config(self, c):
        members = [c] + [x for x in CLUSTERS.values() if x is not c]
        clients = "\n".join(
            f"  - {{ network: {x.network}, cluster: {x.name}, region: {x.region}, zone: {x.zone} }}"
            for x in CLUSTERS.values()
        )
        endpoints = ", ".join(f"http://{m.etcd}:2379" for m in members)
        h = HEALTH
        (c.dir / "scdns.yaml").write_text(
            f"listen: [{c.scdns}:53]\n"
            f"admin: {c.scdns}:9253\n"
            f"identity: scdns-{c.key}\n"
            "lameduck: 0s\n"
            f"zones: {STATE / 'zones'}\n"
            "serviceZones: [supercluster.local]\n"
            f"ttl: {TTL}\n"
            f"locality: {{ cluster: {c.name}, region: {c.region}, zone: {c.zone} }}\n"
            f"clients:\n{clients}\n"
            f"registry: {{ etcd: {{ endpoints: [{endpoints}] }} }}\n"
            f"health: {{ probes: {str(self.probes).lower()}, interval: {round(h['interval'] * 1000)}ms,\n"
            f"          timeout: {round(h['timeout'] * 1000)}ms, fall: {h['fall']}, rise: {h['rise']} }}\n"
        )

    @staticmethod
    def write_unbound_config(c):
        (c.dir / "unbound.conf").write_text(
            f"""server:
    interface: {c.unbound}
    port: 53
    do-ip6: no
    access-control: 10.0.0.0/8 allow
    username: ""
    chroot: ""
    directory: "{c.dir}"
    pidfile: "{c.dir}/unbound.pid"
    use-syslog: no
    logfile: ""
    verbosity: 1
    do-daemonize: no
    module-config: "iterator"
    do-not-query-localhost: no
    domain-insecure: "supercluster.local"
    # Unbound 1.17 rotates every cached RRset by default, as CoreDNS's `loadbalance` plugin does: either one
    # undoes scdns's locality order (the pod's own cluster first). Off, the pod gets scdns's order.
    rrset-roundrobin: no
    # The pod's search-list expansions (web...supercluster.local.default.svc.cluster.local, ...) end here at once.
    local-zone: "cluster.local." static
remote-control:
    control-enable: no
stub-zone:
    name: "supercluster.local"
    stub-addr: {c.scdns}@53
"""
        )

    # --- looking at it --------------------------------------------------------------------------------------

    @staticmethod
    def query(c, server, name=SERVICE):
        """The A records of `name` from `server`, asked from inside cluster c, in the server's order."""
        argv = [sys.executable, str(E2E / "pod.py"), "query", server, name]
        result = run(in_ns(c.ns, argv), check=False, timeout=10)
        if result.returncode != 0:
            raise E2EError(f"query {name} @{server} from {c.ns}: {result.stderr.strip().splitlines()[-1:]}")
        return result.stdout.split()

    @staticmethod
    def admin(c, path):
        argv = [sys.executable, str(E2E / "pod.py"), "get", f"http://{c.scdns}:9253{path}"]
        result = run(in_ns(c.ns, argv), check=False, timeout=10)
        if result.returncode != 0:
            raise E2EError(f"GET {path} from scdns-{c.key}: {result.stderr.strip()}")
        return result.stdout

    def probe_transitions(self, c, cluster, family="scdns_probe_transitions_total"):
        """`family` (the transitions of `cluster`'s targets, or with scdns_probe_cluster_transitions_total of
        the cluster as a whole, judged by its beacons) at scdns in c, both directions summed."""
        total = 0
        for line in self.admin(c, "/metrics").splitlines():
            if line.startswith(family + "{") and f'cluster="{cluster.name}"' in line:
                total += int(float(line.rsplit(" ", 1)[1]))
        return total

    def tail(self, c, name, lines=15):
        try:
            return "\n".join((c.dir / f"{name}.log").read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"

    @staticmethod
    def etcd_leader():
        """The key of the cluster whose etcd member is the leader."""
        endpoints = ",".join(f"http://{c.etcd}:2379" for c in CLUSTERS.values())
        status = ["etcdctl", "--endpoints", endpoints, "--command-timeout", "2s", "endpoint", "status", "-w", "json"]
        for entry in json.loads(run(in_ns(A.ns, status)).stdout):
            if entry["Status"]["header"]["member_id"] == entry["Status"]["leader"]:
                return next(c.key for c in CLUSTERS.values() if f"//{c.etcd}:" in entry["Endpoint"])
        raise E2EError("no etcd member says it is the leader")

    def reap(self):
        """Collects the exit status of every process started (teardown() killed them)."""
        for process in self.processes.values():
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()

    def kill(self, label):
        process = self.processes[label]
        process.kill()
        process.wait(timeout=10)


# --- scenarios ----------------------------------------------------------------------------------------------
#
# Each returns {"times": {label: {"pod": seconds, "scdns": seconds}}, "notes": [...]} and raises E2EError when a
# behaviour is wrong. Times run from the fault (or the heal) to the end of the first lookup that reflects it:
# "pod" as the pod saw it, through glibc and Unbound's cache (TTL 5); "scdns" asking the cluster's scdns
# directly, which is how long scdns itself took. Predicates look at one answer's address list (None: failed).


def has(address):
    return lambda addresses: bool(addresses) and address in addresses


def lacks(address):
    return lambda addresses: bool(addresses) and address not in addresses


def everyone(addresses):
    return bool(addresses) and len(addresses) >= 3


def await_pods(world, what, pods, since, predicate, deadline_s):
    """Waits until each pod's lookups started after `since` include one for which predicate holds; returns
    {pod key: {"pod": seconds to the end of that lookup, "scdns": seconds to scdns's own first such answer}}."""
    found = {}

    def all_found():
        for key in pods:
            if key not in found:
                record = world.pods[key].first(since, predicate)
                if record:
                    found[key] = {"pod": record["pod_at"] - since}
        return len(found) == len(pods)

    await_condition(f"{what} (pods {', '.join(pods)})", deadline_s, all_found)
    for key, times in found.items():
        direct = world.pods[key].first(since, predicate, view="scdns")
        times["scdns"] = direct["direct_at"] - since if direct else None
    return found


def assert_steady(world, what, pods, since, predicate, view="pod"):
    """Every lookup of these pods since `since` satisfies predicate (in `view`: "pod" or "scdns")."""
    for key in pods:
        records = world.pods[key].since(since)
        if not records:
            raise E2EError(f"{what}: pod {key} made no lookup")
        bad = [r for r in records if not predicate(r[view])]
        if bad:
            raise E2EError(
                f"{what}: pod {key} had {len(bad)} of {len(records)} {view} answers wrong, first: {bad[0]}"
            )


def scenario_cluster_dies(world):
    """1. Every process of cluster-b SIGKILLed and its links blocked: a and c stop answering b's copy."""
    leader = world.etcd_leader()
    t0 = time.monotonic()
    router({"op": "set", "a": "b", "blocked": True})
    kill_namespace(B.ns)
    times = await_pods(world, "pods to stop getting cluster-b's address", ["a", "c"], t0, lacks(B.web), 60)
    time.sleep(1)
    after = t0 + max(t["pod"] for t in times.values())
    assert_steady(world, "after cluster-b's address left", ["a", "c"], after, lacks(B.web))
    # When b's member led etcd, the new leader restarts every lease's TTL (etcd's lessor), so a lease can
    # outlive its holder by more than the TTL.
    return {"times": times, "notes": [f"the etcd leader was {leader}'s member"]}


def scenario_partition(world, observe_s=15):
    """2. a and b cut from each other, both keep c. With probes a drops b, b drops a, c keeps both; then heal."""
    t0 = time.monotonic()
    router({"op": "set", "a": "a", "b": "b", "blocked": True})
    if not world.probes:
        # Nothing sees a partition but the probes: the leases are renewed through c. Watch that nothing moves.
        time.sleep(observe_s)
        assert_steady(world, "lease only, a and b partitioned", list(CLUSTERS), t0, everyone)
        router({"op": "reset"})
        return {"times": {}, "notes": [f"lease only: no answer changed in {observe_s} s of partition"]}
    dropped = await_pods(world, "a to drop b's copy", ["a"], t0, lacks(B.web), 60)
    dropped.update(await_pods(world, "b to drop a's copy", ["b"], t0, lacks(A.web), 60))
    assert_steady(world, "c during the partition", ["c"], t0, everyone)
    t1 = time.monotonic()
    router({"op": "reset"})
    back = await_pods(world, "a to get b's copy back", ["a"], t1, has(B.web), 60)
    back.update(await_pods(world, "b to get a's copy back", ["b"], t1, has(A.web), 60))
    return {"times": {**{f"drop {k}": v for k, v in dropped.items()}, **{f"back {k}": v for k, v in back.items()}}}


def damping_bound(cycles, fall, rise):
    """The most up/down transitions `cycles` probe verdicts can make, starting up: each down needs `fall`
    failures in a row, each up `rise` successes in a row."""
    transitions, used = 0, 0
    while True:
        need = fall if transitions % 2 == 0 else rise
        if used + need > cycles:
            return transitions
        used += need
        transitions += 1


def answer_changes(records):
    """How many times the answer set changed between successive successful lookups."""
    sets = [tuple(r["addrs"]) for r in records if r["ok"]]
    return sum(1 for x, y in zip(sets, sets[1:]) if x != y)


def scenario_flapping(world, phases=((0.3, 30), (0.6, 30))):
    """3. Loss on a<->b: how often a's answers change, against what fall/rise allow."""
    clusters = "scdns_probe_cluster_transitions_total"
    before = world.probe_transitions(A, B)
    before_cluster = world.probe_transitions(A, B, clusters)
    t0 = time.monotonic()
    for loss, seconds in phases:
        router({"op": "set", "a": "a", "b": "b", "loss": loss})
        time.sleep(seconds)
    router({"op": "reset"})
    t1 = time.monotonic()
    await_pods(world, "a to answer b's copy once the loss ends", ["a"], t1, has(B.web), 60)
    # One probe verdict per target per cycle, cycles at least `interval` apart; the window runs until the answer
    # is back, plus the verdict in flight at its start.
    window = time.monotonic() - t0
    cycles = int(window // HEALTH["interval"]) + 1
    bound = damping_bound(cycles, HEALTH["fall"], HEALTH["rise"])
    # Two damped verdicts can move b's copy at a: its own address's probes and b's beacon (b as a whole). Each
    # stays within the bound; the answer changes no more often than both together.
    target = world.probe_transitions(A, B) - before
    cluster = world.probe_transitions(A, B, clusters) - before_cluster
    server = target + cluster
    pod = answer_changes(world.pods["a"].since(t0))
    notes = [
        f"loss {', '.join(f'{int(p * 100)}% for {s} s' for p, s in phases)}: pod a's answer set changed {pod} times, "
        f"scdns-a's probes of b's copy moved {target} times and of b's beacon {cluster} times; bound for each over "
        f"{window:.0f} s ({cycles} cycles of {HEALTH['interval']:g} s, fall {HEALTH['fall']}, rise {HEALTH['rise']}): "
        f"{bound}"
    ]
    for what, moved in (("b's copy", target), ("b's beacon", cluster)):
        if moved > bound:
            raise E2EError(f"flapping: scdns-a's probes of {what} moved {moved} times, more than fall/rise allow ({bound})")
    if pod > server:
        raise E2EError(f"flapping: pod a's answers changed {pod} times, more than scdns-a's probes moved ({server})")
    counts = {"pod a changes": pod, "scdns-a transitions": server, "bound": bound}
    return {"times": {}, "counts": counts, "notes": notes}


def scenario_etcd_member_dies(world):
    """4. b's etcd member SIGKILLed: no lookup fails or goes empty, and a change made meanwhile reaches every pod."""
    t0 = time.monotonic()
    world.kill("etcd-b")
    # Let the servers and publishers that used b's member notice and move to another one first.
    time.sleep(3)
    t1 = time.monotonic()
    World.write_exports(C, [C.web, C_SECOND])
    times = await_pods(world, "the update to reach every pod", list(CLUSTERS), t1, has(C_SECOND), 60)
    # Then one more lease TTL: a publisher that failed to move off b's member would lose its exports by now.
    time.sleep(LEASE_TTL)
    assert_steady(world, "with b's etcd member dead", list(CLUSTERS), t0, everyone)
    assert_steady(world, "scdns with b's etcd member dead", list(CLUSTERS), t0, everyone, view="scdns")
    for key in CLUSTERS:
        assert_steady(world, "after the update", [key], t1 + times[key]["pod"], has(C_SECOND))
    lookups = sum(len(world.pods[k].since(t0)) for k in CLUSTERS)
    return {"times": times, "notes": [f"{lookups} lookups across the three pods, none failed or empty"]}


def scenario_slow_path(world, phases=((200, 15), (1500, 25))):
    """5. Delay on a<->b while probes run: within the timeout nothing moves; beyond it, a drops b like a partition."""
    notes = []
    times = {}
    for delay_ms, seconds in phases:
        t0 = time.monotonic()
        router({"op": "set", "a": "a", "b": "b", "delay_ms": delay_ms})
        slow = 2 * delay_ms / 1000 >= HEALTH["timeout"]  # a connect needs a round trip
        if slow:
            dropped = await_pods(world, f"a to drop b at {delay_ms} ms", ["a"], t0, lacks(B.web), seconds + 30)
            dropped.update(await_pods(world, f"b to drop a at {delay_ms} ms", ["b"], t0, lacks(A.web), seconds + 30))
            times.update({f"{delay_ms} ms, drop {k}": v for k, v in dropped.items()})
            notes.append(
                f"{delay_ms} ms one way (round trip past the {HEALTH['timeout']:g} s probe timeout): "
                "a dropped b's copy and b dropped a's"
            )
        else:
            time.sleep(seconds)
            what = f"{delay_ms} ms one way (round trip within the probe timeout)"
            assert_steady(world, what, ["a"], t0, has(B.web))
            assert_steady(world, what, ["b"], t0, has(A.web))
            notes.append(f"{delay_ms} ms one way for {seconds} s: a kept b's copy and b kept a's")
    t1 = time.monotonic()
    router({"op": "reset"})
    back = await_pods(world, "a to get b back", ["a"], t1, has(B.web), 60)
    back.update(await_pods(world, "b to get a back", ["b"], t1, has(A.web), 60))
    times.update({f"back {k}": v for k, v in back.items()})
    return {"times": times, "notes": notes}


def connect_times(world, pods=("a", "c"), count=300):
    """6. Connect times to the service from pods a and c by how the copy is chosen."""
    table = []
    for key in pods:
        c = CLUSTERS[key]
        for strategy in ("first", "roundrobin", "random"):
            argv = [sys.executable, str(E2E / "pod.py"), "connect", "--server", c.unbound, "--count", str(count)]
            samples = json.loads(run(in_ns(c.ns, [*argv, "--strategy", strategy, SERVICE]), timeout=600).stdout)
            ms = [s["ms"] for s in samples]
            table.append({"pod": key, "strategy": strategy, "ms": ms, "addresses": [s["address"] for s in samples]})
    return table


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


# --- modes --------------------------------------------------------------------------------------------------

SCENARIOS = [
    # (id, title, function, modes)
    ("1", "cluster-b dies (SIGKILL, links blocked)", scenario_cluster_dies, (False, True)),
    ("2", "partition between a and b, then heal", scenario_partition, (False, True)),
    ("3", "loss on a<->b (30% then 60%, 60 s)", scenario_flapping, (True,)),
    ("4", "b's etcd member dies; c updates its export", scenario_etcd_member_dies, (False, True)),
    ("5", "delay on a<->b (200 ms, then 1500 ms)", scenario_slow_path, (True,)),
]


def mode_name(probes):
    return "probes" if probes else "lease only"


def run_e2e(binary):
    """The assertion run: each scenario in a world of its own; behaviours asserted, times printed."""
    started = time.monotonic()
    failures = []
    plan = [("1", False), ("1", True), ("2", True), ("3", True), ("4", False), ("5", True)]
    for number, probes in plan:
        _, title, function, _ = next(s for s in SCENARIOS if s[0] == number)
        label = f"scenario {number} ({mode_name(probes)}): {title}"
        world = World(binary, probes)
        try:
            world.build()
            if number == "1" and not probes:
                # Connects change nothing: measured here, in a healthy world, before the scenario's fault.
                check_locality(world, connect_times(world, count=60))
            log(f"{label}: running")
            result = function(world)
            log(f"PASS {label}: {format_result(result)}")
        except E2EError as error:
            log(f"FAIL {label}: {error}")
            for c in CLUSTERS.values():
                for name in ("scdns", "publisher"):
                    print(f"--- {c.ns} {name}.log (tail)\n{world.tail(c, name)}", flush=True)
            failures.append(label)
        finally:
            teardown()
            world.reap()
    passed = len(plan) - len(failures)
    log(f"e2e finished in {time.monotonic() - started:.0f} s: {passed} passed, {len(failures)} failed")
    if failures:
        raise E2EError("failed: " + "; ".join(failures))


def check_locality(world, table):
    """Locality first: every pod's getaddrinfo put its own cluster's copy first, and strategy `first` always
    connected to it."""
    for key, pod in world.pods.items():
        others = [r["first"] for r in pod.refresh() if r["first"] != CLUSTERS[key].web]
        if others:
            raise E2EError(
                f"pod {key}: getaddrinfo's first address was not its own cluster's copy "
                f"{len(others)} times ({others[0]})"
            )
    for row in table:
        if row["strategy"] == "first":
            own = CLUSTERS[row["pod"]].web
            others = [a for a in row["addresses"] if a != own]
            if others:
                raise E2EError(
                    f"pod {row['pod']}: the first answer was not its own cluster's copy "
                    f"{len(others)} times ({others[0]})"
                )
    print(connect_table(table), flush=True)


def format_result(result):
    parts = [f"{what} {seconds(t['pod'])} (scdns {seconds(t['scdns'])})" for what, t in result.get("times", {}).items()]
    parts += result.get("notes", [])
    return "; ".join(parts) or "ok"


def seconds(value):
    return "-" if value is None else f"{value:.1f} s"


def connect_table(table):
    lines = ["| from pod | strategy | p50 ms | p90 ms | mean ms | n |", "|---|---|---|---|---|---|"]
    names = {
        "first": "first of scdns's answer (own cluster first)",
        "roundrobin": "one answer, rotated over the clusters",
        "random": "uniformly random copy",
    }
    for row in table:
        ms = row["ms"]
        figures = f"{percentile(ms, 50):.2f} | {percentile(ms, 90):.2f} | {statistics.mean(ms):.2f}"
        lines.append(f"| {row['pod']} | {names[row['strategy']]} | {figures} | {len(ms)} |")
    return "\n".join(lines)


def run_figures(binary, repeat, connects, only=None):
    """Every scenario and mode (or the scenarios numbered in `only`, probes only) `repeat` times; Markdown
    tables of the failover times and the connect times."""
    times = {}  # (scenario, title, mode, what) -> {"pod": [seconds], "scdns": [seconds]}
    counts = {}  # (mode, what) -> [count], scenario 3's
    notes = {}
    table = None
    for round_number in range(1, repeat + 1):
        for number, title, function, modes in SCENARIOS:
            if only is not None:
                if number not in only:
                    continue
                modes = tuple(m for m in modes if m)
            for probes in modes:
                mode = mode_name(probes)
                world = World(binary, probes)
                try:
                    world.build()
                    if table is None:
                        table = connect_times(world, count=connects)
                    # The fault at a random moment: Unbound's cache (5 s), the probe cycles (2 s) and the lease
                    # renewals (5 s) have phases set by the build, which would otherwise put every round's fault
                    # at about the same point of each and hide the spread.
                    time.sleep(random.uniform(0, 10))
                    result = function(world)
                    log(f"round {round_number}, scenario {number} ({mode}): {format_result(result)}")
                    for what, views in result.get("times", {}).items():
                        entry = times.setdefault((number, title, mode, what), {"pod": [], "scdns": []})
                        for view, value in views.items():
                            if value is not None:
                                entry[view].append(value)
                    for what, count in result.get("counts", {}).items():
                        counts.setdefault((mode, what), []).append(count)
                    notes.setdefault((number, mode), result.get("notes", []))
                except E2EError as error:
                    log(f"round {round_number}, scenario {number} ({mode}) failed: {error}")
                finally:
                    teardown()
                    world.reap()

    def spread(values):
        if not values:
            return "- | -"
        return f"{statistics.median(values):.1f} | {min(values):.1f}-{max(values):.1f}"

    print(f"\n## Failover ({repeat} rounds)\n")
    print("Seconds from the fault (or heal) to the first answer reflecting it: at the pod (through Unbound's")
    print("cache, TTL 5) and from scdns asked directly. \"drop a\": pod a stops getting the other copy; \"back a\":")
    print("gets it again.\n")
    print("| scenario | mode | what | pod median | pod range | scdns median | scdns range | n |")
    print("|---|---|---|---|---|---|---|---|")
    for (number, title, mode, what), views in times.items():
        n = len(views["pod"])
        print(f"| {number}. {title} | {mode} | {what} | {spread(views['pod'])} | {spread(views['scdns'])} | {n} |")
    if counts:
        print("\n| scenario 3 (flapping) | per round |\n|---|---|")
        for (mode, what), values in counts.items():
            print(f"| {what} ({mode}) | {', '.join(str(v) for v in values)} |")
    for (number, mode), lines in notes.items():
        for line in lines:
            print(f"\n- scenario {number} ({mode}): {line}")
    if table:
        print(f"\n## Connect time to web.default ({connects} connects per row)\n")
        print(connect_table(table))


def main():
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n", 1)[1],
    )
    parser.add_argument("--binary", default=os.environ.get("SCDNS_BINARY", str(REPO / ".build/debug/scdns")))
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("e2e")
    figures = commands.add_parser("figures")
    figures.add_argument("--repeat", type=int, default=3)
    figures.add_argument("--connects", type=int, default=300)
    figures.add_argument("--only", help="scenario numbers, comma separated (e.g. 1,2), with probes only")
    figures.add_argument(
        "--health",
        help="probe settings other than the defaults, e.g. interval=1,timeout=0.5,fall=3,rise=2 (seconds)")
    up = commands.add_parser("up")
    up.add_argument("--no-probes", action="store_true")
    commands.add_parser("down")
    partition = commands.add_parser("partition")
    partition.add_argument("x")
    partition.add_argument("y")
    commands.add_parser("heal")
    isolate = commands.add_parser("isolate")
    isolate.add_argument("x")
    loss = commands.add_parser("loss")
    loss.add_argument("x")
    loss.add_argument("y")
    loss.add_argument("probability", type=float)
    delay = commands.add_parser("delay")
    delay.add_argument("x")
    delay.add_argument("y")
    delay.add_argument("ms", type=float)
    commands.add_parser("show")
    arguments = parser.parse_args()
    binary = Path(arguments.binary).resolve() if not os.path.isabs(arguments.binary) else Path(arguments.binary)

    link_commands = {
        "partition": lambda a: {"op": "set", "a": a.x, "b": a.y, "blocked": True},
        "heal": lambda a: {"op": "reset"},
        "isolate": lambda a: {"op": "set", "a": a.x, "blocked": True},
        "loss": lambda a: {"op": "set", "a": a.x, "b": a.y, "loss": a.probability},
        "delay": lambda a: {"op": "set", "a": a.x, "b": a.y, "delay_ms": a.ms},
        "show": lambda a: {"op": "show"},
    }
    # ip and unbound live in sbin directories, which a non-login root shell may not have on PATH.
    os.environ["PATH"] = f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin"
    # SIGTERM (make's, a CI timeout's) ends the run through the same clean-up as ^C.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        if arguments.command in link_commands:
            print(json.dumps(router(link_commands[arguments.command](arguments)), indent=2))
        elif arguments.command == "down":
            teardown()
            shutil.rmtree(STATE, ignore_errors=True)
        elif arguments.command == "up":
            preflight(binary)
            try:
                World(binary, not arguments.no_probes).build()
            except BaseException:
                teardown()
                raise
            print_try_it()
        else:
            preflight(binary)
            try:
                if arguments.command == "e2e":
                    run_e2e(binary)
                else:
                    for setting in (arguments.health or "").split(","):
                        if setting:
                            key, value = setting.split("=")
                            if key not in HEALTH:
                                raise E2EError(f"--health: {key} is none of {', '.join(HEALTH)}")
                            HEALTH[key] = type(HEALTH[key])(value)
                    only = set(arguments.only.split(",")) if arguments.only else None
                    run_figures(binary, arguments.repeat, arguments.connects, only)
            finally:
                teardown()
    except E2EError as error:
        print(f"supercluster: {error}", file=sys.stderr)
        return 1
    return 0


def print_try_it():
    me = os.path.relpath(__file__)
    print(
        f"""
The supercluster is up (state, configs and logs in {STATE}). Try:
  ip netns exec {A.ns} dig @{A.unbound} {SERVICE}
  ip netns exec {C.ns} dig @{C.unbound} {SERVICE}
  ip netns exec {A.ns} getent hosts {SERVICE}
  ip netns exec {A.ns} python3 e2e/pod.py get http://{A.scdns}:9253/registry
  ip netns exec {A.ns} python3 e2e/pod.py get 'http://{A.scdns}:9253/explain?name={SERVICE}&type=A&client={B.pod}'
  python3 {me} partition a b     then: python3 {me} heal    (also: isolate b, loss a b 0.3, delay a b 200, show)
  python3 {me} down"""
    )


if __name__ == "__main__":
    sys.exit(main())
