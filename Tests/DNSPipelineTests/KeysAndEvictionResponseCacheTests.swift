import DNSPipeline
import DNSWire
import XCTest

/// What one cache entry stands for (the name without case, type, class, DO and CD) and which entries CLOCK keeps
/// when the cache is full.
final class KeysAndEvictionResponseCacheTests: XCTestCase {
    private func store(_ cache: CacheHarness, _ query: Message, address: UInt32, ttl: UInt32 = 300) {
        let name = query.questions[0].name.description
        XCTAssertTrue(
            cache.store(Upstream.answer(to: query, answers: [Upstream.a(name, ttl: ttl, address)]), for: query), name)
    }

    private func address(_ response: Message?) -> UInt32? {
        guard case .a(let address) = response?.answers.first?.data else { return nil }
        return address.rawValue
    }

    func testDOAndCDMakeDifferentEntries() throws {
        let cache = CacheHarness()
        let plain = Upstream.query()
        let withDO = Upstream.query(edns: EDNS(dnssecOK: true))
        let withCD = Upstream.query(checkingDisabled: true)
        store(cache, plain, address: 1)
        XCTAssertTrue(cache.misses(withDO), "DO asks for signatures: not the plain answer")
        XCTAssertTrue(cache.misses(withCD), "CD asks for unvalidated data: not the plain answer")
        store(cache, withDO, address: 2)
        store(cache, withCD, address: 3)
        XCTAssertEqual(cache.cache.count, 3)
        XCTAssertEqual(address(cache.hit(plain)), 1)
        XCTAssertEqual(address(cache.hit(Upstream.query(edns: EDNS()))), 1, "EDNS without DO is the plain entry")
        let signed = try XCTUnwrap(cache.hit(withDO))
        XCTAssertEqual(address(signed), 2)
        XCTAssertEqual(signed.edns?.dnssecOK, true, "DO echoed in our OPT")
        let unchecked = try XCTUnwrap(cache.hit(withCD))
        XCTAssertEqual(address(unchecked), 3)
        XCTAssertTrue(unchecked.header.checkingDisabled)
        XCTAssertTrue(cache.misses(Upstream.query(edns: EDNS(dnssecOK: true), checkingDisabled: true)))
    }

    func testNamesDifferingOnlyInCaseShareAnEntry() throws {
        let cache = CacheHarness()
        let upper = Upstream.query("WEB.PROD.SVC.CLUSTER.LOCAL.")
        let lower = Upstream.query("web.prod.svc.cluster.local.")
        store(cache, upper, address: 1)
        let response = try XCTUnwrap(cache.hit(lower))
        XCTAssertEqual(address(response), 1)
        XCTAssertEqual(response.questions[0].name.description, "web.prod.svc.cluster.local.")
        XCTAssertEqual(address(cache.hit(Upstream.query("wEb.pRoD.sVc.cLuStEr.lOcAl."))), 1)
        // A refresh under another case replaces the entry rather than adding one.
        store(cache, lower, address: 2)
        XCTAssertEqual(cache.cache.count, 1)
        XCTAssertEqual(address(cache.hit(upper)), 2)
    }

    /// TYPE65 is 0x0041 and TYPE97 is 0x0061: 'A' and 'a' as octets. Only the name is case-folded.
    func testTYPE65AndTYPE97AreDifferentQuestions() throws {
        let cache = CacheHarness()
        let type65 = Upstream.query(Upstream.kubernetes, RecordType(65))
        let type97 = Upstream.query(Upstream.kubernetes, RecordType(97))
        let name = PipelineFixture.name(Upstream.kubernetes)
        let record65 = ResourceRecord(name: name, ttl: 300, data: .unknown(type: RecordType(65), data: [0, 1, 0]))
        let record97 = ResourceRecord(name: name, ttl: 300, data: .unknown(type: RecordType(97), data: [9, 7]))
        XCTAssertTrue(cache.store(Upstream.answer(to: type65, answers: [record65]), for: type65))
        XCTAssertTrue(cache.misses(type97), "TYPE97 must not get the TYPE65 answer")
        XCTAssertTrue(cache.store(Upstream.answer(to: type97, answers: [record97]), for: type97))
        XCTAssertEqual(cache.cache.count, 2)
        XCTAssertEqual(cache.hit(type65)?.answers, [record65])
        XCTAssertEqual(cache.hit(type97)?.answers, [record97])
        XCTAssertEqual(cache.hit(type97)?.questions.first?.type, RecordType(97))
    }

    func testAnAnswerToAnotherQuestionIsNotStored() {
        let cache = CacheHarness()
        let asked = Upstream.query()
        let other = Upstream.query("web.prod.svc.cluster.local.")
        let otherType = Upstream.query(Upstream.kubernetes, .aaaa)
        for wrong in [other, otherType] {
            let answer = Upstream.answer(to: wrong, answers: [Upstream.a(wrong.questions[0].name.description, ttl: 30)])
            XCTAssertFalse(cache.store(answer, for: asked), "\(wrong.questions[0])")
        }
        XCTAssertTrue(cache.misses(asked))
        XCTAssertEqual(cache.cache.count, 0)
    }

    func testAHotEntrySurvivesAScanOfOneOffNames() {
        let cache = CacheHarness(CacheSettings(capacity: 4))
        let hot = Upstream.query()
        store(cache, hot, address: 0x0A60_0001)
        let scan = (0..<20).map { Upstream.query("scan-\($0).default.svc.cluster.local.") }
        for (index, query) in scan.enumerated() {
            XCTAssertEqual(address(cache.hit(hot)), 0x0A60_0001, "the hot entry was evicted at scan name \(index)")
            store(cache, query, address: UInt32(index))
            XCTAssertLessThanOrEqual(cache.cache.count, 4)
        }
        XCTAssertEqual(address(cache.hit(hot)), 0x0A60_0001)
        XCTAssertEqual(cache.cache.count, 4)
        // The one-off names only ever replaced each other: the last three remain, every earlier one is gone.
        XCTAssertEqual(scan.indices.filter { !cache.misses(scan[$0]) }, [17, 18, 19])
    }

    func testWithoutHitsTheOldestGoesFirstAndAHitBuysASecondChance() {
        let cache = CacheHarness(CacheSettings(capacity: 4))
        let queries = (0..<6).map { Upstream.query("e\($0).cluster.local.") }
        for (index, query) in queries.prefix(4).enumerated() { store(cache, query, address: UInt32(index)) }
        XCTAssertEqual(cache.cache.count, 4)
        store(cache, queries[4], address: 4)
        XCTAssertEqual(cache.cache.count, 4)
        XCTAssertTrue(cache.misses(queries[0]), "nothing referenced: the first stored is the first evicted")
        XCTAssertNotNil(cache.hit(queries[1]))
        store(cache, queries[5], address: 5)
        XCTAssertEqual(cache.cache.count, 4)
        XCTAssertTrue(cache.misses(queries[2]), "e1 was hit, so e2 goes in its place")
        for index in [1, 3, 4, 5] { XCTAssertEqual(address(cache.hit(queries[index])), UInt32(index)) }
    }

    func testCountNeverExceedsCapacityUnderManyNames() {
        let cache = CacheHarness(CacheSettings(capacity: 16))
        for index in 0..<500 {
            let query = Upstream.query("n\(index).cluster.local.", index.isMultiple(of: 2) ? .a : .aaaa)
            cache.store(
                Upstream.answer(to: query, authority: [Upstream.soa(ttl: 30, minimum: 30)]), for: query)
            if index.isMultiple(of: 3) { _ = cache.ask(Upstream.query("n\(index / 2).cluster.local.")) }
            XCTAssertLessThanOrEqual(cache.cache.count, 16)
        }
        XCTAssertEqual(cache.cache.count, 16)
    }
}
