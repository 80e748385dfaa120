// Drives the answering pipeline in-process, no sockets: the user-space cost of one query, which
// `bench/pipeline-callgrind.sh` turns into instructions per query with valgrind (repeatable on a noisy
// machine, unlike times). Usage: PipelineBench REGISTRY QUERIES [KIND]
//
// Kinds: hit nodata nxdomain edns mix (the instance's own locality, nothing to rotate); and for the cost of
// locality (issue 4), each against its unordered twin: ecs (an ECS query, no `clients:`), ecs-ordered (the
// same query with `clients:` placing it in cluster-c, whose second tier of two exports rotates), and
// source-ordered (no ECS; the source address is in cluster-c's network). For the cost of the hostile-network
// issue: cache (a forwarded name answered from the cache), truncated (a 60-address answer cut to 512 octets for
// a client without EDNS) and big (the same answer whole, to EDNS 1232). For response rate limiting: rrl (hit with
// limits.rrl on, every response within the rate) and rrl-limited (hit at 1 response a second, slip 2: all but
// the first limited, every second one slipped). And `PipelineBench - COUNT overlay`: COUNT services x 3 clusters
// built in full, then one service changed five times, each answered by an overlay, timed with and without a
// registry delta naming the change (issue 15); `PipelineBench REGISTRY 0 memory`, where the bytes of REGISTRY's
// snapshot go under bench/gen.py's settings.
import CSocketBatch
import DNSPipeline
import DNSWire
import Foundation
import ServiceRegistry

let arguments = CommandLine.arguments
guard arguments.count >= 3, let count = Int(arguments[2]) else {
    FileHandle.standardError.write(Data("usage: PipelineBench REGISTRY QUERIES [KIND]\n".utf8))
    exit(2)
}
let kind = arguments.count > 3 ? arguments[3] : "hit"
if kind == "overlay" {
    // What one registry change costs at scale: COUNT services x 3 clusters built in full, then one service's
    // address changed, answered by an overlay, five times (REGISTRY is not read).
    func services(changing changed: Int?, to third: UInt8) -> [Service] {
        (0..<count).map { index in
            let octets = (UInt8(index >> 16 & 0xFF), UInt8(index >> 8 & 0xFF), UInt8(index & 0xFF))
            return Service(
                name: "svc-\(String(index + 1_000_000).dropFirst())", namespace: "ns-\(index % 100 + 10)",
                clusters: ["a", "b", "c"].enumerated().map { cluster, name in
                    let last = index == changed && cluster == 2 ? third : octets.2
                    return ClusterExport(
                        locality: Locality(cluster: "cluster-\(name)", region: "r", zone: "z"),
                        addresses: [IPAddress(bytes: [UInt8(10 + cluster), octets.0, octets.1, last])!])
                })
        }.sorted { ($0.namespace, $0.name) < ($1.namespace, $1.name) }
    }
    let settings = PipelineSettings(locality: Locality(cluster: "cluster-a", region: "r", zone: "z"))
    let baseRegistry = RegistrySnapshot(services: services(changing: nil, to: 0), version: 1, origin: "bench")
    var clock = ContinuousClock.now
    let full = AnswerSnapshot.build(registry: baseRegistry, zones: [], settings: settings)
    print("full build of \(count) services: \(ContinuousClock.now - clock), \(full.nameCount) names")
    for (part, bytes) in full.memoryByPart { print("  \(part): \(bytes / 1024) KiB") }
    print("  total: \(full.memoryByPart.reduce(0) { $0 + $1.bytes } / 1024 / 1024) MiB")
    if let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) {
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS") || line.hasPrefix("VmHWM") {
            print("  \(line.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " "))")
        }
    }
    // What the server keeps resident after a full build: it returns the build's freed memory to the system.
    scdns_return_free_memory()
    if let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
        let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS") })
    {
        print(
            "  after returning free memory: \(line.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " "))"
        )
    }
    // What a source pays to change one service of an array a served snapshot shares: a copy of the whole array
    // (a retain of every service's fields), then, once the old snapshot goes, its release.
    do {
        var copy = baseRegistry.services
        clock = ContinuousClock.now
        copy[0] = copy[1]
        let copying = ContinuousClock.now - clock
        clock = ContinuousClock.now
        copy = []
        print(
            "one service changed in a shared array of \(count): \(copying) to copy, \(ContinuousClock.now - clock) to free"
        )
    }
    for round in 0..<5 {
        let registry = RegistrySnapshot(
            services: services(changing: round * 997, to: UInt8(200 + round)), version: UInt64(round + 2),
            origin: "bench")
        // As from a file (the registries compared) and as from etcd (its delta names the service changed).
        clock = ContinuousClock.now
        let compared = AnswerSnapshot.overlay(
            registry: registry, baseRegistry: baseRegistry, over: full, zones: [], settings: settings)
        let comparing = ContinuousClock.now - clock
        let changedService = registry.services.first {
            $0.name == "svc-\(String(round * 997 + 1_000_000).dropFirst())"
        }!
        clock = ContinuousClock.now
        let told = AnswerSnapshot.overlay(
            registry: registry, baseRegistry: baseRegistry, over: full, zones: [], settings: settings,
            changed: [ServiceID(changedService)])
        let telling = ContinuousClock.now - clock
        print(
            "overlay \(round): \(comparing) comparing registries, \(telling) told the change (delta);"
                + " \(compared?.overlaidServices ?? -1) / \(told?.overlaidServices ?? -1) services compiled")
        // Freed after the timings, not inside one (a registry of 100,000 services takes tens of ms to free).
        withExtendedLifetime((registry, compared, told)) {}
    }
    exit(0)
}
let source = FileRegistrySource(path: arguments[1], logger: .init(label: "bench"))
var registry = try source.loadNow()
if kind == "truncated" || kind == "big" {
    let addresses = (1...60).map { "10.9.0.\($0)" }.joined(separator: ", ")
    let big = try RegistryDecoder.decode(
        "services:\n  - name: big\n    namespace: app\n    clusters:\n      - cluster: cluster-a\n        addresses: [\(addresses)]\n",
        file: "bench.yaml")
    registry = RegistrySnapshot(services: registry.services + big, version: registry.version, origin: registry.origin)
}
if kind == "memory" {
    // Where a snapshot's bytes go for REGISTRY under bench/gen.py's settings (scdns.yaml: one service zone, the
    // default global zone, cluster-a's locality): the arrays by part, then the process's resident memory with
    // the registry and the snapshot held. QUERIES is not used.
    let snapshot = AnswerSnapshot.build(
        registry: registry, zones: [],
        settings: PipelineSettings(
            serviceZones: [try DNSName("supercluster.local.")],
            locality: Locality(cluster: "cluster-a", region: "ap-northeast-2", zone: "ap-northeast-2a")))
    print("\(registry.services.count) services, \(snapshot.nameCount) names")
    for (part, bytes) in snapshot.memoryByPart { print("  \(part): \(bytes / 1024) KiB") }
    print("  total: \(snapshot.memoryByPart.reduce(0) { $0 + $1.bytes } / 1024 / 1024) MiB")
    scdns_return_free_memory()
    if let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
        let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS") })
    {
        print(
            "  resident: \(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().joined(separator: " "))"
        )
    }
    withExtendedLifetime((registry, snapshot)) {}
    exit(0)
}
let ordered = kind.hasSuffix("-ordered")
let settings = PipelineSettings(
    locality: Locality(cluster: "cluster-a", region: "ap-northeast-2", zone: "ap-northeast-2a"),
    clients: ordered
        ? [
            ClientNetwork(
                network: IPNetwork("10.2.0.0/16")!,
                locality: Locality(cluster: "cluster-c", region: "us-east-1", zone: "us-east-1a")),
            ClientNetwork(
                network: IPNetwork("10.1.0.0/16")!,
                locality: Locality(cluster: "cluster-b", region: "ap-northeast-2", zone: "ap-northeast-2c")),
        ] : [])
var forwarding = settings
forwarding.forwardZones = [try DNSName("cluster.local.")]
let cache = kind == "cache" ? ResponseCache(settings: CacheSettings(capacity: 1000)) : nil
let rateLimiter: ResponseRateLimiter? =
    switch kind {
    case "rrl": ResponseRateLimiter(settings: RateLimitSettings(responsesPerSecond: 1_000_000))
    case "rrl-limited": ResponseRateLimiter(settings: RateLimitSettings(responsesPerSecond: 1, slip: 2))
    default: nil
    }
let processor = QueryProcessor(
    snapshot: AnswerSnapshot.build(registry: registry, zones: [], settings: cache == nil ? settings : forwarding),
    seed: 1, cache: cache, rateLimiter: rateLimiter)
// cluster-c's network when ordering by source address; loopback otherwise.
let client = ClientContext(address: .v4(kind == "source-ordered" ? 0x0A02_0305 : 0x7F00_0001), transport: .udp)

func query(_ name: String, _ type: RecordType, edns: Bool = false, subnet: [UInt8]? = nil) -> [UInt8] {
    // ECS for 10.2.3.0/24: family 1, source 24, scope 0, three address octets.
    let options = subnet.map { [EDNSOption(code: EDNSOption.clientSubnetCode, data: [0, 1, 24, 0] + $0)] } ?? []
    return Message(
        header: Header(id: 0x4242, recursionDesired: true),
        questions: [Question(name: try! DNSName(name), type: type)],
        edns: edns || subnet != nil ? EDNS(udpPayloadSize: 1232, options: options) : nil
    ).serialized()
}

let queries: [[UInt8]]
switch kind {
case "hit", "rrl", "rrl-limited": queries = [query("backend.app.svc.supercluster.local.", .a)]
case "nodata": queries = [query("backend.app.svc.supercluster.local.", .aaaa)]
case "nxdomain": queries = [query("nothere.app.svc.supercluster.local.", .a)]
case "edns": queries = [query("backend.app.svc.supercluster.local.", .a, edns: true)]
case "ecs", "ecs-ordered": queries = [query("backend.app.svc.supercluster.local.", .a, subnet: [10, 2, 3])]
case "source-ordered": queries = [query("backend.app.svc.supercluster.local.", .a, edns: true)]
case "truncated": queries = [query("big.app.svc.supercluster.local.", .a)]
case "big": queries = [query("big.app.svc.supercluster.local.", .a, edns: true)]
case "cache":
    let asked = query("kubernetes.default.svc.cluster.local.", .a, edns: true)
    let name = try DNSName("kubernetes.default.svc.cluster.local.")
    let answer = Message(
        header: Header(id: 7, isResponse: true, recursionDesired: true, recursionAvailable: true),
        questions: [Question(name: name, type: .a)],
        answers: [ResourceRecord(name: name, ttl: 3600, data: .a(IPv4Address(rawValue: 0x0A60_0001)))])
    cache?.store(answer, for: asked)
    queries = [asked]
default:
    queries = [
        query("backend.app.svc.supercluster.local.", .a), query("BackEnd.app.svc.supercluster.local.", .a, edns: true),
        query("backend.app.svc.supercluster.local.", .aaaa), query("nothere.app.svc.supercluster.local.", .a),
        query("_http._tcp.backend.app.svc.supercluster.local.", .srv), query("frontend.app.global.", .aaaa),
    ]
}

/// The measured loop lives in a function: top-level code's globals are main-actor state, and every access to
/// them would add executor and exclusivity checks that are the harness's cost, not the pipeline's.
func run(_ queries: [[UInt8]], count: Int) -> (bytes: Int, elapsed: Duration) {
    var response: [UInt8] = []
    response.reserveCapacity(4096)
    var checksum = 0
    let start = ContinuousClock.now
    for index in 0..<count {
        queries[index % queries.count].withUnsafeBytes { bytes in
            _ = processor.process(bytes, client: client, into: &response)
        }
        checksum &+= response.count
    }
    return (checksum, ContinuousClock.now - start)
}

let (checksum, elapsed) = run(queries, count: count)
let nanoseconds = Double(elapsed.components.seconds) * 1e9 + Double(elapsed.components.attoseconds) / 1e9
let perQuery = String(format: "%.1f", nanoseconds / Double(max(count, 1)))
print("kind=\(kind) queries=\(count) bytes=\(checksum) ns_per_query=\(perQuery)")
