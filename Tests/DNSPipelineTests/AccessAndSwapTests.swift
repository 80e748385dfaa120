import DNSPipeline
import DNSWire
import ServiceRegistry
import XCTest

/// `allow:` and atomic snapshot replacement (DESIGN.md 5 and 7).
final class AccessAndSwapTests: XCTestCase {
    private static let backend = "backend.app.svc.supercluster.local"

    func testClientsOutsideAllowAreRefused() {
        let refused = [
            DNSCase(Self.backend, .a, rcode: .refused, aa: false),
            DNSCase("nope.supercluster.local", .a, rcode: .refused, aa: false),
            DNSCase("example.com", .a, rcode: .refused, aa: false),
        ]
        for client in ["203.0.113.9", "11.0.0.1", "2001:db8::1", "::2"] {
            assertCases(refused, client: .from(client))
            assertCases(refused, client: .from(client, .tcp))
        }
        let answered = DNSCase(
            Self.backend, .a, answer: addresses(Self.backend + ".", ["10.100.0.1", "10.101.0.1", "10.102.0.1"]))
        for client in ["127.0.0.1", "10.244.0.5", "172.31.255.255", "192.168.1.1", "::1", "fd00::53"] {
            assertCases([answered], client: .from(client))
        }
    }

    /// DESIGN.md section 5: an explicit empty list allows nobody, so a typo cannot open the server to the world.
    func testEmptyAllowAdmitsNobody() {
        let closed = PipelineFixture.processor(PipelineFixture.settings(allow: []))
        for client in ["127.0.0.1", "10.244.0.5", "203.0.113.9", "::1"] {
            assertCases(
                [DNSCase(Self.backend, .a, rcode: .refused, aa: false)], processor: closed, client: .from(client))
        }
    }

    func testTheWholeAddressSpaceAdmitsEveryone() {
        let open = PipelineFixture.processor(PipelineFixture.settings(allow: ["0.0.0.0/0", "::/0"]))
        for client in ["203.0.113.9", "2001:db8::1"] {
            assertCases(
                [
                    DNSCase(
                        Self.backend, .a,
                        answer: addresses(Self.backend + ".", ["10.100.0.1", "10.101.0.1", "10.102.0.1"]))
                ],
                processor: open, client: .from(client))
        }
    }

    func testRefusedClientKeepsEDNSAndID() throws {
        var query = TestQuery(name: Self.backend, type: .a, id: 0x7777)
        query.edns = EDNS(udpPayloadSize: 1232, dnssecOK: true)
        let bytes = try XCTUnwrap(PipelineFixture.shared.process(query.wire, client: .from("203.0.113.9")))
        let response = try Message(parsing: bytes)
        XCTAssertEqual(response.rcode, .refused)
        XCTAssertEqual(response.header.id, 0x7777)
        XCTAssertEqual(response.edns?.dnssecOK, true)
    }

    func testReplaceSwapsTheSnapshot() throws {
        let processor = PipelineFixture.processor()
        let before = [
            DNSCase(
                Self.backend, .a, answer: addresses(Self.backend + ".", ["10.100.0.1", "10.101.0.1", "10.102.0.1"])),
            DNSCase(
                "extra.app.svc.supercluster.local", .a, rcode: .nxDomain,
                authority: [PipelineFixture.SOA.supercluster]),
        ]
        assertCases(before, processor: processor)

        // cluster-b withdraws its export of backend and a new service appears.
        var services = PipelineFixture.services
        let index = try XCTUnwrap(services.firstIndex { $0.name == "backend" })
        services[index].clusters.removeAll { $0.cluster == "cluster-b" }
        services.append(
            Service(
                name: "extra", namespace: "app",
                clusters: [ClusterExport(locality: PipelineFixture.locality, addresses: [IPAddress("10.100.9.9")!])]))
        let next = PipelineFixture.snapshot(registry: PipelineFixture.registry(services, version: 8))
        processor.replace(with: next)
        XCTAssertTrue(processor.snapshot === next)
        XCTAssertEqual(processor.snapshot.registryVersion, 8)
        assertCases(
            [
                DNSCase(Self.backend, .a, answer: addresses(Self.backend + ".", ["10.100.0.1", "10.102.0.1"])),
                DNSCase(
                    "cluster-b.backend.app.svc.supercluster.local", .a, rcode: .nxDomain,
                    authority: [PipelineFixture.SOA.supercluster]),
                DNSCase(
                    "extra.app.svc.supercluster.local", .a,
                    answer: addresses("extra.app.svc.supercluster.local.", ["10.100.9.9"])),
                // The synthesized zone's serial follows the registry version.
                DNSCase(
                    "clusterset.local", .soa,
                    answer: [
                        "clusterset.local. 5 IN SOA ns.dns.clusterset.local. hostmaster.clusterset.local. "
                            + "8 7200 1800 86400 5"
                    ]),
            ], processor: processor)

        processor.replace(with: PipelineFixture.snapshot())
        assertCases(before, processor: processor)
    }

    /// Queries running while snapshots are swapped each see one whole snapshot: old or new answers, never a mix.
    func testConcurrentSwapsServeWholeSnapshots() throws {
        let processor = PipelineFixture.processor()
        var services = PipelineFixture.services
        let index = try XCTUnwrap(services.firstIndex { $0.name == "backend" })
        services[index].clusters.removeAll { $0.cluster != "cluster-c" }
        let snapshots = [
            PipelineFixture.snapshot(), PipelineFixture.snapshot(registry: PipelineFixture.registry(services)),
        ]
        let query = TestQuery(name: Self.backend, type: .a).wire
        let valid: Set<Int> = [1, 3]
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            for round in 0..<200 {
                if worker == 0 {
                    processor.replace(with: snapshots[round % 2])
                    continue
                }
                guard let bytes = processor.process(query, client: .pod), let response = try? Message(parsing: bytes)
                else {
                    XCTFail("no response")
                    return
                }
                XCTAssertTrue(valid.contains(response.answers.count), "\(response.answers.count) answers")
            }
        }
    }
}
