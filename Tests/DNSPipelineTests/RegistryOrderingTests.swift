import DNSWire
import ServiceRegistry
import XCTest

@testable import DNSPipeline

/// The per-locality answers of a service's own name are the ones `ClusterOrdering` describes (and `/explain`
/// reports): candidates with an address of the family, the healthy ones unless none is, grouped by tier nearest
/// first in export order, each address once, each export one rotating unit with its weight.
final class RegistryOrderingTests: XCTestCase {
    typealias L = LocalityFixture
    static let localities = [
        L.a, L.b, L.c, Locality(cluster: "cluster-d", region: "ap-northeast-2", zone: ""),
        Locality(cluster: "cluster-e", region: "", zone: ""),
    ]

    /// The ordering written from `ClusterOrdering.tiers`, as RegistryRecords wrote it before it stopped building
    /// arrays of exports.
    func reference(
        _ service: Service, ipv4: Bool, from locality: Locality
    ) -> (addresses: [IPAddress], units: [[OrderedAnswer.Unit]]) {
        var addresses: [IPAddress] = []
        var units: [[OrderedAnswer.Unit]] = []
        var seen = Set<IPAddress>()
        for (_, exports) in ClusterOrdering.tiers(RegistryRecords.candidates(service, ipv4: ipv4), from: locality) {
            var tier: [OrderedAnswer.Unit] = []
            for export in exports {
                let own = RegistryRecords.serviceAddresses(export, of: service.type).filter {
                    $0.isIPv4 == ipv4 && seen.insert($0).inserted
                }
                guard !own.isEmpty else { continue }
                addresses += own
                tier.append(OrderedAnswer.Unit(recordCount: own.count, weight: export.weight))
            }
            if !tier.isEmpty { units.append(tier) }
        }
        return (addresses, units)
    }

    func testSeededServicesAreOrderedAsClusterOrderingSays() throws {
        var random = SplitMix64(seed: 1207)
        let pool = (1...6).map { IPAddress("10.9.0.\($0)")! } + (1...4).map { IPAddress("fd00:9::\($0)")! }
        let records = RegistryRecords(settings: L.settings(), localities: Self.localities)
        let base = try DNSName("svc.supercluster.local")
        var compared = 0
        for index in 0..<400 {
            let clusters = (0..<Int.random(in: 1...5, using: &random)).map { _ in
                ClusterExport(
                    locality: Self.localities.randomElement(using: &random)!,
                    addresses: (0..<Int.random(in: 0...3, using: &random)).map { _ in
                        pool.randomElement(using: &random)!
                    },
                    weight: UInt32.random(in: 1...300, using: &random),
                    healthy: Int.random(in: 0..<4, using: &random) > 0)
            }
            let service = Service(name: "s\(index)", namespace: "ns", clusters: clusters)
            let output = records.records(for: service, base: base)
            for ipv4 in [true, false] {
                let rrset = output.ordered.first { $0.type == (ipv4 ? .a : .aaaa) }
                let expected = Self.localities.map { reference(service, ipv4: ipv4, from: $0) }
                guard let rrset else {
                    XCTAssertTrue(expected[0].addresses.isEmpty, "\(service) has no \(ipv4 ? "A" : "AAAA") RRset")
                    continue
                }
                for (answer, wanted) in zip(rrset.perLocality, expected) {
                    XCTAssertEqual(
                        answer.records.map(\.data), wanted.addresses.map(RegistryRecords.rdata), "\(service)")
                    XCTAssertEqual(answer.tiers, wanted.units, "\(service)")
                    compared += 1
                }
            }
        }
        XCTAssertGreaterThan(compared, 2_000)
    }
}
