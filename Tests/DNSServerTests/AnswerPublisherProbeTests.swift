import DNSPipeline
import DNSWire
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

    /// A registry delta lists the services a change touched, not those a probe verdict changes through a shared
    /// target: with a base built while a cluster was down, a change that ends the demotion of another service
    /// must not be answered from the delta alone (found in review). Only the global zone is served, so no PTR
    /// name ties the two services together (with one, the overlay recompiles every holder of a changed address).
    func testADeltaIsNotTrustedOverABaseBuiltWhileATargetWasDown() async throws {
        // api's export in x and web's export in y share 10.0.0.5:80; web also has an export in w.
        func registry(apiInX: Bool, version: UInt64, delta: RegistryDelta?) -> RegistrySnapshot {
            RegistrySnapshot(
                services: [
                    Service(
                        name: "api", namespace: "app", ports: [ServicePort(port: 80)],
                        clusters: [
                            apiInX
                                ? ClusterExport(locality: Locality(cluster: "x"), addresses: [IPAddress("10.0.0.5")!])
                                : ClusterExport(locality: Locality(cluster: "z"), addresses: [IPAddress("10.0.0.7")!])
                        ]),
                    Service(
                        name: "web", namespace: "app", ports: [ServicePort(port: 80)],
                        clusters: [
                            ClusterExport(locality: Locality(cluster: "w"), addresses: [IPAddress("10.0.0.9")!]),
                            ClusterExport(locality: Locality(cluster: "y"), addresses: [IPAddress("10.0.0.5")!]),
                        ]),
                ], version: version, origin: "test", delta: delta)
        }
        func webAddresses(_ publisher: AnswerPublisher) throws -> Set<RData> {
            let query = Message(
                header: Header(id: 1),
                questions: [Question(name: try DNSName("web.app.global."), type: .a)]
            ).serialized()
            let reply = try XCTUnwrap(
                publisher.processor.process(query, client: ClientContext(address: .v4(0x7F00_0001), transport: .udp)))
            return Set(try Message(parsing: reply).answers.map(\.data))
        }
        let shared = RData.a(IPv4Address(rawValue: 0x0A00_0005))
        let publisher = AnswerPublisher(
            registry: registry(apiInX: true, version: 1, delta: nil), zones: [],
            settings: PipelineSettings(serviceZones: [], globalZone: try DNSName("global.")),
            logger: Logger(label: "test"))
        XCTAssertTrue(try webAddresses(publisher).contains(shared))
        // Cluster x found down: its target 10.0.0.5:80 is down, and web's export in y with it.
        publisher.publish(down: [:], clustersDown: ["x": Date(timeIntervalSince1970: 1_800_000_000)])
        XCTAssertFalse(try webAddresses(publisher).contains(shared))
        let deadline = ContinuousClock.now + .seconds(30)
        while publisher.processor.snapshot.base != nil && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(5))
        }
        XCTAssertNil(publisher.processor.snapshot.base, "the verdict folded into a full build")
        // api leaves x; nothing holds 10.0.0.5:80 in x any more, so web's export in y is healthy again, though
        // the delta names api alone.
        let apiOnly = [ServiceID(namespace: "app", name: "api")]
        publisher.publish(
            registry: registry(apiInX: false, version: 2, delta: RegistryDelta(from: 1, services: apiOnly)))
        XCTAssertTrue(try webAddresses(publisher).contains(shared), "web's export in y is healthy again")
    }
}
