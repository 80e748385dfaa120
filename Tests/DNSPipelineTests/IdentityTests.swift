import DNSPipeline
import DNSWire
import ServiceRegistry
import XCTest

/// The instance's identity (DESIGN.md section 1): CHAOS `id.server`/`hostname.bind` and `version.server`/
/// `version.bind` TXT as NSD and Knot answer them, `hide` as REFUSED, and NSID (RFC 5001) on every kind of answer.
final class IdentityTests: XCTestCase {
    private static func processor(
        identity: String? = "scdns-7f9c", version: String? = "scdns 0.11.0"
    )
        -> QueryProcessor
    {
        var settings = PipelineFixture.settings()
        settings.identity = identity
        settings.version = version
        return PipelineFixture.processor(settings)
    }

    func testChaosNamesAnswerIdentityAndVersion() {
        let processor = Self.processor()
        assertCases(
            [
                DNSCase("id.server", .txt, qclass: .ch, answer: [#"id.server. 0 CH TXT "scdns-7f9c""#]),
                DNSCase("hostname.bind", .txt, qclass: .ch, answer: [#"hostname.bind. 0 CH TXT "scdns-7f9c""#]),
                DNSCase("version.server", .txt, qclass: .ch, answer: [#"version.server. 0 CH TXT "scdns 0.11.0""#]),
                DNSCase("version.bind", .txt, qclass: .ch, answer: [#"version.bind. 0 CH TXT "scdns 0.11.0""#]),
                // Case is echoed as asked (0x20), ANY gets the TXT too.
                DNSCase("ID.Server", .txt, qclass: .ch, answer: [#"ID.Server. 0 CH TXT "scdns-7f9c""#]),
                DNSCase("version.bind", .any, qclass: .ch, answer: [#"version.bind. 0 CH TXT "scdns 0.11.0""#]),
                // The name exists, the type does not: NODATA.
                DNSCase("id.server", .a, qclass: .ch),
                // No other CHAOS name, and no IN class version of these.
                DNSCase("authors.bind", .txt, qclass: .ch, rcode: .refused, aa: false),
                DNSCase("id.server", .txt, rcode: .refused, aa: false),
            ], processor: processor)
    }

    func testHiddenValuesAreRefused() {
        let processor = Self.processor(identity: nil, version: nil)
        assertCases(
            [
                DNSCase("id.server", .txt, qclass: .ch, rcode: .refused, aa: false),
                DNSCase("hostname.bind", .txt, qclass: .ch, rcode: .refused, aa: false),
                DNSCase("version.server", .txt, qclass: .ch, rcode: .refused, aa: false),
                DNSCase("version.bind", .txt, qclass: .ch, rcode: .refused, aa: false),
            ], processor: processor)
        let onlyVersionHidden = Self.processor(version: nil)
        assertCases(
            [
                DNSCase("id.server", .txt, qclass: .ch, answer: [#"id.server. 0 CH TXT "scdns-7f9c""#]),
                DNSCase("version.bind", .txt, qclass: .ch, rcode: .refused, aa: false),
            ], processor: onlyVersionHidden)
    }

    func testChaosIsRefusedOutsideAllow() throws {
        let query = TestQuery(name: "id.server", type: .txt, qclass: .ch)
        let response = try XCTUnwrap(
            exchange(query.wire, with: Self.processor(), client: .from("203.0.113.9")))
        XCTAssertEqual(response.rcode, .refused)
        XCTAssertEqual(response.answers, [])
    }

    /// NSID is the identity on every answer that had an OPT with an NSID option, whatever the RCODE; never
    /// without the option, never when the identity is hidden.
    func testNSIDNamesTheInstanceWhenAsked() throws {
        let processor = Self.processor()
        let nsid = EDNSOption(code: EDNSOption.nsidCode, data: [])
        let asked = EDNS(udpPayloadSize: 1232, options: [nsid])
        let names: [(String, RecordType, RCode)] = [
            ("backend.app.svc.supercluster.local", .a, .noError),
            ("nothere.app.svc.supercluster.local", .a, .nxDomain),
            ("backend.app.svc.supercluster.local", .aaaa, .noError),
            ("example.org", .a, .refused),
            ("id.server", .txt, .noError),
        ]
        for (name, type, rcode) in names {
            var query = TestQuery(name: name, type: type, qclass: name == "id.server" ? .ch : .in, edns: asked)
            var response = try XCTUnwrap(exchange(query.wire, with: processor))
            XCTAssertEqual(response.rcode, rcode, name)
            XCTAssertEqual(
                response.edns?.options, [EDNSOption(code: EDNSOption.nsidCode, data: Array("scdns-7f9c".utf8))],
                "\(name) \(type)")
            query.edns = EDNS(udpPayloadSize: 1232)
            response = try XCTUnwrap(exchange(query.wire, with: processor))
            XCTAssertEqual(response.edns?.options, [], "\(name): no NSID unless asked")
        }
        let hidden = Self.processor(identity: nil)
        let query = TestQuery(name: "backend.app.svc.supercluster.local", type: .a, edns: asked)
        let response = try XCTUnwrap(exchange(query.wire, with: hidden))
        XCTAssertEqual(response.edns?.options, [], "a hidden identity sends no NSID")
        XCTAssertEqual(response.answers.count, 3)
    }

    /// NSID beside an echoed ECS option, with an identity long enough that the OPT's RDLENGTH needs its high octet.
    func testNSIDBesideClientSubnetWithALongIdentity() throws {
        let identity = String(repeating: "n", count: 255)
        let processor = Self.processor(identity: identity)
        let ecs = LocalityFixture.ecs("10.1.2.0/24")
        let query = TestQuery(
            name: "backend.app.svc.supercluster.local", type: .a,
            edns: EDNS(udpPayloadSize: 1232, options: [EDNSOption(code: EDNSOption.nsidCode, data: []), ecs]))
        let response = try XCTUnwrap(exchange(query.wire, with: processor))
        let options = try XCTUnwrap(response.edns?.options)
        XCTAssertEqual(options.count, 2)
        XCTAssertEqual(options.first { $0.code == EDNSOption.nsidCode }?.data, Array(identity.utf8))
        XCTAssertEqual(options.first { $0.code == EDNSOption.clientSubnetCode }?.data.count, 7)
        XCTAssertEqual(response.answers.count, 3)
    }
}
