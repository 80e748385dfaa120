import XCTest

@testable import ServiceRegistry

final class IPAddressTests: XCTestCase {
    func testValidAddressesAndTheirCanonicalText() {
        let cases: [(text: String, bytes: Int, canonical: String)] = [
            ("0.0.0.0", 4, "0.0.0.0"),
            ("10.100.12.7", 4, "10.100.12.7"),
            ("255.255.255.255", 4, "255.255.255.255"),
            ("240.0.0.10", 4, "240.0.0.10"),
            ("::", 16, "::"),
            ("::1", 16, "::1"),
            ("1::", 16, "1::"),
            ("fd00:100::7", 16, "fd00:100::7"),
            ("FD00:0100:0000:0000:0000:0000:0000:0007", 16, "fd00:100::7"),
            ("2001:db8:0:0:1:0:0:1", 16, "2001:db8::1:0:0:1"),  // equal runs: the first is compressed
            ("2001:db8:0:1:1:1:1:1", 16, "2001:db8:0:1:1:1:1:1"),  // a single zero group is not compressed
            ("2001:0:0:1:0:0:0:1", 16, "2001:0:0:1::1"),  // the longest run wins
            ("1:2:3:4:5:6:7:8", 16, "1:2:3:4:5:6:7:8"),
            ("1:2:3:4:5:6:7::", 16, "1:2:3:4:5:6:7:0"),  // "::" standing for one group is accepted
            ("::ffff:10.0.0.1", 16, "::ffff:10.0.0.1"),  // IPv4-mapped keeps its dotted tail (RFC 5952 5)
            ("::ffff:a00:1", 16, "::ffff:10.0.0.1"),
            ("64:ff9b::192.0.2.33", 16, "64:ff9b::c000:221"),
            ("1:2:3:4:5:6:1.2.3.4", 16, "1:2:3:4:5:6:102:304"),
        ]
        for testCase in cases {
            guard let address = IPAddress(testCase.text) else {
                XCTFail("rejected \(testCase.text)")
                continue
            }
            XCTAssertEqual(address.bytes.count, testCase.bytes, testCase.text)
            XCTAssertEqual(address.isIPv4, testCase.bytes == 4, testCase.text)
            XCTAssertEqual(address.description, testCase.canonical, testCase.text)
            XCTAssertEqual(IPAddress(address.description), address, "round trip of \(testCase.text)")
        }
    }

    func testInvalidAddresses() {
        let invalid = [
            "", "1.2.3", "1.2.3.4.5", "256.1.1.1", "10.0.0.300", "01.2.3.4", "1.2.3.04", "1.2.3.-4", "1.2.3.+4",
            "1..3.4", ".1.2.3", "1.2.3.4.", " 1.2.3.4", "1.2.3.4 ", "1.2.3.a", "0x1.2.3.4", "1234.1.1.1",
            ":", ":::", "1:::2", "1::2::3", ":1::", "1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7:8::",
            "::1:2:3:4:5:6:7:8", "12345::", "g::1", "fe80::1%eth0", "[::1]", "::1/128", "1.2.3.4::",
            "::1.2.3", "::256.1.1.1", "1:2:3:4:5:6:7:1.2.3.4", "::ffff:01.2.3.4", "1:2",
        ]
        for text in invalid {
            XCTAssertNil(IPAddress(text), "accepted '\(text)'")
        }
    }

    func testBytesInitializerAcceptsOnlyFourOrSixteenBytes() {
        XCTAssertEqual(IPAddress(bytes: [10, 0, 0, 1])?.description, "10.0.0.1")
        XCTAssertEqual(IPAddress(bytes: [UInt8](repeating: 0, count: 15) + [1])?.description, "::1")
        for count in [0, 3, 5, 8, 15, 17] {
            XCTAssertNil(IPAddress(bytes: [UInt8](repeating: 0, count: count)), "\(count) bytes")
        }
    }

    func testEqualityIgnoresSpellingAndOrderPutsIPv4First() {
        XCTAssertEqual(IPAddress("fd00::7"), IPAddress("FD00:0:0::0007"))
        let sorted = ["fd00::1", "10.0.0.2", "::1", "10.0.0.1"].compactMap(IPAddress.init).sorted()
        XCTAssertEqual(sorted.map(\.description), ["10.0.0.1", "10.0.0.2", "::1", "fd00::1"])
    }

    /// Kept as two words, an address gives back its octets, sorts as its octets do, and hashes as its value.
    func testTheInlineFormKeepsOctetsOrderAndEquality() {
        var generator = JSONNodeReaderTests.Generator(state: 15)
        var addresses: [IPAddress] = []
        for round in 0..<2_000 {
            let octets = (0..<(round % 2 == 0 ? 4 : 16)).map { _ in
                // Few distinct octets, so equal prefixes and equal addresses are common.
                UInt8.random(in: 0...3, using: &generator) * 85
            }
            let address = IPAddress(bytes: octets)!
            XCTAssertEqual(address.bytes, octets)
            XCTAssertEqual(address.lastOctet, octets.last)
            XCTAssertEqual(IPAddress(address.description), address, "\(address)")
            addresses.append(address)
        }
        for (a, b) in zip(addresses, addresses.shuffled(using: &generator)) {
            let expected =
                a.bytes.count != b.bytes.count
                ? a.bytes.count < b.bytes.count : a.bytes.lexicographicallyPrecedes(b.bytes)
            XCTAssertEqual(a < b, expected, "\(a) < \(b)")
            XCTAssertEqual(a == b, a.bytes == b.bytes)
            if a == b { XCTAssertEqual(a.hashValue, b.hashValue) }
        }
        XCTAssertEqual(IPAddress("10.1.2.3")!.words.low, 0x0A01_0203)
        XCTAssertEqual(IPAddress("fd00::1:2")!.words.high, 0xFD00_0000_0000_0000)
        XCTAssertEqual(IPAddress("fd00::1:2")!.words.low, 0x0001_0002)
    }
}
