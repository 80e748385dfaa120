import DNSPipeline
import DNSWire
import XCTest

/// What a forwarded query's outcome becomes for the client (DESIGN.md sections 4 and 7), without sockets:
/// the upstream's answer as the client's, a truncated one kept, stale before SERVFAIL, and EDNS as the
/// pipeline's own answers and cache hits give it.
final class ForwardPolicyTests: XCTestCase {
    private let policy = ForwardPolicy(udpPayloadLimit: 1232, identity: "dns-a-1", cacheSettings: CacheSettings())

    private func forwarded(_ query: Message, overTCP: Bool = false) throws -> ForwardedQuery {
        try XCTUnwrap(ForwardedQuery(query.serialized(), overTCP: overTCP, udpPayloadLimit: 1232))
    }

    private func respond(
        _ query: Message, _ result: UpstreamResult, stale: [UInt8]? = nil
    ) throws -> (Message, ForwardedResponse.Kind) {
        let response = policy.response(to: try forwarded(query), result: result) { stale }
        return (try Message(parsing: response.bytes), response.kind)
    }

    func testTheUpstreamsAnswerBecomesTheClientsOwn() throws {
        let query = Upstream.query("KuBeRnEtEs.default.svc.cluster.local.", id: 0x1234)
        let answer = Upstream.answer(
            to: Upstream.query(), answers: [Upstream.a(ttl: 7200), Upstream.a(ttl: 0x8000_0000, 0x0A60_0002)])
        let (response, kind) = try respond(query, .answer(answer))
        XCTAssertEqual(kind, .answer)
        XCTAssertEqual(response.header.id, 0x1234)
        XCTAssertTrue(response.questions[0].name.isIdentical(to: query.questions[0].name), "0x20 case as asked")
        // maxTTL 3600 caps the first; the second's top bit makes it 0 (RFC 2181 8), not a cap to 3600.
        XCTAssertEqual(response.ttls, [3600, 0])
        XCTAssertNil(response.edns, "no OPT for a client that sent none")
    }

    /// One behaviour for forwarded replies and cache hits: the client's ECS option comes back with scope 0 (the
    /// answer did not depend on it; it was never passed upstream). Forwarded replies used to drop it.
    func testTheClientsECSIsEchoedWithScopeZeroAsOnACacheHit() throws {
        let ecs = EDNSOption(code: EDNSOption.clientSubnetCode, data: [0, 1, 24, 0, 10, 244, 3])
        let query = Upstream.query(edns: EDNS(udpPayloadSize: 1232, options: [ecs]))
        let forwarded = try forwarded(query)
        XCTAssertEqual(forwarded.upstreamQuery(id: 9).edns?.options, [], "ECS is never passed upstream")
        let (response, _) = try respond(query, .answer(Upstream.answer(to: query, answers: [Upstream.a(ttl: 30)])))
        XCTAssertEqual(response.edns?.options, [ecs])

        let cache = CacheHarness()
        cache.store(Upstream.answer(to: query, answers: [Upstream.a(ttl: 30)]), for: query)
        XCTAssertEqual(cache.hit(query)?.edns?.options, [ecs], "the cache hit gives the same")
    }

    func testAFailureServesStaleElseSERVFAIL() throws {
        let query = Upstream.query(id: 77, edns: EDNS(udpPayloadSize: 1232, dnssecOK: true))
        let staleBytes = Upstream.answer(to: query, answers: [Upstream.a(ttl: 30)]).serialized()
        for result in [UpstreamResult.none, .answer(Upstream.answer(to: query, rcode: .servFail))] {
            XCTAssertEqual(try respond(query, result, stale: staleBytes).1, .stale)
            let (failed, kind) = try respond(query, result)
            XCTAssertEqual(failed.rcode, .servFail)
            XCTAssertEqual(failed.header.id, 77)
            XCTAssertEqual(failed.edns?.dnssecOK, true)
            XCTAssertEqual(kind, result.isNone ? .servFail : .answer, "an upstream SERVFAIL is passed on as such")
            if kind == .servFail { XCTAssertTrue(failed.header.recursionAvailable, "our own SERVFAIL") }
        }
        // An answer is never replaced by something stale.
        let fresh = Upstream.answer(to: query, answers: [Upstream.a(ttl: 30, 0x0A60_0009)])
        XCTAssertEqual(try respond(query, .answer(fresh), stale: staleBytes).1, .answer)
    }

    /// A truncated reply whose TCP retry failed is what the client gets, TC set, records that fit kept.
    func testATruncatedReplyIsSentWithTC() throws {
        let query = Upstream.query(id: 5)
        var answer = Upstream.answer(to: query, answers: [Upstream.a(ttl: 30)], truncated: true)
        answer.header.truncated = true
        let (response, kind) = try respond(query, .truncated(answer))
        XCTAssertEqual(kind, .truncated)
        XCTAssertTrue(response.header.truncated)
        XCTAssertEqual(response.rcode, .noError)
        XCTAssertEqual(response.answers.count, 1)
    }

    func testNSIDIsGivenWhenAskedAndNeverCutsAnAnswer() throws {
        let nsid = EDNSOption(code: EDNSOption.nsidCode, data: [])
        let query = Upstream.query(edns: EDNS(udpPayloadSize: 512, options: [nsid]))
        let small = try respond(query, .answer(Upstream.answer(to: query, answers: [Upstream.a(ttl: 30)]))).0
        XCTAssertEqual(small.edns?.options, [EDNSOption(code: EDNSOption.nsidCode, data: Array("dns-a-1".utf8))])
        // 27 A records fit 512 octets (497) but not with a 23-octet NSID beside them: it is left out rather
        // than cut the answer.
        let many = (0..<27).map { Upstream.a(ttl: 30, 0x0A60_0000 + UInt32($0)) }
        let full = Upstream.answer(to: query, answers: many)
        var named = policy
        named.identity = "dns-a-1.example-cluster"
        let bytes = named.response(to: try forwarded(query), result: .answer(full)) { nil }.bytes
        let response = try Message(parsing: bytes)
        XCTAssertFalse(response.header.truncated)
        XCTAssertEqual(response.answers.count, 27)
        XCTAssertEqual(response.edns?.options, [])
    }

    func testAnExtendedRCODEIsSERVFAILForAClientWithoutEDNS() throws {
        let query = Upstream.query()
        var answer = Upstream.answer(to: query)
        answer.rcode = .badVers
        XCTAssertEqual(try respond(query, .answer(answer)).0.rcode, .servFail)
    }

    /// The pipeline forwards a query whose other records' RDATA it skipped; the forwarder must take it too, not
    /// drop it for RDATA the full parser rejects.
    func testAForwardedQueryIsReadAsThePipelineReadIt() throws {
        var bytes = Upstream.query(id: 3).serialized()
        bytes[11] = 1
        bytes += [0, 0, 5, 0, 1, 0, 0, 0, 30, 0, 2, 0x40, 0]  // a CNAME whose RDATA is no name
        let cache = CacheHarness()
        var response: [UInt8] = []
        let outcome = bytes.withUnsafeBytes { cache.processor.process($0, client: .pod, into: &response) }
        XCTAssertEqual(outcome, .forward(ForwardPlan(rule: 0)))
        let query = try XCTUnwrap(ForwardedQuery(bytes, overTCP: false, udpPayloadLimit: 1232))
        XCTAssertEqual(query.id, 3)
        XCTAssertEqual(query.question.name, try DNSName(Upstream.kubernetes))
    }

    func testTheLimitIsTheClientsSizeWithinOursOrTCPs() throws {
        XCTAssertEqual(try forwarded(Upstream.query()).limit, 512)
        XCTAssertEqual(try forwarded(Upstream.query(edns: EDNS(udpPayloadSize: 4096))).limit, 1232)
        XCTAssertEqual(try forwarded(Upstream.query(edns: EDNS(udpPayloadSize: 100))).limit, 512)
        XCTAssertEqual(try forwarded(Upstream.query(), overTCP: true).limit, 65535)
    }
}

extension UpstreamResult {
    fileprivate var isNone: Bool {
        if case .none = self { return true }
        return false
    }
}
