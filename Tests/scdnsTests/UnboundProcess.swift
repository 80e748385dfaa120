import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// A real Unbound on a loopback port, configured the way CoreDNS is in the deployment users run: the
/// multi-cluster zones (and cluster.local, which scdns forwards on) are stub zones whose only server is scdns.
/// It runs in the foreground as the current user with its config and pidfile in a temporary directory, with
/// the iterator alone (no validator: the zones are local and unsigned), so it needs no root and no network.
/// `rrset-roundrobin: no` keeps the order scdns gives (nearest cluster first); Unbound's default shuffles it.
final class UnboundProcess {
    /// The zones Unbound sends to scdns: the three scdns answers itself and cluster.local, which it forwards.
    static let stubZones = ["supercluster.local", "clusterset.local", "global", "cluster.local"]

    let directory: String
    /// scdns's port on 127.0.0.1.
    let scdnsPort: Int
    private(set) var port = 0
    private var process: Process?
    private let log = LockedText()

    /// Starts Unbound and returns once it answers a query. A free port is picked right before the start; if
    /// Unbound loses a race for it, a new port is tried, three times in all.
    init(scdnsPort: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        guard FileManager.default.isExecutableFile(atPath: Self.binary) else {
            XCTFail(
                "unbound is not installed (\(Self.binary)): run `make test-deps`, which installs the package "
                    + "`unbound`", file: file, line: line)
            throw TestFailure("unbound missing")
        }
        self.scdnsPort = scdnsPort
        directory = NSTemporaryDirectory() + "scdns-unbound-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var outcome = DaemonLaunch.Outcome.failed
        for _ in 1...3 {
            port = try LoopbackPort.reserve()
            outcome = try launch()
            if outcome != .portTaken { break }
        }
        if outcome == .ready { return }
        XCTFail(
            "unbound did not start answering on 127.0.0.1@\(port); its log:\n\(log.text)", file: file, line: line)
        stop()
        throw TestFailure("unbound did not start")
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    static let binary = "/usr/sbin/unbound"

    var isRunning: Bool { process?.isRunning ?? false }
    var output: String { log.text }

    /// `dig` through Unbound as a stub resolver asks it: recursion desired.
    func dig(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> String {
        try Tools.dig(port: port, ["+rec", "+time=5"] + arguments, file: file, line: line)
    }

    /// SIGTERM, then waits for the exit (SIGKILL if Unbound has not exited within `timeout`).
    func stop(timeout: TimeInterval = 10) {
        guard let process, process.isRunning else { return }
        process.terminate()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        if process.isRunning {
            _ = Glibc.kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    private func launch() throws -> DaemonLaunch.Outcome {
        let configuration = directory + "/unbound.conf"
        try Self.config(port: port, directory: directory, scdnsPort: scdnsPort)
            .write(toFile: configuration, atomically: true, encoding: .utf8)
        // localhost is one of Unbound's built-in local zones: its answer shows Unbound is serving without
        // involving scdns (whose own readiness is awaited by ServerProcess).
        let (process, outcome) = try DaemonLaunch.start(
            Self.binary, arguments: ["-d", "-c", configuration], directory: directory, log: log,
            portTaken: ["Address already in use", "could not open ports"]
        ) {
            let answer = try Tools.dig(port: port, ["+time=1", "localhost.", "A"])
            return Tools.status(answer) == "NOERROR" && answer.contains("ANSWER: 1,")
        }
        self.process = process
        return outcome
    }

    /// The configuration README.md documents ("Deploying beside CoreDNS"), on test ports and paths.
    static func config(port: Int, directory: String, scdnsPort: Int) -> String {
        let insecure = stubZones.map { "    domain-insecure: \"\($0)\"" }.joined(separator: "\n")
        let stubs = stubZones.map {
            """
            stub-zone:
                name: "\($0)"
                stub-addr: 127.0.0.1@\(scdnsPort)
                stub-first: no
            """
        }.joined(separator: "\n")
        return """
            server:
                interface: 127.0.0.1@\(port)
                port: \(port)
                do-daemonize: no
                chroot: ""
                username: ""
                directory: "\(directory)"
                pidfile: "\(directory)/unbound.pid"
                use-syslog: no
                logfile: ""
                verbosity: 1
                num-threads: 1
                rrset-roundrobin: no
                do-ip6: no
                do-not-query-localhost: no
                access-control: 127.0.0.0/8 allow
                module-config: "iterator"
            \(insecure)
                local-zone: "local." nodefault
            remote-control:
                control-enable: no
            \(stubs)

            """
    }
}
