import XCTest

@testable import DNSWire

final class MessageRoundTripTests: XCTestCase {
    /// Messages that must survive serialize-then-parse unchanged, compressed or not.
    static var cases: [(String, Message)] {
        let question = Question(name: dn("www.example.com"), type: .a)
        let allFlags = Header(
            id: 0xFFFF, isResponse: true, opcode: .notify, authoritative: true, truncated: true,
            recursionDesired: true, recursionAvailable: true, zero: true, authenticData: true, checkingDisabled: true)
        return [
            ("empty", Message()),
            ("query", Fixtures.query),
            ("full response", Fixtures.fullResponse),
            (
                "full response without EDNS, NXDOMAIN",
                {
                    var message = Fixtures.fullResponse
                    message.edns = nil
                    message.rcode = .nxDomain
                    return message
                }()
            ),
            ("BADVERS", Fixtures.badVers),
            ("largest RCODE", Message(rcode: RCode(0xFFF), questions: [question], edns: EDNS())),
            ("every header flag", Message(header: allFlags, rcode: .refused, questions: [question])),
            ("opcode 15", Message(header: Header(opcode: Opcode(15)), questions: [question])),
            ("EDNS version 1, other Z flags", Message(edns: EDNS(udpPayloadSize: 512, version: 1, otherFlags: 0x7FFF))),
            ("EDNS payload 65535", Message(edns: EDNS(udpPayloadSize: 65535, dnssecOK: true))),
            ("EDNS payload 0", Message(edns: EDNS(udpPayloadSize: 0))),
            (
                "two questions",
                Message(questions: [question, Question(name: dn("Example.NET"), type: RecordType(999))])
            ),
            ("awkward names", Fixtures.awkwardNames),
            ("chaos class", Fixtures.chaos),
        ]
    }

    func testRoundTripsCompressedAndUncompressed() {
        for (label, message) in Self.cases {
            for compress in [true, false] {
                let bytes = message.serialized(compress: compress)
                guard let parsed = parseOrFail(bytes, label) else { continue }
                XCTAssertEqual(parsed, message, "\(label), compress: \(compress)")
                XCTAssertEqual(parsed.rcode, message.rcode, label)
                XCTAssertEqual(parsed.edns, message.edns, label)
            }
        }
    }

    func testEveryTypeRoundTripsAloneInEverySection() {
        for record in Fixtures.everyType {
            for section in 0..<3 {
                var message = Message(header: Fixtures.responseHeader, edns: EDNS())
                switch section {
                case 0: message.answers = [record]
                case 1: message.authority = [record]
                default: message.additional = [record]
                }
                let bytes = message.serialized()
                XCTAssertEqual(
                    bytes[6...11].map { $0 },
                    [0, section == 0 ? 1 : 0, 0, section == 1 ? 1 : 0, 0, section == 2 ? 2 : 1])
                XCTAssertEqual(parseOrFail(bytes), message, "\(record) in section \(section)")
            }
        }
    }

    /// Found by the fuzz corpus (Fuzz/corpus/wire/tsig-opt): a signed message with EDNS parsed, but serialized
    /// the OPT after the TSIG, which must stay last (RFC 8945 5.1), so its own bytes no longer parsed.
    func testATSIGStaysLastAfterTheOPT() throws {
        let tsig = ResourceRecord(
            name: dn("key.example"), rrClass: .any, ttl: 0,
            data: .unknown(
                type: .tsig, data: dn("hmac-sha256").wire + [0, 0, 1, 2, 3, 4, 1, 44, 0, 0, 0, 7, 0, 0, 0, 0]))
        let message = Message(
            header: Header(id: 7), questions: [Question(name: dn("a.example"), type: .a)],
            additional: [ResourceRecord(name: dn("x.example"), ttl: 5, data: .a(IPv4Address(rawValue: 1))), tsig],
            edns: EDNS(udpPayloadSize: 1232))
        let bytes = message.serialized()
        let parsed = try Message(parsing: bytes)
        XCTAssertEqual(parsed.additional.last, tsig)
        XCTAssertEqual(parsed.edns, message.edns)
        XCTAssertEqual(try Message(parsing: parsed.serialized()), parsed)
        // Truncated, the TSIG is kept as the OPT is.
        let cut = try Message(parsing: message.serialized(maxSize: bytes.count - 1))
        XCTAssertEqual(cut.additional, [tsig])
    }

    func testHeaderCountsMatchSections() {
        let message = Fixtures.fullResponse
        let bytes = message.serialized()
        let count = UInt16(Fixtures.everyType.count)
        XCTAssertEqual(u16(bytes, at: 0), 0xBEEF)
        XCTAssertEqual(u16(bytes, at: 4), 1)
        XCTAssertEqual(u16(bytes, at: 6), count)
        XCTAssertEqual(u16(bytes, at: 8), count)
        XCTAssertEqual(u16(bytes, at: 10), count + 1, "additional plus OPT")
    }

    func testHeaderFlagBitsOnTheWire() {
        let header = Header(id: 7, isResponse: true, opcode: Opcode(5), authoritative: true, checkingDisabled: true)
        let bytes = Message(header: header, rcode: .nxDomain).serialized()
        XCTAssertEqual(u16(bytes, at: 2), 0x8000 | 5 << 11 | 0x0400 | 0x0010 | 3)
        XCTAssertEqual(Header(id: 7, flags: u16(bytes, at: 2)), header)
    }

    /// Parsing then serializing again gives the same octets: compression is deterministic and the case
    /// borrowed from pointer targets comes back out the same way.
    func testReserializingParsedBytesIsIdentical() {
        for (label, message) in Self.cases {
            let bytes = message.serialized()
            XCTAssertEqual(parseOrFail(bytes, label)?.serialized(), bytes, label)
        }
    }

    func testNamesKeepTheirCaseWhileEqualityIgnoresIt() {
        let mixed = dn("wWw.ExAmPlE.cOm")
        let message = Message(
            questions: [Question(name: mixed, type: .a)],
            answers: [
                ResourceRecord(name: dn("MAIL.example.COM"), ttl: 1, data: .cname(dn("Target.Example.Org"))),
                ResourceRecord(name: dn("Target.Example.Org"), ttl: 1, data: .mx(preference: 1, exchange: mixed)),
            ])
        func names(_ message: Message) -> [DNSName] {
            var result = [message.questions[0].name, message.answers[0].name, message.answers[1].name]
            if case .cname(let target) = message.answers[0].data { result.append(target) }
            if case .mx(_, let exchange) = message.answers[1].data { result.append(exchange) }
            return result
        }
        guard let compressed = parseOrFail(message.serialized()),
            let plain = parseOrFail(message.serialized(compress: false))
        else { return }
        XCTAssertEqual(compressed, message)
        XCTAssertEqual(plain, message)
        // Uncompressed, every name comes back octet for octet.
        XCTAssertEqual(names(plain).map(\.wire), names(message).map(\.wire))
        // Compressed, names written in full keep their case; a compressed suffix takes its target's case.
        XCTAssertTrue(compressed.questions[0].name.isIdentical(to: mixed))
        XCTAssertEqual(names(compressed)[3].description, "Target.Example.Org.")
        XCTAssertEqual(names(compressed)[1].description, "MAIL.ExAmPlE.cOm.")

        var lower = message
        lower.questions[0].name = dn("www.example.com")
        lower.answers[0].name = dn("mail.example.com")
        XCTAssertEqual(lower, message)
        XCTAssertEqual(lower.hashValue, message.hashValue)
        XCTAssertEqual(Set([lower, message]).count, 1)
        XCTAssertNotEqual(lower.serialized(compress: false), message.serialized(compress: false))
    }

    /// Metric labels and logs name the RCODEs a server meets (RFC 1035, 2136, 6891); the rest by number.
    func testRCodeNames() {
        let names = (0...10).map { RCode(UInt16($0)).description } + [RCode.badVers.description, RCode(11).description]
        XCTAssertEqual(
            names,
            [
                "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN", "YXRRSET", "NXRRSET",
                "NOTAUTH", "NOTZONE", "BADVERS", "RCODE11",
            ])
    }
}
