import XCTest

@testable import DNSWire

final class TruncationTests: XCTestCase {
    private static func rrset(_ owner: String, count: Int, base: UInt32) -> [ResourceRecord] {
        (0..<count).map { ResourceRecord(name: dn(owner), ttl: 60, data: .a(IPv4Address(rawValue: base + UInt32($0)))) }
    }

    /// Two records of one 230-octet string each: about 490 octets, so it never fits next to much at 512.
    private static func bigTXT(_ owner: String) -> [ResourceRecord] {
        (0..<2).map { index in
            ResourceRecord(name: dn(owner), ttl: 60, data: .txt([[UInt8](repeating: 0x61 + UInt8(index), count: 230)]))
        }
    }

    private static let question = Question(name: dn("big.example"), type: .any)
    private static let aSet = rrset("a.example", count: 3, base: 0x0A00_0001)
    private static let cSet = rrset("c.example", count: 3, base: 0x0A00_0101)

    func testAnswersThatDoNotFitSetTCAndKeepWholeRRsets() {
        let message = Message(
            header: Fixtures.responseHeader, questions: [Self.question],
            answers: Self.aSet + Self.bigTXT("t.example") + Self.cSet,
            edns: EDNS(udpPayloadSize: 1232))
        let bytes = message.serialized(maxSize: 512)
        XCTAssertLessThanOrEqual(bytes.count, 512)
        guard let parsed = parseOrFail(bytes) else { return }
        XCTAssertTrue(parsed.header.truncated)
        XCTAssertEqual(parsed.answers, Self.aSet, "TXT dropped whole, and nothing after it")
        XCTAssertEqual(parsed.edns, message.edns, "OPT kept")
        XCTAssertEqual(parsed.questions, message.questions)
        XCTAssertFalse(parseOrFail(message.serialized())?.header.truncated ?? true)
    }

    /// At every size limit the answer section is a prefix of whole RRsets, TC says whether any was dropped,
    /// the OPT record is present and the output never exceeds the limit.
    func testEveryLimitKeepsWholeRRsetsOnly() {
        let sets = [Self.aSet, Self.bigTXT("t.example"), Self.cSet, Self.rrset("a.example", count: 1, base: 99)]
        let message = Message(
            header: Fixtures.responseHeader, questions: [Self.question], answers: sets.flatMap { $0 },
            edns: EDNS(udpPayloadSize: 1232, dnssecOK: true))
        let full = message.serialized()
        let floor = Message(header: message.header, questions: message.questions, edns: message.edns).serialized().count
        var kept = Set<Int>()
        for maxSize in floor...(full.count + 1) {
            let bytes = message.serialized(maxSize: maxSize)
            XCTAssertLessThanOrEqual(bytes.count, maxSize)
            guard let parsed = parseOrFail(bytes, "max \(maxSize)") else { return }
            let prefixes = (0...sets.count).map { sets.prefix($0).flatMap { $0 } }
            guard let setsKept = prefixes.firstIndex(of: parsed.answers) else {
                return XCTFail("max \(maxSize): answers are not whole RRsets: \(parsed.answers)")
            }
            kept.insert(setsKept)
            XCTAssertEqual(parsed.header.truncated, setsKept < sets.count, "max \(maxSize)")
            XCTAssertEqual(parsed.edns, message.edns)
        }
        XCTAssertEqual(kept, Set(0...sets.count), "every cut point was reached")
        XCTAssertEqual(message.serialized(maxSize: full.count), full, "an exact fit is not truncated")
    }

    func testAdditionalRecordsThatDoNotFitAreDroppedWithoutTC() {
        let glue = Self.rrset("ns.example", count: 1, base: 0x0A00_0201)
        let message = Message(
            header: Fixtures.responseHeader, questions: [Self.question], answers: Self.aSet,
            additional: Self.bigTXT("t.example") + glue, edns: EDNS(udpPayloadSize: 512))
        let bytes = message.serialized(maxSize: 512)
        XCTAssertLessThanOrEqual(bytes.count, 512)
        guard let parsed = parseOrFail(bytes) else { return }
        XCTAssertFalse(parsed.header.truncated)
        XCTAssertEqual(parsed.answers, Self.aSet)
        XCTAssertEqual(parsed.additional, glue, "the big RRset is skipped, the later one that fits is kept")
        XCTAssertNotNil(parsed.edns)
    }

    func testAuthorityThatDoesNotFitSetsTC() {
        let message = Message(
            header: Fixtures.responseHeader, questions: [Self.question], answers: Self.aSet,
            authority: Self.bigTXT("t.example"), additional: Self.cSet)
        let bytes = message.serialized(maxSize: 512)
        XCTAssertLessThanOrEqual(bytes.count, 512)
        guard let parsed = parseOrFail(bytes) else { return }
        XCTAssertTrue(parsed.header.truncated)
        XCTAssertEqual(parsed.answers, Self.aSet)
        XCTAssertEqual(parsed.authority, [])
        XCTAssertEqual(parsed.additional, [], "nothing after the truncation point")
        XCTAssertNil(parsed.edns)
    }

    /// Without EDNS no room is reserved: the limit is reached exactly.
    func testNoRoomReservedWithoutEDNS() {
        let message = Message(questions: [Self.question], answers: Self.aSet + Self.cSet)
        let full = message.serialized()
        let withoutC = Message(questions: [Self.question], answers: Self.aSet).serialized()
        XCTAssertEqual(message.serialized(maxSize: full.count), full)
        let cut = message.serialized(maxSize: full.count - 1)
        XCTAssertEqual(parseOrFail(cut)?.answers, Self.aSet)
        XCTAssertEqual(cut.count, withoutC.count)
        XCTAssertEqual(Array(cut[12...]), Array(withoutC[12...]))
    }

    /// A limit below header, question and OPT still yields them, with TC and no records.
    func testLimitBelowTheFloorKeepsHeaderQuestionAndOPT() {
        let message = Message(questions: [Self.question], answers: Self.aSet, edns: EDNS(udpPayloadSize: 1232))
        for maxSize in [0, 12, 20] {
            guard let parsed = parseOrFail(message.serialized(maxSize: maxSize)) else { continue }
            XCTAssertTrue(parsed.header.truncated)
            XCTAssertEqual(parsed.answers, [])
            XCTAssertEqual(parsed.questions, message.questions)
            XCTAssertEqual(parsed.edns, message.edns)
        }
    }

    func testCompressionTargetsOfDroppedRecordsAreNotReused() {
        // The TXT owner "t.example" is written and dropped; the additional A at "x.t.example" must not point
        // into the dropped octets.
        let later = Self.rrset("x.t.example", count: 1, base: 7)
        let message = Message(
            questions: [Self.question], additional: Self.bigTXT("t.example") + later + Self.bigTXT("u.example"))
        for maxSize in [100, 200, 512] {
            XCTAssertEqual(parseOrFail(message.serialized(maxSize: maxSize))?.additional, later, "max \(maxSize)")
        }
    }
}
