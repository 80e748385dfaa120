import DNSPipeline
import DNSWire
import XCTest

/// Headless services: every ready endpoint, per-cluster and per-host names, never a not-ready endpoint, and
/// NXDOMAIN when scaled to zero (DESIGN.md 1, MCS spec 2.4.1).
final class HeadlessTests: XCTestCase {
    private typealias SOA = PipelineFixture.SOA
    private static let db = "db.app.svc.supercluster.local."

    func testServiceNameAnswersEveryReadyEndpoint() {
        assertCases([
            // Own cluster's endpoints first; db-3 is not ready.
            DNSCase(
                "db.app.svc.supercluster.local", .a,
                answer: addresses(Self.db, ["10.100.1.10", "10.100.1.11", "10.101.1.12"])),
            DNSCase(
                "db.app.svc.clusterset.local", .a,
                answer: addresses("db.app.svc.clusterset.local.", ["10.100.1.10", "10.100.1.11", "10.101.1.12"])),
            DNSCase(
                "db.app.global", .a,
                answer: addresses("db.app.global.", ["10.100.1.10", "10.100.1.11", "10.101.1.12"])),
            DNSCase("db.app.svc.supercluster.local", .aaaa, authority: [SOA.supercluster]),
        ])
    }

    func testClusterAndHostNames() {
        assertCases([
            DNSCase(
                "cluster-a.db.app.svc.supercluster.local", .a,
                answer: addresses("cluster-a." + Self.db, ["10.100.1.10", "10.100.1.11"])),
            DNSCase(
                "cluster-b.db.app.svc.supercluster.local", .a,
                answer: addresses("cluster-b." + Self.db, ["10.101.1.12"])),
            DNSCase(
                "db-0.cluster-a.db.app.svc.supercluster.local", .a,
                answer: addresses("db-0.cluster-a." + Self.db, ["10.100.1.10"])),
            DNSCase(
                "db-1.cluster-a.db.app.svc.supercluster.local", .a,
                answer: addresses("db-1.cluster-a." + Self.db, ["10.100.1.11"])),
            DNSCase(
                "db-2.cluster-b.db.app.svc.supercluster.local", .a,
                answer: addresses("db-2.cluster-b." + Self.db, ["10.101.1.12"])),
            DNSCase(
                "db-2.cluster-b.db.app.global", .a,
                answer: addresses("db-2.cluster-b.db.app.global.", ["10.101.1.12"])),
            DNSCase("db-0.cluster-a.db.app.svc.supercluster.local", .aaaa, authority: [SOA.supercluster]),
        ])
    }

    func testNotReadyAndMissingEndpointsDoNotExist() {
        assertCases([
            DNSCase(
                "db-3.cluster-b.db.app.svc.supercluster.local", .a, rcode: .nxDomain, authority: [SOA.supercluster]),
            DNSCase(
                "db-3.cluster-a.db.app.svc.supercluster.local", .a, rcode: .nxDomain, authority: [SOA.supercluster]),
            // An endpoint under the wrong cluster.
            DNSCase(
                "db-0.cluster-b.db.app.svc.supercluster.local", .a, rcode: .nxDomain, authority: [SOA.supercluster]),
            DNSCase("cluster-c.db.app.svc.supercluster.local", .a, rcode: .nxDomain, authority: [SOA.supercluster]),
            DNSCase("db-3.cluster-b.db.app.global", .a, rcode: .nxDomain, authority: [SOA.global]),
        ])
    }

    func testScaledToZeroIsNXDOMAIN() {
        assertCases([
            DNSCase("cache.app.svc.supercluster.local", .a, rcode: .nxDomain, authority: [SOA.supercluster]),
            DNSCase("cache.app.svc.supercluster.local", .aaaa, rcode: .nxDomain, authority: [SOA.supercluster]),
            DNSCase("cache.app.svc.clusterset.local", .a, rcode: .nxDomain, authority: [SOA.clusterset]),
            DNSCase("cache.app.global", .a, rcode: .nxDomain, authority: [SOA.global]),
            DNSCase(
                "_redis._tcp.cache.app.svc.supercluster.local", .srv, rcode: .nxDomain, authority: [SOA.supercluster]),
            DNSCase("cluster-a.cache.app.svc.supercluster.local", .a, rcode: .nxDomain, authority: [SOA.supercluster]),
        ])
    }

    /// A headless service whose last ready endpoint goes away becomes NXDOMAIN with the next snapshot.
    func testLosingTheLastReadyEndpoint() throws {
        var services = PipelineFixture.services
        let index = try XCTUnwrap(services.firstIndex { $0.name == "db" })
        for cluster in services[index].clusters.indices {
            for endpoint in services[index].clusters[cluster].endpoints.indices {
                services[index].clusters[cluster].endpoints[endpoint].ready = false
            }
        }
        let processor = PipelineFixture.shared
        let changed = QueryProcessor(snapshot: PipelineFixture.snapshot(registry: PipelineFixture.registry(services)))
        assertCases(
            [
                DNSCase(
                    "db.app.svc.supercluster.local", .a,
                    answer: addresses(Self.db, ["10.100.1.10", "10.100.1.11", "10.101.1.12"]))
            ],
            processor: processor)
        assertCases(
            [
                DNSCase("db.app.svc.supercluster.local", .a, rcode: .nxDomain, authority: [SOA.supercluster]),
                DNSCase(
                    "db-0.cluster-a.db.app.svc.supercluster.local", .a, rcode: .nxDomain,
                    authority: [SOA.supercluster]),
            ], processor: changed)
    }
}
