import XCTest

@testable import DNSWire

/// RDATA that does not match RDLENGTH or its type's layout.
final class MalformedRecordTests: XCTestCase {
    /// A response with the question "a.example" and one answer whose owner points at it; RDATA begins at 39.
    private func answer(type: UInt16, rdata: [UInt8], rdlength: Int? = nil) -> [UInt8] {
        var builder = WireBuilder(flags: 0x8000, qd: 1, an: 1)
        builder.question("a.example")
        let offsets = builder.record(owner: [0xC0, 12], type: type, rdlength: rdlength, rdata: rdata)
        XCTAssertEqual(offsets.rdata, 39)
        return builder.bytes
    }

    func testWellFormedAnswersParse() {
        let table: [(UInt16, [UInt8], RData)] = [
            (1, [192, 0, 2, 1], .a(IPv4Address(rawValue: 0xC000_0201))),
            (
                28, [0x20, 0x01, 0x0D, 0xB8] + [UInt8](repeating: 0, count: 11) + [1],
                .aaaa(IPv6Address(high: 0x2001_0DB8 << 32, low: 1))
            ),
            (2, [0xC0, 12], .ns(dn("a.example"))),
            (15, [0, 5, 2, 0x6D, 0x78, 0xC0, 14], .mx(preference: 5, exchange: dn("mx.example"))),
            (16, [0], .txt([[]])),
            (16, [1, 0x61, 0, 2, 0x62, 0x63], .txt([[0x61], [], [0x62, 0x63]])),
            (33, [0, 1, 0, 2, 0, 3, 0], .srv(SRVRecord(priority: 1, weight: 2, port: 3, target: .root))),
            (13, [1, 0x78, 1, 0x79], .unknown(type: .hinfo, data: [1, 0x78, 1, 0x79])),
            (65280, [], .unknown(type: RecordType(65280), data: [])),
        ]
        for (type, rdata, expected) in table {
            XCTAssertEqual(parseOrFail(answer(type: type, rdata: rdata))?.answers.first?.data, expected, "type \(type)")
        }
    }

    func testMalformedRData() {
        let soaNames = wire("ns.example") + wire("host.example")
        let table: [(String, [UInt8], DNSWireError)] = [
            ("RDATA beyond the message", answer(type: 1, rdata: [1, 2], rdlength: 4), .truncated(offset: 39)),
            ("opaque RDATA beyond the message", answer(type: 999, rdata: [1], rdlength: 300), .truncated(offset: 39)),
            ("record cut in its TTL", Array(answer(type: 1, rdata: [1, 2, 3, 4]).prefix(35)), .truncated(offset: 33)),
            ("record cut in RDLENGTH", Array(answer(type: 1, rdata: [1, 2, 3, 4]).prefix(38)), .truncated(offset: 37)),
            ("A with 3 octets", answer(type: 1, rdata: [1, 2, 3]), .badRData(type: 1, offset: 39)),
            ("A with 5 octets", answer(type: 1, rdata: [1, 2, 3, 4, 5]), .badRData(type: 1, offset: 39)),
            ("A with 0 octets", answer(type: 1, rdata: []), .badRData(type: 1, offset: 39)),
            (
                "AAAA with 15 octets", answer(type: 28, rdata: Array(repeating: 1, count: 15)),
                .badRData(type: 28, offset: 39)
            ),
            (
                "AAAA with 17 octets", answer(type: 28, rdata: Array(repeating: 1, count: 17)),
                .badRData(type: 28, offset: 39)
            ),
            (
                "NS name past RDLENGTH", answer(type: 2, rdata: wire("ns1.example"), rdlength: 6),
                .badRData(type: 2, offset: 39)
            ),
            (
                "NS name past RDLENGTH into octets that are no name",
                answer(type: 2, rdata: [1, 0x78, 0x80, 0], rdlength: 2), .badRData(type: 2, offset: 39)
            ),
            (
                "NS name shorter than RDLENGTH", answer(type: 2, rdata: wire("ns1.example") + [0]),
                .badRData(type: 2, offset: 39)
            ),
            ("CNAME empty", answer(type: 5, rdata: []), .badRData(type: 5, offset: 39)),
            ("PTR with a 0x80 label", answer(type: 12, rdata: [0x80, 0]), .badLabelType(offset: 39)),
            ("NS with a forward pointer", answer(type: 2, rdata: [0xC0, 60]), .badPointer(offset: 39)),
            (
                "SOA missing MINIMUM", answer(type: 6, rdata: soaNames + Array(repeating: 0, count: 16)),
                .badRData(type: 6, offset: 39)
            ),
            ("SOA names only", answer(type: 6, rdata: soaNames), .badRData(type: 6, offset: 39)),
            ("SOA one name", answer(type: 6, rdata: wire("ns.example")), .badRData(type: 6, offset: 39)),
            (
                "SOA with extra octet", answer(type: 6, rdata: soaNames + Array(repeating: 0, count: 21)),
                .badRData(type: 6, offset: 39)
            ),
            ("TXT string overrunning", answer(type: 16, rdata: [5, 0x61, 0x62]), .badRData(type: 16, offset: 39)),
            (
                "TXT second string overrunning", answer(type: 16, rdata: [1, 0x61, 2, 0x62]),
                .badRData(type: 16, offset: 39)
            ),
            ("TXT with no string", answer(type: 16, rdata: []), .badRData(type: 16, offset: 39)),
            ("MX missing exchange", answer(type: 15, rdata: [0, 10]), .badRData(type: 15, offset: 39)),
            ("MX one octet", answer(type: 15, rdata: [0]), .badRData(type: 15, offset: 39)),
            (
                "MX exchange past RDLENGTH", answer(type: 15, rdata: [0, 10] + wire("mx.example"), rdlength: 5),
                .badRData(type: 15, offset: 39)
            ),
            ("SRV five octets", answer(type: 33, rdata: [0, 1, 0, 2, 0]), .badRData(type: 33, offset: 39)),
            ("SRV missing target", answer(type: 33, rdata: [0, 1, 0, 2, 0, 3]), .badRData(type: 33, offset: 39)),
        ]
        for (label, bytes, expected) in table {
            assertParseError(bytes, expected, label)
        }
    }

    /// A name in RDATA that RDLENGTH cuts off must not be completed from the next record's octets.
    func testRDataNameIsBoundedByRDLength() {
        var builder = WireBuilder(an: 2)
        // RDLENGTH 2 covers only "\001x"; the root label that would end the name belongs to the next record.
        builder.record(owner: [0], type: 2, rdlength: 2, rdata: [1, 0x78])
        builder.record(owner: [0], type: 1, rdata: [1, 2, 3, 4])
        assertParseError(builder.bytes, .badRData(type: 2, offset: 23))
    }

    /// A type code above 255 with a name-like RDATA stays opaque: no decompression, no validation.
    func testUnknownTypesAreOpaque() {
        let rdata: [UInt8] = [0xC0, 0xFF, 0x40, 0x00]
        XCTAssertEqual(
            parseOrFail(answer(type: 4000, rdata: rdata))?.answers.first?.data,
            .unknown(type: RecordType(4000), data: rdata))
    }
}
