import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// `scdns registry publish --check` against real etcd and a real server: a copy its own cluster cannot serve is
/// published unhealthy after `--check-fall` failures and leaves the answers of every instance (here, one) while
/// another copy is healthy; it comes back after `--check-rise` successes. A Headless endpoint that fails is
/// published not ready. The copies are loopback addresses with or without a listening socket.
final class PublisherCheckIntegrationTests: XCTestCase {
    func testAnExportThatFailsItsLocalCheckLeavesTheAnswersWithinSecondsAndComesBack() async throws {
        let directory = NSTemporaryDirectory() + "scdns-publisher-check-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let etcd = try await EtcdCluster()
        let port = try LoopbackPort.reserve()
        for (cluster, address, endpoint) in [("c1", "127.0.0.12", "127.0.0.14"), ("c2", "127.0.0.13", "127.0.0.15")] {
            try """
            services:
              - name: web
                namespace: shop
                ports: [{ name: http, port: \(port) }]
                clusters: [{ cluster: \(cluster), addresses: [\(address)] }]
              - name: db
                namespace: shop
                type: Headless
                ports: [{ name: pg, port: \(port) }]
                clusters: [{ cluster: \(cluster), endpoints: [{ hostname: db-0, addresses: [\(endpoint)] }] }]
            """.write(toFile: "\(directory)/\(cluster).yaml", atomically: true, encoding: .utf8)
        }
        var c1: ReachabilityIntegrationTests.Listener? = try .init("127.0.0.12", port: port)
        let c2 = try ReachabilityIntegrationTests.Listener("127.0.0.13", port: port)
        var db0c1: ReachabilityIntegrationTests.Listener? = try .init("127.0.0.14", port: port)
        let db0c2 = try ReachabilityIntegrationTests.Listener("127.0.0.15", port: port)
        defer {
            c2.stop()
            db0c2.stop()
        }
        var publishers: [Process] = []
        defer { for publisher in publishers where publisher.isRunning { kill(publisher.processIdentifier, SIGKILL) } }
        var logs: [LockedText] = []
        for cluster in ["c1", "c2"] {
            let (publisher, log) = try EtcdRegistryIntegrationTests.publisher([
                "--etcd", etcd.endpoints[0], "--cluster", cluster, "--file", "\(directory)/\(cluster).yaml",
                "--check", "tcp", "--check-interval", "0.2", "--check-timeout", "0.1", "--check-fall", "2",
                "--check-rise", "2",
            ])
            publishers.append(publisher)
            logs.append(log)
        }
        let server = try ServerProcess(arguments: ["--etcd", etcd.endpoints[0]])
        let web = "web.shop.svc.supercluster.local"
        let db = "db.shop.svc.supercluster.local"
        try EtcdRegistryIntegrationTests.awaitAnswer(server, ["127.0.0.12", "127.0.0.13"], name: web)
        try EtcdRegistryIntegrationTests.awaitAnswer(server, ["127.0.0.14", "127.0.0.15"], name: db)

        // c1's copy stops listening: its publisher marks it unhealthy, and the answers keep c2's alone.
        c1?.stop()
        c1 = nil
        try EtcdRegistryIntegrationTests.awaitAnswer(server, ["127.0.0.13"], name: web)
        XCTAssertTrue(
            logs[0].text.contains("check failed 2 times in a row: its exports are published unhealthy"), logs[0].text)
        XCTAssertTrue(logs[0].text.contains("connection refused"), "the reason is logged: \(logs[0].text)")
        let listing = try EtcdRegistryIntegrationTests.registry(["list", "--etcd", etcd.endpoints[0]])
        XCTAssertTrue(
            listing.split(separator: "\n").contains {
                $0.contains("shop/web") && $0.contains("c1") && $0.contains("UNHEALTHY")
            },
            "published unhealthy in etcd, for every instance: \(listing)")

        // c1's Headless endpoint stops: published not ready, gone from the answers.
        db0c1?.stop()
        db0c1 = nil
        try EtcdRegistryIntegrationTests.awaitAnswer(server, ["127.0.0.15"], name: db)

        // Both come back after two successes.
        c1 = try .init("127.0.0.12", port: port)
        db0c1 = try .init("127.0.0.14", port: port)
        try EtcdRegistryIntegrationTests.awaitAnswer(server, ["127.0.0.12", "127.0.0.13"], name: web)
        try EtcdRegistryIntegrationTests.awaitAnswer(server, ["127.0.0.14", "127.0.0.15"], name: db)
        XCTAssertTrue(logs[0].text.contains("check passes again: its exports are published healthy"), logs[0].text)
        XCTAssertFalse(logs[1].text.contains("check failed"), "c2's copies never failed: \(logs[1].text)")
    }

    /// Beacons (`--beacon`, in the claim): c2's beacon stops answering and every export of c2 leaves this
    /// instance's answers, though c2's export addresses themselves still accept connections; it comes back when
    /// the beacon does. The instance's own cluster's beacons are not probed.
    func testAClusterWhoseBeaconsAreAllDownLeavesTheAnswersAsAWhole() async throws {
        let directory = NSTemporaryDirectory() + "scdns-beacons-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory + "/zones", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let etcd = try await EtcdCluster()
        let port = try LoopbackPort.reserve()
        let beaconPort = try LoopbackPort.reserve()
        for (cluster, address) in [("c1", "127.0.0.32"), ("c2", "127.0.0.33")] {
            try """
            services:
              - { name: web, namespace: shop, ports: [{ port: \(port) }], clusters: [{ cluster: \(cluster), addresses: [\(address)] }] }
            """.write(toFile: "\(directory)/\(cluster).yaml", atomically: true, encoding: .utf8)
        }
        try """
        zones: zones
        registry: { etcd: { endpoints: [\(etcd.endpoints[0])] } }
        locality: { cluster: c1 }
        health: { probes: true, interval: 200ms, timeout: 100ms, fall: 2, rise: 2 }
        """.write(toFile: directory + "/scdns.yaml", atomically: true, encoding: .utf8)
        let exports = [
            try ReachabilityIntegrationTests.Listener("127.0.0.32", port: port),
            try ReachabilityIntegrationTests.Listener("127.0.0.33", port: port),
        ]
        defer { for listener in exports { listener.stop() } }
        var beacon: ReachabilityIntegrationTests.Listener? = try .init("127.0.0.43", port: beaconPort)
        var publishers: [Process] = []
        defer { for publisher in publishers where publisher.isRunning { kill(publisher.processIdentifier, SIGKILL) } }
        // c1's beacon listens nowhere: its own cluster's beacons are not probed, so it stays.
        for (cluster, beaconAddress) in [("c1", "127.0.0.42"), ("c2", "127.0.0.43")] {
            let (publisher, _) = try EtcdRegistryIntegrationTests.publisher([
                "--etcd", etcd.endpoints[0], "--cluster", cluster, "--file", "\(directory)/\(cluster).yaml",
                "--beacon", "\(beaconAddress):\(beaconPort)",
            ])
            publishers.append(publisher)
        }
        let server = try ServerProcess(arguments: ["--config", directory + "/scdns.yaml"])
        let web = "web.shop.svc.supercluster.local"
        try EtcdRegistryIntegrationTests.awaitAnswer(server, ["127.0.0.32", "127.0.0.33"], name: web)
        let admin = try server.adminPort()
        try AdminClient.await("/metrics", port: admin) {
            $0.body.contains(#"scdns_probe_cluster_reachable{cluster="c2"} 1"#)
        }

        beacon?.stop()
        beacon = nil
        try EtcdRegistryIntegrationTests.awaitAnswer(server, ["127.0.0.32"], name: web)
        try server.awaitLog(matching: #"cluster=c2 .*cluster unreachable from here: every beacon is down"#)
        let metrics = try AdminClient.get("/metrics", port: admin).body
        XCTAssertTrue(metrics.contains(#"scdns_probe_cluster_reachable{cluster="c2"} 0"#), metrics)
        XCTAssertFalse(metrics.contains(#"scdns_probe_cluster_reachable{cluster="c1"}"#), "own cluster: \(metrics)")
        let explanation = try AdminClient.get("/explain?name=\(web)&type=A&client=127.0.0.1", port: admin).body
        XCTAssertTrue(explanation.contains("unreachable from here since 20"), explanation)

        beacon = try .init("127.0.0.43", port: beaconPort)
        try EtcdRegistryIntegrationTests.awaitAnswer(server, ["127.0.0.32", "127.0.0.33"], name: web)
        try server.awaitLog(matching: #"cluster=c2 .*cluster reachable again from here"#)
    }

    func testAPublisherRefusesChecksThatCannotApply() throws {
        let directory = NSTemporaryDirectory() + "scdns-publisher-check-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try """
        services:
          - { name: dns, namespace: kube, ports: [{ port: 53, protocol: UDP }], clusters: [{ cluster: c1, addresses: [10.0.0.1] }] }
        """.write(toFile: directory + "/c1.yaml", atomically: true, encoding: .utf8)
        // Refused before etcd is contacted: nothing listens on the endpoint.
        let cases: [([String], String)] = [
            (["--check", "tcp"], "kube/dns: has no TCP port for --check tcp"),
            (["--check", "kube/dsn=tcp:53"], "kube/dsn: has a --check but is not in the file"),
            (["--check", "ping"], "'ping' is none of tcp"),
            (
                ["--check", "tcp:53", "--check-timeout", "3"],
                "--check-timeout is more than 0 and at most --check-interval"
            ),
            (["--beacon", "10.0.0.1"], "--beacon 10.0.0.1: not ADDRESS:PORT or [ADDRESS]:PORT"),
        ]
        for (arguments, message) in cases {
            // Run to its end and read whole: a pipe left with a readability handler on a process that is gone
            // would have its descriptor closed under libdispatch.
            let result = try Tools.scdns(
                [
                    "registry", "publish", "--etcd", "http://127.0.0.1:1", "--cluster", "c1", "--file",
                    directory + "/c1.yaml",
                ]
                    + arguments)
            XCTAssertNotEqual(result.status, 0, "\(arguments)")
            XCTAssertTrue(result.output.contains(message), "\(arguments): \(result.output)")
        }
    }
}
