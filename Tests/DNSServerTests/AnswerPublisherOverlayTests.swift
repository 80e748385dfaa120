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
}
