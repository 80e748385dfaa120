import DNSPipeline
import DNSWire
import XCTest

/// Response size limits: 512 octets without EDNS, the client's EDNS size capped by `udpPayloadLimit` (1232), no
/// limit over TCP; whole RRsets dropped with TC=1 when they do not fit (RFC 1035 4.2.1, RFC 6891, RFC 2181 9).
final class TruncationTests: XCTestCase {
    private let processor = PipelineFixture.shared
    private static let wide = "wide.app.svc.supercluster.local"
    private static let crowd = "crowd.app.svc.supercluster.local"

    private func send(
        _ name: String, _ type: RecordType, payload: UInt16? = nil, transport: ClientContext.Transport = .udp
    ) throws -> (Message, Int) {
        var query = TestQuery(name: name, type: type)
        query.edns = payload.map { EDNS(udpPayloadSize: $0) }
        let bytes = try XCTUnwrap(processor.process(query.wire, client: .from("10.244.0.5", transport)))
        return (try Message(parsing: bytes), bytes.count)
    }

    func testUDPWithoutEDNSIsCutAt512() throws {
        let (response, size) = try send(Self.wide, .aaaa)
        XCTAssertLessThanOrEqual(size, 512)
        XCTAssertTrue(response.header.truncated)
        XCTAssertTrue(response.header.authoritative)
        XCTAssertEqual(response.rcode, .noError)
        XCTAssertEqual(response.header.id, 0xBEEF)
        XCTAssertTrue(response.header.recursionDesired)
        XCTAssertEqual(response.questions, [Question(name: try DNSName(Self.wide), type: .aaaa)])
        // The RRset does not fit whole, so none of it is sent (RFC 2181 9).
        XCTAssertEqual(response.answers, [])
        XCTAssertNil(response.edns)
    }

    func testSmallAnswersAreNotTruncated() throws {
        let (response, size) = try send("backend.app.svc.supercluster.local", .a)
        XCTAssertLessThanOrEqual(size, 512)
        XCTAssertFalse(response.header.truncated)
        XCTAssertEqual(response.answers.count, 3)
    }

    func testEDNSAllowsTheFullAnswerUpToTheCap() throws {
        for payload: UInt16 in [1232, 4096, 65535] {
            let (response, size) = try send(Self.wide, .aaaa, payload: payload)
            XCTAssertGreaterThan(size, 512)
            XCTAssertLessThanOrEqual(size, 1232)
            XCTAssertFalse(response.header.truncated, "\(payload)")
            // The 40 exports share one tier, so the weighted rotation picks the first: any rotation, all 40.
            XCTAssertTrue(
                isRotation(response.answers.map(\.description), of: BigServices.wideAnswer), "\(payload)")
            XCTAssertEqual(response.edns?.udpPayloadSize, 1232)
        }
    }

    func testEDNSBelow512StillGets512() throws {
        let (response, size) = try send("backend.app.svc.supercluster.local", .a, payload: 100)
        XCTAssertFalse(response.header.truncated)
        XCTAssertEqual(response.answers.count, 3)
        XCTAssertLessThanOrEqual(size, 512)
        let (wide, wideSize) = try send(Self.wide, .aaaa, payload: 100)
        XCTAssertTrue(wide.header.truncated)
        XCTAssertLessThanOrEqual(wideSize, 512)
    }

    func testOverTheCapIsTruncatedEvenWithEDNS() throws {
        let (response, size) = try send(Self.crowd, .a, payload: 4096)
        XCTAssertLessThanOrEqual(size, 1232)
        XCTAssertTrue(response.header.truncated)
        XCTAssertEqual(response.answers, [])
        let edns = try XCTUnwrap(response.edns, "OPT is kept when truncating (RFC 6891 7)")
        XCTAssertEqual(edns.udpPayloadSize, 1232)
    }

    func testTruncatedResponseEchoesCaseAndDO() throws {
        var query = TestQuery(name: "WIDE.app.svc.SuperCluster.local", type: .aaaa, id: 0x0102)
        query.recursionDesired = false
        query.edns = EDNS(udpPayloadSize: 512, dnssecOK: true)
        let bytes = try XCTUnwrap(processor.process(query.wire, client: .pod))
        let response = try Message(parsing: bytes)
        XCTAssertLessThanOrEqual(bytes.count, 512)
        XCTAssertTrue(response.header.truncated)
        XCTAssertEqual(response.header.id, 0x0102)
        XCTAssertFalse(response.header.recursionDesired)
        XCTAssertTrue(response.questions.first?.name.isIdentical(to: try DNSName(query.name)) ?? false)
        XCTAssertEqual(response.questions.first?.type, .aaaa)
        XCTAssertEqual(response.edns?.dnssecOK, true)
    }

    func testTCPGetsEverything() throws {
        let (wide, _) = try send(Self.wide, .aaaa, transport: .tcp)
        XCTAssertFalse(wide.header.truncated)
        XCTAssertTrue(isRotation(wide.answers.map(\.description), of: BigServices.wideAnswer))
        for payload: UInt16? in [nil, 4096] {
            let (crowd, size) = try send(Self.crowd, .a, payload: payload, transport: .tcp)
            XCTAssertGreaterThan(size, 1232)
            XCTAssertFalse(crowd.header.truncated)
            XCTAssertEqual(crowd.answers.map(\.description), BigServices.crowdAnswer)
        }
    }

    /// An additional section that does not fit is left out without TC: nothing asked for is missing.
    func testAdditionalSectionIsDroppedFirst() throws {
        let (response, size) = try send("_http._tcp.wide.app.svc.supercluster.local", .srv)
        XCTAssertLessThanOrEqual(size, 512)
        XCTAssertFalse(response.header.truncated)
        XCTAssertEqual(
            response.answers.map(\.description),
            ["_http._tcp.wide.app.svc.supercluster.local. 5 IN SRV 0 100 80 wide.app.svc.supercluster.local."])
        XCTAssertEqual(response.additional, [])
        let (full, _) = try send("_http._tcp.wide.app.svc.supercluster.local", .srv, transport: .tcp)
        XCTAssertEqual(full.additional.map(\.description), BigServices.wideAnswer)
    }
}

/// True when `actual` is `expected` rotated: the same records in the same cyclic order, starting anywhere.
func isRotation(_ actual: [String], of expected: [String]) -> Bool {
    guard actual.count == expected.count, let first = actual.first, let start = expected.firstIndex(of: first) else {
        return actual.isEmpty && expected.isEmpty
    }
    return actual == Array(expected[start...] + expected[..<start])
}
