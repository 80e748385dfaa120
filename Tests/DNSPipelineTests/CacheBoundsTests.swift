import DNSWire
import XCTest

@testable import DNSPipeline

/// What bounds the cache against hostile answers and names (issue: safe on a hostile network): TTLs with the top
/// bit set, a byte budget beside the entry count, and an index no collision can turn against a popular entry.
final class CacheBoundsTests: XCTestCase {
    private func address(_ response: Message?) -> UInt32? {
        guard case .a(let address) = response?.answers.first?.data else { return nil }
        return address.rawValue
    }

    /// RFC 2181 8: a TTL with the most significant bit set is 0, not 2^31 seconds capped to maxTTL.
    func testATTLWithTheTopBitSetCountsAsZero() throws {
        let query = Upstream.query()
        for ttls in [[UInt32(0x8000_0000)], [0xFFFF_FFFF], [300, 0x8000_0001]] {
            let cache = CacheHarness(CacheSettings(capacity: 8, maxTTL: 3600))
            let answers = ttls.enumerated().map { Upstream.a(ttl: $0.element, UInt32(0x0A60_0001 + $0.offset)) }
            XCTAssertFalse(cache.store(Upstream.answer(to: query, answers: answers), for: query), "\(ttls)")
            XCTAssertTrue(cache.misses(query), "\(ttls)")
        }
        // With a floor, the entry lives minTTL and serves minTTL for that record, not maxTTL.
        let floored = CacheHarness(CacheSettings(capacity: 8, minTTL: 30, maxTTL: 3600))
        let answer = Upstream.answer(to: query, answers: [Upstream.a(ttl: 0x8000_0000)])
        XCTAssertTrue(floored.store(answer, for: query))
        XCTAssertEqual(floored.hit(query)?.ttls, [30])
        floored.clock.advance(30)
        XCTAssertTrue(floored.misses(query))
        // A negative answer whose SOA MINIMUM has the top bit set is not kept for 68 years either.
        let negative = CacheHarness(CacheSettings(capacity: 8, maxTTL: 3600))
        let nx = Upstream.answer(to: query, rcode: .nxDomain, authority: [Upstream.soa(ttl: 60, minimum: 0x8000_0000)])
        XCTAssertFalse(negative.store(nx, for: query))
        XCTAssertEqual(CacheSettings(maxTTL: 3600).held(0x9000_0000), 0)
    }

    /// Entries of 64 KB-class answers are bounded by octets, not only by count: the budget holds after every
    /// store, an answer over the whole budget is not cached, and a small hot entry survives big one-off ones.
    func testTheByteBudgetBoundsWhatTheEntriesHold() throws {
        let budget = 16_384
        let cache = CacheHarness(CacheSettings(capacity: 1000, maxBytes: budget))
        let hot = Upstream.query("hot.cluster.local.")
        XCTAssertTrue(
            cache.store(Upstream.answer(to: hot, answers: [Upstream.a("hot.cluster.local.", ttl: 300)]), for: hot))
        var stored = 1
        for index in 0..<60 {
            let name = "big-\(index).cluster.local."
            let query = Upstream.query(name, .txt)
            // About 3 KB of TXT: five of these fill the budget.
            let text = ResourceRecord(
                name: PipelineFixture.name(name), ttl: 300,
                data: .txt(Array(repeating: Array(repeating: UInt8(ascii: "x"), count: 250), count: 12)))
            XCTAssertNotNil(cache.hit(hot), "the hot entry went at \(name)")
            if cache.store(Upstream.answer(to: query, answers: [text]), for: query) { stored += 1 }
            XCTAssertLessThanOrEqual(cache.cache.bytes, budget, name)
        }
        XCTAssertEqual(stored, 61)
        XCTAssertLessThan(cache.cache.count, 7, "at most five 3 KB answers fit 16 KB")
        XCTAssertGreaterThan(cache.cache.evictions.load(ordering: .relaxed), 50)
        // An answer larger than the whole budget is refused, and pushes nothing out.
        let huge = Upstream.query("huge.cluster.local.", .txt)
        let hugeText = ResourceRecord(
            name: PipelineFixture.name("huge.cluster.local."), ttl: 300,
            data: .txt(Array(repeating: Array(repeating: UInt8(ascii: "y"), count: 255), count: 80)))
        let before = cache.cache.count
        XCTAssertFalse(cache.cache.store(Upstream.answer(to: huge, answers: [hugeText]), for: huge.serialized()))
        XCTAssertEqual(cache.cache.count, before)
        XCTAssertNotNil(cache.hit(hot))
    }

    /// Every question hashing alike (the hash cut to no bits) still gets its own entry and its own answer: a
    /// colliding question never replaces another in place, and a hot one survives a flood of colliding names.
    func testQuestionsWithOneHashKeepTheirOwnEntries() {
        let clock = ManualClock()
        let cache = CacheHarness(
            cache: ResponseCache(
                settings: CacheSettings(capacity: 16), clock: { clock.now }, seed: 1, hashMask: 0),
            clock: clock)
        let queries = (0..<12).map { Upstream.query("c\($0).cluster.local.") }
        for (index, query) in queries.enumerated() {
            let name = query.questions[0].name.description
            XCTAssertTrue(
                cache.store(
                    Upstream.answer(to: query, answers: [Upstream.a(name, ttl: 300, UInt32(index))]), for: query))
        }
        XCTAssertEqual(cache.cache.count, 12)
        for (index, query) in queries.enumerated() { XCTAssertEqual(address(cache.hit(query)), UInt32(index)) }
        // A flood of colliding one-off names: the hot entry, hit between them, stays; the index stays consistent.
        for index in 0..<200 {
            let query = Upstream.query("flood-\(index).cluster.local.")
            XCTAssertEqual(address(cache.hit(queries[0])), 0, "hot entry lost at flood name \(index)")
            _ = cache.store(
                Upstream.answer(to: query, answers: [Upstream.a("flood-\(index).cluster.local.", ttl: 300, 99)]),
                for: query)
            XCTAssertLessThanOrEqual(cache.cache.count, 16)
        }
        XCTAssertEqual(address(cache.hit(Upstream.query("flood-199.cluster.local."))), 99)
    }

    /// The hash starts from a secret per cache: the same question hashes differently in two caches.
    func testTheHashIsSeededPerCache() throws {
        let bytes = Upstream.query().serialized()
        let hashes = try bytes.withUnsafeBytes { raw in
            let view = try QueryView.scan(raw)
            return (0..<4).map { _ in ResponseCache(settings: CacheSettings(capacity: 4)).hash(raw, view: view) }
        }
        XCTAssertEqual(Set(hashes).count, 4, "\(hashes)")
    }

    /// The index against a model under random inserts and removals, runs wrapping the table's end included.
    func testTheIndexAgreesWithAModelUnderChurn() {
        var generator = SystemRandomNumberGenerator()
        var index = CacheIndex(capacity: 8)
        var model: [Int: UInt64] = [:]
        for _ in 0..<5000 {
            if model.count < 8 && (model.isEmpty || Bool.random(using: &generator)) {
                let slot = (0..<8).first { model[$0] == nil }!
                // Few distinct hashes, so runs are long and collide.
                let hash = UInt64.random(in: 0..<6, using: &generator) << 40
                index.insert(hash, slot: slot)
                model[slot] = hash
            } else {
                let (slot, hash) = model.randomElement(using: &generator)!
                index.remove(hash, slot: slot)
                model[slot] = nil
            }
            XCTAssertEqual(index.count, model.count)
            for (slot, hash) in model { XCTAssertEqual(index.find(hash) { $0 == slot }, slot) }
        }
    }
}
