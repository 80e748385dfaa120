import DNSPipeline
import DNSWire
import ServiceRegistry
import XCTest

/// Which queries the pipeline hands to the upstream client (DESIGN.md section 4): only names outside every
/// zone of ours, under a `forward:` zone, the longest zone winning; everything else it answers itself.
final class ForwardRuleTests: XCTestCase {
    private static let processor: QueryProcessor = {
        var settings = PipelineFixture.settings()
        // supercluster.local is ours: a rule for it must never take its names away.
        settings.forwardZones = ["cluster.local.", "svc.cluster.local.", "in-addr.arpa.", "supercluster.local."].map {
            try! DNSName($0)
        }
        return PipelineFixture.processor(settings)
    }()

    private func outcome(_ name: String, _ type: RecordType = .a) -> (QueryOutcome, Message?) {
        var response: [UInt8] = []
        let outcome = TestQuery(name: name, type: type).wire.withUnsafeBytes {
            Self.processor.process($0, client: .pod, into: &response)
        }
        return (outcome, outcome == .respond ? try? Message(parsing: response) : nil)
    }

    func testTable() {
        let cases: [(name: String, type: RecordType, expected: QueryOutcome, rcode: RCode?)] = [
            ("kubernetes.default.svc.cluster.local", .a, .forward(ForwardPlan(rule: 1)), nil),
            ("db.prod.cluster.local", .a, .forward(ForwardPlan(rule: 0)), nil),
            ("CLUSTER.LOCAL", .soa, .forward(ForwardPlan(rule: 0)), nil),
            // Reverse names of registry addresses are ours; other reverse names go to the rule.
            ("10.0.0.240.in-addr.arpa", .ptr, .respond, .noError),
            ("4.3.2.1.in-addr.arpa", .ptr, .forward(ForwardPlan(rule: 2)), nil),
            // Our own zone: answered or denied here, never forwarded (no CoreDNS -> scdns -> CoreDNS loop).
            ("backend.app.svc.supercluster.local", .a, .respond, .noError),
            ("nothere.app.svc.supercluster.local", .a, .respond, .nxDomain),
            ("example.com", .a, .respond, .refused),
            ("local", .soa, .respond, .refused),
        ]
        for row in cases {
            let (outcome, message) = outcome(row.name, row.type)
            XCTAssertEqual(outcome, row.expected, row.name)
            XCTAssertEqual(message?.rcode, row.rcode, row.name)
        }
    }

    func testHeaderChecksComeBeforeForwarding() throws {
        // A client outside `allow:` is refused, not forwarded.
        var settings = PipelineFixture.settings(allow: ["192.0.2.0/24"])
        settings.forwardZones = [try DNSName("cluster.local.")]
        let processor = PipelineFixture.processor(settings)
        var response: [UInt8] = []
        let outcome = TestQuery(name: "a.cluster.local", type: .a).wire.withUnsafeBytes {
            processor.process($0, client: .pod, into: &response)
        }
        XCTAssertEqual(outcome, .respond)
        XCTAssertEqual(try Message(parsing: response).rcode, .refused)
    }
}
