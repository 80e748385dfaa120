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

    /// One lost SYN never moves traffic: `fall` failures in a row demote, `rise` successes in a row restore, and
    /// a verdict that agrees with the state resets the count.
    func testVerdictsAreDampedByFallAndRise() {
        let cases: [(verdicts: String, transitions: String, downAtEnd: Bool)] = [
            ("ff", "", false),
            ("fff", "D", true),
            ("ffsfff", "D", true),
            ("fffs", "D", true),
            ("fffss", "DU", false),
            ("fffsfss", "DU", false),
            ("fffsfs", "D", true),
            ("ffffffffff", "D", true),
            ("fffssfff", "DUD", true),
        ]
        for row in cases {
            var tracker = ReachabilityTracker(fall: 3, rise: 2)
            var transitions = ""
            for (index, verdict) in row.verdicts.enumerated() {
                if let transition = tracker.record(target("10.0.0.1"), reachable: verdict == "s", at: Double(index)) {
                    transitions += transition.up ? "U" : "D"
                }
            }
            XCTAssertEqual(transitions, row.transitions, row.verdicts)
            XCTAssertEqual(tracker.down[target("10.0.0.1")] != nil, row.downAtEnd, row.verdicts)
        }
        var tracker = ReachabilityTracker(fall: 1, rise: 1)
        XCTAssertNil(tracker.states[target("10.0.0.1")]?.since)
        XCTAssertEqual(tracker.record(target("10.0.0.1"), reachable: false, at: 7)?.up, false)
        XCTAssertEqual(tracker.states[target("10.0.0.1")]?.since, 7, "when it went down")
        XCTAssertEqual(tracker.down, [target("10.0.0.1"): 7])
        XCTAssertTrue(tracker.retain(only: []), "a down target forgotten changes the answers")
        XCTAssertTrue(tracker.down.isEmpty)
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
}
