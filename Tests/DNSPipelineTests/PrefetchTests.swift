import DNSPipeline
import DNSWire
import Synchronization
import XCTest

/// Prefetch (DESIGN.md section 4): an entry asked for in the last tenth of its lifetime is refreshed once in the
/// background, while the client is answered from the cache as usual.
final class PrefetchTests: XCTestCase {
    /// What the prefetcher was asked for: the query bytes and the forward rule.
    final class Requests: Sendable {
        private let list = Mutex<[([UInt8], Int)]>([])
        func record(_ query: [UInt8], _ rule: Int) { list.withLock { $0.append((query, rule)) } }
        var count: Int { list.withLock { $0.count } }
        var last: ([UInt8], Int)? { list.withLock { $0.last } }
    }

    func testAHitInTheLastTenthAsksForOneRefreshAndARefreshStartsOver() throws {
        let harness = CacheHarness(CacheSettings(capacity: 64, serveStale: 60, prefetch: true))
        let requests = Requests()
        harness.cache.setPrefetcher { requests.record($0, $1) }
        let query = Upstream.query(id: 0x0102)
        XCTAssertTrue(harness.store(Upstream.answer(to: query, answers: [Upstream.a(ttl: 100)]), for: query))

        harness.clock.advance(50)
        XCTAssertNotNil(harness.hit(query))
        XCTAssertEqual(requests.count, 0, "halfway through its life: no refresh")

        harness.clock.advance(41)  // 91 s of 100: the last tenth
        XCTAssertEqual(harness.hit(query)?.answers.first?.ttl, 9, "the client is still answered from the cache")
        XCTAssertEqual(requests.count, 1)
        XCTAssertEqual(requests.last?.0, query.serialized(), "the refresh asks the client's question")
        XCTAssertEqual(requests.last?.1, 0, "through the rule that matched")
        XCTAssertEqual(harness.cache.prefetches.load(ordering: .relaxed), 1)

        harness.clock.advance(1)
        XCTAssertNotNil(harness.hit(query))
        XCTAssertEqual(requests.count, 1, "one refresh per entry, not one per hit")

        // The refresh lands: a new entry with a full lifetime, which is prefetched again near its own end.
        XCTAssertTrue(harness.store(Upstream.answer(to: query, answers: [Upstream.a(ttl: 100)]), for: query))
        harness.clock.advance(50)
        XCTAssertEqual(harness.hit(query)?.answers.first?.ttl, 50)
        XCTAssertEqual(requests.count, 1)
        harness.clock.advance(45)
        XCTAssertNotNil(harness.hit(query))
        XCTAssertEqual(requests.count, 2)
    }

    func testPrefetchOffAsksForNothing() throws {
        let harness = CacheHarness(CacheSettings(capacity: 64, serveStale: 60, prefetch: false))
        let requests = Requests()
        harness.cache.setPrefetcher { requests.record($0, $1) }
        let query = Upstream.query()
        XCTAssertTrue(harness.store(Upstream.answer(to: query, answers: [Upstream.a(ttl: 10)]), for: query))
        harness.clock.advance(9.5)
        XCTAssertNotNil(harness.hit(query))
        XCTAssertEqual(requests.count, 0)
    }
}
