import XCTest

@testable import ServiceRegistry

final class IPNetworkTests: XCTestCase {
    func testParsingMasksHostBitsAndDefaultsToAHostPrefix() {
        let cases: [(text: String, description: String)] = [
            ("10.244.0.0/16", "10.244.0.0/16"),
            ("10.244.3.7/16", "10.244.0.0/16"),
            ("172.16.0.0/12", "172.16.0.0/12"),
            ("10.1.2.3/31", "10.1.2.2/31"),
            ("0.0.0.0/0", "0.0.0.0/0"),
            ("10.1.2.3", "10.1.2.3/32"),
            ("fd00::/8", "fd00::/8"),
            ("fc00::/7", "fc00::/7"),
            ("fd12:3456::1/32", "fd12:3456::/32"),
            ("::1/128", "::1/128"),
            ("::1", "::1/128"),
            ("::/0", "::/0"),
        ]
        for testCase in cases {
            XCTAssertEqual(IPNetwork(testCase.text)?.description, testCase.description, testCase.text)
        }
    }

    func testInvalidNetworks() {
        for text in [
            "10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/+8", "10.0.0.0/08",
            "10.0.0.0/8/8", "/8", "10.0.0/8", "10.0.0.0/a", "fd00::/1000",
        ] {
            XCTAssertNil(IPNetwork(text), "accepted '\(text)'")
        }
        XCTAssertNil(IPNetwork(address: IPAddress("10.0.0.0")!, prefixLength: 33))
        XCTAssertNil(IPNetwork(address: IPAddress("10.0.0.0")!, prefixLength: -1))
    }

    func testContains() {
        let cases: [(network: String, address: String, inside: Bool)] = [
            ("10.244.0.0/16", "10.244.255.1", true),
            ("10.244.0.0/16", "10.245.0.1", false),
            ("172.16.0.0/12", "172.31.255.255", true),
            ("172.16.0.0/12", "172.32.0.0", false),
            ("10.1.2.2/31", "10.1.2.3", true),
            ("10.1.2.2/31", "10.1.2.4", false),
            ("0.0.0.0/0", "203.0.113.9", true),
            ("127.0.0.1", "127.0.0.1", true),
            ("127.0.0.1", "127.0.0.2", false),
            ("fc00::/7", "fd00:100::7", true),
            ("fc00::/7", "fe80::1", false),
            ("::/0", "2001:db8::1", true),
            // Never across families, not even for IPv4-mapped addresses or the all-zero prefixes.
            ("::/0", "10.0.0.1", false),
            ("0.0.0.0/0", "::1", false),
            ("::ffff:0:0/96", "10.0.0.1", false),
        ]
        for testCase in cases {
            let network = IPNetwork(testCase.network)!
            let address = IPAddress(testCase.address)!
            XCTAssertEqual(network.contains(address), testCase.inside, "\(testCase.network) ∋ \(testCase.address)")
        }
    }
}
