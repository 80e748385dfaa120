import Foundation
import XCTest

/// `scdns check` accepts the example and rejects bad input with the file, line and field.
final class CheckCommandTests: XCTestCase {
    private func check(_ arguments: [String]) throws -> Tools.Result {
        try Tools.scdns(["check"] + arguments)
    }

    private func temporaryFile(_ name: String, _ text: String) throws -> String {
        let directory = NSTemporaryDirectory() + "scdns-check-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/" + name
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func testTheExampleConfigIsValid() throws {
        let result = try check(["--config", "scdns.yaml"])
        XCTAssertEqual(result.status, 0, result.output)
        XCTAssertTrue(result.output.contains("ok: 2 zone file(s)"), result.output)
    }

    func testAnEtcdRegistryIsListedAndARejectedKeyFailsTheCheck() async throws {
        let etcd = try await EtcdCluster()
        let client = try etcd.client()
        try await client.put(
            "/scdns/v1/clusters/c1/services/shop/web",
            value: #"{"name":"web","namespace":"shop","cluster":"c1","addresses":["10.1.0.1"]}"#)
        var result = try check(["--etcd", etcd.endpoints[0]])
        XCTAssertEqual(result.status, 0, result.output)
        XCTAssertTrue(result.output.contains("1 service(s)"), result.output)

        try await client.put(
            "/scdns/v1/clusters/c1/services/shop/api",
            value: #"{"name":"api","namespace":"shop","cluster":"c1","weight":0}"#)
        result = try check(["--etcd", etcd.endpoints[0]])
        XCTAssertEqual(result.status, 1, result.output)
        XCTAssertTrue(
            result.output.contains(
                "1 etcd export(s) rejected; the first: etcd:/scdns/v1/clusters/c1/services/shop/api:1:"),
            result.output)
        XCTAssertTrue(result.output.contains("weight"), result.output)

        etcd.kill(0)
        result = try check(["--etcd", etcd.endpoints[0]])
        XCTAssertEqual(result.status, 1, result.output)
        XCTAssertTrue(result.output.contains("etcd unreachable"), result.output)
    }

    /// A name DNS cannot hold (over 255 octets: here each endpoint's host name) used to be left out of the answers
    /// while `scdns check` said ok. Every label is valid on its own; only the whole is too long.
    func testANameLongerThanDNSAllowsFailsTheCheck() throws {
        let ns = String(repeating: "n", count: 63)
        let name = String(repeating: "s", count: 63)
        let cluster = String(repeating: "c", count: 63)
        let host = String(repeating: "h", count: 60)
        let path = try temporaryFile(
            "registry.yaml",
            """
            services:
              - name: \(name)
                namespace: \(ns)
                type: Headless
                clusters:
                  - cluster: \(cluster)
                    endpoints: [{ hostname: \(host), addresses: [10.0.0.1] }]
            """)
        let result = try check(["--registry", path, "--zones", ServerProcess.repositoryRoot + "/zones"])
        XCTAssertEqual(result.status, 1, result.output)
        XCTAssertTrue(
            result.output.contains(
                "3 name(s) longer than DNS allows (255 octets) would be left out of the answers; the first: "
                    + "\(ns)/\(name): \(host).\(cluster).\(name).\(ns).svc.supercluster.local. (277 octets)"),
            result.output)
    }

    func testBadRegistryNamesFileLineAndField() throws {
        let path = try temporaryFile(
            "registry.yaml",
            """
            services:
              - name: web
                namespace: shop
                clusters:
                  - cluster: a
                    addresses: [10.0.0.1]
                    weight: "heavy"
            """)
        let result = try check(["--registry", path])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.output.contains("registry.yaml:7:"), result.output)
        XCTAssertTrue(result.output.contains("services[0].clusters[0].weight"), result.output)
    }

    func testBadConfigNamesFileLineAndField() throws {
        let path = try temporaryFile("scdns.yaml", "ttl: 5\nlimits:\n  udpPayload: 100\n")
        let result = try check(["--config", path])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.output.contains("scdns.yaml:3:"), result.output)
        XCTAssertTrue(result.output.contains("limits.udpPayload"), result.output)
    }

    func testUnknownConfigKeyIsRejected() throws {
        let path = try temporaryFile("scdns.yaml", "listen: [127.0.0.1:5353]\nclusternames: false\n")
        let result = try check(["--config", path])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.output.contains("clusternames"), result.output)
    }

    /// Flags are checked as the keys they override: a prefix without its leading '/' is refused before etcd is asked.
    func testAnEtcdPrefixFlagWithoutItsSlashIsRefused() throws {
        let result = try check(["--etcd", "http://127.0.0.1:1", "--etcd-prefix", "scdns/v1/"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.output.contains("--etcd-prefix 'scdns/v1/' does not start with '/'"), result.output)
    }

    func testBadZoneFileNamesFileAndLine() throws {
        let zone = try temporaryFile(
            "supercluster.local.zone",
            "$TTL 60\n@ IN SOA ns1 hostmaster 1 2 3 4 5\n@ IN NS ns1\nns1 IN A 999.1.1.1\n")
        let directory = URL(fileURLWithPath: zone).deletingLastPathComponent().path
        let result = try check(["--zones", directory])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.output.contains("supercluster.local.zone:4"), result.output)
    }
}
