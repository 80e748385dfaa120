import DNSWire
import Foundation
import XCTest

/// The admin endpoint against the real binary: `/metrics` counts exactly what was asked, `/ready` follows the
/// registry and lame duck, `/registry` shows the serving snapshot, and SIGTERM loses no query already read.
final class AdminEndpointTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "scdns-admin-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func writeConfig(_ text: String) throws -> String {
        let path = directory + "/scdns.yaml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    private static func query(_ name: String, _ type: RecordType = .a, id: UInt16 = 0x4242) throws -> [UInt8] {
        Message(header: Header(id: id), questions: [Question(name: try DNSName(name), type: type)]).serialized()
    }

    private static func rcode(_ reply: [UInt8]) -> UInt8 { reply[3] & 0x0F }

    func testEveryCounterMovesByExactlyTheQueriesAsked() throws {
        let knot = try KnotProcess()
        defer { knot.stop() }
        let root = ServerProcess.repositoryRoot
        let config = try writeConfig(
            """
            zones: \(root)/zones
            registry: { file: \(root)/registry.yaml }
            forward:
              - { zone: cluster.local, upstreams: ["127.0.0.1:\(knot.port)"] }

            """)
        let server = try ServerProcess(arguments: ["--config", config])
        let admin = try server.adminPort()
        let before = MetricSamples(try AdminClient.get("/metrics", port: admin).body)

        for index in 0..<10 {
            let reply = try UDPClient.exchange(
                Self.query("backend.app.svc.supercluster.local.", id: UInt16(index)), port: server.port)
            XCTAssertEqual(Self.rcode(reply), 0)
        }
        let nxdomain = try (0..<4).map { try Self.query("nothere.app.svc.supercluster.local.", id: UInt16($0)) }
        let tcpReplies = try TCPClient.pipeline(nxdomain, port: server.port)
        XCTAssertEqual(tcpReplies.map(Self.rcode), [3, 3, 3, 3])
        // The first is a cache miss and goes to Knot; the next two are answered from the cache.
        for index in 0..<3 {
            let reply = try UDPClient.exchange(
                Self.query("kubernetes.default.svc.cluster.local.", id: UInt16(index)), port: server.port)
            XCTAssertEqual(Self.rcode(reply), 0)
        }
        for index in 0..<2 {
            let reply = try UDPClient.exchange(Self.query("example.org.", .aaaa, id: UInt16(index)), port: server.port)
            XCTAssertEqual(Self.rcode(reply), 5)
        }

        let metrics = try AdminClient.get("/metrics", port: admin)
        XCTAssertEqual(metrics.status, 200)
        XCTAssertTrue(metrics.headers.lowercased().contains("content-type: text/plain; version=0.0.4"), metrics.headers)
        let after = MetricSamples(metrics.body)
        func moved(_ sample: String) -> Double { after[sample] - before[sample] }
        let expected: [(String, Double)] = [
            (#"scdns_dns_requests_total{proto="udp",type="A",zone="supercluster.local."}"#, 10),
            (#"scdns_dns_requests_total{proto="tcp",type="A",zone="supercluster.local."}"#, 4),
            (#"scdns_dns_requests_total{proto="udp",type="A",zone="cluster.local."}"#, 3),
            (#"scdns_dns_requests_total{proto="udp",type="AAAA",zone="."}"#, 2),
            (#"scdns_dns_responses_total{rcode="NOERROR"}"#, 13),
            (#"scdns_dns_responses_total{rcode="NXDOMAIN"}"#, 4),
            (#"scdns_dns_responses_total{rcode="REFUSED"}"#, 2),
            ("scdns_dns_request_duration_seconds_count", 19),
            (#"scdns_dns_request_duration_seconds_bucket{le="+Inf"}"#, 19),
            ("scdns_cache_hits_total", 2),
            ("scdns_cache_misses_total", 1),
            (#"scdns_forward_requests_total{upstream="127.0.0.1:\#(knot.port)",rcode="NOERROR"}"#, 1),
            (#"scdns_forward_request_duration_seconds_count{upstream="127.0.0.1:\#(knot.port)"}"#, 1),
        ]
        for (sample, delta) in expected {
            XCTAssertEqual(moved(sample), delta, "\(sample) moved by \(moved(sample)); the scrape:\n\(metrics.body)")
        }
        XCTAssertEqual(after["scdns_cache_entries"], 1)
        XCTAssertEqual(after["scdns_registry_services"], 6, metrics.body)
        XCTAssertEqual(after[#"scdns_build_info{version="0.11.0"}"#], 1, metrics.body)
        XCTAssertEqual(after["scdns_registry_stale"], 0)
        XCTAssertEqual(server.stop(), 0)
    }

    /// Under load, through many recvmmsg batches: the counters account for every query `scdns qps` sent and
    /// every answer it got.
    func testCountsAreExactAfterALoadRun() throws {
        let server = try ServerProcess(arguments: ["--config", "scdns.yaml"])
        let admin = try server.adminPort()
        let before = MetricSamples(try AdminClient.get("/metrics", port: admin).body)
        let qps = Process()
        qps.executableURL = URL(fileURLWithPath: ServerProcess.binary)
        qps.arguments = [
            "qps", "--server", "127.0.0.1:\(server.port)", "--name", "backend.app.svc.supercluster.local",
            "--type", "A", "--duration", "1", "--concurrency", "8", "--json",
        ]
        let pipe = Pipe()
        qps.standardOutput = pipe
        qps.standardError = FileHandle.nullDevice
        try qps.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        qps.waitUntilExit()
        XCTAssertEqual(qps.terminationStatus, 0, output)
        guard let json = output.split(separator: "\n").last(where: { $0.hasPrefix("{") }),
            let report = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any],
            let sent = report["sent"] as? Int, let answered = report["answered"] as? Int
        else { return XCTFail("no JSON report from scdns qps:\n\(output)") }
        XCTAssertGreaterThan(sent, 1000)
        let after = MetricSamples(try AdminClient.get("/metrics", port: admin).body)
        let requests = #"scdns_dns_requests_total{proto="udp",type="A",zone="supercluster.local."}"#
        XCTAssertEqual(after[requests] - before[requests], Double(sent))
        let noError = #"scdns_dns_responses_total{rcode="NOERROR"}"#
        XCTAssertEqual(after[noError] - before[noError], Double(answered))
        XCTAssertEqual(server.stop(), 0)
    }

    func testRegistryShowsTheServingSnapshot() throws {
        let server = try ServerProcess(arguments: ["--config", "scdns.yaml"])
        let response = try AdminClient.get("/registry", port: try server.adminPort())
        XCTAssertEqual(response.status, 200)
        let document = try XCTUnwrap(
            try JSONSerialization.jsonObject(with: Data(response.body.utf8)) as? [String: Any])
        XCTAssertEqual(document["source"] as? String, "registry.yaml", "scdns.yaml names it relative to itself")
        XCTAssertEqual(document["version"] as? Int, 1)
        XCTAssertEqual(document["stale"] as? Bool, false)
        let services = try XCTUnwrap(document["services"] as? [[String: Any]])
        let backend = try XCTUnwrap(services.first { $0["name"] as? String == "backend" })
        let clusters = try XCTUnwrap(backend["clusters"] as? [[String: Any]])
        XCTAssertEqual(clusters.compactMap { $0["cluster"] as? String }, ["cluster-a", "cluster-b", "cluster-c"])
        XCTAssertEqual(clusters.first?["addresses"] as? [String], ["10.100.0.10"])
        XCTAssertEqual(try AdminClient.get("/health", port: try server.adminPort()).status, 200)
        XCTAssertEqual(try AdminClient.get("/nothing", port: try server.adminPort()).status, 404)
        XCTAssertEqual(server.stop(), 0)
    }

    /// Not ready before etcd has been listed, ready once it has, not ready once etcd has been gone for longer
    /// than `maxStale`, ready again when it is back.
    func testReadyFollowsTheEtcdRegistry() async throws {
        let port = try LoopbackPort.reserve()
        let config = try writeConfig(
            """
            zones: \(ServerProcess.repositoryRoot)/zones
            registry: { etcd: { endpoints: ["http://127.0.0.1:\(port)"], maxStale: 1s } }

            """)
        let server = try ServerProcess(arguments: ["--config", config], awaitListening: false)
        let admin = try server.adminPort()
        XCTAssertEqual(try AdminClient.get("/health", port: admin).status, 200)
        let waiting = try AdminClient.get("/ready", port: admin)
        XCTAssertEqual(waiting.status, 503)
        XCTAssertTrue(waiting.body.contains("no registry snapshot loaded"), waiting.body)

        let etcd = try await EtcdCluster(clientPorts: [port])
        try AdminClient.await("/ready", port: admin) { $0.status == 200 }
        try server.awaitListening()

        etcd.kill(0)
        let stale = try AdminClient.await("/ready", port: admin) { $0.status == 503 }
        XCTAssertTrue(stale.body.contains("registry stale"), stale.body)
        let metrics = MetricSamples(try AdminClient.get("/metrics", port: admin).body)
        XCTAssertEqual(metrics["scdns_registry_stale"], 1)
        // Stale is not down: the last snapshot still answers.
        let reply = try UDPClient.exchange(Self.query("dns-version.supercluster.local.", .txt), port: server.port)
        XCTAssertEqual(Self.rcode(reply), 0)

        try await etcd.restart(0)
        try AdminClient.await("/ready", port: admin) { $0.status == 200 }
        XCTAssertEqual(server.stop(), 0)
    }

    /// SIGTERM: /ready is 503 at once, queries are still answered through the lame duck, then the process exits.
    func testLameDuckTurnsReadyOffWhileStillAnswering() throws {
        let server = try ServerProcess(arguments: ["--config", "scdns.yaml", "--lameduck", "5s"])
        let admin = try server.adminPort()
        XCTAssertEqual(try AdminClient.get("/ready", port: admin).status, 200)
        let offset = server.output.count
        server.signal(SIGTERM)
        let lameDuck = try AdminClient.await("/ready", port: admin, timeout: 3) { $0.status == 503 }
        XCTAssertTrue(lameDuck.body.contains("lame duck"), lameDuck.body)
        try server.awaitLog(matching: "lame duck", after: offset)
        // A lame duck of 5 s: well inside it, UDP and TCP still answer.
        let udp = try UDPClient.exchange(Self.query("backend.app.svc.supercluster.local."), port: server.port)
        XCTAssertEqual(Self.rcode(udp), 0)
        let tcp = try TCPClient.pipeline([Self.query("api.app.svc.supercluster.local.")], port: server.port)
        XCTAssertEqual(tcp.map(Self.rcode), [0])
        try server.awaitLog(matching: "stopped", after: offset, timeout: 15)
        XCTAssertEqual(server.stop(), 0)
    }

    /// Queries already read when the listeners close are still answered: here forwarded ones waiting on an
    /// upstream that never replies (SERVFAIL after the rule's timeout), pipelined on one TCP connection with
    /// registry queries, and SIGTERM with no lame duck.
    func testSIGTERMAnswersEveryQueryAlreadyReadOnATCPPipeline() throws {
        let silent = try SilentUpstream()
        let root = ServerProcess.repositoryRoot
        let config = try writeConfig(
            """
            zones: \(root)/zones
            registry: { file: \(root)/registry.yaml }
            lameduck: 0s
            forward:
              - { zone: cluster.local, upstreams: ["127.0.0.1:\(silent.port)"], tryTimeout: 1s, timeout: 1s }

            """)
        let server = try ServerProcess(arguments: ["--config", config])
        var queries: [[UInt8]] = []
        for index in 0..<12 {
            let name = index % 3 == 0 ? "web.prod.svc.cluster.local." : "backend.app.svc.supercluster.local."
            queries.append(try Self.query(name, id: UInt16(index)))
        }
        let connection = try TCPConnection(port: server.port)
        try connection.send(queries)
        // The registry queries' answers show that the server has read the whole pipeline.
        var replies = try connection.receive(8)
        server.signal(SIGTERM)
        replies += try connection.receive(4)
        XCTAssertTrue(try connection.closedByPeer(), "the connection closes once everything read is answered")
        let byID = Dictionary(uniqueKeysWithValues: try replies.map { (try Message(parsing: $0).header.id, $0) })
        XCTAssertEqual(byID.count, 12)
        for index in 0..<12 {
            XCTAssertEqual(byID[UInt16(index)].map(Self.rcode), index % 3 == 0 ? 2 : 0, "query \(index)")
        }
        let deadline = Date().addingTimeInterval(10)
        while server.process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        XCTAssertFalse(server.process.isRunning, "scdns must exit within the drain bound")
        XCTAssertEqual(server.process.terminationStatus, 0, server.output)
    }
}

/// One TCP connection to send a pipeline on and read its replies at the test's pace.
private final class TCPConnection {
    private let fd: Int32
    private var pending: [UInt8] = []

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket failed") }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = UDPClient.loopback(port: port)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { throw TestFailure("connect failed") }
    }

    deinit { close(fd) }

    func send(_ queries: [[UInt8]]) throws {
        var stream: [UInt8] = []
        for query in queries { stream += [UInt8(query.count >> 8), UInt8(query.count & 0xFF)] + query }
        guard Glibc.send(fd, stream, stream.count, 0) == stream.count else { throw TestFailure("send failed") }
    }

    func receive(_ count: Int) throws -> [[UInt8]] {
        var replies: [[UInt8]] = []
        var chunk = [UInt8](repeating: 0, count: 65535)
        while replies.count < count {
            while pending.count >= 2 {
                let length = Int(pending[0]) << 8 | Int(pending[1])
                guard pending.count >= 2 + length, replies.count < count else { break }
                replies.append(Array(pending[2..<(2 + length)]))
                pending.removeFirst(2 + length)
            }
            if replies.count == count { break }
            let received = recv(fd, &chunk, chunk.count, 0)
            guard received > 0 else { throw TestFailure("connection ended after \(replies.count) of \(count)") }
            pending += chunk[0..<received]
        }
        return replies
    }

    /// True when the peer closed with nothing more to read.
    func closedByPeer() throws -> Bool {
        guard pending.isEmpty else { return false }
        var byte: UInt8 = 0
        return recv(fd, &byte, 1, 0) == 0
    }
}
