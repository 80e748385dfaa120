import DNSPipeline
import ServiceRegistry
import XCTest

/// The reachability probes' policy (DESIGN.md section 3): what is probed, how verdicts are damped, and what a
/// target that is down does to the answers' health.
final class ReachabilityTests: XCTestCase {
    func target(_ address: String, _ port: UInt16 = 80) -> ProbeTarget {
        ProbeTarget(address: IPAddress(address)!, port: port)
    }

    func export(_ cluster: String, _ addresses: [String], healthy: Bool = true) -> ClusterExport {
        ClusterExport(
            locality: Locality(cluster: cluster), addresses: addresses.map { IPAddress($0)! }, healthy: healthy)
    }

    func testTargetsAreEachExportAddressOnTheFirstTCPPortOnce() {
        let services = [
            Service(
                name: "web", namespace: "app",
                ports: [ServicePort(name: "dns", port: 53, portProtocol: .udp), ServicePort(name: "http", port: 80)],
                clusters: [export("c1", ["10.0.0.1", "10.0.0.2"]), export("c2", ["10.0.1.1"], healthy: false)]),
            // The same address and port as web's: one target.
            Service(
                name: "alias", namespace: "app", ports: [ServicePort(port: 80)], clusters: [export("c1", ["10.0.0.1"])]),
            // No TCP port, a vip, a Headless service: nothing to probe.
            Service(
                name: "udp", namespace: "app", ports: [ServicePort(port: 53, portProtocol: .udp)],
                clusters: [export("c1", ["10.0.2.1"])]),
            Service(
                name: "vip", namespace: "app", vip: IPAddress("10.96.0.1"), ports: [ServicePort(port: 80)],
                clusters: [export("c1", ["10.0.3.1"])]),
            Service(
                name: "db", namespace: "app", type: .headless, ports: [ServicePort(port: 5432)],
                clusters: [
                    ClusterExport(
                        locality: Locality(cluster: "c1"),
                        endpoints: [Endpoint(hostname: "db-0", addresses: [IPAddress("10.0.4.1")!])])
                ]),
        ]
        XCTAssertEqual(
            ReachabilityPlan.targets(services), [target("10.0.0.1"), target("10.0.0.2")],
            "c2's export, marked unhealthy by its publisher, is not probed: a probe can only demote")
    }

    func testAnExportIsDemotedOnlyWhenEveryOneOfItsAddressesIsDown() {
        let web = Service(
            name: "web", namespace: "app", ports: [ServicePort(port: 80)],
            clusters: [
                export("c1", ["10.0.0.1", "10.0.0.2"]), export("c2", ["10.0.1.1"]),
                export("c3", ["10.0.2.1"], healthy: false),
            ])
        let other = Service(
            name: "api", namespace: "app", ports: [ServicePort(port: 80)], clusters: [export("c1", ["10.0.9.1"])])
        let cases: [(down: [ProbeTarget], healthy: [Bool])] = [
            ([], [true, true, false]),
            ([target("10.0.0.1")], [true, true, false]),
            ([target("10.0.0.1"), target("10.0.0.2")], [false, true, false]),
            ([target("10.0.1.1")], [true, false, false]),
            // Down on another port is another target.
            ([target("10.0.1.1", 443)], [true, true, false]),
            // Everything down: every export unhealthy, and the answers fail open as for published health.
            ([target("10.0.0.1"), target("10.0.0.2"), target("10.0.1.1")], [false, false, false]),
        ]
        for row in cases {
            let result = ReachabilityPlan.demoting(
                [web, other], down: Dictionary(uniqueKeysWithValues: row.down.map { ($0, 1.0) }))
            XCTAssertEqual(result[0].clusters.map(\.healthy), row.healthy, "\(row.down)")
            XCTAssertEqual(result[1], other, "a service with nothing down keeps its value (and its compiled names)")
        }
        // Since when: the latest of its addresses' times, once all are down.
        let down = [target("10.0.0.1"): 3, target("10.0.0.2"): 5, target("10.0.1.1"): 4]
        XCTAssertEqual(ReachabilityPlan.reachability(of: web.clusters[0], in: web, down: down), .unreachable(since: 5))
        XCTAssertEqual(
            ReachabilityPlan.reachability(of: web.clusters[1], in: web, down: [target("10.0.0.1"): 3]), .reachable)
        XCTAssertEqual(
            ReachabilityPlan.reachability(of: web.clusters[2], in: web, down: down), .reachable,
            "c3, published unhealthy, has no target down: it is never probed")
        let udp = Service(name: "udp", namespace: "app", clusters: [export("c1", ["10.0.0.1"])])
        XCTAssertEqual(ReachabilityPlan.reachability(of: udp.clusters[0], in: udp, down: down), .notProbed)
    }

    /// A cluster whose beacons are all down takes every probed export of it down; one that is not down adds
    /// nothing; a target already down keeps the earlier time.
    func testAClusterDownTakesEveryProbedExportOfItDown() {
        let services = [
            Service(
                name: "web", namespace: "app", ports: [ServicePort(port: 80)],
                clusters: [export("c1", ["10.0.0.1"]), export("c2", ["10.0.1.1", "10.0.1.2"])]),
            Service(
                name: "api", namespace: "app", ports: [ServicePort(port: 8080)],
                clusters: [export("c2", ["10.0.1.3"]), export("c3", ["10.0.2.1"], healthy: false)]),
        ]
        XCTAssertEqual(
            ReachabilityPlan.down(targets: [target("10.0.1.1"): 5.0], clusters: ["c2": 7.0, "c3": 1.0], in: services),
            [target("10.0.1.1"): 5, target("10.0.1.2"): 7, target("10.0.1.3", 8080): 7])
        XCTAssertEqual(
            ReachabilityPlan.down(targets: [target("10.0.0.1"): 5.0], clusters: [:], in: services),
            [target("10.0.0.1"): 5])
        let demoted = ReachabilityPlan.demoting(
            services, down: ReachabilityPlan.down(targets: [:], clusters: ["c2": 7.0], in: services))
        XCTAssertEqual(demoted.map { $0.clusters.map(\.healthy) }, [[true, false], [false, false]])
    }
}
