import DNSPipeline
import DNSWire
import Foundation
import Logging
import ServiceRegistry
import XCTest

@testable import DNSServer

/// A registry change is answered at once from an overlay over the last full snapshot, and a full build folds
/// it in behind: the serving snapshot then has no base, and answers the same.
final class AnswerPublisherOverlayTests: XCTestCase {
    func registry(_ address: String, version: UInt64) -> RegistrySnapshot {
        registry([7: address], version: version)
    }

    /// 50 services web0...web49 at 10.0.0.(N+1), but for the addresses `changed` gives.
    func registry(_ changed: [Int: String], version: UInt64, delta: RegistryDelta? = nil) -> RegistrySnapshot {
        RegistrySnapshot(
            services: (0..<50).map { index in
                Service(
                    name: "web\(index)", namespace: "app",
                    clusters: [
                        ClusterExport(
                            locality: Locality(cluster: "c1"),
                            addresses: [IPAddress(changed[index] ?? "10.0.0.\(index + 1)")!])
                    ])
            }.sorted { $0.name < $1.name },  // as both sources deliver them: by namespace, then name
            version: version, origin: "test", delta: delta)
    }

    func answer(_ processor: QueryProcessor, web: Int = 7) throws -> [RData] {
        let query = Message(
            header: Header(id: 1),
            questions: [Question(name: try DNSName("web\(web).app.svc.supercluster.local."), type: .a)]
        ).serialized()
        let reply = try XCTUnwrap(
            processor.process(query, client: ClientContext(address: .v4(0x7F00_0001), transport: .udp)))
        return try Message(parsing: reply).answers.map(\.data)
    }

    func testAChangeIsAnsweredFromAnOverlayThenFoldedIntoAFullSnapshot() async throws {
        let publisher = AnswerPublisher(
            registry: registry("10.0.0.8", version: 1), zones: [], settings: PipelineSettings(),
            logger: Logger(label: "test"))
        let full = publisher.processor.snapshot
        XCTAssertNil(full.base)
        publisher.publish(registry: registry("10.9.9.9", version: 2))
        // At once: the new address, from an overlay of the one changed service over the first snapshot.
        XCTAssertEqual(try answer(publisher.processor), [.a(IPv4Address(rawValue: 0x0A09_0909))])
        let published = publisher.processor.snapshot
        let base = try XCTUnwrap(published.base, "an overlay, not a full build")
        XCTAssertTrue(base === full)
        XCTAssertEqual(published.overlaidServices, 1)
        // Then a full build replaces it, answering alike.
        let deadline = ContinuousClock.now + .seconds(30)
        while publisher.processor.snapshot.base != nil && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        XCTAssertNil(publisher.processor.snapshot.base, "folded into a full snapshot")
        XCTAssertEqual(publisher.processor.snapshot.nameCount, published.nameCount)
        XCTAssertEqual(try answer(publisher.processor), [.a(IPv4Address(rawValue: 0x0A09_0909))])
        XCTAssertEqual(publisher.current.reloads, 1, "one change, one reload: the fold is not another")
    }

    func awaitFold(_ publisher: AnswerPublisher) async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while publisher.processor.snapshot.base != nil && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        XCTAssertNil(publisher.processor.snapshot.base, "folded into a full snapshot")
    }

    /// Registries that say which services they changed (as etcd's do) are answered from those services alone,
    /// every change since the last full build kept, across a fold that finished between two changes; a delta
    /// from another version than the one served is not trusted.
    func testChangesToldByDeltasStayAnsweredAcrossFolds() async throws {
        func service(_ web: Int) -> [ServiceID] { [ServiceID(namespace: "app", name: "web\(web)")] }
        func address(_ last: Int) -> RData { .a(IPv4Address(rawValue: 0x0A09_0900 | UInt32(last))) }
        let publisher = AnswerPublisher(
            registry: registry([:], version: 1), zones: [], settings: PipelineSettings(),
            logger: Logger(label: "test"))
        var changed: [Int: String] = [7: "10.9.9.7"]
        publisher.publish(registry: registry(changed, version: 2, delta: RegistryDelta(from: 1, services: service(7))))
        XCTAssertEqual(try answer(publisher.processor, web: 7), [address(7)])
        try await awaitFold(publisher)

        changed[8] = "10.9.9.8"
        publisher.publish(registry: registry(changed, version: 3, delta: RegistryDelta(from: 2, services: service(8))))
        changed[9] = "10.9.9.9"
        publisher.publish(registry: registry(changed, version: 4, delta: RegistryDelta(from: 3, services: service(9))))
        // Both changes since the fold, whether the fold of version 3 has finished or not; and the one before it.
        for web in [7, 8, 9] { XCTAssertEqual(try answer(publisher.processor, web: web), [address(web)], "web\(web)") }

        // Says it changed nothing from version 3, but version 4 is served: the registries are compared instead.
        changed[10] = "10.9.9.10"
        publisher.publish(registry: registry(changed, version: 5, delta: RegistryDelta(from: 3, services: [])))
        for web in [7, 8, 9, 10] {
            XCTAssertEqual(try answer(publisher.processor, web: web), [address(web)], "web\(web)")
        }
        try await awaitFold(publisher)
        for web in [7, 8, 9, 10] {
            XCTAssertEqual(try answer(publisher.processor, web: web), [address(web)], "web\(web) after the fold")
        }
    }

    /// A fold that ends after a newer full build (a change too big for an overlay) is dropped: had its older
    /// registry become the base again, the services that build changed would be answered as before it. The fold
    /// of 1,000 services takes far longer than the next publish takes to start, so it ends after that build.
    func testAFoldOvertakenByAFullBuildIsDropped() async throws {
        func registry(_ changed: Set<Int>, version: UInt64, delta: RegistryDelta?) -> RegistrySnapshot {
            RegistrySnapshot(
                services: (0..<1_000).map { index in
                    let third = changed.contains(index) ? 9 : index / 250
                    return Service(
                        name: "web\(String(index + 1_000).dropFirst())", namespace: "app",
                        clusters: [
                            ClusterExport(
                                locality: Locality(cluster: "c1"),
                                addresses: [IPAddress("10.0.\(third).\(index % 250 + 1)")!])
                        ])
                },
                version: version, origin: "test", delta: delta)
        }
        func ids(_ indices: Set<Int>) -> [ServiceID] {
            indices.map { ServiceID(namespace: "app", name: "web\(String($0 + 1_000).dropFirst())") }
        }
        let publisher = AnswerPublisher(
            registry: registry([], version: 1, delta: nil), zones: [], settings: PipelineSettings(),
            logger: Logger(label: "test"))
        func answer(_ index: Int) throws -> [RData] {
            let name = try DNSName("web\(String(index + 1_000).dropFirst()).app.svc.supercluster.local.")
            let query = Message(header: Header(id: 1), questions: [Question(name: name, type: .a)]).serialized()
            let reply = try XCTUnwrap(
                publisher.processor.process(query, client: ClientContext(address: .v4(0x7F00_0001), transport: .udp)))
            return try Message(parsing: reply).answers.map(\.data)
        }
        // An overlay, and its fold starts.
        publisher.publish(registry: registry([0], version: 2, delta: RegistryDelta(from: 1, services: ids([0]))))
        XCTAssertNotNil(publisher.processor.snapshot.base)
        // 300 more changed: over the overlay's limit of 256, built in full at once, while the fold still runs.
        let big = Set(1...300)
        publisher.publish(
            registry: registry(big.union([0]), version: 3, delta: RegistryDelta(from: 2, services: ids(big))))
        XCTAssertNil(publisher.processor.snapshot.base, "built in full")
        let deadline = ContinuousClock.now + .seconds(60)
        while publisher.foldsFinished < 1 && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(5))
        }
        XCTAssertEqual(publisher.foldsFinished, 1)
        for index in [0, 1, 150, 300] {
            XCTAssertEqual(
                try answer(index), [.a(IPv4Address(rawValue: 0x0A00_0900 | UInt32(index % 250 + 1)))], "web\(index)")
        }
        XCTAssertEqual(try answer(301), [.a(IPv4Address(rawValue: 0x0A00_0100 | 52))], "unchanged")
    }
}
