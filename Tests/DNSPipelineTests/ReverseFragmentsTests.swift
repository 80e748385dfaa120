import DNSWire
import ServiceRegistry
import XCTest

@testable import DNSPipeline

/// What a snapshot knows of its PTR names for the next build and for overlays: which nodes they are, and their
/// records read back from their answers.
/// (That the answers stay those of a build from scratch is IncrementalBuildTests'.)
final class ReverseFragmentsTests: XCTestCase {
    func record(_ target: String, ttl: UInt32 = 5) throws -> ResourceRecord {
        ResourceRecord(name: try DNSName("1.0.100.10.in-addr.arpa"), ttl: ttl, data: .ptr(try DNSName(target)))
    }

    /// Two services in two clusters sharing 10.100.0.1: its PTR name has a record for each, in registry order,
    /// and its answer (a Message serialized, not the lone-record writer) is where they are read back from.
    func testAPTRNamesRecordsAreReadFromItsAnswerExactlyAndInOrder() throws {
        let shared = IPAddress("10.100.0.1")!
        let services = [
            Service(
                name: "api", namespace: "app",
                clusters: [ClusterExport(locality: LocalityFixture.b, addresses: [shared])]),
            Service(
                name: "web", namespace: "app",
                clusters: [
                    ClusterExport(locality: LocalityFixture.a, addresses: [shared]),
                    ClusterExport(locality: LocalityFixture.c, addresses: [IPAddress("10.100.0.2")!]),
                ]),
        ]
        let snapshot = AnswerSnapshot.build(
            registry: PipelineFixture.registry(services), zones: [PipelineFixture.zone],
            settings: LocalityFixture.settings())
        XCTAssertEqual(snapshot.reverseFragments.count, 2, "one node for each address")
        let name = try DNSName("1.0.100.10.in-addr.arpa")
        let node = Int32(try XCTUnwrap(snapshot.table.lookup(ArraySlice(name.wire))))
        let records = [
            try record("cluster-b.api.app.svc.supercluster.local"),
            try record("cluster-a.web.app.svc.supercluster.local"),
        ]
        XCTAssertEqual(
            snapshot.registryPTRTargets(ofNode: node),
            [
                try DNSName("cluster-b.api.app.svc.supercluster.local"),
                try DNSName("cluster-a.web.app.svc.supercluster.local"),
            ])
        XCTAssertTrue(snapshot.registryPTRNode(node, named: name, isMadeOf: records))
        XCTAssertFalse(snapshot.registryPTRNode(node, named: name, isMadeOf: records.reversed()), "order counts")
        XCTAssertFalse(snapshot.registryPTRNode(node, named: name, isMadeOf: [records[0]]), "a record fewer")
        XCTAssertFalse(
            snapshot.registryPTRNode(
                node, named: name,
                isMadeOf: [records[0], try record("cluster-a.web.app.svc.supercluster.local", ttl: 6)]),
            "a TTL")
        XCTAssertFalse(
            snapshot.registryPTRNode(
                node, named: name, isMadeOf: [records[0], try record("cluster-c.web.app.svc.supercluster.local")]),
            "a target")
        XCTAssertFalse(
            snapshot.registryPTRNode(
                node, named: name, isMadeOf: [records[0], try record("Cluster-a.web.app.svc.supercluster.local")]),
            "a target's letter case")

        // The lone record of 10.100.0.2, written without a Message.
        let lone = try DNSName("2.0.100.10.in-addr.arpa")
        let loneNode = Int32(try XCTUnwrap(snapshot.table.lookup(ArraySlice(lone.wire))))
        XCTAssertEqual(
            snapshot.registryPTRTargets(ofNode: loneNode), [try DNSName("cluster-c.web.app.svc.supercluster.local")])

        // Any other name is not the registry's PTR name: compiled afresh each time, no holders read from it.
        let service = try DNSName("web.app.svc.supercluster.local")
        let serviceNode = Int32(try XCTUnwrap(snapshot.table.lookup(ArraySlice(service.wire))))
        XCTAssertNil(snapshot.registryPTRTargets(ofNode: serviceNode))
        XCTAssertFalse(snapshot.registryPTRNode(serviceNode, named: service, isMadeOf: records))
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
        XCTAssertEqual(first.reverseFragments.count, ptrNames.count, "every PTR name is known as one")
        let serviceNames = first.fragments.bases.flatMap { first.fragments.entries(ofTree: $0) }.reduce(0) {
            $0 + $1.nodes.count
        }
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
                XCTAssertEqual(snapshot.registryPTRTargets(ofNode: Int32(node)), expected, "\(name)")
            }
        }
    }
}
