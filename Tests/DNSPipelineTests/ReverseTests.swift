import DNSWire
import ServiceRegistry
import XCTest

@testable import DNSPipeline

/// PTR of registry addresses, named in the first service zone; other reverse names are REFUSED (DESIGN.md 1).
final class ReverseTests: XCTestCase {
    func testRegistryAddressesHavePTR() {
        assertCases([
            DNSCase(
                "10.0.0.240.in-addr.arpa", .ptr,
                answer: ["10.0.0.240.in-addr.arpa. 5 IN PTR api.app.svc.supercluster.local."]),
            DNSCase(
                "1.0.101.10.in-addr.arpa", .ptr,
                answer: ["1.0.101.10.in-addr.arpa. 5 IN PTR cluster-b.backend.app.svc.supercluster.local."]),
            DNSCase(
                "30.0.100.10.in-addr.arpa", .ptr,
                answer: ["30.0.100.10.in-addr.arpa. 5 IN PTR cluster-a.api.app.svc.supercluster.local."]),
            DNSCase(
                "10.1.100.10.in-addr.arpa", .ptr,
                answer: ["10.1.100.10.in-addr.arpa. 5 IN PTR db-0.cluster-a.db.app.svc.supercluster.local."]),
            DNSCase(
                "12.1.101.10.in-addr.arpa", .ptr,
                answer: ["12.1.101.10.in-addr.arpa. 5 IN PTR db-2.cluster-b.db.app.svc.supercluster.local."]),
            // An unhealthy export's address still names its cluster.
            DNSCase(
                "40.0.100.10.in-addr.arpa", .ptr,
                answer: ["40.0.100.10.in-addr.arpa. 5 IN PTR cluster-a.legacy.app.svc.supercluster.local."]),
            DNSCase(
                Self.nibbles("fd00:100::7"), .ptr,
                answer: [Self.nibbles("fd00:100::7") + ". 5 IN PTR cluster-a.frontend.app.svc.supercluster.local."]),
        ])
    }

    func testOtherReverseNamesAreRefused() {
        assertCases([
            // db-3 is not ready: its address is not answered, not even by PTR.
            DNSCase("13.1.101.10.in-addr.arpa", .ptr, rcode: .refused, aa: false),
            DNSCase("99.99.99.10.in-addr.arpa", .ptr, rcode: .refused, aa: false),
            DNSCase("0.0.100.10.in-addr.arpa", .ptr, rcode: .refused, aa: false),
            DNSCase("in-addr.arpa", .ptr, rcode: .refused, aa: false),
            DNSCase(Self.nibbles("fd00:100::8"), .ptr, rcode: .refused, aa: false),
        ])
    }

    /// The reverse name written octet by octet is the name the text gives: every IPv4 octet value in every
    /// position (one, two and three digits), and IPv6 addresses of every nibble.
    func testReverseNamesAreTheNamesTheirTextGives() throws {
        for value in 0...255 {
            let octet = UInt8(value)
            for address in [[octet, 0, 9, 10], [10, octet, 99, 100], [172, 16, octet, 255], [1, 2, 3, octet]] {
                let text = address.reversed().map(String.init).joined(separator: ".") + ".in-addr.arpa."
                let name = ReverseRecords.reverseName(IPAddress(bytes: address)!)
                XCTAssertEqual(name.wire, try DNSName(text).wire, text)
            }
            let v6 = IPAddress(bytes: (0..<16).map { UInt8(truncatingIfNeeded: value &+ $0 &* 17) })!
            XCTAssertEqual(
                ReverseRecords.reverseName(v6).wire, try DNSName(Self.nibbles(v6.description) + ".").wire,
                v6.description)
        }
    }

    /// The `ip6.arpa.` name of an IPv6 address (RFC 3596 2.5), without the trailing dot.
    static func nibbles(_ text: String) -> String {
        let digits = Array("0123456789abcdef")
        let bytes = IPAddress(text)!.bytes
        return bytes.reversed().flatMap { [digits[Int($0 & 0x0F)], digits[Int($0 >> 4)]] }.map(String.init)
            .joined(separator: ".") + ".ip6.arpa"
    }
}
