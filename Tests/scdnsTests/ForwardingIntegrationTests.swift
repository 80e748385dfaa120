import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// Conditional forwarding (DESIGN.md section 4) with a real Knot DNS serving cluster.local as the cluster's
/// CoreDNS: dig asks scdns, scdns asks Knot, over UDP and TCP, and what Knot says (answers, NXDOMAIN, NODATA,
/// truncation) reaches the client; scdns's own zones stay its own; dead upstreams give SERVFAIL or failover.
final class ForwardingIntegrationTests: XCTestCase {
    // One Knot and one scdns for the tests that only ask questions; the tests that stop an upstream start
    // their own pair. XCTest runs these serially on one thread.
    nonisolated(unsafe) private static var sharedKnot: KnotProcess?
    nonisolated(unsafe) private static var sharedForwarder: Forwarder?

    override class func tearDown() {
        sharedForwarder = nil
        sharedKnot?.stop()
        sharedKnot = nil
    }

    /// The shared scdns, forwarding cluster.local to the shared Knot; (re)started when either is down.
    private func shared() throws -> Forwarder {
        if Self.sharedKnot?.isRunning != true {
            Self.sharedForwarder = nil
            Self.sharedKnot = try KnotProcess()
        }
        if let forwarder = Self.sharedForwarder, forwarder.server.process.isRunning { return forwarder }
        let forwarder = try Forwarder(upstreams: [Self.sharedKnot?.port ?? 0])
        Self.sharedForwarder = forwarder
        return forwarder
    }

    // MARK: - Through scdns to Knot

    func testForwardedAnswerOverUDPAndTCP() throws {
        let scdns = try shared()
        for transport in ["+notcp", "+tcp"] {
            let output = try scdns.dig([transport, KnotProcess.kubernetesName, "A"])
            XCTAssertEqual(Tools.status(output), "NOERROR", "\(transport):\n\(output)")
            assertAnswer(
                output, name: KnotProcess.kubernetesName, type: "A", data: [KnotProcess.kubernetesAddress],
                transport)
        }
    }

    func testQuestionCaseIsEchoed() throws {
        let scdns = try shared()
        let mixed = "KuBeRnEtEs.default.svc.cluster.local."
        for transport in ["+notcp", "+tcp"] {
            let output = try scdns.dig([transport, mixed, "A"])
            XCTAssertEqual(Tools.status(output), "NOERROR", "\(transport):\n\(output)")
            XCTAssertNotNil(
                output.range(
                    of: #"\n;KuBeRnEtEs\.default\.svc\.cluster\.local\.\s+IN\s+A\n"#, options: .regularExpression),
                "\(transport): the question must come back as asked, KuBeRnEtEs:\n\(output)")
            XCTAssertFalse(output.contains("Question section mismatch"), output)
            assertAnswer(
                output, name: KnotProcess.kubernetesName, type: "A", data: [KnotProcess.kubernetesAddress],
                transport)
        }
    }

    func testNXDOMAINIsPassedThroughWithTheSOA() throws {
        let scdns = try shared()
        for transport in ["+notcp", "+tcp"] {
            let output = try scdns.dig([transport, "missing.default.svc.cluster.local.", "A"])
            XCTAssertEqual(Tools.status(output), "NXDOMAIN", "\(transport):\n\(output)")
            XCTAssertTrue(output.contains("ANSWER: 0,"), output)
            assertClusterLocalSOA(in: output, transport)
        }
    }

    func testNODATAIsPassedThroughWithTheSOA() throws {
        let scdns = try shared()
        for transport in ["+notcp", "+tcp"] {
            let output = try scdns.dig([transport, KnotProcess.noDataName, "AAAA"])
            XCTAssertEqual(Tools.status(output), "NOERROR", "\(transport):\n\(output)")
            XCTAssertTrue(output.contains("ANSWER: 0,"), "\(transport): NODATA has no answer:\n\(output)")
            assertClusterLocalSOA(in: output, transport)
        }
    }

    /// The TXT answer is about 1250 octets: over UDP without EDNS (512 octets) scdns must set TC, and dig's
    /// own UDP query (EDNS 1232, too small as well) retries over TCP and gets it whole.
    func testLargeAnswerIsTruncatedOverUDPAndWholeOverTCP() throws {
        let scdns = try shared()
        let truncated = try scdns.dig(["+noedns", "+ignore", KnotProcess.bigName, "TXT"])
        XCTAssertEqual(Tools.status(truncated), "NOERROR", truncated)
        XCTAssertTrue(Tools.flags(truncated).contains("tc"), "no TC on a 1250-octet answer over UDP:\n\(truncated)")
        let data = KnotProcess.bigStrings.map { "\"\($0)\"" }.joined(separator: " ")
        for transport in ["+notcp", "+tcp"] {
            let output = try scdns.dig([transport, KnotProcess.bigName, "TXT"])
            XCTAssertEqual(Tools.status(output), "NOERROR", "\(transport):\n\(output)")
            XCTAssertFalse(Tools.flags(output).contains("tc"), "\(transport): still truncated:\n\(output)")
            assertAnswer(output, name: KnotProcess.bigName, type: "TXT", data: [data], transport)
        }
    }

    /// Forwarding changes nothing about scdns's own names, nor about names under no zone and no rule.
    func testOwnZonesAnsweredAuthoritativelyAndOtherNamesRefused() throws {
        let scdns = try shared()
        let registry = try scdns.dig(["backend.app.svc.supercluster.local.", "A"])
        XCTAssertEqual(Tools.status(registry), "NOERROR", registry)
        XCTAssertTrue(Tools.flags(registry).contains("aa"), "a registry answer is scdns's own:\n\(registry)")
        XCTAssertEqual(
            Tools.records(registry).filter { $0.hasPrefix("backend.app.svc.supercluster.local. 5 IN A ") }.count, 3,
            registry)
        let missing = try scdns.dig(["nothere.app.svc.supercluster.local.", "A"])
        XCTAssertEqual(Tools.status(missing), "NXDOMAIN", missing)
        XCTAssertTrue(Tools.flags(missing).contains("aa"), missing)
        for transport in ["+notcp", "+tcp"] {
            let refused = try scdns.dig([transport, "example.com.", "A"])
            XCTAssertEqual(Tools.status(refused), "REFUSED", "\(transport):\n\(refused)")
        }
    }

    // MARK: - Failing upstreams

    func testAllUpstreamsDownGivesSERVFAILPromptly() throws {
        let knot = try KnotProcess()
        let scdns = try Forwarder(upstreams: [knot.port])
        let before = try scdns.dig([KnotProcess.kubernetesName, "A"])
        XCTAssertEqual(Tools.status(before), "NOERROR", "the rule works while Knot runs:\n\(before)")
        knot.stop()
        XCTAssertFalse(knot.isRunning)
        // Names not asked before, so no cached or stale answer can stand in; dig waits far longer than scdns
        // should, so the time measured is scdns's.
        for (transport, name) in [("+notcp", KnotProcess.webName), ("+tcp", KnotProcess.noDataName)] {
            let started = Date()
            let output = try scdns.dig([transport, "+time=15", name, "A"])
            let elapsed = Date().timeIntervalSince(started)
            XCTAssertEqual(Tools.status(output), "SERVFAIL", "\(transport) with Knot stopped:\n\(output)")
            XCTAssertLessThan(elapsed, 6, "\(transport): SERVFAIL took \(elapsed) s (about 2 s expected)")
        }
    }

    /// The first upstream is a port nobody listens on (ICMP port unreachable, TCP RST); the second is Knot.
    func testFailoverPastADeadUpstream() throws {
        let knot = try KnotProcess()
        let dead = try LoopbackPort.reserve()
        XCTAssertNotEqual(dead, knot.port)
        let scdns = try Forwarder(upstreams: [dead, knot.port])
        try assertFailover(scdns)
    }

    /// The first upstream takes UDP datagrams and TCP connections but never answers: only the per-try timeout
    /// moves scdns on to Knot, and the answer must still come well within the overall timeout.
    func testFailoverPastAnUpstreamThatNeverAnswers() throws {
        let knot = try KnotProcess()
        let silent = try SilentUpstream()
        let scdns = try Forwarder(upstreams: [silent.port, knot.port])
        try assertFailover(scdns)
        withExtendedLifetime(silent) {}
    }

    private func assertFailover(_ scdns: Forwarder, file: StaticString = #filePath, line: UInt = #line) throws {
        for (transport, name, address) in [
            ("+notcp", KnotProcess.kubernetesName, KnotProcess.kubernetesAddress),
            ("+tcp", KnotProcess.webName, KnotProcess.webAddress),
        ] {
            let started = Date()
            let output = try scdns.dig([transport, "+time=15", name, "A"])
            let elapsed = Date().timeIntervalSince(started)
            XCTAssertEqual(
                Tools.status(output), "NOERROR", "\(transport): no failover to Knot:\n\(output)", file: file,
                line: line)
            assertAnswer(output, name: name, type: "A", data: [address], transport, file: file, line: line)
            XCTAssertLessThan(elapsed, 6, "\(transport): the failover took \(elapsed) s", file: file, line: line)
        }
    }

    // MARK: - Checks

    /// The answer section holds exactly `data` for `name` (compared case-insensitively) and `type`, class IN,
    /// with a TTL no larger than Knot's 30 (a cache may count it down).
    private func assertAnswer(
        _ output: String, name: String, type: String, data: [String], _ context: String,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        let answers = answerSection(output)
        XCTAssertEqual(answers.count, data.count, "\(context): answer section:\n\(output)", file: file, line: line)
        for (record, expected) in zip(answers, data) {
            let fields = record.split(separator: " ", maxSplits: 4).map(String.init)
            guard fields.count == 5 else {
                XCTFail("\(context): not a record: \(record)", file: file, line: line)
                continue
            }
            XCTAssertEqual(fields[0].lowercased(), name.lowercased(), "\(context): \(record)", file: file, line: line)
            XCTAssertLessThanOrEqual(Int(fields[1]) ?? 99, 30, "\(context): TTL of \(record)", file: file, line: line)
            XCTAssertEqual(fields[2], "IN", "\(context): \(record)", file: file, line: line)
            XCTAssertEqual(fields[3], type, "\(context): \(record)", file: file, line: line)
            XCTAssertEqual(fields[4], expected, "\(context): data of \(name) \(type)", file: file, line: line)
        }
    }

    /// The authority section cites cluster.local's SOA, as Knot sent it (minimum 60).
    private func assertClusterLocalSOA(
        in output: String, _ context: String, file: StaticString = #filePath, line: UInt = #line
    ) {
        let soa = Tools.records(Tools.section("AUTHORITY", of: output)).filter { $0.contains(" IN SOA ") }
        XCTAssertEqual(soa.count, 1, "\(context): no SOA in the authority section:\n\(output)", file: file, line: line)
        if let record = soa.first {
            XCTAssertTrue(record.hasPrefix("cluster.local. "), "\(context): \(record)", file: file, line: line)
            XCTAssertTrue(
                record.hasSuffix(" ns.dns.cluster.local. hostmaster.cluster.local. 1 7200 1800 86400 60"),
                "\(context): \(record)", file: file, line: line)
        }
    }

    private func answerSection(_ output: String) -> [String] { Tools.records(Tools.section("ANSWER", of: output)) }
}

/// `scdns serve` with the repository's zones and registry and one `forward:` rule for cluster.local, from a
/// scdns.yaml written to a temporary directory.
private final class Forwarder {
    let directory: String
    let server: ServerProcess

    init(upstreams: [Int], file: StaticString = #filePath, line: UInt = #line) throws {
        directory = NSTemporaryDirectory() + "scdns-forward-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let root = ServerProcess.repositoryRoot
        let config = """
            listen: [127.0.0.1:0]
            zones: \(root)/zones
            registry: { file: \(root)/registry.yaml }
            forward:
              - zone: cluster.local
                upstreams: [\(upstreams.map { "\"127.0.0.1:\($0)\"" }.joined(separator: ", "))]
                policy: sequential

            """
        try config.write(toFile: directory + "/scdns.yaml", atomically: true, encoding: .utf8)
        server = try ServerProcess(arguments: ["--config", directory + "/scdns.yaml"], file: file, line: line)
    }

    deinit {
        _ = server.stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    var port: Int { server.port }

    func dig(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> String {
        try Tools.dig(port: port, arguments, file: file, line: line)
    }
}

/// An upstream that never answers: a UDP socket nobody reads and a TCP socket whose connections complete in the
/// kernel's backlog and are never accepted, both on one loopback port.
final class SilentUpstream {
    private var descriptors: [Int32] = []
    private(set) var port = 0

    init() throws {
        for _ in 0..<20 {
            let tcp = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            let udp = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
            guard tcp >= 0, udp >= 0 else { throw TestFailure("socket failed") }
            if let port = Self.bind(tcp, port: 0), Self.bind(udp, port: port) != nil, listen(tcp, 16) == 0 {
                self.port = port
                descriptors = [tcp, udp]
                return
            }
            close(tcp)
            close(udp)
        }
        throw TestFailure("no loopback port free for both UDP and TCP")
    }

    deinit {
        for descriptor in descriptors { close(descriptor) }
    }

    /// Binds to 127.0.0.1:`port` (0: any) and returns the port bound.
    private static func bind(_ descriptor: Int32, port: Int) -> Int? {
        var address = UDPClient.loopback(port: port)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0
            }
        }
        return bound ? Int(UInt16(bigEndian: address.sin_port)) : nil
    }
}
