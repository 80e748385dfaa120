import DNSPipeline
import DNSWire
import ServiceRegistry
import XCTest

/// `clients:` (DESIGN.md section 3): a query without ECS gets the locality of the longest network holding its
/// source address, the first listed among equal ones, else the instance's own. backend's first answer says which
/// locality was chosen: cluster-a's address for the own locality, cluster-b's or cluster-c's for theirs.
final class ClientNetworkTests: XCTestCase {
    private typealias L = LocalityFixture
    private static let leads = [L.a: L.backendA, L.b: L.backendB, L.c: L.backendC]

    private struct Row {
        var clients: [(String, Locality)]
        /// Source address, and the locality whose order it must get.
        var asks: [(String, Locality)]
        var line: UInt = #line
    }

    private func check(_ rows: [Row]) {
        for row in rows {
            let processor = L.processor(L.settings(clients: row.clients))
            for (source, locality) in row.asks {
                let answers = L.answers(processor, L.backend, client: .from(source), line: row.line)
                XCTAssertEqual(answers.first, Self.leads[locality], "\(source) → \(locality.cluster)", line: row.line)
                XCTAssertEqual(answers.count, 3, source, line: row.line)
            }
        }
    }

    func testLongestPrefixWinsForIPv4() {
        let nested: [(String, Locality)] = [("10.0.0.0/8", L.b), ("10.1.0.0/16", L.c), ("10.1.2.0/24", L.b)]
        let asks: [(String, Locality)] = [
            ("10.9.9.9", L.b), ("10.1.9.9", L.c), ("10.1.2.9", L.b), ("10.1.3.0", L.c), ("192.168.1.1", L.a),
        ]
        // Listed short to long and long to short: the order of the list does not decide, the prefix does.
        check([Row(clients: nested, asks: asks), Row(clients: nested.reversed(), asks: asks)])
    }

    func testLongestPrefixWinsForIPv6() {
        let nested: [(String, Locality)] = [("fd00::/8", L.b), ("fd00:1::/32", L.c), ("fd00:1:2::/48", L.b)]
        let asks: [(String, Locality)] = [
            ("fd99::1", L.b), ("fd00:1:9::1", L.c), ("fd00:1:2::1", L.b), ("fd00:1:3::", L.c), ("2001:db8::1", L.a),
        ]
        check([Row(clients: nested, asks: asks), Row(clients: nested.reversed(), asks: asks)])
    }

    /// Prefixes around the 64-bit boundary, where the mask moves from one word to the other.
    func testIPv6PrefixesAcrossTheWordBoundary() {
        check([
            Row(
                clients: [("fd00:0:0:1::/64", L.b), ("fd00:0:0:1:8000::/65", L.c), ("fd00:0:0:2::/63", L.b)],
                asks: [
                    ("fd00:0:0:1:8000::1", L.c), ("fd00:0:0:1:7fff::1", L.b), ("fd00:0:0:3::1", L.b),
                    ("fd00:0:0:4::1", L.a), ("fd00:0:0:0:8000::1", L.a),
                ]),
            Row(
                clients: [("fd00::7/128", L.c), ("10.7.7.7/32", L.c)],
                asks: [("fd00::7", L.c), ("fd00::8", L.a), ("10.7.7.7", L.c), ("10.7.7.6", L.a)]),
        ])
    }

    func testFirstListedWinsOnEqualPrefixes() {
        check([
            Row(clients: [("10.5.0.0/16", L.b), ("10.5.0.0/16", L.c)], asks: [("10.5.1.1", L.b)]),
            Row(clients: [("10.5.0.0/16", L.c), ("10.5.0.0/16", L.b)], asks: [("10.5.1.1", L.c)]),
            // Host bits written in the network do not make it another network.
            Row(clients: [("10.5.7.7/16", L.c), ("10.5.0.0/16", L.b)], asks: [("10.5.1.1", L.c)]),
            Row(clients: [("fd00:5::/32", L.b), ("fd00:5::/32", L.c)], asks: [("fd00:5::1", L.b)]),
            // A longer network listed last still beats both.
            Row(
                clients: [("10.5.0.0/16", L.b), ("10.5.0.0/16", L.c), ("10.5.1.0/24", L.c)],
                asks: [("10.5.1.1", L.c), ("10.5.2.1", L.b)]),
        ])
    }

    /// An address in no network is asked for as this instance's own locality; families never cross.
    func testNoNetworkMeansTheOwnLocality() {
        check([
            Row(clients: [], asks: [("10.1.2.3", L.a), ("fd00::1", L.a)]),
            Row(clients: [("0.0.0.0/0", L.b)], asks: [("10.1.2.3", L.b), ("203.0.113.9", L.b), ("fd00::1", L.a)]),
            Row(clients: [("::/0", L.c)], asks: [("fd00::1", L.c), ("::ffff:10.1.2.3", L.c), ("10.1.2.3", L.a)]),
            Row(clients: [("10.1.0.0/16", L.b)], asks: [("10.2.0.1", L.a), ("11.1.0.1", L.a)]),
            // A network may say the instance's own locality: its clients get the own order.
            Row(clients: [("10.0.0.0/8", L.c), ("10.8.0.0/16", L.a)], asks: [("10.8.0.1", L.a), ("10.9.0.1", L.c)]),
        ])
    }

    /// Without ECS nothing is echoed: the OPT record carries no option, and a query without OPT gets none.
    func testNoSubnetNoEcho() throws {
        let processor = L.processor(L.settings(clients: [("10.1.0.0/16", L.b)]))
        let withOPT = try XCTUnwrap(
            exchange(L.query(L.backend, options: []), with: processor, client: .from("10.1.0.9")))
        XCTAssertEqual(withOPT.answers.first?.data.description, L.backendB)
        XCTAssertEqual(withOPT.edns?.options, [])
        let plain = try XCTUnwrap(exchange(L.query(L.backend), with: processor, client: .from("10.1.0.9")))
        XCTAssertEqual(plain.answers.first?.data.description, L.backendB)
        XCTAssertNil(plain.edns)
    }

    /// The query log and /explain print a client's address from its inline form: the round trip is exact.
    func testAClientAddressComesBackAsTheAddressItWasMadeFrom() {
        for text in ["10.1.0.9", "0.0.0.0", "255.255.255.255", "::1", "fd00:100::7", "2001:db8:ffff::1:2"] {
            let address = IPAddress(text)!
            XCTAssertEqual(ClientAddress(address).ipAddress, address, text)
        }
    }
}
