import XCTest

@testable import DNSWire

/// OPT placement, EDNS options, trailing octets and section counts that lie.
final class MalformedMessageTests: XCTestCase {
    /// A query for "a.example" (question 12..<27) with the given counts after it.
    private func query(an: UInt16 = 0, ns: UInt16 = 0, ar: UInt16 = 0) -> WireBuilder {
        var builder = WireBuilder(qd: 1, an: an, ns: ns, ar: ar)
        builder.question("a.example")
        return builder
    }

    func testOPTPlacement() {
        var table: [(String, [UInt8], DNSWireError)] = []
        var builder = query(ar: 2)
        builder.record(owner: [0], type: 41, rrClass: 1232, rdata: [])
        let second = builder.record(owner: [0], type: 41, rrClass: 1232, rdata: []).start
        table.append(("two OPT records", builder.bytes, .badOPT(offset: second)))

        builder = query(an: 1)
        builder.record(owner: [0], type: 41, rrClass: 1232, rdata: [])
        table.append(("OPT in the answer section", builder.bytes, .badOPT(offset: 27)))

        builder = query(ns: 1)
        builder.record(owner: [0], type: 41, rrClass: 1232, rdata: [])
        table.append(("OPT in the authority section", builder.bytes, .badOPT(offset: 27)))

        builder = query(ar: 1)
        builder.record(owner: wire("a.example"), type: 41, rrClass: 1232, rdata: [])
        table.append(("OPT with a non-root owner", builder.bytes, .badOPT(offset: 27)))

        builder = query(ar: 1)
        builder.record(owner: [0xC0, 14], type: 41, rrClass: 1232, rdata: [])
        table.append(("OPT owned by a compressed non-root name", builder.bytes, .badOPT(offset: 27)))

        for (label, bytes, expected) in table {
            assertParseError(bytes, expected, label)
        }
    }

    func testEDNSOptionsOverrunningTheirOPT() {
        // The OPT record starts at 27 and its RDATA at 38.
        let table: [(String, [UInt8], Int?, DNSWireError)] = [
            ("option data past RDLENGTH", [0, 10, 0, 4, 1, 2], nil, .badEDNSOption(offset: 38)),
            ("option header cut", [0, 10, 0], nil, .badEDNSOption(offset: 38)),
            ("second option data past RDLENGTH", [0, 3, 0, 0, 0, 8, 0, 5, 1], nil, .badEDNSOption(offset: 42)),
            ("second option header cut", [0, 3, 0, 0, 0, 8], nil, .badEDNSOption(offset: 42)),
            (
                "option running into the next record", [0, 10, 0, 4, 1, 2] + wire("x") + [0, 1], 6,
                .badEDNSOption(offset: 38)
            ),
            ("RDLENGTH past the message", [0, 10, 0, 0], 40, .truncated(offset: 38)),
        ]
        for (label, rdata, rdlength, expected) in table {
            var builder = query(ar: 1)
            let offsets = builder.record(owner: [0], type: 41, rrClass: 1232, rdlength: rdlength, rdata: rdata)
            XCTAssertEqual(offsets.rdata, 38)
            assertParseError(builder.bytes, expected, label)
        }
    }

    func testTrailingBytes() {
        let valid = Fixtures.fullResponse.serialized()
        XCTAssertNotNil(parseOrFail(valid))
        assertParseError(valid + [0], .trailingBytes(offset: valid.count))
        assertParseError(valid + Array(valid.prefix(12)), .trailingBytes(offset: valid.count))
        let header = WireBuilder().bytes
        assertParseError(header + [0], .trailingBytes(offset: 12))
        // A record the counts do not announce is trailing too.
        var builder = query()
        builder.record(owner: [0xC0, 12], type: 1, rdata: [1, 2, 3, 4])
        assertParseError(builder.bytes, .trailingBytes(offset: 27))
    }

    /// Counts are untrusted: 65535 questions claimed in a 12-octet message must fail at once, without
    /// reserving room for what the header claims.
    func testHugeCountsInATinyMessage() {
        let table: [(String, [UInt8], DNSWireError)] = [
            ("QDCOUNT 65535", WireBuilder(qd: 65535).bytes, .truncated(offset: 12)),
            ("ANCOUNT 65535", WireBuilder(an: 65535).bytes, .truncated(offset: 12)),
            ("ARCOUNT 65535", WireBuilder(ar: 65535).bytes, .truncated(offset: 12)),
            (
                "every count 65535", WireBuilder(qd: 65535, an: 65535, ns: 65535, ar: 65535).bytes,
                .truncated(offset: 12)
            ),
            (
                "1000 of 65535 questions",
                {
                    var builder = WireBuilder(qd: 65535)
                    for _ in 0..<1000 { builder.raw([0, 0, 1, 0, 1]) }
                    return builder.bytes
                }(), .truncated(offset: 12 + 5 * 1000)
            ),
        ]
        let clock = ContinuousClock()
        for (label, bytes, expected) in table {
            let elapsed = clock.measure {
                for _ in 0..<100 { _ = try? Message(parsing: bytes) }
            }
            assertParseError(bytes, expected, label)
            XCTAssertLessThan(elapsed, .seconds(2), label)
        }
    }

    func testErrorDescriptionsNameTheProblem() {
        let table: [(DNSWireError, String)] = [
            (.truncated(offset: 4), "message truncated at offset 4"),
            (.badPointer(offset: 12), "invalid compression pointer at offset 12"),
            (.badRData(type: 28, offset: 39), "malformed RDATA of type AAAA at offset 39"),
            (.badNameText("a..b"), "invalid domain name 'a..b'"),
        ]
        for (error, text) in table {
            XCTAssertEqual(error.description, text)
        }
    }
}
