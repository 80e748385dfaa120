import DNSPipeline
import DNSWire
import XCTest

/// The cache of forwarded answers (DESIGN.md section 4) as the pipeline serves it: a stored upstream answer is
/// answered on the fast path with the client's ID and question, TTLs counted down, for as long as RFC 2308 and
/// `minTTL`/`maxTTL` allow; failures are never stored and never displace an answer.
final class ResponseCacheTests: XCTestCase {
    private let ns = ResourceRecord(
        name: PipelineFixture.name("cluster.local."), ttl: 60, data: .ns(PipelineFixture.name("ns.dns.cluster.local.")))
    private let glue = Upstream.a("ns.dns.cluster.local.", ttl: 45, 0x0A60_000A)

    func testAStoredAnswerIsServedWithTheQuerysIDAndExactCase() throws {
        let cache = CacheHarness()
        let asked = Upstream.query(id: 0x0101)
        XCTAssertTrue(cache.misses(asked), "nothing cached yet: the query goes upstream")
        XCTAssertTrue(
            cache.store(
                Upstream.answer(to: asked, answers: [Upstream.a(ttl: 30)], authority: [ns], additional: [glue]),
                for: asked))
        XCTAssertEqual(cache.cache.count, 1)

        var mixed = Upstream.query("KuBeRnEtEs.DEFAULT.svc.Cluster.Local.", id: 0xD00D)
        let response = try XCTUnwrap(cache.hit(mixed))
        XCTAssertEqual(response.header.id, 0xD00D)
        XCTAssertTrue(response.header.isResponse)
        XCTAssertFalse(response.header.truncated)
        XCTAssertTrue(response.header.recursionDesired)
        XCTAssertEqual(response.rcode, .noError)
        XCTAssertEqual(response.questions.count, 1)
        XCTAssertTrue(
            response.questions[0].name.isIdentical(to: mixed.questions[0].name),
            "question echoed as asked (0x20), got \(response.questions[0].name)")
        XCTAssertEqual(response.questions[0].type, .a)
        XCTAssertEqual(response.answers, [Upstream.a(ttl: 30)])
        XCTAssertEqual(response.authority, [ns])
        XCTAssertEqual(response.additional, [glue])
        XCTAssertNil(response.edns, "no OPT for a query without one")

        // RD comes from the query, not from whoever asked first.
        mixed.header.recursionDesired = false
        XCTAssertEqual(cache.hit(mixed)?.header.recursionDesired, false)
    }

    func testTTLsCountDownByWholeSecondsUntilTheSmallestAnswerTTLEnds() {
        let cache = CacheHarness()
        let asked = Upstream.query()
        cache.store(Upstream.answer(to: asked, answers: [Upstream.a(ttl: 30)], additional: [glue]), for: asked)
        XCTAssertEqual(cache.hit(asked)?.ttls, [30, 45])
        cache.clock.advance(0.9)
        XCTAssertEqual(cache.hit(asked)?.ttls, [30, 45], "less than a second has passed")
        cache.clock.advance(0.1)
        XCTAssertEqual(cache.hit(asked)?.ttls, [29, 44])
        cache.clock.advance(9.5)
        XCTAssertEqual(cache.hit(asked)?.ttls, [20, 35])
        cache.clock.advance(19.499)
        XCTAssertEqual(cache.hit(asked)?.ttls, [1, 16], "29.999 s in")
        cache.clock.advance(0.001)
        XCTAssertTrue(cache.misses(asked), "expired after 30 s: forwarded again")
    }

    func testTheLifetimeIsTheSmallestTTLOfTheAnswerSection() {
        let cache = CacheHarness()
        let asked = Upstream.query("web.prod.svc.cluster.local.")
        let chain = [
            ResourceRecord(
                name: PipelineFixture.name("web.prod.svc.cluster.local."), ttl: 10,
                data: .cname(PipelineFixture.name(Upstream.kubernetes))),
            Upstream.a(ttl: 300),
        ]
        cache.store(Upstream.answer(to: asked, answers: chain, additional: [glue]), for: asked)
        cache.clock.advance(9.9)
        XCTAssertEqual(cache.hit(asked)?.ttls, [1, 291, 36])
        cache.clock.advance(0.1)
        XCTAssertTrue(cache.misses(asked))
    }

    func testAQueryWithEDNSGetsOurOPT() throws {
        let cache = CacheHarness()
        let plain = Upstream.query()
        cache.store(Upstream.answer(to: plain, answers: [Upstream.a(ttl: 30)]), for: plain)
        let withEDNS = Upstream.query(id: 0x0E0E, edns: EDNS(udpPayloadSize: 4096))
        let response = try XCTUnwrap(cache.hit(withEDNS), "EDNS without DO shares the plain query's entry")
        XCTAssertEqual(response.header.id, 0x0E0E)
        let opt = try XCTUnwrap(response.edns)
        XCTAssertEqual(opt.udpPayloadSize, 1232, "our payload size, not the client's")
        XCTAssertEqual(opt.version, 0)
        XCTAssertFalse(opt.dnssecOK)
        XCTAssertEqual(response.answers, [Upstream.a(ttl: 30)])
    }

    func testMaxTTLCapsTheLifetimeAndTheServedTTLs() {
        let cache = CacheHarness(CacheSettings(capacity: 8, minTTL: 0, maxTTL: 20))
        let asked = Upstream.query()
        cache.store(Upstream.answer(to: asked, answers: [Upstream.a(ttl: 300)], additional: [glue]), for: asked)
        XCTAssertEqual(cache.hit(asked)?.ttls, [20, 20])
        cache.clock.advance(19.9)
        XCTAssertEqual(cache.hit(asked)?.ttls, [1, 1])
        cache.clock.advance(0.1)
        XCTAssertTrue(cache.misses(asked), "kept 20 s, not 300")

        let missing = Upstream.query("missing.cluster.local.")
        cache.store(
            Upstream.answer(to: missing, rcode: .nxDomain, authority: [Upstream.soa(ttl: 300, minimum: 300)]),
            for: missing)
        XCTAssertEqual(cache.hit(missing)?.ttls, [20])
        cache.clock.advance(20)
        XCTAssertTrue(cache.misses(missing))
    }

    func testMinTTLRaisesTheLifetimeAndTheServedTTLs() {
        let cache = CacheHarness(CacheSettings(capacity: 8, minTTL: 60, maxTTL: 3600))
        let asked = Upstream.query()
        cache.store(Upstream.answer(to: asked, answers: [Upstream.a(ttl: 5)], additional: [glue]), for: asked)
        XCTAssertEqual(cache.hit(asked)?.ttls, [60, 60])
        cache.clock.advance(30)
        XCTAssertEqual(cache.hit(asked)?.ttls, [30, 30])
        cache.clock.advance(29.9)
        XCTAssertEqual(cache.hit(asked)?.ttls, [1, 1])
        cache.clock.advance(0.1)
        XCTAssertTrue(cache.misses(asked))
        // Without a floor, an answer with TTL 0 is not kept at all.
        let uncached = CacheHarness()
        XCTAssertFalse(uncached.store(Upstream.answer(to: asked, answers: [Upstream.a(ttl: 0)]), for: asked))
        XCTAssertTrue(uncached.misses(asked))
    }

    func testNXDOMAINLivesForTheSmallerOfSOATTLAndMinimum() throws {
        let cache = CacheHarness()
        let missing = Upstream.query("missing.default.svc.cluster.local.", id: 0x3333)
        XCTAssertTrue(
            cache.store(
                Upstream.answer(to: missing, rcode: .nxDomain, authority: [Upstream.soa(ttl: 300, minimum: 60)]),
                for: missing))
        let response = try XCTUnwrap(cache.hit(missing))
        XCTAssertEqual(response.rcode, .nxDomain)
        XCTAssertEqual(response.header.id, 0x3333)
        XCTAssertEqual(response.answers, [])
        XCTAssertEqual(response.authority.map(\.type), [.soa])
        guard case .soa(let soa) = response.authority.first?.data else { return XCTFail("no SOA: \(response)") }
        XCTAssertEqual(soa.minimum, 60)
        cache.clock.advance(10)
        // RFC 2308 5: the SOA's TTL is the negative TTL, min(300, 60), counted down; 290 would let a client keep
        // the NXDOMAIN for 60 s more from now, past our own 50.
        XCTAssertEqual(cache.hit(missing)?.ttls, [50])
        cache.clock.advance(49.9)
        XCTAssertEqual(cache.hit(missing)?.rcode, .nxDomain)
        cache.clock.advance(0.1)
        XCTAssertTrue(cache.misses(missing), "kept 60 s (the MINIMUM), not 300 (the SOA TTL)")
    }

    func testNODATALivesForTheSmallerOfSOATTLAndMinimum() throws {
        let cache = CacheHarness()
        let noData = Upstream.query(Upstream.kubernetes, .aaaa)
        cache.store(Upstream.answer(to: noData, authority: [Upstream.soa(ttl: 20, minimum: 3600)]), for: noData)
        let response = try XCTUnwrap(cache.hit(noData))
        XCTAssertEqual(response.rcode, .noError)
        XCTAssertEqual(response.answers, [])
        XCTAssertEqual(response.ttls, [20])
        cache.clock.advance(19.9)
        XCTAssertEqual(cache.hit(noData)?.ttls, [1])
        cache.clock.advance(0.1)
        XCTAssertTrue(cache.misses(noData), "kept 20 s (the SOA TTL), not 3600 (the MINIMUM)")
        // The A record of the same name is another question.
        XCTAssertTrue(cache.misses(Upstream.query()))
    }

    func testNegativeAnswersWithoutASOAAreNotCached() {
        let cache = CacheHarness()
        let missing = Upstream.query("missing.cluster.local.")
        let noData = Upstream.query(Upstream.kubernetes, .aaaa)
        XCTAssertFalse(cache.store(Upstream.answer(to: missing, rcode: .nxDomain), for: missing))
        XCTAssertFalse(cache.store(Upstream.answer(to: missing, rcode: .nxDomain, authority: [ns]), for: missing))
        XCTAssertFalse(cache.store(Upstream.answer(to: noData), for: noData))
        XCTAssertFalse(cache.store(Upstream.answer(to: noData, authority: [ns]), for: noData))
        XCTAssertTrue(cache.misses(missing))
        XCTAssertTrue(cache.misses(noData))
        XCTAssertEqual(cache.cache.count, 0)
    }

    func testFailuresAreNeverStoredAndNeverReplaceAnAnswer() throws {
        let cache = CacheHarness()
        let asked = Upstream.query()
        let failures = [
            Upstream.answer(to: asked, rcode: .servFail),
            Upstream.answer(to: asked, rcode: .refused),
            Upstream.answer(to: asked, rcode: .formErr),
            Upstream.answer(to: asked, answers: [Upstream.a(ttl: 30, 0x0A63_0063)], truncated: true),
            // A SERVFAIL or REFUSED carrying a SOA is still a failure.
            Upstream.answer(to: asked, rcode: .servFail, authority: [Upstream.soa(ttl: 30, minimum: 30)]),
            Upstream.answer(to: asked, rcode: .refused, answers: [Upstream.a(ttl: 30, 0x0A63_0063)]),
        ]
        for failure in failures {
            XCTAssertFalse(cache.store(failure, for: asked), "\(failure.rcode) TC=\(failure.header.truncated)")
            XCTAssertTrue(cache.misses(asked), "\(failure.rcode) TC=\(failure.header.truncated)")
        }
        XCTAssertEqual(cache.cache.count, 0)

        cache.store(Upstream.answer(to: asked, answers: [Upstream.a(ttl: 30)]), for: asked)
        cache.clock.advance(5)
        for failure in failures {
            XCTAssertFalse(cache.store(failure, for: asked))
            let response = try XCTUnwrap(cache.hit(asked), "\(failure.rcode) replaced the cached answer")
            XCTAssertEqual(response.rcode, .noError)
            XCTAssertEqual(response.answers, [Upstream.a(ttl: 25)], "the good answer, still counting down")
        }
        XCTAssertEqual(cache.cache.count, 1)
    }
}
