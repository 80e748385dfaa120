import XCTest

@testable import DNSWire

final class EDNSTests: XCTestCase {
    /// The OPT record is the last thing in a serialized message.
    private func optRecord(_ bytes: [UInt8], _ edns: EDNS) -> [UInt8] {
        Array(bytes.suffix(edns.wireSize))
    }

    func testOPTRecordLayout() {
        let edns = Fixtures.edns
        let opt = optRecord(Message(edns: edns).serialized(), edns)
        var expected: [UInt8] = [0, 0, 41, 0x10, 0x00, 0, 0, 0x80, 0x00]
        let options: [UInt8] = [
            0, 3, 0, 0,
            0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8,
            0xFD, 0xE9, 0, 4, 0xDE, 0xAD, 0xBE, 0xEF,
            0, 8, 0, 7, 0, 1, 24, 0, 192, 0, 2,
        ]
        expected += [0, UInt8(options.count)] + options
        XCTAssertEqual(opt, expected)
        XCTAssertEqual(edns.wireSize, expected.count)
    }

    /// The 12-bit RCODE is split: low four bits in the header, high eight in the OPT TTL's first octet.
    func testExtendedRCodeSplitsAcrossHeaderAndOPT() {
        let table: [(RCode, UInt8, UInt8)] = [
            (.noError, 0, 0), (.nxDomain, 3, 0), (RCode(15), 15, 0), (.badVers, 0, 1), (RCode(0x123), 3, 0x12),
            (RCode(0xFFF), 15, 0xFF),
        ]
        for (rcode, headerBits, extendedBits) in table {
            let edns = EDNS(udpPayloadSize: 1232, version: 0)
            let message = Message(header: Fixtures.responseHeader, rcode: rcode, edns: edns)
            let bytes = message.serialized()
            XCTAssertEqual(UInt8(u16(bytes, at: 2) & 0x0F), headerBits, "\(rcode)")
            XCTAssertEqual(optRecord(bytes, edns)[5], extendedBits, "\(rcode)")
            XCTAssertEqual(parseOrFail(bytes)?.rcode, rcode)
        }
        XCTAssertEqual(RCode.badVers.description, "BADVERS")
        XCTAssertEqual(RCode(0xFFFF).rawValue, 0xFFF, "RCODE is 12 bits")
    }

    func testBADVERSBytes() {
        let bytes = Fixtures.badVers.serialized()
        XCTAssertEqual(u16(bytes, at: 2) & 0x000F, 0)
        XCTAssertEqual(Array(bytes.suffix(11)), [0, 0, 41, 0x04, 0xD0, 1, 0, 0x80, 0, 0, 0])
        let parsed = parseOrFail(bytes)
        XCTAssertEqual(parsed?.rcode, .badVers)
        XCTAssertEqual(parsed?.edns, Fixtures.badVers.edns)
    }

    func testParsesHandWrittenOPT() {
        var builder = WireBuilder(flags: 0x8003, qd: 1, ar: 1)
        builder.question("example")
        // Extended RCODE 1, version 2, DO plus another Z bit, one option of unknown code 0xFFFF.
        builder.record(owner: [0], type: 41, rrClass: 1400, ttl: 0x0102_8001, rdata: [0xFF, 0xFF, 0, 1, 0x2A])
        guard let message = parseOrFail(builder.bytes) else { return }
        XCTAssertEqual(message.rcode, RCode(0x13))
        XCTAssertEqual(message.additional, [])
        XCTAssertEqual(
            message.edns,
            EDNS(
                udpPayloadSize: 1400, version: 2, dnssecOK: true, otherFlags: 1,
                options: [EDNSOption(code: 0xFFFF, data: [0x2A])]))
        XCTAssertEqual(message.serialized(), builder.bytes)
    }

    func testEmptyOPTAndNoOPT() {
        var builder = WireBuilder(flags: 0x0005, ar: 1)
        builder.record(owner: [0], type: 41, rrClass: 512, ttl: 0, rdata: [])
        let parsed = parseOrFail(builder.bytes)
        XCTAssertEqual(parsed?.edns, EDNS(udpPayloadSize: 512))
        XCTAssertEqual(parsed?.rcode, .refused)
        // Without OPT the RCODE is only the header's nibble and nothing of EDNS appears.
        let plain = parseOrFail(WireBuilder(flags: 0x0003).bytes)
        XCTAssertNil(plain?.edns)
        XCTAssertEqual(plain?.rcode, .nxDomain)
    }

    /// OPT goes after every other additional record, and a record whose type happens to follow OPT is kept.
    func testOPTIsWrittenLastAndSplitFromAdditional() {
        let glue = ResourceRecord(name: dn("ns.example"), ttl: 1, data: .a(IPv4Address(rawValue: 0x0A00_0001)))
        var builder = WireBuilder(ar: 2)
        builder.record(owner: [0], type: 41, rrClass: 1232, ttl: 0, rdata: [])
        builder.record(owner: wire("ns.example"), type: 1, ttl: 1, rdata: [10, 0, 0, 1])
        let parsed = parseOrFail(builder.bytes)
        XCTAssertEqual(parsed?.additional, [glue])
        XCTAssertEqual(parsed?.edns, EDNS(udpPayloadSize: 1232))
        let bytes = Message(additional: [glue], edns: EDNS(udpPayloadSize: 1232)).serialized()
        XCTAssertEqual(Array(bytes.suffix(11)), [0, 0, 41, 0x04, 0xD0, 0, 0, 0, 0, 0, 0])
        XCTAssertEqual(u16(bytes, at: 10), 2)
    }
}
