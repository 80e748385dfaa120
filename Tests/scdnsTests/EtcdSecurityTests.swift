import Foundation
import RegistryEtcd
import XCTest

/// TLS and authentication against a real etcd (issue 13, DESIGN.md section 2): certificates made with openssl
/// for the test, users and roles made with etcdctl, and the scdns binary as operators run it.
final class EtcdSecurityTests: XCTestCase {
    static func export(_ address: String, cluster: String) -> String {
        #"{"name":"web","namespace":"shop","cluster":"\#(cluster)","addresses":["\#(address)"]}"#
    }

    func testAServerThatTrustsEtcdsCAAnswersAndOneThatDoesNotFailsClearly() async throws {
        let certificates = try TestCertificates()
        defer { certificates.remove() }
        let etcd = try await EtcdCluster(certificates: certificates)
        let client = try etcd.client()
        try await client.put(
            RegistryKeyLayout().key(namespace: "shop", name: "web", cluster: "c1"),
            value: Self.export("10.7.1.1", cluster: "c1"))
        let endpoint = etcd.endpoints[0]
        XCTAssertTrue(endpoint.hasPrefix("https://"))
        let clientCertificate = ["--etcd-cert", certificates.clientCert, "--etcd-key", certificates.clientKey]

        let trusted = try Tools.scdns(["check", "--etcd", endpoint, "--etcd-ca", certificates.ca] + clientCertificate)
        XCTAssertEqual(trusted.status, 0, trusted.output)
        XCTAssertTrue(trusted.output.contains("1 service(s)"), trusted.output)

        // Without the CA (the system's roots) and with another CA: the member's certificate is not trusted.
        for ca in [[], ["--etcd-ca", certificates.otherCA]] {
            let untrusted = try Tools.scdns(["check", "--etcd", endpoint] + ca + clientCertificate)
            XCTAssertEqual(untrusted.status, 1, untrusted.output)
            XCTAssertTrue(
                untrusted.output.contains(
                    "\(endpoint): TLS: etcd's certificate is not signed by a CA this client trusts; give that CA"),
                untrusted.output)
        }
        // The member requires a client certificate (--client-cert-auth).
        let anonymous = try Tools.scdns(["check", "--etcd", endpoint, "--etcd-ca", certificates.ca])
        XCTAssertEqual(anonymous.status, 1, anonymous.output)
        XCTAssertTrue(anonymous.output.contains("TLS: etcd refused this client's certificate"), anonymous.output)
        // TLS files with an http endpoint, and a key without its certificate, are refused before any call.
        let plain = try Tools.scdns(
            ["check", "--etcd", "http://127.0.0.1:2379", "--etcd-ca", certificates.ca] + clientCertificate)
        XCTAssertEqual(plain.status, 1, plain.output)
        XCTAssertTrue(plain.output.contains("TLS files are given but http://127.0.0.1:2379 is not https"), plain.output)
        let halfPair = try Tools.scdns(
            ["check", "--etcd", endpoint, "--etcd-ca", certificates.ca, "--etcd-key", certificates.clientKey])
        XCTAssertEqual(halfPair.status, 1, halfPair.output)
        XCTAssertTrue(halfPair.output.contains("a client certificate needs its key"), halfPair.output)

        // A server over TLS lists, watches and probes: a change is answered.
        let server = try ServerProcess(
            arguments: ["--etcd", endpoint, "--etcd-ca", certificates.ca] + clientCertificate)
        try EtcdRegistryIntegrationTests.awaitAnswer(server, ["10.7.1.1"])
        try EtcdRegistryIntegrationTests.registry(
            ["put", "--etcd", endpoint, "--etcd-ca", certificates.ca] + clientCertificate
                + ["shop/web/c2", Self.export("10.7.1.2", cluster: "c2")])
        try EtcdRegistryIntegrationTests.awaitAnswer(server, ["10.7.1.1", "10.7.1.2"])
    }

    /// The roles docs/registry.md tells operators to create: one read-only role for the servers, one
    /// read-write role per cluster over its own prefix.
    func testEachClustersPublisherIsConfinedToItsPrefixAndServersOnlyRead() async throws {
        // Tokens expire after 2 s idle, so the server must authenticate again while the test runs.
        let etcd = try await EtcdCluster(extraArguments: ["--auth-token-ttl", "2"])
        let prefix = RegistryKeyLayout.defaultPrefix + "clusters/"
        var passwords: [String: String] = [:]
        func addUser(_ user: String, role: String, permission: String, key: String) throws {
            let password = "pw-\(user)-" + String(UUID().uuidString.prefix(8))
            passwords[user] = etcd.scratchDirectory + "/\(user).password"
            try (password + "\n").write(toFile: passwords[user]!, atomically: true, encoding: .utf8)
            try etcd.etcdctl(["role", "add", role])
            try etcd.etcdctl(["role", "grant-permission", role, permission, "--prefix=true", key])
            try etcd.etcdctl(["user", "add", user, "--new-user-password=\(password)"])
            try etcd.etcdctl(["user", "grant-role", user, role])
        }
        try etcd.enableAuthentication()
        try addUser("scdns-server", role: "scdns-reader", permission: "read", key: prefix)
        for cluster in ["cluster-b", "cluster-c"] {
            try addUser(
                "publisher-\(cluster)", role: "publisher-\(cluster)", permission: "readwrite",
                key: prefix + cluster + "/")
        }
        func credentials(_ user: String) -> [String] {
            ["--etcd", etcd.endpoints[0], "--etcd-user", user, "--etcd-password-file", passwords[user]!]
        }

        let server = try ServerProcess(arguments: credentials("scdns-server"))
        let file = etcd.scratchDirectory + "/exports.yaml"
        try "services: [{ name: web, namespace: shop, clusters: [{ cluster: cluster-b, addresses: [10.7.2.1] }] }]\n"
            .write(toFile: file, atomically: true, encoding: .utf8)
        let publisherB = try publish(credentials("publisher-cluster-b") + ["--cluster", "cluster-b", "--file", file])
        defer { stop(publisherB.process) }
        try EtcdRegistryIntegrationTests.awaitAnswer(server, ["10.7.2.1"])

        // cluster-b's publisher cannot write or delete under cluster-c's prefix: etcd refuses, and it says so.
        let cFile = etcd.scratchDirectory + "/exports-c.yaml"
        try "services: [{ name: web, namespace: shop, clusters: [{ cluster: cluster-c, addresses: [10.7.3.1] }] }]\n"
            .write(toFile: cFile, atomically: true, encoding: .utf8)
        let impostor = try publish(credentials("publisher-cluster-b") + ["--cluster", "cluster-c", "--file", cFile])
        defer { stop(impostor.process) }
        try await impostor.log.await("etcd refused: etcdserver: permission denied")
        let put = try Tools.scdns(
            ["registry", "put"] + credentials("publisher-cluster-b")
                + ["shop/web/cluster-c", Self.export("10.7.3.9", cluster: "cluster-c")])
        XCTAssertEqual(put.status, 1, put.output)
        XCTAssertTrue(put.output.contains("permission denied"), put.output)
        let rootClient = try etcd.client()
        try await rootClient.put(
            RegistryKeyLayout().key(namespace: "shop", name: "web", cluster: "cluster-c"),
            value: Self.export("10.7.3.1", cluster: "cluster-c"))
        let delete = try Tools.scdns(
            ["registry", "delete"] + credentials("publisher-cluster-b") + ["shop/web/cluster-c"])
        XCTAssertEqual(delete.status, 1, delete.output)
        XCTAssertTrue(delete.output.contains("permission denied"), delete.output)
        let clusterC = try await rootClient.list(prefix: prefix + "cluster-c/").keyValues.map(\.keyText)
        XCTAssertEqual(
            clusterC,
            [RegistryKeyLayout().key(namespace: "shop", name: "web", cluster: "cluster-c")],
            "cluster-c holds only what root wrote: no claim, no export from cluster-b's publisher")

        // The servers' credentials read and never write.
        let serverWrite = try Tools.scdns(
            ["registry", "put"] + credentials("scdns-server")
                + ["shop/web/cluster-b", Self.export("10.7.2.9", cluster: "cluster-b")])
        XCTAssertEqual(serverWrite.status, 1, serverWrite.output)
        XCTAssertTrue(serverWrite.output.contains("permission denied"), serverWrite.output)
        let listing = try Tools.scdns(["registry", "list"] + credentials("scdns-server"))
        XCTAssertEqual(listing.status, 0, listing.output)
        XCTAssertTrue(listing.output.contains("cluster-b publisher: "), listing.output)

        // A restarted member has forgotten every token (simple tokens live in its memory). etcd then takes the
        // server's next watch and cancels it with "permission denied"; the server must authenticate again, not
        // retry the dead token forever, and follow changes.
        etcd.kill(0)
        try await etcd.restart(0)
        try await rootClient.put(
            RegistryKeyLayout().key(namespace: "shop", name: "web", cluster: "cluster-d"),
            value: Self.export("10.7.4.1", cluster: "cluster-d"))
        try EtcdRegistryIntegrationTests.awaitAnswer(server, ["10.7.2.1", "10.7.3.1", "10.7.4.1"], timeout: 20)
        // And the token expires (2 s here) between calls: the same renewal keeps the server current.
        try await Task.sleep(for: .seconds(3))
        try await rootClient.put(
            RegistryKeyLayout().key(namespace: "shop", name: "web", cluster: "cluster-e"),
            value: Self.export("10.7.5.1", cluster: "cluster-e"))
        try EtcdRegistryIntegrationTests.awaitAnswer(
            server, ["10.7.2.1", "10.7.3.1", "10.7.4.1", "10.7.5.1"], timeout: 20)

        // A wrong password is refused as such; no password is ever printed.
        let wrongFile = etcd.scratchDirectory + "/wrong.password"
        try "not-it\n".write(toFile: wrongFile, atomically: true, encoding: .utf8)
        let wrong = try Tools.scdns(
            [
                "registry", "list", "--etcd", etcd.endpoints[0], "--etcd-user", "scdns-server", "--etcd-password-file",
                wrongFile,
            ])
        XCTAssertEqual(wrong.status, 1, wrong.output)
        XCTAssertTrue(wrong.output.contains("etcd refused the credentials"), wrong.output)
        for (user, passwordFile) in passwords {
            let password = try String(contentsOfFile: passwordFile, encoding: .utf8).trimmingCharacters(in: .newlines)
            for text in [server.output, publisherB.log.text, impostor.log.text, wrong.output] {
                XCTAssertFalse(text.contains(password), "\(user)'s password was printed")
            }
        }
    }

    func testAnEndpointWithCredentialsInItsURLIsRefusedWithoutEchoingThem() throws {
        // Also with a scheme scdns does not take: no error may echo the URL first.
        for (command, url) in [
            (["check"], "http://root:hunter2@127.0.0.1:2379"), (["registry", "list"], "https://root:hunter2@h:2379"),
            (["check"], "HTTPS://root:hunter2@h:2379"), (["registry", "list"], "etcd://root:hunter2@h:2379"),
        ] {
            let result = try Tools.scdns(command + ["--etcd", url])
            XCTAssertNotEqual(result.status, 0, result.output)
            XCTAssertTrue(result.output.contains("credentials in its URL is refused"), result.output)
            XCTAssertFalse(result.output.contains("hunter2"), result.output)
        }
    }

    // MARK: - Helpers

    private func publish(_ arguments: [String]) throws -> (process: Process, log: LockedText) {
        try EtcdRegistryIntegrationTests.publisher(["--lease-ttl", "3"] + arguments)
    }

    private func stop(_ process: Process) {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}
