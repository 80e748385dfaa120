import DNSWire
import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// The cache of forwarded answers (DESIGN.md section 4) in a real `scdns serve` forwarding cluster.local to a
/// real Knot DNS: served TTLs count down, positive and negative answers outlive the upstream, and once expired
/// they come back stale (RFC 8767) rather than as SERVFAIL.
final class CacheIntegrationTests: XCTestCase {
    private static let cache = "{ capacity: 1000, serveStale: 60 }"

    func testServedTTLCountsDownOnRepeatedQueries() throws {
        let knot = try KnotProcess()
        let scdns = try CachingForwarder(upstreams: [knot.port], cache: Self.cache)
        let started = Date()
        let first = try answerTTL(scdns, KnotProcess.kubernetesName)
        XCTAssertTrue((28...30).contains(first), "Knot's TTL is 30; the first answer has \(first)")
        // Ask again until 1.1 s have passed: the TTL never rises, and by then it has dropped by a whole second.
        var last = first
        while Date().timeIntervalSince(started) < 1.1 {
            Thread.sleep(forTimeInterval: 0.1)
            last = try answerTTL(scdns, KnotProcess.kubernetesName)
            XCTAssertLessThanOrEqual(last, first, "a served TTL went up")
        }
        last = try answerTTL(scdns, KnotProcess.kubernetesName)
        XCTAssertLessThan(last, first, "TTL \(first) and \(last) 1.1 s later: it does not count down")
        XCTAssertGreaterThanOrEqual(last, first - 3)
    }

    func testCachedAnswersAreServedWithKnotStopped() throws {
        let knot = try KnotProcess()
        let scdns = try CachingForwarder(upstreams: [knot.port], cache: Self.cache)
        let missing = "missing.default.svc.cluster.local."
        let positive = try scdns.dig([KnotProcess.kubernetesName, "A"])
        let nxdomain = try scdns.dig([missing, "A"])
        let nodata = try scdns.dig([KnotProcess.noDataName, "AAAA"])
        XCTAssertEqual(Tools.status(positive), "NOERROR", positive)
        XCTAssertEqual(Tools.status(nxdomain), "NXDOMAIN", nxdomain)
        XCTAssertEqual(Tools.status(nodata), "NOERROR", nodata)
        knot.stop()
        XCTAssertFalse(knot.isRunning)

        // Fresh entries are hits: answered at once, without waiting on the dead upstream.
        let started = Date()
        let cachedPositive = try scdns.dig([KnotProcess.kubernetesName, "A"])
        XCTAssertEqual(Tools.status(cachedPositive), "NOERROR", "with Knot stopped:\n\(cachedPositive)")
        XCTAssertEqual(answers(cachedPositive).map(\.data), ["A \(KnotProcess.kubernetesAddress)"], cachedPositive)
        for (name, type, status) in [(missing, "A", "NXDOMAIN"), (KnotProcess.noDataName, "AAAA", "NOERROR")] {
            let output = try scdns.dig([name, type])
            XCTAssertEqual(Tools.status(output), status, "\(name) \(type) with Knot stopped:\n\(output)")
            XCTAssertTrue(output.contains("ANSWER: 0,"), output)
            let soa = Tools.records(Tools.section("AUTHORITY", of: output)).filter { $0.contains(" IN SOA ") }
            XCTAssertEqual(soa.count, 1, "the negative answer keeps its SOA:\n\(output)")
            XCTAssertTrue(
                soa.first?.hasSuffix("ns.dns.cluster.local. hostmaster.cluster.local. 1 7200 1800 86400 60") == true,
                output)
            if let ttl = soa.first.flatMap({ Int($0.split(separator: " ")[1]) }) {
                XCTAssertLessThanOrEqual(ttl, 30, "min(SOA TTL 30, MINIMUM 60), counted down:\n\(output)")
            }
        }
        XCTAssertLessThan(Date().timeIntervalSince(started), 1.5, "cache hits waited on the stopped upstream")
    }

    func testAnExpiredAnswerIsServedStaleWithKnotStopped() throws {
        let knot = try KnotProcess()
        let scdns = try CachingForwarder(upstreams: [knot.port], cache: "{ maxTTL: 1, serveStale: 60 }")
        let first = try answerTTL(scdns, KnotProcess.kubernetesName)
        XCTAssertLessThanOrEqual(first, 1, "maxTTL 1 caps the TTL a client is given, the first time too")
        knot.stop()
        XCTAssertFalse(knot.isRunning)
        // Within a second the entry expires; then every try fails and the stale answer is served with TTL 30.
        let stale = try awaitAnswer(scdns, KnotProcess.kubernetesName, within: 6) { $0.ttl == 30 }
        XCTAssertEqual(stale.map(\.data), ["A \(KnotProcess.kubernetesAddress)"])
        // Awaited, not read at once: the log line comes through the server's pipe beside the answer, not before it.
        try scdns.server.awaitLog(matching: "serving stale")
    }

    /// An upstream that answers, then answers SERVFAIL (CoreDNS does when its own backend fails): once the entry
    /// has expired the client gets the stale answer, not the SERVFAIL.
    func testAnUpstreamSERVFAILDoesNotShadowAStaleAnswer() throws {
        let upstream = try ScriptedUpstream()
        defer { upstream.stop() }
        let scdns = try CachingForwarder(upstreams: [upstream.port], cache: Self.cache)
        XCTAssertEqual(try answerTTL(scdns, KnotProcess.kubernetesName), 1)
        upstream.failing = true
        let stale = try awaitAnswer(scdns, KnotProcess.kubernetesName, within: 5) { $0.ttl == 30 }
        XCTAssertEqual(stale.map(\.data), ["A \(KnotProcess.kubernetesAddress)"])
        XCTAssertGreaterThan(upstream.servFails, 0, "the upstream was asked again and said SERVFAIL")
    }

    // MARK: - Helpers

    private struct Answer {
        var ttl: Int
        var data: String
    }

    /// The answer records of dig's output: TTL, then type and data ("A 10.96.0.1").
    private func answers(_ output: String) -> [Answer] {
        Tools.records(Tools.section("ANSWER", of: output)).compactMap { record in
            let fields = record.split(separator: " ", maxSplits: 3).map(String.init)
            guard fields.count == 4, let ttl = Int(fields[1]) else { return nil }
            return Answer(ttl: ttl, data: fields[3])
        }
    }

    private func answerTTL(
        _ scdns: CachingForwarder, _ name: String, file: StaticString = #filePath, line: UInt = #line
    ) throws -> Int {
        let output = try scdns.dig([name, "A"])
        let found = answers(output)
        guard Tools.status(output) == "NOERROR", found.count == 1 else {
            XCTFail("no single answer for \(name):\n\(output)", file: file, line: line)
            throw TestFailure("no answer")
        }
        return found[0].ttl
    }

    /// Asks until every answer satisfies `condition`, for at most `seconds`; the answers that did.
    private func awaitAnswer(
        _ scdns: CachingForwarder, _ name: String, within seconds: TimeInterval,
        file: StaticString = #filePath, line: UInt = #line, _ condition: (Answer) -> Bool
    ) throws -> [Answer] {
        let deadline = Date().addingTimeInterval(seconds)
        var output = ""
        while Date() < deadline {
            output = try scdns.dig(["+time=4", name, "A"])
            let found = answers(output)
            if Tools.status(output) == "NOERROR", !found.isEmpty, found.allSatisfy(condition) { return found }
            Thread.sleep(forTimeInterval: 0.1)
        }
        XCTFail("no such answer for \(name) within \(seconds) s; the last:\n\(output)", file: file, line: line)
        throw TestFailure("answer not seen")
    }
}

/// `scdns serve` with the repository's zones and registry, a `forward:` rule for cluster.local with short
/// timeouts, and a `cache:` block.
private final class CachingForwarder {
    let directory: String
    let server: ServerProcess

    init(upstreams: [Int], cache: String, file: StaticString = #filePath, line: UInt = #line) throws {
        directory = NSTemporaryDirectory() + "scdns-cache-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let root = ServerProcess.repositoryRoot
        let config = """
            listen: [127.0.0.1:0]
            zones: \(root)/zones
            registry: { file: \(root)/registry.yaml }
            forward:
              - zone: cluster.local
                upstreams: [\(upstreams.map { "\"127.0.0.1:\($0)\"" }.joined(separator: ", "))]
                tryTimeout: 400ms
                timeout: 1s
            cache: \(cache)

            """
        try config.write(toFile: directory + "/scdns.yaml", atomically: true, encoding: .utf8)
        server = try ServerProcess(arguments: ["--config", directory + "/scdns.yaml"], file: file, line: line)
    }

    deinit {
        _ = server.stop()
        try? FileManager.default.removeItem(atPath: directory)
    }

    func dig(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> String {
        try Tools.dig(port: server.port, arguments, file: file, line: line)
    }
}

/// A UDP upstream on loopback that answers kubernetes.default.svc.cluster.local A with TTL 1 until `failing`,
/// then SERVFAIL; any other question (scdns's loop probe, its health checks) gets an NXDOMAIN without a SOA.
private final class ScriptedUpstream: @unchecked Sendable {
    let port: Int
    private let descriptor: Int32
    private let lock = NSLock()
    private var failingNow = false
    private var stopping = false
    private var finished = false
    private var servFailCount = 0

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket failed") }
        var address = UDPClient.loopback(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard bound else {
            close(fd)
            throw TestFailure("bind failed")
        }
        var timeout = timeval(tv_sec: 0, tv_usec: 100_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        descriptor = fd
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread.detachNewThread { [self] in serve() }
    }

    var failing: Bool {
        get { locked { failingNow } }
        set { locked { failingNow = newValue } }
    }

    var servFails: Int { locked { servFailCount } }

    func stop() {
        locked { stopping = true }
        let deadline = Date().addingTimeInterval(2)
        while !locked({ finished }) && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        close(descriptor)
    }

    private func locked<T>(_ body: () -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body()
    }

    private func serve() {
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !locked({ stopping }) {
            var peer = sockaddr_in()
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let count = withUnsafeMutablePointer(to: &peer) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    recvfrom(descriptor, &buffer, buffer.count, 0, $0, &length)
                }
            }
            guard count > 0, let query = try? Message(parsing: buffer[0..<count]), query.questions.count == 1 else {
                continue
            }
            let reply = answer(query).serialized()
            _ = withUnsafePointer(to: &peer) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(descriptor, reply, reply.count, 0, $0, length)
                }
            }
        }
        locked { finished = true }
    }

    private func answer(_ query: Message) -> Message {
        var reply = Message(
            header: Header(id: query.header.id, isResponse: true, recursionDesired: query.header.recursionDesired),
            rcode: .nxDomain, questions: query.questions, edns: query.edns.map { _ in EDNS() })
        let question = query.questions[0]
        guard question.name == (try? DNSName(KnotProcess.kubernetesName)), question.type == .a else { return reply }
        if failing {
            locked { servFailCount += 1 }
            reply.rcode = .servFail
        } else {
            reply.rcode = .noError
            reply.header.authoritative = true
            reply.answers = [ResourceRecord(name: question.name, ttl: 1, data: .a(IPv4Address(rawValue: 0x0A60_0001)))]
        }
        return reply
    }
}
