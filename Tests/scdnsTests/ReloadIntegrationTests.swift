import Foundation
import XCTest

/// Registry and zone changes reach answers without a restart; a bad file changes nothing; SIGTERM stops cleanly.
final class ReloadIntegrationTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "scdns-reload-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory + "/zones", withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            atPath: ServerProcess.repositoryRoot + "/zones/supercluster.local.zone",
            toPath: directory + "/zones/supercluster.local.zone")
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func registry(_ addresses: [String], cluster: String = "cluster-a") -> String {
        """
        services:
          - name: web
            namespace: shop
            clusters:
              - cluster: \(cluster)
                addresses: [\(addresses.map { "\"\($0)\"" }.joined(separator: ", "))]
        """
    }

    private func write(_ text: String, to name: String) throws {
        // Write beside the target then rename over it, as editors and ConfigMap updates do. The loader only
        // reads *.zone, so the temporary name is never taken for a zone.
        let temporary = directory + "/" + name + ".tmp"
        try text.write(toFile: temporary, atomically: false, encoding: .utf8)
        _ = rename(temporary, directory + "/" + name)
    }

    private func start() throws -> ServerProcess {
        try ServerProcess(arguments: ["--zones", directory + "/zones", "--registry", directory + "/registry.yaml"])
    }

    /// Polls dig until `expected` is the answer or the deadline passes; returns the last answer.
    private func awaitAnswer(
        _ server: ServerProcess, _ name: String, _ type: String, _ expected: [String]
    ) throws
        -> [String]
    {
        let deadline = Date().addingTimeInterval(15)
        var last: [String] = []
        while Date() < deadline {
            last = Tools.records(try Tools.dig(port: server.port, ["+noall", "+answer", name, type]))
            if last == expected { return last }
            Thread.sleep(forTimeInterval: 0.1)
        }
        return last
    }

    func testRegistryChangeIsServedAndAnInvalidFileKeepsTheLastGoodAnswers() throws {
        try write(registry(["10.1.0.1"]), to: "registry.yaml")
        let server = try start()
        let name = "web.shop.svc.supercluster.local"
        XCTAssertEqual(try awaitAnswer(server, name, "A", ["\(name). 5 IN A 10.1.0.1"]), ["\(name). 5 IN A 10.1.0.1"])

        try write(registry(["10.1.0.2"]), to: "registry.yaml")
        XCTAssertEqual(try awaitAnswer(server, name, "A", ["\(name). 5 IN A 10.1.0.2"]), ["\(name). 5 IN A 10.1.0.2"])

        let before = server.output.count
        try write(registry(["10.1.0.300"]), to: "registry.yaml")
        try server.awaitLog(
            matching: #"registry\.yaml:6:\d+: services\[0\]\.clusters\[0\]\.addresses\[0\]"#, after: before)
        XCTAssertEqual(
            Tools.records(try Tools.dig(port: server.port, ["+noall", "+answer", name, "A"])),
            ["\(name). 5 IN A 10.1.0.2"], "the last good registry keeps serving")
        XCTAssertEqual(server.stop(), 0, "SIGTERM stops scdns cleanly")
    }

    func testSIGHUPReloadsZoneFiles() throws {
        try write(registry(["10.1.0.1"]), to: "registry.yaml")
        let server = try start()
        let name = "added.supercluster.local"
        XCTAssertEqual(Tools.status(try Tools.dig(port: server.port, [name, "A"])), "NXDOMAIN")
        let zone = try String(contentsOfFile: directory + "/zones/supercluster.local.zone", encoding: .utf8)
        try write(zone + "added IN A 10.9.9.9\n", to: "zones/supercluster.local.zone")
        server.signal(SIGHUP)
        XCTAssertEqual(try awaitAnswer(server, name, "A", ["\(name). 60 IN A 10.9.9.9"]), ["\(name). 60 IN A 10.9.9.9"])

        let before = server.output.count
        try write(zone + "broken IN A not-an-address\n", to: "zones/supercluster.local.zone")
        server.signal(SIGHUP)
        try server.awaitLog(matching: "zones not reloaded", after: before)
        XCTAssertEqual(Tools.records(try Tools.dig(port: server.port, ["+noall", "+answer", name, "A"])).count, 1)
        XCTAssertEqual(server.stop(), 0)
    }

    func testLargeAnswerIsTruncatedOverUDPWithoutEDNSAndWholeOverTCP() throws {
        let addresses = (1...40).map { "fd00:0:0:1::\(String($0, radix: 16))" }
        try write(registry(addresses), to: "registry.yaml")
        let server = try start()
        let name = "web.shop.svc.supercluster.local"
        let udp = try Tools.dig(port: server.port, ["+noedns", "+ignore", name, "AAAA"])
        XCTAssertTrue(Tools.flags(udp).contains("tc"), udp)
        XCTAssertLessThanOrEqual(Int(udp.firstMatch(of: /MSG SIZE  rcvd: (\d+)/)?.1 ?? "0") ?? 0, 512, udp)
        let edns = try Tools.dig(port: server.port, ["+bufsize=1232", "+ignore", name, "AAAA"])
        XCTAssertFalse(Tools.flags(edns).contains("tc"), edns)
        XCTAssertTrue(edns.contains("ANSWER: 40,"), edns)
        let tcp = try Tools.dig(port: server.port, ["+tcp", name, "AAAA"])
        XCTAssertTrue(tcp.contains("ANSWER: 40,"), tcp)
        XCTAssertEqual(server.stop(), 0)
    }
}
