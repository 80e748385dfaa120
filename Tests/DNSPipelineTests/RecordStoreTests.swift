import DNSWire
import ServiceRegistry
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

/// Names DNS cannot hold (over 255 octets) are found from lengths, per naming tree, so `scdns check` can fail
/// on them and the server can say it leaves them out.
final class NamesTooLongTests: XCTestCase {
    func testEveryNameOverTheLimitIsListedAndNoOther() throws {
        let long = { (letter: Character, count: Int) in String(repeating: letter, count: count) }
        let services = try RegistryDecoder.decode(
            """
            services:
              - name: \(long("s", 63))
                namespace: \(long("n", 63))
                ports: [{ name: \(long("p", 40)), port: 80 }]
                clusters:
                  - { cluster: \(long("c", 63)), addresses: [10.0.0.1] }
              - name: short
                namespace: app
                clusters: [{ cluster: a, addresses: [10.0.0.2] }]
            """, file: "long.yaml")
        let registry = RegistrySnapshot(services: services, version: 1, origin: "long.yaml")
        // The cluster name is 216 octets under svc.supercluster.local, 214 under svc.clusterset.local and 200
        // under global: all fit. The SRV name, _PORT._tcp.SVC.NS, is 24 + 128 + 5 + 42 = 199: fits too.
        var settings = PipelineFixture.settings()
        XCTAssertEqual(AnswerSnapshot.build(registry: registry, zones: [], settings: settings).namesTooLong, [])
        // A zone of 60 octets more: the cluster name no longer fits in it, and the SRV name neither.
        let deep = try DNSName(long("z", 59) + ".supercluster.local.")
        settings.serviceZones = [deep]
        let found = AnswerSnapshot.build(registry: registry, zones: [], settings: settings).namesTooLong
        XCTAssertEqual(found.count, 2, "\(found)")
        XCTAssertTrue(found[0].hasPrefix("\(long("n", 63))/\(long("s", 63)): _\(long("p", 40))._tcp."), found[0])
        XCTAssertTrue(found[1].hasSuffix("(276 octets)"), found[1])
        // Without cluster names (strict MCS), a ClusterSetIP service has none to be too long.
        settings.clusterNames = false
        XCTAssertEqual(AnswerSnapshot.build(registry: registry, zones: [], settings: settings).namesTooLong.count, 1)
    }
}
