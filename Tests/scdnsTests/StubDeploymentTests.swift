import Foundation
import XCTest

/// The deployment users run (issue 6), with real servers on loopback: a resolver (Unbound, configured as
/// CoreDNS is with scdns as its stub upstream) sends the multi-cluster zones and cluster.local to scdns, scdns
/// answers its own zones and forwards cluster.local to the cluster DNS (Knot). Every query is a dig to Unbound.
///
///     dig -> Unbound -> scdns (zones/, registry.yaml) -> Knot (cluster.local)
///
/// Unbound caches, so every assertion asks a name no other assertion asks.
final class StubDeploymentTests: XCTestCase {
    // One chain for the whole class; XCTest runs these serially on one thread.
    nonisolated(unsafe) private static var sharedChain: Chain?

    override class func tearDown() {
        sharedChain = nil
    }

    private func chain() throws -> Chain {
        if let chain = Self.sharedChain, chain.isRunning { return chain }
        Self.sharedChain = nil
        let chain = try Chain()
        Self.sharedChain = chain
        return chain
    }

    /// scdns's answer, in scdns's order: this instance's cluster (cluster-a), then its region (cluster-b), then
    /// the rest. Unbound, asking from 127.0.0.1 without ECS, gets the instance's own locality.
    func testRegistryNameThroughUnbound() throws {
        let unbound = try chain().unbound
        try assertAddresses(
            unbound, "backend.app.svc.supercluster.local.", "A", ["10.100.0.10", "10.101.0.10", "10.102.0.10"],
            maxTTL: 5)
    }

    func testClustersetNameThroughUnbound() throws {
        let unbound = try chain().unbound
        try assertAddresses(
            unbound, "frontend.app.svc.clusterset.local.", "A", ["10.100.0.20", "10.101.0.20", "10.102.0.20"],
            maxTTL: 5)
    }

    func testGlobalNameThroughUnbound() throws {
        let unbound = try chain().unbound
        try assertAddresses(
            unbound, "backend.app.global.", "A", ["10.100.0.10", "10.101.0.10", "10.102.0.10"], maxTTL: 5)
    }

    /// Unbound asks scdns, which is not authoritative for cluster.local and forwards it on to Knot.
    func testClusterLocalNameThroughUnboundAndScdnsToKnot() throws {
        let unbound = try chain().unbound
        try assertAddresses(
            unbound, KnotProcess.kubernetesName, "A", [KnotProcess.kubernetesAddress], maxTTL: 30)
        // The client's side over TCP as well (Unbound's own queries to scdns are UDP either way).
        try assertAddresses(
            unbound, KnotProcess.webName, "A", [KnotProcess.webAddress], maxTTL: 30, ["+tcp"])
    }

    func testUnknownNamesAreNXDOMAINThroughUnbound() throws {
        let unbound = try chain().unbound
        let registry = try unbound.dig(["nothere.app.svc.supercluster.local.", "A"])
        XCTAssertEqual(Tools.status(registry), "NXDOMAIN", registry)
        XCTAssertTrue(registry.contains("ANSWER: 0,"), registry)
        XCTAssertTrue(
            Tools.records(Tools.section("AUTHORITY", of: registry)).contains { $0.hasPrefix("supercluster.local. ") },
            "scdns's SOA should reach the client:\n\(registry)")
        // An unknown cluster.local name: Knot's NXDOMAIN, through scdns and Unbound.
        let cluster = try unbound.dig(["missing.default.svc.cluster.local.", "A"])
        XCTAssertEqual(Tools.status(cluster), "NXDOMAIN", cluster)
        XCTAssertTrue(
            Tools.records(Tools.section("AUTHORITY", of: cluster)).contains { $0.hasPrefix("cluster.local. ") },
            "Knot's SOA should reach the client:\n\(cluster)")
    }

    // MARK: - Checks

    /// NOERROR with exactly `addresses` for `name`, in this order (the order scdns gave: the Unbound of these
    /// tests keeps it), each TTL at most `maxTTL` (Unbound counts it down from what scdns or Knot gave).
    private func assertAddresses(
        _ unbound: UnboundProcess, _ name: String, _ type: String, _ addresses: [String], maxTTL: Int,
        _ options: [String] = [], file: StaticString = #filePath, line: UInt = #line
    ) throws {
        let output = try unbound.dig(options + [name, type], file: file, line: line)
        XCTAssertEqual(Tools.status(output), "NOERROR", output, file: file, line: line)
        let answers = Tools.records(Tools.section("ANSWER", of: output)).map {
            $0.split(separator: " ").map(String.init)
        }
        XCTAssertEqual(answers.count, addresses.count, output, file: file, line: line)
        XCTAssertEqual(answers.compactMap(\.last), addresses, output, file: file, line: line)
        for fields in answers {
            XCTAssertEqual(fields.count, 5, output, file: file, line: line)
            guard fields.count == 5 else { continue }
            XCTAssertEqual(fields[0].lowercased(), name.lowercased(), output, file: file, line: line)
            XCTAssertLessThanOrEqual(Int(fields[1]) ?? .max, maxTTL, output, file: file, line: line)
            XCTAssertEqual(fields[2...3], ["IN", type], output, file: file, line: line)
        }
    }
}

/// Knot serving cluster.local, scdns in cluster-a with the repository's zones and registry forwarding
/// cluster.local to Knot, and Unbound with stub zones pointing at scdns. Stopped in reverse order.
private final class Chain {
    let knot: KnotProcess
    let directory: String
    let scdns: ServerProcess
    let unbound: UnboundProcess

    init(file: StaticString = #filePath, line: UInt = #line) throws {
        knot = try KnotProcess(file: file, line: line)
        directory = NSTemporaryDirectory() + "scdns-stub-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let root = ServerProcess.repositoryRoot
        let config = """
            listen: [127.0.0.1:0]
            zones: \(root)/zones
            registry: { file: \(root)/registry.yaml }
            locality: { cluster: cluster-a, region: ap-northeast-2, zone: ap-northeast-2a }
            forward:
              - zone: cluster.local
                upstreams: ["127.0.0.1:\(knot.port)"]

            """
        try config.write(toFile: directory + "/scdns.yaml", atomically: true, encoding: .utf8)
        scdns = try ServerProcess(arguments: ["--config", directory + "/scdns.yaml"], file: file, line: line)
        unbound = try UnboundProcess(scdnsPort: scdns.port, file: file, line: line)
    }

    deinit {
        unbound.stop()
        _ = scdns.stop()
        knot.stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    var isRunning: Bool { knot.isRunning && scdns.process.isRunning && unbound.isRunning }
}
