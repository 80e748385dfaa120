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

    /// The longest identity and version the config takes: one 255-octet string, RDLENGTH 256.
    func testTheLongestValuesAnswer() throws {
        let long = String(repeating: "v", count: 255)
        let processor = Self.processor(identity: long, version: long)
        for name in ["id.server", "version.bind"] {
            let query = TestQuery(name: name, type: .txt, qclass: .ch)
            let response = try XCTUnwrap(exchange(query.wire, with: processor))
            XCTAssertEqual(response.answers.map(\.data), [.txt([Array(long.utf8)])], name)
        }
    }

    /// NSID is left out rather than push a reply past the client's EDNS size: it must never truncate an answer.
    func testNSIDIsLeftOutWhenItWouldNotFitTheClientsSize() throws {
        let processor = Self.processor(identity: String(repeating: "n", count: 255))
        let nsid = EDNSOption(code: EDNSOption.nsidCode, data: [])
        let longName =
            (0..<3).map { _ in String(repeating: "x", count: 60) }.joined(separator: ".")
            + ".app.svc.supercluster.local"
        // What fits 512 octets: a short answer with the 259 octets of NSID does; a long name's NXDOMAIN (the name
        // twice, in the question and the SOA's owner pointer, and the SOA) or a 255-octet TXT with it does not.
        let rows: [(name: String, type: RecordType, qclass: RecordClass, fitsIn512: Bool, line: UInt)] = [
            (longName, .a, .in, false, #line),
            ("id.server", .txt, .ch, false, #line),
            ("backend.app.svc.supercluster.local", .a, .in, true, #line),
        ]
        for row in rows {
            for size: UInt16 in [512, 1232] {
                let query = TestQuery(
                    name: row.name, type: row.type, qclass: row.qclass,
                    edns: EDNS(udpPayloadSize: size, options: [nsid]))
                let bytes = try XCTUnwrap(processor.process(query.wire, client: .pod))
                let response = try Message(parsing: bytes)
                XCTAssertLessThanOrEqual(bytes.count, Int(size), "at \(size)", line: row.line)
                XCTAssertFalse(response.header.truncated, "at \(size)", line: row.line)
                XCTAssertFalse(response.answers.isEmpty && response.rcode == .noError, line: row.line)
                let carried = response.edns?.options.contains { $0.code == EDNSOption.nsidCode } ?? false
                XCTAssertEqual(carried, size == 1232 || row.fitsIn512, "at \(size): \(bytes.count)", line: row.line)
            }
        }
    }
}
