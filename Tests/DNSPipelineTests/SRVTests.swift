import DNSPipeline
import DNSWire
import XCTest

/// `_PORT._PROTO.SVC.NS.svc.ZONE` SRV: named ports only, targets' addresses in the additional section.
final class SRVTests: XCTestCase {
    private typealias SOA = PipelineFixture.SOA
    private static let backend = "backend.app.svc.supercluster.local."
    private static let db = "db.app.svc.supercluster.local."

    func testClusterSetIPPortsTargetTheServiceName() {
        let backendAddresses = addresses(Self.backend, ["10.100.0.1", "10.101.0.1", "10.102.0.1"])
        assertCases([
            DNSCase(
                "_http._tcp.backend.app.svc.supercluster.local", .srv,
                answer: ["_http._tcp.\(Self.backend) 5 IN SRV 0 100 80 \(Self.backend)"], additional: backendAddresses),
            DNSCase(
                "_grpc._tcp.backend.app.svc.supercluster.local", .srv,
                answer: ["_grpc._tcp.\(Self.backend) 5 IN SRV 0 100 9090 \(Self.backend)"], additional: backendAddresses
            ),
            DNSCase(
                "_http._tcp.backend.app.global", .srv,
                answer: ["_http._tcp.backend.app.global. 5 IN SRV 0 100 80 backend.app.global."],
                additional: addresses("backend.app.global.", ["10.100.0.1", "10.101.0.1", "10.102.0.1"])),
            // A vip service's target resolves to the vip alone.
            DNSCase(
                "_http._tcp.api.app.svc.supercluster.local", .srv,
                answer: [
                    "_http._tcp.api.app.svc.supercluster.local. 5 IN SRV 0 100 8080 api.app.svc.supercluster.local."
                ],
                additional: addresses("api.app.svc.supercluster.local.", ["240.0.0.10"])),
            // Dual stack: both families of the target as glue.
            DNSCase(
                "_http._tcp.frontend.app.svc.supercluster.local", .srv,
                answer: [
                    "_http._tcp.frontend.app.svc.supercluster.local. 5 IN SRV 0 100 80 "
                        + "frontend.app.svc.supercluster.local."
                ],
                additional: addresses("frontend.app.svc.supercluster.local.", ["10.100.0.7", "fd00:100::7"])),
        ])
    }

    func testHeadlessPortsTargetEachReadyEndpoint() {
        let hosts = ["db-0.cluster-a.", "db-1.cluster-a.", "db-2.cluster-b."].map { $0 + Self.db }
        assertCases([
            DNSCase(
                "_postgres._tcp.db.app.svc.supercluster.local", .srv,
                // Priority is the tier seen from cluster-a: its own endpoints 0, cluster-b (same region) 2.
                answer: zip(hosts, [0, 0, 2]).map { "_postgres._tcp.\(Self.db) 5 IN SRV \($1) 100 5432 \($0)" },
                additional: addresses(hosts[0], ["10.100.1.10"]) + addresses(hosts[1], ["10.100.1.11"])
                    + addresses(hosts[2], ["10.101.1.12"]))
        ])
    }

    /// ANY at a name with one RRset is that RRset alone: an SRV name's targets are not in the additional section
    /// as they are for QTYPE SRV, and a name of two RRsets answers both (the compiler reuses a one-RRset name's
    /// template for ANY only when it has no additional records).
    func testANYAtANameOfOneRRset() {
        assertCases([
            DNSCase(
                "_http._tcp.backend.app.svc.supercluster.local", .any,
                answer: ["_http._tcp.\(Self.backend) 5 IN SRV 0 100 80 \(Self.backend)"]),
            DNSCase(
                "_postgres._tcp.db.app.svc.supercluster.local", .any,
                answer: ["db-0.cluster-a.", "db-1.cluster-a.", "db-2.cluster-b."].enumerated().map {
                    "_postgres._tcp.\(Self.db) 5 IN SRV \($0 < 2 ? 0 : 2) 100 5432 \($1)\(Self.db)"
                }),
            DNSCase(
                "cluster-b.backend.app.svc.supercluster.local", .any,
                answer: addresses("cluster-b.\(Self.backend)", ["10.101.0.1"])),
            // Two plain RRsets: ANY holds both, not the first type's template.
            DNSCase(
                "cluster-a.frontend.app.svc.supercluster.local", .any,
                answer: addresses("cluster-a.frontend.app.svc.supercluster.local.", ["10.100.0.7", "fd00:100::7"])),
        ])
    }

    func testNamesWithoutSRV() {
        assertCases([
            // The unnamed port 8080 has no SRV name at all.
            DNSCase(
                "_8080._tcp.backend.app.svc.supercluster.local", .srv, rcode: .nxDomain, authority: [SOA.supercluster]),
            DNSCase(
                "_http._udp.backend.app.svc.supercluster.local", .srv, rcode: .nxDomain, authority: [SOA.supercluster]),
            DNSCase(
                "_ftp._tcp.backend.app.svc.supercluster.local", .srv, rcode: .nxDomain, authority: [SOA.supercluster]),
            // `_tcp.SVC` exists as an empty non-terminal above the SRV names.
            DNSCase("_tcp.backend.app.svc.supercluster.local", .srv, authority: [SOA.supercluster]),
            DNSCase("_tcp.backend.app.svc.supercluster.local", .a, authority: [SOA.supercluster]),
            DNSCase("_tcp.backend.app.global", .srv, authority: [SOA.global]),
            // An SRV name holds SRV only; the service name holds no SRV.
            DNSCase("_http._tcp.backend.app.svc.supercluster.local", .a, authority: [SOA.supercluster]),
            DNSCase("backend.app.svc.supercluster.local", .srv, authority: [SOA.supercluster]),
            // legacy has no port at all.
            DNSCase("_tcp.legacy.app.svc.supercluster.local", .srv, rcode: .nxDomain, authority: [SOA.supercluster]),
        ])
    }
}
