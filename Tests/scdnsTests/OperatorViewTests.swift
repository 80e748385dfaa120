import Foundation
import XCTest

/// What an operator asks a running scdns, with the tools an operator has: dig for CHAOS identity and NSID,
/// `/explain` and `scdns explain` checked against the answers dig receives, `scdns health` as a container's
/// HEALTHCHECK runs it, and the sampled query log.
final class OperatorViewTests: XCTestCase {
    private static let backend = "backend.app.svc.supercluster.local"
    private var directory = ""

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "scdns-operator-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// The example scdns.yaml with the top-level keys of `extra` set instead, its paths made absolute.
    private func config(_ extra: String) throws -> String {
        let root = ServerProcess.repositoryRoot
        let replaced = Set(extra.split(separator: "\n").compactMap { $0.split(separator: ":").first })
        let example = try String(contentsOfFile: root + "/scdns.yaml", encoding: .utf8)
            .replacingOccurrences(of: "zones: zones/", with: "zones: \(root)/zones/")
            .replacingOccurrences(
                of: "registry: { file: registry.yaml }", with: "registry: { file: \(root)/registry.yaml }"
            )
            .split(separator: "\n", omittingEmptySubsequences: false)
            .filter { line in !replaced.contains { line.hasPrefix($0 + ":") } }
            .joined(separator: "\n")
        let path = directory + "/scdns.yaml"
        try (example + "\n" + extra + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func testChaosIdentityVersionAndNSIDWithDig() throws {
        let server = try ServerProcess(arguments: ["--config", try config("identity: dns-a-1\nversion: hide")])
        for name in ["id.server", "hostname.bind"] {
            let output = try Tools.dig(port: server.port, ["CH", "TXT", name])
            XCTAssertEqual(Tools.status(output), "NOERROR", output)
            XCTAssertTrue(Tools.flags(output).contains("aa"), output)
            XCTAssertEqual(Tools.records(Tools.section("ANSWER", of: output)), [#"\#(name). 0 CH TXT "dns-a-1""#])
        }
        for name in ["version.server", "version.bind"] {
            XCTAssertEqual(Tools.status(try Tools.dig(port: server.port, ["CH", "TXT", name])), "REFUSED", name)
        }
        // NSID with an ordinary answer: dig prints the identity's octets and text.
        let output = try Tools.dig(port: server.port, ["+nsid", Self.backend])
        XCTAssertEqual(Tools.status(output), "NOERROR", output)
        XCTAssertTrue(output.contains(#"NSID: 64 6e 73 2d 61 2d 31 ("dns-a-1")"#), output)
        XCTAssertFalse(try Tools.dig(port: server.port, [Self.backend]).contains("NSID"), "no NSID unless asked")
        // kdig as a second client, over TCP.
        let kdig = try Tools.run("kdig", ["@127.0.0.1", "-p", "\(server.port)", "+tcp", "+nsid", Self.backend])
        XCTAssertTrue(kdig.output.contains("dns-a-1"), kdig.output)
    }

    func testTheDefaultVersionAndIdentity() throws {
        let server = try ServerProcess(arguments: ["--config", try config("")])
        let version = Tools.records(
            try Tools.dig(port: server.port, ["+noall", "+answer", "CH", "TXT", "version.bind"]))
        XCTAssertEqual(version.count, 1)
        XCTAssertTrue(version.first?.hasSuffix(#"CH TXT "scdns 0.11.0""#) ?? false, "\(version)")
        let identity = Tools.records(try Tools.dig(port: server.port, ["+noall", "+answer", "CH", "TXT", "id.server"]))
        XCTAssertEqual(identity, [#"id.server. 0 CH TXT "\#(ProcessInfo.processInfo.hostName)""#])
    }

    /// For a client in each `clients:` network of the example (by ECS, as a resolver sends it, and by source
    /// address), `/explain` gives the answer dig receives: the same addresses, the same first, in tier order.
    func testExplainAgreesWithWhatDigReceives() throws {
        let server = try ServerProcess(arguments: ["--config", try config("")])
        let admin = try server.adminPort()
        let rows: [(ecs: String?, cluster: String, source: String, line: UInt)] = [
            (nil, "cluster-a", "instance", #line),
            ("10.244.7.0/24", "cluster-a", "ecs", #line),
            ("10.245.7.0/24", "cluster-b", "ecs", #line),
            ("10.246.7.0/24", "cluster-c", "ecs", #line),
        ]
        for row in rows {
            let dig = try Tools.dig(port: server.port, (row.ecs.map { ["+subnet=\($0)"] } ?? []) + [Self.backend])
            let received = Tools.records(Tools.section("ANSWER", of: dig)).map { String($0.split(separator: " ")[4]) }
            XCTAssertEqual(received.count, 3, dig, line: row.line)
            let path = "/explain?name=\(Self.backend)&type=A&client=127.0.0.1" + (row.ecs.map { "&ecs=\($0)" } ?? "")
            let response = try AdminClient.get(path, port: admin)
            XCTAssertEqual(response.status, 200, response.body, line: row.line)
            let json = try XCTUnwrap(
                try JSONSerialization.jsonObject(with: Data(response.body.utf8)) as? [String: Any], line: row.line)
            let locality = try XCTUnwrap(json["locality"] as? [String: Any], line: row.line)
            XCTAssertEqual(locality["cluster"] as? String, row.cluster, line: row.line)
            XCTAssertEqual(locality["source"] as? String, row.source, line: row.line)
            let candidates = try XCTUnwrap(json["candidates"] as? [[String: Any]], line: row.line)
            let answered = candidates.filter { $0["answered"] as? Bool == true }
            let explained = answered.compactMap { $0["address"] as? String }
            // Inside a tier the order rotates per query; the first (the client's own cluster) never does.
            XCTAssertEqual(explained.first, received.first, "\(response.body)\n\(dig)", line: row.line)
            XCTAssertEqual(Set(explained), Set(received), line: row.line)
            XCTAssertEqual(answered.first?["cluster"] as? String, row.cluster, line: row.line)
            let tiers = answered.compactMap { $0["tier"] as? Int }
            XCTAssertEqual(tiers, tiers.sorted(), "nearest tier first", line: row.line)
        }
        let bad = try AdminClient.get("/explain?name=\(Self.backend)&client=nowhere", port: admin)
        XCTAssertEqual(bad.status, 400)
        XCTAssertTrue(bad.body.contains("client"), bad.body)
    }

    /// `scdns explain` loads the config itself and prints the same decision as a table.
    func testExplainCommandPrintsATable() throws {
        let result = try Tools.scdns([
            "explain", Self.backend, "A", "--client", "10.245.3.3", "--config", "scdns.yaml", "--log-level", "error",
        ])
        XCTAssertEqual(result.status, 0, result.output)
        let lines = result.output.split(separator: "\n").map(String.init)
        XCTAssertTrue(
            lines.contains { $0.hasPrefix("locality  cluster-b / ap-northeast-2 / ap-northeast-2c") }, result.output)
        XCTAssertTrue(result.output.contains("10.245.0.0/16"), result.output)
        let rows = lines.filter { $0.first?.isNumber == true }
        XCTAssertEqual(rows.count, 3, result.output)
        XCTAssertTrue(rows.first?.hasPrefix("1    10.101.0.10  cluster-b  0") ?? false, result.output)
        let bad = try Tools.scdns(["explain", Self.backend, "--client", "10.245.3", "--config", "scdns.yaml"])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.output.contains("client"), bad.output)
    }

    func testHealthCommandAsksTheAdminEndpoint() throws {
        let server = try ServerProcess(arguments: ["--config", try config("")])
        let admin = try server.adminPort()
        var result = try Tools.scdns(["health", "--admin", "127.0.0.1:\(admin)"])
        XCTAssertEqual(result.status, 0, result.output)
        XCTAssertTrue(result.output.hasPrefix("200 ok"), result.output)
        result = try Tools.scdns(["health", "--admin", "127.0.0.1:\(admin)", "--path", "/ready"])
        XCTAssertEqual(result.status, 0, result.output)
        XCTAssertEqual(server.stop(), 0)
        result = try Tools.scdns(["health", "--admin", "127.0.0.1:\(admin)", "--timeout", "2"])
        XCTAssertEqual(result.status, 1, "nothing listens there any more: \(result.output)")
    }

    /// `queryLog: 2` logs every second query with who asked, how, what and the answer, over UDP and TCP. One
    /// UDP worker: each worker counts its own queries, and the kernel spreads dig's source ports over them.
    func testSampledQueryLog() throws {
        let server = try ServerProcess(arguments: ["--config", try config("queryLog: 2\nworkers: 1")])
        for _ in 0..<4 { _ = try Tools.dig(port: server.port, [Self.backend]) }
        for _ in 0..<2 { _ = try Tools.dig(port: server.port, ["+tcp", "nothere.app.svc.supercluster.local"]) }
        try server.awaitLog(matching: #"proto=tcp.*rcode=NXDOMAIN.*\] query"#)
        let lines = server.output.split(separator: "\n").filter { $0.hasSuffix("] query") }
        XCTAssertEqual(lines.filter { $0.contains("proto=udp") }.count, 2, server.output)
        XCTAssertEqual(lines.filter { $0.contains("proto=tcp") }.count, 1, server.output)
        let udp = try XCTUnwrap(lines.first { $0.contains("proto=udp") })
        for field in ["client=127.0.0.1", "name=\(Self.backend).", "type=A", "rcode=NOERROR", "size="] {
            XCTAssertTrue(udp.contains(field), "\(field) in \(udp)")
        }
    }
}
