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
        RegistrySnapshot(
            services: (0..<50).map { index in
                Service(
                    name: "web\(index)", namespace: "app",
                    clusters: [
                        ClusterExport(
                            locality: Locality(cluster: "c1"),
                            addresses: [IPAddress(index == 7 ? address : "10.0.0.\(index + 1)")!])
                    ])
            }.sorted { $0.name < $1.name },  // as both sources deliver them: by namespace, then name
            version: version, origin: "test")
    }

    func answer(_ processor: QueryProcessor) throws -> [RData] {
        let query = Message(
            header: Header(id: 1),
            questions: [Question(name: try DNSName("web7.app.svc.supercluster.local."), type: .a)]
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
}
