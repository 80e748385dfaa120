import DNSWire
import ServiceRegistry
import XCTest

@testable import DNSPipeline

/// What a snapshot keeps of its PTR names for the next build and for overlays: the records, exactly, by node.
/// (That the answers stay those of a build from scratch is IncrementalBuildTests'.)
final class ReverseFragmentsTests: XCTestCase {
    func record(_ target: String, ttl: UInt32 = 5) throws -> ResourceRecord {
        ResourceRecord(name: try DNSName("1.0.100.10.in-addr.arpa"), ttl: ttl, data: .ptr(try DNSName(target)))
    }

    func testRecordsAreKeptExactlyAndTheirTargetsInOrder() throws {
        let records = [
            try record("web.app.svc.supercluster.local"), try record("cluster-b.api.app.svc.supercluster.local"),
        ]
        var fragments = ReverseFragments()
        fragments.add(records, node: 7)
        XCTAssertEqual(fragments.count, 1)
        XCTAssertEqual(
            fragments.targets(ofNode: 7),
            [try DNSName("web.app.svc.supercluster.local"), try DNSName("cluster-b.api.app.svc.supercluster.local")])
        XCTAssertNil(fragments.targets(ofNode: 8), "no records kept for another node")
        XCTAssertTrue(fragments.matches(node: 7, records))
        XCTAssertFalse(fragments.matches(node: 8, records))
        XCTAssertFalse(fragments.matches(node: 7, Array(records.reversed())), "order counts")
        XCTAssertFalse(fragments.matches(node: 7, [records[0]]), "a record fewer")
        XCTAssertFalse(
            fragments.matches(node: 7, [records[0], try record("cluster-b.api.app.svc.supercluster.local", ttl: 6)]),
            "a TTL")
        XCTAssertFalse(
            fragments.matches(node: 7, [records[0], try record("cluster-c.api.app.svc.supercluster.local")]), "a target"
        )
        XCTAssertFalse(
            fragments.matches(node: 7, [records[0], try record("Cluster-b.api.app.svc.supercluster.local")]),
            "a target's letter case")

        // Anything but PTR records is not kept: such a name is compiled afresh each time.
        fragments.add([ResourceRecord(name: try DNSName("x.in-addr.arpa"), ttl: 5, data: .txt("x"))], node: 9)
        XCTAssertNil(fragments.targets(ofNode: 9))
        XCTAssertEqual(fragments.count, 1)
    }

    func testARebuildOfAnUnchangedRegistryCopiesEveryServiceNameAndEveryPTRName() throws {
        let settings = LocalityFixture.settings()
        let registry = PipelineFixture.registry()
        let first = AnswerSnapshot.build(registry: registry, zones: [PipelineFixture.zone], settings: settings)
        let second = AnswerSnapshot.build(
            registry: registry, zones: [PipelineFixture.zone], settings: settings, previous: first)
        let base = try XCTUnwrap(AnswerCompiler.reverseTree(settings))
        let reverse = ReverseRecords(settings: settings)
        let ptrNames = Set(registry.services.flatMap { reverse.records(for: $0, base: base).map(\.name) })
        XCTAssertGreaterThan(ptrNames.count, 5)
        XCTAssertEqual(first.reverseFragments.count, ptrNames.count, "every PTR name's records are kept")
        let serviceNames = first.fragments.values.reduce(0) { $0 + $1.nodes.count }
        XCTAssertEqual(second.reusedNames, serviceNames + ptrNames.count, "and every one is copied, not compiled")
        XCTAssertEqual(second.reverseFragments.count, ptrNames.count, "the copies are kept for the build after")
        // By the node each snapshot answers the name with: what an overlay reads to find an address's services.
        var targets: [DNSName: [DNSName]] = [:]
        for service in registry.services {
            for record in reverse.records(for: service, base: base) {
                guard case .ptr(let target) = record.data else { continue }
                if !(targets[record.name] ?? []).contains(target) { targets[record.name, default: []].append(target) }
            }
        }
        for snapshot in [first, second] {
            for (name, expected) in targets {
                let node = try XCTUnwrap(snapshot.table.lookup(ArraySlice(name.wire)), "\(name)")
                XCTAssertEqual(snapshot.reverseFragments.targets(ofNode: Int32(node)), expected, "\(name)")
            }
        }
    }
}
