import DNSPipeline
import DNSWire
import ServiceRegistry
import XCTest

/// `SVC.NS.svc.ZONE`, `CLUSTER.SVC.NS.svc.ZONE` and `SVC.NS.global` for ClusterSetIP services (DESIGN.md 1, 3).
final class ServiceAnswerTests: XCTestCase {
    private typealias SOA = PipelineFixture.SOA
    private static let backend = "backend.app.svc.supercluster.local."

    func testServiceAddressesInEveryZone() {
        assertCases([
            // Own cluster first, then the same region (cluster-b), then the rest (cluster-c).
            DNSCase(
                "backend.app.svc.supercluster.local", .a,
                answer: addresses(Self.backend, ["10.100.0.1", "10.101.0.1", "10.102.0.1"])),
            // IPv4-only: the name exists, so NODATA with the zone's SOA at min(60, 30) — never NXDOMAIN.
            DNSCase("backend.app.svc.supercluster.local", .aaaa, authority: [SOA.supercluster]),
            DNSCase(
                "backend.app.svc.clusterset.local", .a,
                answer: addresses("backend.app.svc.clusterset.local.", ["10.100.0.1", "10.101.0.1", "10.102.0.1"])),
            // No zone file for clusterset.local: the synthesized SOA (ns.dns.ZONE, MINIMUM = ttl).
            DNSCase("backend.app.svc.clusterset.local", .aaaa, authority: [SOA.clusterset]),
            DNSCase(
                "backend.app.global", .a,
                answer: addresses("backend.app.global.", ["10.100.0.1", "10.101.0.1", "10.102.0.1"])),
            DNSCase("backend.app.global", .aaaa, authority: [SOA.global]),
        ])
    }

    func testDualStackServiceAnswersEachFamily() {
        assertCases([
            DNSCase(
                "frontend.app.svc.supercluster.local", .a,
                answer: addresses("frontend.app.svc.supercluster.local.", ["10.100.0.7"])),
            DNSCase(
                "frontend.app.svc.supercluster.local", .aaaa,
                answer: addresses("frontend.app.svc.supercluster.local.", ["fd00:100::7"])),
            DNSCase(
                "frontend.app.global", .aaaa, answer: addresses("frontend.app.global.", ["fd00:100::7"])),
            DNSCase(
                "cluster-a.frontend.app.svc.supercluster.local", .aaaa,
                answer: addresses("cluster-a.frontend.app.svc.supercluster.local.", ["fd00:100::7"])),
        ])
    }

    func testClusterNames() {
        assertCases([
            DNSCase(
                "cluster-b.backend.app.svc.supercluster.local", .a,
                answer: addresses("cluster-b." + Self.backend, ["10.101.0.1"])),
            DNSCase(
                "cluster-c.backend.app.svc.clusterset.local", .a,
                answer: addresses("cluster-c.backend.app.svc.clusterset.local.", ["10.102.0.1"])),
            DNSCase(
                "cluster-a.backend.app.global", .a,
                answer: addresses("cluster-a.backend.app.global.", ["10.100.0.1"])),
            DNSCase("cluster-b.backend.app.svc.supercluster.local", .aaaa, authority: [SOA.supercluster]),
            DNSCase(
                "cluster-z.backend.app.svc.supercluster.local", .a, rcode: .nxDomain, authority: [SOA.supercluster]),
            // A vip service keeps its per-cluster names.
            DNSCase(
                "cluster-b.api.app.svc.supercluster.local", .a,
                answer: addresses("cluster-b.api.app.svc.supercluster.local.", ["10.101.0.30"])),
        ])
    }

    /// `clusterNames: false` is strict MCS: no CLUSTER names for ClusterSetIP services, but headless ones keep
    /// theirs, since HOST.CLUSTER names need them.
    func testStrictMCSDropsClusterNamesOfClusterSetIPOnly() {
        let strict = PipelineFixture.processor(PipelineFixture.settings(clusterNames: false))
        assertCases(
            [
                DNSCase(
                    "cluster-b.backend.app.svc.supercluster.local", .a, rcode: .nxDomain,
                    authority: [SOA.supercluster]),
                DNSCase(
                    "cluster-a.api.app.svc.supercluster.local", .a, rcode: .nxDomain, authority: [SOA.supercluster]),
                DNSCase("cluster-a.backend.app.global", .a, rcode: .nxDomain, authority: [SOA.global]),
                DNSCase(
                    "backend.app.svc.supercluster.local", .a,
                    answer: addresses(Self.backend, ["10.100.0.1", "10.101.0.1", "10.102.0.1"])),
                DNSCase(
                    "cluster-a.db.app.svc.supercluster.local", .a,
                    answer: addresses("cluster-a.db.app.svc.supercluster.local.", ["10.100.1.10", "10.100.1.11"])),
                DNSCase(
                    "db-2.cluster-b.db.app.svc.supercluster.local", .a,
                    answer: addresses("db-2.cluster-b.db.app.svc.supercluster.local.", ["10.101.1.12"])),
                // PTR of a cluster address falls back to the service name.
                DNSCase(
                    "1.0.101.10.in-addr.arpa", .ptr, answer: ["1.0.101.10.in-addr.arpa. 5 IN PTR " + Self.backend]),
            ], processor: strict)
    }

    func testVipAnswersOnlyTheVip() {
        assertCases([
            DNSCase(
                "api.app.svc.supercluster.local", .a,
                answer: addresses("api.app.svc.supercluster.local.", ["240.0.0.10"])),
            DNSCase("api.app.global", .a, answer: addresses("api.app.global.", ["240.0.0.10"])),
            DNSCase("api.app.svc.supercluster.local", .aaaa, authority: [SOA.supercluster]),
        ])
    }

    func testHealth() {
        assertCases([
            // cluster-a is this instance's own cluster but unhealthy: left out.
            DNSCase(
                "legacy.app.svc.supercluster.local", .a,
                answer: addresses("legacy.app.svc.supercluster.local.", ["10.101.0.40"])),
            // Every export unhealthy: fail open, all answered, still in tier order.
            DNSCase(
                "allsick.app.svc.supercluster.local", .a,
                answer: addresses("allsick.app.svc.supercluster.local.", ["10.100.0.50", "10.102.0.50"])),
        ])
    }

    /// The same registry seen from other localities: the tiers are same cluster, same zone, same region, others.
    /// Exports sharing a tier rotate per query, so each tier is compared as a set, in tier order.
    func testLocalityTiers() throws {
        let cases: [(Locality, [[String]])] = [
            (
                Locality(cluster: "cluster-b", region: "ap-northeast-2", zone: "ap-northeast-2c"),
                [["10.101.0.1"], ["10.100.0.1"], ["10.102.0.1"]]
            ),
            (
                Locality(cluster: "cluster-c", region: "us-east-1", zone: "us-east-1a"),
                [["10.102.0.1"], ["10.100.0.1", "10.101.0.1"]]
            ),
            // No export from this cluster: cluster-b shares the zone, cluster-a only the region.
            (
                Locality(cluster: "cluster-x", region: "ap-northeast-2", zone: "ap-northeast-2c"),
                [["10.101.0.1"], ["10.100.0.1"], ["10.102.0.1"]]
            ),
            // Same region as cluster-c but another zone: cluster-c is tier 2, the others tier 3.
            (
                Locality(cluster: "cluster-y", region: "us-east-1", zone: "us-east-1b"),
                [["10.102.0.1"], ["10.100.0.1", "10.101.0.1"]]
            ),
        ]
        for (locality, tiers) in cases {
            let processor = PipelineFixture.processor(PipelineFixture.settings(locality: locality))
            for _ in 0..<8 {
                let response = try Message(
                    parsing: XCTUnwrap(
                        processor.process(
                            TestQuery(name: "backend.app.svc.supercluster.local", type: .a).wire, client: .pod)))
                var answers = response.answers.map { $0.data.description }[...]
                for tier in tiers {
                    XCTAssertEqual(Set(answers.prefix(tier.count)), Set(tier), "\(locality)")
                    answers = answers.dropFirst(tier.count)
                }
                XCTAssertTrue(answers.isEmpty)
            }
        }
    }
}
