import DNSPipeline
import DNSWire
import ServiceRegistry
import XCTest

/// EDNS Client Subnet (RFC 7871): the subnet chooses the client's locality among `clients:`, the response echoes
/// the option with the scope the answer depended on, and a malformed option is a FORMERR.
final class ClientSubnetTests: XCTestCase {
    private typealias L = LocalityFixture
    private static let leads = [L.a: L.backendA, L.b: L.backendB, L.c: L.backendC]
    private static let processor = L.processor(
        L.settings(clients: [
            ("10.1.0.0/16", L.b), ("10.2.0.0/16", L.c), ("fd00:b::/32", L.b), ("fd00:c::/32", L.c),
        ]))

    /// Asks `name` with `option` and checks the locality (by backend's first answer) and the echo: the query's
    /// option data with only SCOPE PREFIX-LENGTH (octet 3) set.
    private func ask(
        _ option: EDNSOption, _ name: String = L.backend, type: RecordType = .a, client: ClientContext = .pod,
        processor: QueryProcessor = ClientSubnetTests.processor, lead: Locality?, scope: UInt8,
        line: UInt = #line
    ) {
        guard let response = exchange(L.query(name, type, options: [option]), with: processor, client: client)
        else { return }
        let label = "\(name) \(option.data)"
        if let lead {
            XCTAssertEqual(response.answers.first?.data.description, Self.leads[lead], label, line: line)
        }
        var expected = option.data
        expected[3] = scope
        XCTAssertEqual(L.echoedECS(response), expected, "\(label): echo", line: line)
        XCTAssertEqual(response.edns?.options.count, 1, label, line: line)
    }

    func testSubnetChoosesTheLocalityAndScopeIsTheNetworksPrefix() {
        let cases: [(subnet: String, lead: Locality, scope: UInt8, line: UInt)] = [
            ("10.1.2.0/24", L.b, 16, #line),
            ("10.2.3.0/24", L.c, 16, #line),
            ("10.1.0.0/16", L.b, 16, #line),
            ("10.2.200.17/32", L.c, 16, #line),
            ("fd00:b:1::/48", L.b, 32, #line),
            ("fd00:c::/32", L.c, 32, #line),
            ("fd00:c:1:2:3::/80", L.c, 32, #line),
            ("fd00:b:0:1::/57", L.b, 32, #line),
        ]
        for row in cases {
            // The subnet decides, not the source address (10.2.0.9 alone would be cluster-c's).
            for client in [ClientContext.pod, .from("10.2.0.9"), .from("fd00:b::1", .tcp)] {
                ask(L.ecs(row.subnet), client: client, lead: row.lead, scope: row.scope, line: row.line)
            }
        }
    }

    /// ECS among other options is found all the same.
    func testSubnetAfterAnotherOption() throws {
        let cookie = EDNSOption(code: EDNSOption.cookieCode, data: Array(1...8))
        let response = try XCTUnwrap(
            exchange(L.query(L.backend, options: [cookie, L.ecs("10.2.3.0/24")]), with: Self.processor))
        XCTAssertEqual(response.answers.first?.data.description, L.backendC)
        XCTAssertEqual(L.echoedECS(response), L.ecsData(family: 1, source: 24, scope: 16, address: [10, 2, 3]))
    }

    /// Answers every client gets alike are valid for the whole address space: scope 0 (RFC 7871 7.2.1).
    func testScopeIsZeroWhenTheAnswerDoesNotDependOnLocality() {
        let cases: [(name: String, type: RecordType, line: UInt)] = [
            ("nothing.app.svc.supercluster.local", .a, #line),  // NXDOMAIN
            ("backend.app.svc.supercluster.local", .aaaa, #line),  // NODATA
            ("api.app.svc.supercluster.local", .a, #line),  // the vip
            ("cluster-b.backend.app.svc.supercluster.local", .a, #line),
            ("db-2.cluster-b.db.app.svc.supercluster.local", .a, #line),
            ("frontend.app.svc.supercluster.local", .a, #line),  // one export: the same everywhere
            ("_http._tcp.backend.app.svc.supercluster.local", .srv, #line),
            ("gateway.supercluster.local", .a, #line),
        ]
        for row in cases {
            for subnet in ["10.1.2.0/24", "fd00:c::/32"] {
                ask(L.ecs(subnet), row.name, type: row.type, lead: nil, scope: 0, line: row.line)
            }
        }
    }

    /// SOURCE PREFIX-LENGTH 0 is the client opting out (RFC 7871 7.1.2): the source address decides, scope 0.
    func testSourcePrefixZeroFallsBackToTheSourceAddress() {
        let v4 = L.option(L.ecsData(family: 1, source: 0, address: []))
        let v6 = L.option(L.ecsData(family: 2, source: 0, address: []))
        for option in [v4, v6] {
            ask(option, client: .from("10.2.0.9"), lead: L.c, scope: 0)
            ask(option, client: .from("fd00:b::9"), lead: L.b, scope: 0)
            ask(option, client: .pod, lead: L.a, scope: 0)
        }
    }

    /// A network can only be said to hold a subnet at least as long as itself: 10.0.0.0/8 is not inside
    /// 10.1.0.0/16, so the source address decides. The scope says how many bits the answer needed (16, more
    /// than the 8 given: RFC 7871 7.2.1), so a resolver does not serve it to 10.1.0.0/16 from its cache.
    func testSubnetShorterThanTheNetworkDoesNotMatch() {
        ask(L.ecs("10.0.0.0/8"), client: .pod, lead: L.a, scope: 16)
        ask(L.ecs("10.0.0.0/8"), client: .from("10.2.0.9"), lead: L.c, scope: 16)
        ask(L.ecs("10.0.0.0/15"), client: .pod, lead: L.a, scope: 16)
        ask(L.ecs("fd00::/16"), client: .pod, lead: L.a, scope: 29)
    }

    /// A subnet in no network gets the default order, but not for everyone: the scope is the shortest prefix
    /// around the subnet that holds no network, so a resolver never serves it to a client a network does hold.
    func testScopeOfASubnetInNoNetwork() {
        // 10.9.0.0 and 10.1.0.0/16, 10.2.0.0/16 share 12 bits: 10.8.0.0/13 holds neither.
        ask(L.ecs("10.9.0.0/24"), client: .pod, lead: L.a, scope: 13)
        ask(L.ecs("192.168.1.0/24"), client: .pod, lead: L.a, scope: 1)
        // fd00:a:: shares 31 bits with fd00:b::/32.
        ask(L.ecs("fd00:a::/48"), client: .pod, lead: L.a, scope: 32)
        // No IPv6 network at all: an IPv6 subnet's answer is everyone's.
        let v4Only = L.processor(L.settings(clients: [("10.1.0.0/16", L.b)]))
        ask(L.ecs("fd00:b::/48"), client: .pod, processor: v4Only, lead: L.a, scope: 0)
    }

    /// A matched network with a longer one inside it: the answer covers only as much as excludes the inner one.
    func testScopeExcludesALongerNetworkInside() {
        let nested = L.processor(L.settings(clients: [("10.1.0.0/16", L.b), ("10.1.5.0/24", L.c)]))
        // 10.1.2.0 and 10.1.5.0 share 21 bits: 10.1.0.0/22 is all cluster-b's.
        ask(L.ecs("10.1.2.0/24"), client: .pod, processor: nested, lead: L.b, scope: 22)
        ask(L.ecs("10.1.5.0/24"), client: .pod, processor: nested, lead: L.c, scope: 24)
        // 10.1.200.0 and 10.1.5.0 share 16 bits: 10.1.128.0/17 is all cluster-b's.
        ask(L.ecs("10.1.200.0/24"), client: .pod, processor: nested, lead: L.b, scope: 17)
    }

    /// Every malformation RFC 7871 gives a FORMERR for (7.1.1, 7.1.2, 6), and the FORMERR still has an OPT.
    func testMalformedSubnetIsFORMERR() {
        let ipv6Address = [UInt8](repeating: 0xFD, count: 16)
        let cases: [(options: [EDNSOption], why: String)] = [
            ([L.option(L.ecsData(family: 3, source: 24, address: [10, 1, 2]))], "unknown family 3"),
            ([L.option(L.ecsData(family: 0, source: 0, address: []))], "unknown family 0"),
            ([L.option(L.ecsData(family: 1, source: 33, address: [10, 1, 2, 3, 0]))], "IPv4 source prefix 33"),
            ([L.option(L.ecsData(family: 2, source: 129, address: ipv6Address + [0]))], "IPv6 source prefix 129"),
            ([L.option(L.ecsData(family: 1, source: 24, scope: 16, address: [10, 1, 2]))], "scope in a query"),
            ([L.option(L.ecsData(family: 2, source: 0, scope: 1, address: []))], "scope in an opt-out query"),
            ([L.option(L.ecsData(family: 1, source: 24, address: [10, 1, 2, 0]))], "address longer than the prefix"),
            ([L.option(L.ecsData(family: 1, source: 24, address: [10, 1]))], "address shorter than the prefix"),
            ([L.option(L.ecsData(family: 1, source: 0, address: [10]))], "an address with prefix 0"),
            ([L.option(L.ecsData(family: 2, source: 56, address: Array(ipv6Address.prefix(8))))], "IPv6, 8 for 56"),
            ([L.option(L.ecsData(family: 1, source: 20, address: [10, 1, 0x2F]))], "bits past a /20"),
            ([L.option(L.ecsData(family: 1, source: 23, address: [10, 1, 3]))], "the last bit past a /23"),
            ([L.option(L.ecsData(family: 2, source: 9, address: [0xFD, 0x40]))], "IPv6 bits past a /9"),
            ([L.option([0, 1, 24])], "an option shorter than its fixed fields"),
            ([L.ecs("10.1.2.0/24"), L.ecs("10.2.3.0/24")], "two ECS options"),
            ([L.ecs("10.1.2.0/24"), L.option(L.ecsData(family: 3, source: 0, address: []))], "a bad second one"),
        ]
        for row in cases {
            let query = TestQuery(name: L.backend, type: .a, edns: EDNS(options: row.options))
            guard let response = exchange(query.wire, with: Self.processor) else { continue }
            XCTAssertEqual(response.rcode, .formErr, row.why)
            XCTAssertEqual(response.header.id, query.id, row.why)
            XCTAssertTrue(response.header.isResponse, row.why)
            XCTAssertEqual(response.questions, query.message.questions, row.why)
            XCTAssertTrue(response.answers.isEmpty, row.why)
            XCTAssertNotNil(response.edns, "\(row.why): the FORMERR carries an OPT")
            XCTAssertEqual(response.edns?.version, 0, row.why)
        }
    }

    /// The edges that are well formed: full-length prefixes, and the last permitted bit set.
    func testWellFormedEdges() {
        ask(L.option(L.ecsData(family: 1, source: 32, address: [10, 1, 2, 3])), lead: L.b, scope: 16)
        ask(
            L.option(L.ecsData(family: 2, source: 128, address: [0xFD, 0, 0, 0x0C] + Array(repeating: 1, count: 12))),
            lead: L.c, scope: 32)
        ask(L.option(L.ecsData(family: 1, source: 23, address: [10, 2, 2])), lead: L.c, scope: 16)
    }
}
