import DNSPipeline
import DNSWire
import ServiceRegistry
import XCTest

/// The knobs of `PipelineSettings` that change answers: maxAnswers, zones, the UDP payload limit.
final class SettingsTests: XCTestCase {
    private typealias SOA = PipelineFixture.SOA
    private static let backend = "backend.app.svc.supercluster.local"
    private static let allBackend = addresses(backend + ".", ["10.100.0.1", "10.101.0.1", "10.102.0.1"])

    private func processor(_ change: (inout PipelineSettings) -> Void) -> QueryProcessor {
        var settings = PipelineFixture.settings()
        change(&settings)
        return PipelineFixture.processor(settings)
    }

    /// `maxAnswers: 1` is Lighthouse's one-cluster behaviour: the nearest healthy cluster only.
    func testMaxAnswersTruncatesAfterOrdering() {
        let one = processor { $0.maxAnswers = 1 }
        assertCases(
            [
                DNSCase(Self.backend, .a, answer: addresses(Self.backend + ".", ["10.100.0.1"])),
                DNSCase(
                    "legacy.app.svc.supercluster.local", .a,
                    answer: addresses("legacy.app.svc.supercluster.local.", ["10.101.0.40"])),
                DNSCase(
                    "db.app.svc.supercluster.local", .a,
                    answer: addresses("db.app.svc.supercluster.local.", ["10.100.1.10"])),
                // Per-cluster names are not cut.
                DNSCase(
                    "cluster-a.db.app.svc.supercluster.local", .a,
                    answer: addresses("cluster-a.db.app.svc.supercluster.local.", ["10.100.1.10", "10.100.1.11"])),
            ], processor: one)
        let two = processor { $0.maxAnswers = 2 }
        assertCases(
            [DNSCase(Self.backend, .a, answer: addresses(Self.backend + ".", ["10.100.0.1", "10.101.0.1"]))],
            processor: two)
    }

    func testWithoutGlobalZoneIstioNamesAreRefused() {
        let noGlobal = processor { $0.globalZone = nil }
        assertCases(
            [
                DNSCase("backend.app.global", .a, rcode: .refused, aa: false),
                DNSCase("global", .soa, rcode: .refused, aa: false),
                DNSCase(Self.backend, .a, answer: Self.allBackend),
            ], processor: noGlobal)
    }

    /// PTR targets live in the first service zone.
    func testFirstServiceZoneNamesPTRTargets() throws {
        let reordered = processor {
            $0.serviceZones = [try! DNSName("clusterset.local"), try! DNSName("supercluster.local")]
        }
        assertCases(
            [
                DNSCase(
                    "10.0.0.240.in-addr.arpa", .ptr,
                    answer: ["10.0.0.240.in-addr.arpa. 5 IN PTR api.app.svc.clusterset.local."]),
                DNSCase(
                    "10.1.100.10.in-addr.arpa", .ptr,
                    answer: ["10.1.100.10.in-addr.arpa. 5 IN PTR db-0.cluster-a.db.app.svc.clusterset.local."]),
            ], processor: reordered)
    }

    func testOnlyConfiguredServiceZonesAnswer() {
        let single = processor { $0.serviceZones = [try! DNSName("supercluster.local")] }
        assertCases(
            [
                DNSCase("backend.app.svc.clusterset.local", .a, rcode: .refused, aa: false),
                DNSCase(Self.backend, .a, answer: Self.allBackend),
            ], processor: single)
    }

    /// A larger `limits.udpPayload` lets EDNS clients receive more over UDP, and is what our OPT advertises.
    func testLargerUDPPayloadLimit() throws {
        let large = processor { $0.udpPayloadLimit = 4096 }
        var query = TestQuery(name: "crowd.app.svc.supercluster.local", type: .a)
        query.edns = EDNS(udpPayloadSize: 4096)
        let bytes = try XCTUnwrap(large.process(query.wire, client: .pod))
        let response = try Message(parsing: bytes)
        XCTAssertGreaterThan(bytes.count, 1232)
        XCTAssertFalse(response.header.truncated)
        XCTAssertEqual(response.answers.map(\.description), BigServices.crowdAnswer)
        XCTAssertEqual(response.edns?.udpPayloadSize, 4096)
    }

    /// The settings are public and not re-validated: an out-of-range limit must not trap on the truncation path.
    func testOversizedUDPPayloadLimitDoesNotTrap() throws {
        let huge = processor { $0.udpPayloadLimit = 100_000 }
        var query = TestQuery(name: "crowd.app.svc.supercluster.local", type: .a)
        query.edns = EDNS(udpPayloadSize: 1232)
        let bytes = try XCTUnwrap(huge.process(query.wire, client: .pod))
        let response = try Message(parsing: bytes)
        XCTAssertLessThanOrEqual(bytes.count, 1232)
        XCTAssertTrue(response.header.truncated)
        XCTAssertEqual(response.edns?.udpPayloadSize, 65535)
    }
}
