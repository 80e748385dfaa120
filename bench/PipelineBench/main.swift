// Drives the answering pipeline in-process, no sockets: the user-space cost of one query, which
// `bench/pipeline-callgrind.sh` turns into instructions per query with valgrind (repeatable on a noisy
// machine, unlike times). Usage: PipelineBench REGISTRY QUERIES [KIND]
//
// Kinds: hit nodata nxdomain edns mix (the instance's own locality, nothing to rotate); and for the cost of
// locality (issue 4), each against its unordered twin: ecs (an ECS query, no `clients:`), ecs-ordered (the
// same query with `clients:` placing it in cluster-c, whose second tier of two exports rotates), and
// source-ordered (no ECS; the source address is in cluster-c's network).
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
let source = FileRegistrySource(path: arguments[1], logger: .init(label: "bench"))
let registry = try source.loadNow()
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
let processor = QueryProcessor(
    snapshot: AnswerSnapshot.build(registry: registry, zones: [], settings: settings), seed: 1)
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
case "hit": queries = [query("backend.app.svc.supercluster.local.", .a)]
case "nodata": queries = [query("backend.app.svc.supercluster.local.", .aaaa)]
case "nxdomain": queries = [query("nothere.app.svc.supercluster.local.", .a)]
case "edns": queries = [query("backend.app.svc.supercluster.local.", .a, edns: true)]
case "ecs", "ecs-ordered": queries = [query("backend.app.svc.supercluster.local.", .a, subnet: [10, 2, 3])]
case "source-ordered": queries = [query("backend.app.svc.supercluster.local.", .a, edns: true)]
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
