import Foundation
import Logging
import RegistryEtcd
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// Real etcd members (Debian's etcd-server) on free loopback ports, each with its own data directory: one member,
/// or a cluster of three that survives losing one. Members can be killed and restarted on the same data, or on
/// another client port (so a test can change etcd behind a watcher's back).
final class EtcdCluster {
    struct Member {
        let name: String
        var clientPort: Int
        let peerPort: Int
        let dataDirectory: String
        var process: Process?

        var tls = false
        var endpoint: String { (tls ? "https" : "http") + "://127.0.0.1:\(clientPort)" }
        var peerURL: String { "http://127.0.0.1:\(peerPort)" }
    }

    private(set) var members: [Member] = []
    private let directory: String
    private let token = "scdns-test-" + UUID().uuidString
    let log = LockedText()
    /// With TLS: the certificates the members serve and require (`--client-cert-auth`).
    let certificates: TestCertificates?
    /// What the test's own clients use: the CA and client certificate with TLS, root's password once
    /// `enableAuthentication` has run.
    private(set) var security = EtcdSecurity()
    /// More etcd flags for every member.
    private let extraArguments: [String]

    static var binary: String {
        for candidate in ["/usr/bin/etcd", "/usr/local/bin/etcd"]
        where FileManager.default.isExecutableFile(atPath: candidate) {
            return candidate
        }
        return "etcd"
    }

    /// Starts `size` members and waits until each serves linearizable reads (a leader is elected).
    /// `clientPorts` fixes the members' client ports (a server may already be waiting on one).
    /// `certificates` serves https with them, and requires a client certificate signed by their CA.
    init(
        size: Int = 1, clientPorts: [Int]? = nil, certificates: TestCertificates? = nil,
        extraArguments: [String] = [], file: StaticString = #filePath, line: UInt = #line
    ) async throws {
        self.certificates = certificates
        self.extraArguments = extraArguments
        if let certificates {
            security = EtcdSecurity(
                caFile: certificates.ca, certFile: certificates.clientCert, keyFile: certificates.clientKey)
        }
        guard FileManager.default.isExecutableFile(atPath: Self.binary) else {
            XCTFail("etcd not found: install etcd-server (make test-deps does)", file: file, line: line)
            throw TestFailure("no etcd")
        }
        directory = NSTemporaryDirectory() + "scdns-etcd-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for index in 0..<size {
            members.append(
                Member(
                    name: "m\(index)", clientPort: try clientPorts?[index] ?? LoopbackPort.reserve(),
                    peerPort: try LoopbackPort.reserve(),
                    dataDirectory: directory + "/m\(index)", tls: certificates != nil))
        }
        for index in members.indices { try launch(index, state: "new") }
        for index in members.indices { try await awaitReady(index, file: file, line: line) }
    }

    deinit {
        for member in members where member.process?.isRunning == true {
            Glibc.kill(member.process!.processIdentifier, SIGKILL)
            member.process!.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    var endpoints: [String] { members.map(\.endpoint) }

    /// A client of every member, for the test's own reads and writes.
    func client(_ indices: [Int]? = nil) throws -> EtcdClient {
        let chosen = (indices ?? Array(members.indices)).map { members[$0].endpoint }
        return try EtcdClient(endpoints: chosen, security: security, logger: Logger(label: "test-etcd-client"))
    }

    /// SIGKILL, as a crash or a lost machine would end it.
    func kill(_ index: Int) {
        guard let process = members[index].process, process.isRunning else { return }
        Glibc.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        members[index].process = nil
    }

    /// Starts a killed member again on its data, on `clientPort` if given (else its own), and waits for it.
    func restart(
        _ index: Int, clientPort: Int? = nil, file: StaticString = #filePath, line: UInt = #line
    )
        async throws
    {
        if let clientPort { members[index].clientPort = clientPort }
        try launch(index, state: "existing")
        try await awaitReady(index, file: file, line: line)
    }

    private func launch(_ index: Int, state: String) throws {
        let member = members[index]
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = [
            "--name", member.name, "--data-dir", member.dataDirectory,
            "--listen-client-urls", member.endpoint, "--advertise-client-urls", member.endpoint,
            "--listen-peer-urls", member.peerURL, "--initial-advertise-peer-urls", member.peerURL,
            "--initial-cluster", members.map { "\($0.name)=\($0.peerURL)" }.joined(separator: ","),
            "--initial-cluster-state", state, "--initial-cluster-token", token,
            // Fast elections keep a three-member test short; loopback has no latency to allow for.
            "--heartbeat-interval", "50", "--election-timeout", "500",
            "--logger", "zap", "--log-level", "warn",
        ]
        process.arguments! += extraArguments
        if let certificates {
            process.arguments! += [
                "--cert-file", certificates.serverCert, "--key-file", certificates.serverKey,
                "--trusted-ca-file", certificates.ca, "--client-cert-auth",
            ]
        }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        let log = self.log
        let name = member.name
        output.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if !data.isEmpty { log.append("[\(name)] " + String(decoding: data, as: UTF8.self)) }
        }
        try process.run()
        members[index].process = process
    }

    private func awaitReady(_ index: Int, file: StaticString, line: UInt) async throws {
        let client = try EtcdClient(
            endpoints: [members[index].endpoint], security: security, callTimeout: .seconds(1),
            logger: Logger(label: "test-etcd-probe"))
        let deadline = ContinuousClock.now + .seconds(30)
        var lastError: (any Error)?
        while ContinuousClock.now < deadline {
            guard members[index].process?.isRunning == true else { break }
            do {
                _ = try await client.currentRevision()
                return
            } catch {
                lastError = error
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        XCTFail(
            "etcd member \(index) never became ready (last: \(lastError.map { "\($0)" } ?? "exited")); its log:\n"
                + log.text, file: file, line: line)
        throw TestFailure("etcd not ready")
    }
}

extension EtcdCluster {
    /// Runs etcdctl against the first member as root (once authentication is on), failing the test on error.
    @discardableResult
    func etcdctl(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> String {
        var flags = ["--endpoints", endpoints[0]]
        if let certificates {
            flags += ["--cacert", certificates.ca, "--cert", certificates.clientCert, "--key", certificates.clientKey]
        }
        if security.user != nil { flags += ["--user", "root:" + EtcdCluster.rootPassword] }
        let result = try Tools.run("etcdctl", flags + arguments, file: file, line: line)
        XCTAssertEqual(result.status, 0, "etcdctl \(arguments): \(result.output)", file: file, line: line)
        return result.output
    }

    static let rootPassword = "root-secret-" + String(UUID().uuidString.prefix(8))

    /// Creates root, turns authentication on, and from then on the test's own clients authenticate as root.
    func enableAuthentication(file: StaticString = #filePath, line: UInt = #line) throws {
        try etcdctl(["user", "add", "root", "--new-user-password=\(Self.rootPassword)"], file: file, line: line)
        try etcdctl(["auth", "enable"], file: file, line: line)
        let passwordFile = directory + "/root-password"
        try Self.rootPassword.write(toFile: passwordFile, atomically: true, encoding: .utf8)
        security.user = "root"
        security.passwordFile = passwordFile
    }

    /// A directory of the cluster's, removed with it: for password files and the like.
    var scratchDirectory: String { directory }
}
