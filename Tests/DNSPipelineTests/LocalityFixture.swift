import DNSPipeline
import DNSWire
import ServiceRegistry
import XCTest

/// Helpers of the locality tables (DESIGN.md section 3): the fixture's three localities, `clients:` lists,
/// EDNS Client Subnet options, and first answers counted over many queries.
enum LocalityFixture {
    /// The fixture's clusters: cluster-a is this instance's own.
    static let a = PipelineFixture.locality
    static let b = Locality(cluster: "cluster-b", region: "ap-northeast-2", zone: "ap-northeast-2c")
    static let c = Locality(cluster: "cluster-c", region: "us-east-1", zone: "us-east-1a")

    static let backend = "backend.app.svc.supercluster.local"
    /// backend's address in each cluster.
    static let backendA = "10.100.0.1"
    static let backendB = "10.101.0.1"
    static let backendC = "10.102.0.1"

    /// `clients:` entries written as (network, locality).
    static func clients(_ list: [(String, Locality)]) -> [ClientNetwork] {
        list.map { ClientNetwork(network: IPNetwork($0.0)!, locality: $0.1) }
    }

    /// The fixture's settings with `clients:`, an own locality and `maxAnswers`; every client is allowed.
    static func settings(
        clients: [(String, Locality)] = [], locality: Locality = a, maxAnswers: Int = 0
    ) -> PipelineSettings {
        PipelineSettings(
            ttl: 5, locality: locality, maxAnswers: maxAnswers, clients: Self.clients(clients),
            allow: ["0.0.0.0/0", "::/0"].map { IPNetwork($0)! })
    }

    /// A processor over `services` (the fixture's by default) with a fixed rotation seed.
    static func processor(
        _ settings: PipelineSettings, services: [Service] = PipelineFixture.services, seed: UInt64 = 42
    ) -> QueryProcessor {
        QueryProcessor(
            snapshot: PipelineFixture.snapshot(settings, registry: PipelineFixture.registry(services)), seed: seed)
    }

    /// Services decoded from registry YAML, as the registry file would give them.
    static func services(_ yaml: String) -> [Service] {
        try! RegistryDecoder.decode(yaml, file: "locality.yaml")
    }

    /// The data of an ECS option (RFC 7871 6): FAMILY, SOURCE PREFIX-LENGTH, SCOPE PREFIX-LENGTH, ADDRESS.
    static func ecsData(family: UInt16, source: UInt8, scope: UInt8 = 0, address: [UInt8]) -> [UInt8] {
        [UInt8(family >> 8), UInt8(family & 0xFF), source, scope] + address
    }

    /// A well-formed ECS option for `subnet` ("10.1.2.0/24"): the address cut to the octets the prefix needs.
    static func ecs(_ subnet: String) -> EDNSOption {
        let network = IPNetwork(subnet)!
        let octets = Array(network.address.bytes.prefix((network.prefixLength + 7) / 8))
        return EDNSOption(
            code: EDNSOption.clientSubnetCode,
            data: ecsData(
                family: network.address.isIPv4 ? 1 : 2, source: UInt8(network.prefixLength), address: octets))
    }

    static func option(_ data: [UInt8]) -> EDNSOption {
        EDNSOption(code: EDNSOption.clientSubnetCode, data: data)
    }

    /// A query with an OPT record carrying `options` (none: a plain EDNS query).
    static func query(_ name: String, _ type: RecordType = .a, options: [EDNSOption]? = nil) -> [UInt8] {
        TestQuery(name: name, type: type, edns: options.map { EDNS(options: $0) }).wire
    }

    /// The ECS option a response carries, if any.
    static func echoedECS(_ response: Message) -> [UInt8]? {
        response.edns?.options.first { $0.code == EDNSOption.clientSubnetCode }?.data
    }

    /// The answer section's RDATA in order ("10.100.0.1", "0 100 80 target.").
    static func answers(
        _ processor: QueryProcessor, _ name: String, _ type: RecordType = .a, options: [EDNSOption]? = nil,
        client: ClientContext = .pod, file: StaticString = #filePath, line: UInt = #line
    ) -> [String] {
        exchange(query(name, type, options: options), with: processor, client: client, file: file, line: line)?
            .answers.map(\.data.description) ?? []
    }

    /// How often each first answer came up over `count` queries, as a share of `count`.
    static func leadShares(
        _ count: Int, of processor: QueryProcessor, _ name: String, position: Int = 0,
        check: ([String]) -> Void = { _ in }
    ) -> [String: Double] {
        var counts: [String: Int] = [:]
        let wire = query(name)
        for _ in 0..<count {
            guard let bytes = processor.process(wire, client: .pod), let response = try? Message(parsing: bytes)
            else {
                XCTFail("no response to \(name)")
                return [:]
            }
            let answers = response.answers.map(\.data.description)
            check(answers)
            if position < answers.count { counts[answers[position], default: 0] += 1 }
        }
        return counts.mapValues { Double($0) / Double(count) }
    }
}

/// Asserts that each export's measured share is within `tolerance` of its weight's share of `weights`.
func assertShares(
    _ shares: [String: Double], weights: [String: Double], tolerance: Double = 0.03, file: StaticString = #filePath,
    line: UInt = #line
) {
    let total = weights.values.reduce(0, +)
    XCTAssertEqual(Set(shares.keys), Set(weights.keys), "which exports led", file: file, line: line)
    for (address, weight) in weights {
        let share = shares[address] ?? 0
        XCTAssertEqual(
            share, weight / total, accuracy: tolerance, "\(address) led \(share), weight share \(weight / total)",
            file: file, line: line)
    }
}
