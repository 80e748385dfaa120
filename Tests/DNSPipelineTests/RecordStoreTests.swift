import DNSWire
import XCTest

@testable import DNSPipeline

/// The record store's RRsets: a repeated record is kept once, in first-seen order, whether the RRset is short
/// (scanned) or long (a set of its RDATA, so a service with 100,000 addresses compiles in linear time).
final class RecordStoreTests: XCTestCase {
    private func a(_ index: Int) -> ResourceRecord {
        ResourceRecord(
            name: try! DNSName("big.app.svc.supercluster.local."), ttl: 5,
            data: .a(IPv4Address(rawValue: 0x0A00_0000 + UInt32(index))))
    }

    func testRepeatsAreKeptOnceInFirstSeenOrderAtAnyLength() {
        for distinct in [3, 31, 32, 33, 500] {
            var store = RecordStore()
            let apex = try! DNSName("supercluster.local.")
            for round in 0..<2 {
                for index in 0..<distinct { store.add(a(index), zone: 0, apex: apex, fromSource: 1) }
                // Another source's record of the same name and type never joins the first source's RRset.
                store.add(a(distinct + round), zone: 0, apex: apex, fromSource: 2)
            }
            let rrset = store.rrset(try! DNSName("big.app.svc.supercluster.local."), .a)
            XCTAssertEqual(rrset, (0..<distinct).map(a), "\(distinct) distinct")
        }
    }
}
