import DNSPipeline
import Foundation
import Logging
import ServiceRegistry
import XCTest

@testable import DNSServer

/// The probes' verdicts as the answers use them: a cluster found down (every beacon down) takes down every
/// probed export of it, including one a registry change adds while it is down (found in review: the verdict
/// was expanded into targets once, so a new export was answered healthy until its own probes failed).
final class AnswerPublisherProbeTests: XCTestCase {
    func registry(_ c2Addresses: [String], version: UInt64) -> RegistrySnapshot {
        RegistrySnapshot(
            services: [
                Service(
                    name: "web", namespace: "app", ports: [ServicePort(port: 80)],
                    clusters: [
                        ClusterExport(locality: Locality(cluster: "c1"), addresses: [IPAddress("10.0.0.1")!]),
                        ClusterExport(
                            locality: Locality(cluster: "c2"), addresses: c2Addresses.map { IPAddress($0)! }),
                    ])
            ], version: version, origin: "test")
    }

    func healthy(_ publisher: AnswerPublisher) -> [String: Bool] {
        Dictionary(
            uniqueKeysWithValues: publisher.answeredRegistry.services[0].clusters.map { ($0.cluster, $0.healthy) })
    }

    func testAClusterFoundDownTakesDownTheExportsARegistryChangeGivesIt() {
        let publisher = AnswerPublisher(
            registry: registry(["10.0.1.1"], version: 1), zones: [], settings: PipelineSettings(),
            logger: Logger(label: "test"))
        let since = Date(timeIntervalSince1970: 1_800_000_000)
        publisher.publish(down: [:], clustersDown: ["c2": since])
        XCTAssertEqual(healthy(publisher), ["c1": true, "c2": false])
        XCTAssertEqual(publisher.unreachable, [ProbeTarget(address: IPAddress("10.0.1.1")!, port: 80): since])

        // c2's publisher moves its export to a new address while c2 is unreachable from here.
        publisher.publish(registry: registry(["10.0.1.2"], version: 2))
        XCTAssertEqual(healthy(publisher), ["c1": true, "c2": false], "the new address is c2's, and c2 is down")
        XCTAssertEqual(publisher.unreachable, [ProbeTarget(address: IPAddress("10.0.1.2")!, port: 80): since])

        publisher.publish(down: [:], clustersDown: [:])
        XCTAssertEqual(healthy(publisher), ["c1": true, "c2": true])
    }
}
