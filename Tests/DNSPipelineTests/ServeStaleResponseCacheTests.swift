import DNSPipeline
import DNSWire
import XCTest

/// `staleResponse` (RFC 8767), which the upstream client asks when every upstream failed: an entry expired less
/// than `serveStale` ago comes back with TTL 30, nothing else does; and cached answers too large for the client
/// are truncated like any other.
final class ServeStaleResponseCacheTests: XCTestCase {
    private let glue = Upstream.a("ns.dns.cluster.local.", ttl: 300, 0x0A60_000A)

    func testStaleOnlyBetweenExpiryAndServeStaleWithTTL30() throws {
        let cache = CacheHarness(CacheSettings(capacity: 8, serveStale: 60))
        let asked = Upstream.query(id: 1)
        cache.store(Upstream.answer(to: asked, answers: [Upstream.a(ttl: 10)], additional: [glue]), for: asked)
        let later = Upstream.query("KUBERNETES.default.svc.cluster.local.", id: 0xABCD)
        XCTAssertNil(cache.stale(later), "fresh: the hit path answers it, not serve-stale")
        cache.clock.advance(9.9)
        XCTAssertNil(cache.stale(later))
        cache.clock.advance(0.1)
        XCTAssertTrue(cache.misses(later), "expired: the pipeline forwards it")

        let stale = try XCTUnwrap(cache.stale(later), "just expired: stale must be served")
        XCTAssertEqual(stale.header.id, 0xABCD)
        XCTAssertTrue(stale.header.isResponse)
        XCTAssertEqual(stale.rcode, .noError)
        XCTAssertTrue(stale.questions[0].name.isIdentical(to: later.questions[0].name))
        XCTAssertEqual(stale.answers.map(\.data), [Upstream.a(ttl: 10).data])
        XCTAssertEqual(stale.ttls, [30, 30], "RFC 8767 4: every TTL of a stale answer is 30")
        XCTAssertNil(stale.edns)

        cache.clock.advance(59.9)
        XCTAssertEqual(cache.stale(later)?.ttls, [30, 30], "59.9 s past expiry, serveStale 60")
        XCTAssertTrue(cache.misses(later), "a stale entry is never a hit")
        cache.clock.advance(0.1)
        XCTAssertNil(cache.stale(later), "60 s past expiry: too old")
    }

    func testServeStaleZeroNeverServesStale() {
        let cache = CacheHarness(CacheSettings(capacity: 8, serveStale: 0))
        let asked = Upstream.query()
        cache.store(Upstream.answer(to: asked, answers: [Upstream.a(ttl: 10)]), for: asked)
        XCTAssertNotNil(cache.hit(asked))
        cache.clock.advance(10)
        XCTAssertTrue(cache.misses(asked))
        XCTAssertNil(cache.stale(asked))
        cache.clock.advance(0.5)
        XCTAssertNil(cache.stale(asked))
    }

    func testNothingStaleForAQuestionNeverCachedOrWithoutACache() {
        let cache = CacheHarness()
        XCTAssertNil(cache.stale(Upstream.query()))
        let asked = Upstream.query()
        cache.store(Upstream.answer(to: asked, answers: [Upstream.a(ttl: 10)]), for: asked)
        cache.clock.advance(11)
        XCTAssertNil(cache.stale(Upstream.query(Upstream.kubernetes, .aaaa)))
        XCTAssertNil(cache.stale(Upstream.query(edns: EDNS(dnssecOK: true))), "DO is another entry")
        XCTAssertNotNil(cache.stale(asked))
        let uncached = QueryProcessor(snapshot: CacheHarness.snapshot)
        XCTAssertNil(uncached.staleResponse(asked.serialized(), client: .pod))
    }

    func testAStaleNXDOMAINKeepsItsSOAAndGetsOurOPT() throws {
        let cache = CacheHarness()
        let missing = Upstream.query("missing.default.svc.cluster.local.")
        cache.store(
            Upstream.answer(to: missing, rcode: .nxDomain, authority: [Upstream.soa(ttl: 30, minimum: 60)]),
            for: missing)
        cache.clock.advance(31)
        XCTAssertTrue(cache.misses(missing))
        let withEDNS = Upstream.query("missing.default.svc.cluster.local.", id: 9, edns: EDNS(udpPayloadSize: 4096))
        for client in [ClientContext.pod, .from("10.244.0.5", .tcp)] {
            let stale = try XCTUnwrap(cache.stale(withEDNS, client: client))
            XCTAssertEqual(stale.header.id, 9)
            XCTAssertEqual(stale.rcode, .nxDomain)
            XCTAssertEqual(stale.authority.map(\.type), [.soa])
            XCTAssertEqual(stale.ttls, [30])
            XCTAssertEqual(stale.edns?.udpPayloadSize, 1232)
        }
    }

    // MARK: - Size

    /// A TXT answer of about 620 octets: over 512, under 1232.
    private let bigTXT = ResourceRecord(
        name: PipelineFixture.name("big.cluster.local."), ttl: 30,
        data: .txt(["a", "b", "c"].map { Array(String(repeating: $0, count: 200).utf8) }))

    func testACachedAnswerOver512OctetsIsTruncatedForUDPWithoutEDNS() throws {
        let cache = CacheHarness()
        // Stored from a client with EDNS, as dig asks; the plain query shares the entry.
        let stored = Upstream.query("big.cluster.local.", .txt, edns: EDNS())
        XCTAssertTrue(cache.store(Upstream.answer(to: stored, answers: [bigTXT]), for: stored))

        let plain = Upstream.query("Big.Cluster.Local.", .txt, id: 0x0512)
        let truncated = try XCTUnwrap(cache.hit(plain))
        XCTAssertTrue(truncated.header.truncated, "a 620-octet answer to a 512-octet client needs TC")
        XCTAssertEqual(truncated.header.id, 0x0512)
        XCTAssertTrue(truncated.questions[0].name.isIdentical(to: plain.questions[0].name))
        XCTAssertEqual(truncated.answers, [], "the TXT RRset is dropped whole")
        XCTAssertLessThanOrEqual(truncated.serialized().count, 512)

        let overTCP = try XCTUnwrap(cache.hit(plain, client: .from("10.244.0.5", .tcp)))
        XCTAssertFalse(overTCP.header.truncated)
        XCTAssertEqual(overTCP.answers, [bigTXT])
        let withEDNS = try XCTUnwrap(cache.hit(Upstream.query("big.cluster.local.", .txt, edns: EDNS())))
        XCTAssertFalse(withEDNS.header.truncated)
        XCTAssertEqual(withEDNS.answers, [bigTXT])

        // Stale answers are cut to the client's size too.
        cache.clock.advance(30)
        XCTAssertEqual(cache.stale(plain)?.header.truncated, true)
        let staleOverTCP = try XCTUnwrap(cache.stale(plain, client: .from("10.244.0.5", .tcp)))
        XCTAssertFalse(staleOverTCP.header.truncated)
        XCTAssertEqual(staleOverTCP.answers.map(\.ttl), [30])
    }
}
