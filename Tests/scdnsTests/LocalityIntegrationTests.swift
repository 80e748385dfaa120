import Foundation
import XCTest

/// Locality-aware answers from a real `scdns serve` (DESIGN.md section 3): `clients:` networks in the config, the
/// client's network given by `dig +subnet` (EDNS Client Subnet), the scope echoed as dig prints it.
final class LocalityIntegrationTests: XCTestCase {
    private var directory = ""
    private static let backend = "backend.app.svc.supercluster.local"

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "scdns-locality-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory + "/zones", withIntermediateDirectories: true)
        let root = ServerProcess.repositoryRoot
        for file in ["registry.yaml", "zones/supercluster.local.zone"] {
            try FileManager.default.copyItem(atPath: root + "/" + file, toPath: directory + "/" + file)
        }
        // Paths are relative to the config's directory. This instance is cluster-a's; 10.1.0.0/16 is where
        // cluster-b's clients are, 10.2.0.0/16 cluster-c's (the example registry's three clusters).
        try """
        zones: zones
        registry: { file: registry.yaml }
        locality: { cluster: cluster-a, region: ap-northeast-2, zone: ap-northeast-2a }
        clients:
          - { network: 10.1.0.0/16, cluster: cluster-b, region: ap-northeast-2, zone: ap-northeast-2c }
          - { network: 10.2.0.0/16, cluster: cluster-c, region: us-east-1, zone: us-east-1a }
        """.write(toFile: directory + "/scdns.yaml", atomically: true, encoding: .utf8)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// The `CLIENT-SUBNET:` dig prints from the response's OPT record (ADDRESS/SOURCE/SCOPE), if any.
    private func clientSubnet(_ output: String) -> String? {
        output.firstMatch(of: /CLIENT-SUBNET: (\S+)/).map { String($0.1) }
    }

    func testSubnetsFromThreeLocalitiesGetThreeFirstAnswers() throws {
        let server = try ServerProcess(arguments: ["--config", directory + "/scdns.yaml"])
        let cases: [(subnet: String?, first: String, echo: String?, line: UInt)] = [
            // No subnet, and 127.0.0.1 is in no network: the instance's own cluster first.
            (nil, "10.100.0.10", nil, #line),
            // Another zone of the same region.
            ("10.1.2.0/24", "10.101.0.10", "10.1.2.0/24/16", #line),
            // Another region.
            ("10.2.3.0/24", "10.102.0.10", "10.2.3.0/24/16", #line),
        ]
        var firsts: Set<String> = []
        for row in cases {
            let output = try Tools.dig(
                port: server.port, (row.subnet.map { ["+subnet=\($0)"] } ?? []) + [Self.backend, "A"])
            XCTAssertEqual(Tools.status(output), "NOERROR", output, line: row.line)
            let answers = Tools.records(output)
            XCTAssertEqual(answers.count, 3, output, line: row.line)
            XCTAssertEqual(answers.first, "\(Self.backend). 5 IN A \(row.first)", output, line: row.line)
            XCTAssertEqual(clientSubnet(output), row.echo, output, line: row.line)
            firsts.formUnion(answers.prefix(1))
        }
        XCTAssertEqual(firsts.count, 3, "three localities, three different first answers")

        // An answer that is the same for every client says so: scope 0.
        let cluster = try Tools.dig(
            port: server.port, ["+subnet=10.1.2.0/24", "cluster-c." + Self.backend, "A"])
        XCTAssertEqual(Tools.records(cluster), ["cluster-c.\(Self.backend). 5 IN A 10.102.0.10"], cluster)
        XCTAssertEqual(clientSubnet(cluster), "10.1.2.0/24/0", cluster)
        XCTAssertEqual(server.stop(), 0)
    }

    /// On a dual-stack listener ([::]) IPv4 clients arrive as ::ffff:a.b.c.d; they are still IPv4 clients, so
    /// 127.0.0.1 is allowed (the default `allow:` lists 127.0.0.0/8) and gets the own order.
    func testDualStackListenerSeesIPv4Clients() throws {
        let server = try ServerProcess(arguments: [
            "--config", directory + "/scdns.yaml", "--listen", "[::]:\(try LoopbackPort.reserve())",
        ])
        let port = try XCTUnwrap(Int(try server.awaitLog(matching: #"address=\[::\]:(\d+) .*listening"#)[1]))
        let output = try Tools.dig(port: port, ["+subnet=10.2.3.0/24", Self.backend, "A"])
        XCTAssertEqual(Tools.status(output), "NOERROR", output)
        XCTAssertEqual(Tools.records(output).first, "\(Self.backend). 5 IN A 10.102.0.10", output)
        XCTAssertEqual(clientSubnet(output), "10.2.3.0/24/16", output)
        XCTAssertEqual(server.stop(), 0)
    }
}
