import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// `health: { probes: true }` on a real server (DESIGN.md section 3): exports are probed with TCP connects from
/// this instance, one it cannot reach leaves its answers after `fall` failures and returns after `rise`
/// successes, a probe never restores what the publisher marked unhealthy, and fail open still applies. The
/// exports are loopback addresses with or without a listening socket.
final class ReachabilityIntegrationTests: XCTestCase {
    /// A listening TCP socket on ADDRESS:PORT; the kernel completes handshakes into its backlog, which is all a
    /// probe asks.
    final class Listener {
        private var descriptor: Int32 = -1

        init(_ address: String, port: Int) throws {
            descriptor = try listenTCP(host: address, port: port, backlog: 64).descriptor
        }

        func stop() {
            if descriptor >= 0 { close(descriptor) }
            descriptor = -1
        }

        deinit { stop() }
    }

    func testAnUnreachableExportLeavesTheAnswersAndComesBackAndPublishedHealthStands() async throws {
        let directory = NSTemporaryDirectory() + "scdns-reachability-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory + "/zones", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let port = try LoopbackPort.reserve()
        try """
        services:
          - name: web
            namespace: app
            ports: [{ name: http, port: \(port) }]
            clusters:
              - { cluster: c1, addresses: [127.0.0.2] }
              - { cluster: c2, addresses: [127.0.0.3] }
              - { cluster: c3, addresses: [127.0.0.4], healthy: false }
        """.write(toFile: directory + "/registry.yaml", atomically: true, encoding: .utf8)
        try """
        zones: zones
        registry: { file: registry.yaml }
        health: { probes: true, interval: 200ms, timeout: 100ms, fall: 2, rise: 2 }
        """.write(toFile: directory + "/scdns.yaml", atomically: true, encoding: .utf8)

        var c1: Listener? = try Listener("127.0.0.2", port: port)
        let c3 = try Listener("127.0.0.4", port: port)
        defer { c3.stop() }
        let server = try ServerProcess(arguments: ["--config", directory + "/scdns.yaml"])
        let name = "web.app.svc.supercluster.local"
        func awaitAnswer(_ expected: [String], _ why: String, line: UInt = #line) throws {
            let deadline = Date().addingTimeInterval(10)
            var last: [String] = []
            while Date() < deadline {
                last = try EtcdRegistryIntegrationTests.answer(server, name).addresses
                if last == expected { return }
                Thread.sleep(forTimeInterval: 0.05)
            }
            XCTFail("\(why): expected \(expected), last \(last); log:\n\(server.output)", line: line)
        }

        // c2 refuses every connect: gone after two failures. c3 listens, but its publisher says unhealthy.
        try awaitAnswer(["127.0.0.2"], "c2 unreachable from here")
        try server.awaitLog(matching: #"target=127\.0\.0\.3:\#(port) .*unreachable from here"#)

        // What the operator sees: /registry has both views, /explain says why c2 is left out, /metrics counts.
        let admin = try server.adminPort()
        let registry = try AdminClient.get("/registry", port: admin).body
        let document = try JSONSerialization.jsonObject(with: Data(registry.utf8)) as? [String: Any]
        let clusters = ((document?["services"] as? [[String: Any]])?.first?["clusters"] as? [[String: Any]]) ?? []
        XCTAssertEqual(clusters.count, 3, registry)
        for cluster in clusters {
            switch cluster["cluster"] as? String {
            case "c1":
                XCTAssertEqual(cluster["reachableFromHere"] as? Bool, true, registry)
                XCTAssertNil(cluster["unreachableSince"], registry)
            case "c2":
                XCTAssertEqual(cluster["healthy"] as? Bool, true, "as published: \(registry)")
                XCTAssertEqual(cluster["reachableFromHere"] as? Bool, false, registry)
                XCTAssertNotNil(cluster["unreachableSince"] as? String, registry)
            default:
                XCTAssertEqual(cluster["healthy"] as? Bool, false, registry)
                XCTAssertNil(cluster["reachableFromHere"], "a published-unhealthy export is not probed: \(registry)")
            }
        }
        let explanation = try AdminClient.get(
            "/explain?name=\(name)&type=A&client=127.0.0.1", port: admin
        ).body
        XCTAssertTrue(
            explanation.contains("not answered: unreachable from here since 20"), "c2's reason: \(explanation)")
        XCTAssertTrue(
            explanation.contains("not answered: unhealthy (healthy: false) while another export is healthy"),
            "c3's reason: \(explanation)")
        let metrics = try AdminClient.get("/metrics", port: admin).body
        for line in [
            #"scdns_probe_transitions_total{cluster="c2",to="down"} 1"#, #"scdns_probe_targets_down{cluster="c2"} 1"#,
            #"scdns_probe_targets_down{cluster="c1"} 0"#,
        ] {
            XCTAssertTrue(metrics.contains(line), "\(line) in:\n\(metrics)")
        }
        XCTAssertTrue(metrics.contains(#"scdns_probe_requests_total{cluster="c2",result="failure"}"#), metrics)
        XCTAssertTrue(metrics.contains(#"scdns_probe_requests_total{cluster="c1",result="success"}"#), metrics)

        // c2 comes up: back after two successes.
        var c2: Listener? = try Listener("127.0.0.3", port: port)
        try awaitAnswer(["127.0.0.2", "127.0.0.3"], "c2 reachable again")
        try server.awaitLog(matching: #"target=127\.0\.0\.3:\#(port) .*reachable again from here"#)

        // Both go: every export is unhealthy here, and the answers fail open (c3 too).
        c1?.stop()
        c2?.stop()
        c1 = nil
        c2 = nil
        try awaitAnswer(["127.0.0.2", "127.0.0.3", "127.0.0.4"], "fail open")
        try server.awaitLog(matching: #"service=app/web .*fail open"#)
    }
}
