import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// A real Knot DNS serving `cluster.local` on a loopback port: the stand-in for a cluster's CoreDNS, the
/// upstream scdns forwards to. It runs in the foreground as the current user with its config, zone, database,
/// rundir and control socket in a temporary directory, so it needs no root and leaves nothing behind.
final class KnotProcess {
    /// The zone Knot serves.
    static let zone = "cluster.local"
    static let kubernetesName = "kubernetes.default.svc.cluster.local."
    static let kubernetesAddress = "10.96.0.1"
    static let webName = "web.prod.svc.cluster.local."
    static let webAddress = "10.96.1.1"
    /// Has an A record and nothing else, so its AAAA is NODATA.
    static let noDataName = "v4only.cluster.local."
    static let bigName = "big.cluster.local."
    /// The character-strings of big.cluster.local's TXT: 4 x 255 octets and one of 170, RDATA 1195 octets, so
    /// the answer exceeds 512 octets (and 1232) and is truncated over UDP.
    static let bigStrings: [String] =
        ["a", "b", "c", "d"].map { String(repeating: $0, count: 255) }
        + [String(repeating: "e", count: 170)]

    static var zoneText: String {
        """
        $ORIGIN cluster.local.
        $TTL 30
        @                       30 IN SOA ns.dns.cluster.local. hostmaster.cluster.local. 1 7200 1800 86400 60
        @                       30 IN NS  ns.dns.cluster.local.
        ns.dns                  30 IN A   10.96.0.10
        kubernetes.default.svc  30 IN A   \(kubernetesAddress)
        web.prod.svc            30 IN A   \(webAddress)
        v4only                  30 IN A   10.96.2.1
        big                     30 IN TXT ( \(bigStrings.map { "\"\($0)\"" }.joined(separator: "\n    ")) )

        """
    }

    let directory: String
    private(set) var port = 0
    private var process: Process?
    private let log = LockedText()

    /// Starts Knot and returns once it answers the SOA of cluster.local with NOERROR. A free port is picked
    /// right before the start; if Knot loses a race for it (another process bound it meanwhile), a new port is
    /// tried, three times in all.
    init(file: StaticString = #filePath, line: UInt = #line) throws {
        guard Tools.path(of: "knotd") != nil else {
            XCTFail(
                "knotd is not installed (/usr/sbin/knotd): run `make test-deps`, which installs the package `knot`",
                file: file, line: line)
            throw TestFailure("knotd missing")
        }
        directory = NSTemporaryDirectory() + "scdns-knot-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: directory + "/db", withIntermediateDirectories: true)
        try Self.zoneText.write(toFile: directory + "/cluster.local.zone", atomically: true, encoding: .utf8)
        var outcome = DaemonLaunch.Outcome.failed
        for _ in 1...3 {
            port = try LoopbackPort.reserve()
            outcome = try launch()
            if outcome != .portTaken { break }
        }
        if outcome == .ready { return }
        XCTFail("knotd did not start answering on 127.0.0.1@\(port); its log:\n\(log.text)", file: file, line: line)
        stop()
        throw TestFailure("knotd did not start")
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    var isRunning: Bool { process?.isRunning ?? false }
    var output: String { log.text }

    /// SIGTERM, then waits for the exit (SIGKILL if Knot has not exited within `timeout`).
    func stop(timeout: TimeInterval = 10) {
        guard let process, process.isRunning else { return }
        process.terminate()
        if !waitForExit(process, timeout: timeout) { kill() }
    }

    /// SIGKILL, as a crash: no shutdown at all.
    func kill() {
        guard let process, process.isRunning else { return }
        _ = Glibc.kill(process.processIdentifier, SIGKILL)
        _ = waitForExit(process, timeout: 10)
    }

    /// Starts Knot again on the same port after `stop()` or `kill()` (an upstream coming back).
    func restart(file: StaticString = #filePath, line: UInt = #line) throws {
        stop()
        guard try launch() == .ready else {
            XCTFail("knotd did not restart on 127.0.0.1@\(port); its log:\n\(log.text)", file: file, line: line)
            throw TestFailure("knotd did not restart")
        }
    }

    private func launch() throws -> DaemonLaunch.Outcome {
        let configuration = directory + "/knot.conf"
        try config().write(toFile: configuration, atomically: true, encoding: .utf8)
        // Knot binds before it loads the zone and answers SERVFAIL until then: wait for a real SOA answer.
        let (process, outcome) = try DaemonLaunch.start(
            Tools.path(of: "knotd") ?? "/usr/sbin/knotd", arguments: ["-c", configuration], directory: directory,
            log: log,
            portTaken: ["address already in use", "cannot bind"]
        ) {
            let answer = try Tools.dig(port: port, ["+time=1", Self.zone, "SOA"])
            return Tools.status(answer) == "NOERROR" && answer.contains("ANSWER: 1,")
        }
        self.process = process
        return outcome
    }

    private func config() -> String {
        """
        server:
            listen: 127.0.0.1@\(port)
            rundir: \(directory)
            pidfile: \(directory)/knot.pid
            udp-workers: 1
            tcp-workers: 1
            background-workers: 1
        database:
            storage: \(directory)/db
        control:
            listen: \(directory)/knot.sock
        log:
          - target: stderr
            any: info
        template:
          - id: default
            storage: \(directory)
            zonefile-sync: -1
            zonefile-load: whole
            journal-content: none
        zone:
          - domain: \(Self.zone)
            file: \(Self.zone).zone

        """
    }

    private func waitForExit(_ process: Process, timeout: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        return !process.isRunning
    }
}

/// Knot itself, before scdns is put in front of it: the fixture the forwarding tests rely on.
final class KnotProcessTests: XCTestCase {
    func testKnotAnswersTheClusterLocalZoneDirectly() throws {
        let knot = try KnotProcess()
        let answer = try Tools.dig(port: knot.port, [KnotProcess.kubernetesName, "A"])
        XCTAssertEqual(Tools.status(answer), "NOERROR", answer)
        XCTAssertTrue(Tools.flags(answer).contains("aa"), answer)
        XCTAssertEqual(
            Tools.records(try Tools.dig(port: knot.port, ["+noall", "+answer", KnotProcess.kubernetesName, "A"])),
            ["\(KnotProcess.kubernetesName) 30 IN A \(KnotProcess.kubernetesAddress)"])
        // The big TXT really is truncated over plain UDP, and whole over TCP: the TC test through scdns depends
        // on it.
        let truncated = try Tools.dig(port: knot.port, ["+noedns", "+ignore", KnotProcess.bigName, "TXT"])
        XCTAssertTrue(Tools.flags(truncated).contains("tc"), truncated)
        let whole = Tools.records(
            try Tools.dig(port: knot.port, ["+tcp", "+noall", "+answer", KnotProcess.bigName, "TXT"]))
        XCTAssertEqual(
            whole,
            ["\(KnotProcess.bigName) 30 IN TXT " + KnotProcess.bigStrings.map { "\"\($0)\"" }.joined(separator: " ")])
        knot.stop()
        XCTAssertFalse(knot.isRunning)
    }
}
