import DNSPipeline
import XCTest

@testable import DNSServer

/// The query counter blocks: requests by type and zone slot, and the request duration histogram's buckets
/// (CoreDNS's bounds, 0.25 ms doubling to 8.192 s, then +Inf, each bound inclusive as Prometheus's `le` says),
/// the buckets found by arithmetic on the query path.
final class QueryCountersTests: XCTestCase {
    func testEveryDurationLandsInTheFirstBucketWhoseBoundHoldsIt() {
        let bounds = QueryCounters.bucketBounds.map { UInt64(($0 * 1e9).rounded()) }
        XCTAssertEqual(bounds.first, 250_000)
        XCTAssertEqual(bounds.last, 8_192_000_000)
        var durations: [UInt64] = [0, 1, UInt64.max]
        for bound in bounds { durations += [bound - 1, bound, bound + 1] }
        for nanoseconds in durations {
            let expected = bounds.firstIndex { nanoseconds <= $0 } ?? bounds.count
            XCTAssertEqual(QueryCounters.bucket(nanoseconds: nanoseconds), expected, "\(nanoseconds) ns")
        }
    }

    func testAThreadBlockSumsWhatItCounted() {
        let counters = QueryCounters(concurrent: false)
        counters.observe(nanoseconds: 300_000, count: 3)
        counters.observe(nanoseconds: 9_000_000_000, count: 1)
        var totals = [UInt64](repeating: 0, count: QueryCounters.cellCount)
        counters.accumulate(into: &totals)
        XCTAssertEqual(totals[QueryCounters.bucketIndex(1)], 3)
        XCTAssertEqual(totals[QueryCounters.bucketIndex(QueryCounters.boundedBuckets)], 1)
        XCTAssertEqual(totals[QueryCounters.sumIndex], 900_000 + 9_000_000_000)
    }

    func testRequestsAreCountedByTypeSlotAndZoneSlot() {
        let counters = QueryCounters(concurrent: false)
        let owned = counters.owned
        var facts = QueryFacts()
        facts.zoneSlot = 3
        for type: UInt16 in [1, 28, 28, 255, 99, 65535] {
            facts.type = type
            owned.countRequest(transport: 0, facts: facts)
        }
        facts.type = 33
        counters.countRequest(transport: 1, facts: facts)
        var totals = [UInt64](repeating: 0, count: QueryCounters.cellCount)
        counters.accumulate(into: &totals)
        func count(_ transport: Int, _ type: String) -> UInt64 {
            let slot = QueryCounters.typeNames.firstIndex(of: type)!
            return totals[QueryCounters.requestIndex(transport: transport, typeSlot: slot, zoneSlot: 3)]
        }
        XCTAssertEqual(count(0, "A"), 1)
        XCTAssertEqual(count(0, "AAAA"), 2)
        XCTAssertEqual(count(0, "ANY"), 1)
        XCTAssertEqual(count(0, "other"), 2, "TYPE99 and TYPE65535")
        XCTAssertEqual(count(1, "SRV"), 1)
        XCTAssertEqual(totals.reduce(0, +), 7)
    }
}
