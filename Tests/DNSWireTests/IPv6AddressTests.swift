import XCTest

@testable import DNSWire

final class IPv6AddressTests: XCTestCase {
    private func address(_ groups: [UInt16]) -> IPv6Address {
        precondition(groups.count == 8)
        let bytes = groups.flatMap { [UInt8($0 >> 8), UInt8(truncatingIfNeeded: $0)] }
        return IPv6Address(bytes: bytes)!
    }

    /// RFC 5952 section 4: lower case, no leading zeros, the longest run of two or more zero groups
    /// shortened (the first on a tie), a single zero group left alone; section 5: IPv4-mapped addresses in
    /// mixed notation.
    func testRFC5952Text() {
        let table: [([UInt16], String)] = [
            ([0, 0, 0, 0, 0, 0, 0, 0], "::"),
            ([0, 0, 0, 0, 0, 0, 0, 1], "::1"),
            ([1, 0, 0, 0, 0, 0, 0, 0], "1::"),
            ([0x2001, 0xDB8, 0, 0, 0, 0, 0, 1], "2001:db8::1"),
            ([0x2001, 0x0DB8, 0, 0, 1, 0, 0, 1], "2001:db8::1:0:0:1"),
            ([0x2001, 0, 0, 1, 0, 0, 0, 1], "2001:0:0:1::1"),
            ([0xFD00, 0x100, 0, 0, 0, 0, 0, 7], "fd00:100::7"),
            ([0x2001, 0xDB8, 0, 1, 1, 1, 1, 1], "2001:db8:0:1:1:1:1:1"),
            ([0x2001, 0xDB8, 1, 1, 1, 1, 1, 0], "2001:db8:1:1:1:1:1:0"),
            ([0, 1, 1, 1, 1, 1, 1, 1], "0:1:1:1:1:1:1:1"),
            ([1, 0, 0, 2, 0, 0, 0, 0], "1:0:0:2::"),
            ([0, 0, 1, 0, 0, 0, 1, 0], "0:0:1::1:0"),
            ([0xFE80, 0, 0, 0, 0x0202, 0xB3FF, 0xFE1E, 0x8329], "fe80::202:b3ff:fe1e:8329"),
            (
                [0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF],
                "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"
            ),
            ([0, 0, 0, 0, 0, 0xFFFF, 0xC000, 0x0201], "::ffff:192.0.2.1"),
            ([0, 0, 0, 0, 0, 0xFFFF, 0, 0], "::ffff:0.0.0.0"),
            ([0, 0, 0, 0, 0, 0xFFFE, 0xC000, 0x0201], "::fffe:c000:201"),
            ([0, 0, 0, 0, 1, 0xFFFF, 0xC000, 0x0201], "::1:ffff:c000:201"),
            ([0xABCD, 0x00EF, 0x000A, 0, 0, 0x1000, 0x0100, 0x0010], "abcd:ef:a::1000:100:10"),
        ]
        for (groups, expected) in table {
            XCTAssertEqual(address(groups).description, expected)
        }
    }

    func testBytesRoundTripAndLayout() {
        let bytes: [UInt8] = [0x20, 0x01, 0x0D, 0xB8, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0xFF]
        let parsed = IPv6Address(bytes: bytes)
        XCTAssertEqual(parsed?.bytes, bytes)
        XCTAssertEqual(parsed?.high, 0x2001_0DB8_0102_0304)
        XCTAssertEqual(parsed?.low, 0x0506_0708_090A_0BFF)
        XCTAssertNil(IPv6Address(bytes: bytes.dropLast()))
        XCTAssertNil(IPv6Address(bytes: bytes + [0]))
    }

    func testAAAAOnTheWire() {
        let address = address([0x2001, 0xDB8, 0, 0, 0, 0, 0xCAFE, 1])
        let message = Message(answers: [ResourceRecord(name: .root, ttl: 1, data: .aaaa(address))])
        let bytes = message.serialized()
        XCTAssertEqual(Array(bytes.suffix(16)), address.bytes)
        XCTAssertEqual(parseOrFail(bytes)?.answers.first?.data.description, "2001:db8::cafe:1")
    }

    func testIPv4Address() {
        let address = IPv4Address(rawValue: 0xC000_02FF)
        XCTAssertEqual(address.description, "192.0.2.255")
        XCTAssertEqual(address.bytes, [192, 0, 2, 255])
        XCTAssertEqual(IPv4Address(bytes: [192, 0, 2, 255]), address)
        XCTAssertNil(IPv4Address(bytes: [1, 2, 3]))
        XCTAssertEqual(IPv4Address(rawValue: 0).description, "0.0.0.0")
    }
}
