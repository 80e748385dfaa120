import DNSWire
import Foundation
import Synchronization
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// Response rate limiting against the real server (`limits.rrl`, issue: safe on a hostile network): a burst from
/// one /24 gets its rate in full answers and the rest dropped or slipped as `slip` says, dig behind a slipped
/// answer gets its answer over TCP, another /24 is untouched, and /metrics counts what was limited.
final class RateLimitIntegrationTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "scdns-rrl-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try """
        services:
          - name: web
            namespace: app
            clusters:
              - { cluster: cluster-a, addresses: [10.7.0.1, 10.7.0.2] }
        """.write(toFile: directory + "/registry.yaml", atomically: true, encoding: .utf8)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func server(rrl: String) throws -> ServerProcess {
        let config = directory + "/scdns.yaml"
        try """
        zones: \(ServerProcess.repositoryRoot)/zones
        registry: { file: registry.yaml }
        limits: { rrl: \(rrl) }
        """.write(toFile: config, atomically: true, encoding: .utf8)
        return try ServerProcess(arguments: ["--config", config])
    }

    private static let name = "web.app.svc.supercluster.local."

    private static func query(id: UInt16) throws -> [UInt8] {
        Message(
            header: Header(id: id, recursionDesired: true), questions: [Question(name: try DNSName(name), type: .a)],
            edns: EDNS(udpPayloadSize: 1232)
        ).serialized()
    }

    /// 100 queries sent back to back from 127.0.0.1: the bucket's second's worth (5) answered in full, plus what
    /// refilled while they were sent; of the limited ones exactly every second slipped, the rest never answered.
    func testABurstGetsItsRateAndEverySecondLimitedResponseSlips() throws {
        let scdns = try server(rrl: "{ responsesPerSecond: 5, slip: 2 }")
        let socket = try BoundUDPSocket(source: "127.0.0.1")
        let started = ContinuousClock.now
        for id in 0..<100 { try socket.send(try Self.query(id: UInt16(id)), port: scdns.port) }
        let sending = ContinuousClock.now - started
        // Every reply is on its way within the receive timeout once the last query is sent: loopback loses
        // nothing with room in the buffer.
        var full = 0
        var slipped = 0
        var ids = Set<UInt16>()
        while let reply = socket.receive(timeoutMilliseconds: 1_000) {
            let message = try Message(parsing: reply)
            XCTAssertTrue(ids.insert(message.header.id).inserted, "one reply per query")
            if message.header.truncated {
                XCTAssertEqual(message.answers.count + message.additional.count, 0, "a slip carries no records")
                XCTAssertLessThanOrEqual(reply.count, try Self.query(id: 0).count, "a slip is no larger than the query")
                slipped += 1
            } else {
                XCTAssertEqual(message.answers.count, 2)
                full += 1
            }
        }
        let refilled = Int((Double(sending.components.seconds) + Double(sending.components.attoseconds) / 1e18) * 5)
        XCTAssertGreaterThanOrEqual(full, 5, "one second's worth, at least")
        XCTAssertLessThanOrEqual(full, 5 + refilled + 1, "sent in \(sending)")
        XCTAssertEqual(slipped, (100 - full) / 2, "every second limited response slips, the rest are dropped")

        let metrics = try AdminClient.get("/metrics", port: try scdns.adminPort()).body
        XCTAssertTrue(metrics.contains("scdns_rrl_responses_total{action=\"slipped\"} \(slipped)"), metrics)
        XCTAssertTrue(metrics.contains("scdns_rrl_responses_total{action=\"dropped\"} \(100 - full - slipped)"))
    }

    /// While a flood from 127.0.0.3 keeps its /24's bucket empty, dig from 127.0.0.1 (the same /24) is slipped
    /// and retries over TCP, as a real client whose address was not spoofed does; dig from 127.0.1.5 (another
    /// /24) is answered over UDP as if nothing were happening.
    func testDigBehindASlipRetriesOverTCPAndAnotherNetworkIsUntouched() throws {
        let scdns = try server(rrl: "{ responsesPerSecond: 1, slip: 1 }")
        let flood = try BoundUDPSocket(source: "127.0.0.3")
        let stop = Atomic(false)
        let port = scdns.port
        let flooding = Thread {
            // Bounded: stopped by the test, and at most 20 s or 200,000 queries if it is not.
            let deadline = ContinuousClock.now + .seconds(20)
            var id: UInt16 = 0
            for _ in 0..<200_000 where !stop.load(ordering: .relaxed) && ContinuousClock.now < deadline {
                id &+= 1
                try? flood.send(try! Self.query(id: id), port: port)
                usleep(500)
                while flood.receive(timeoutMilliseconds: 0) != nil {}
            }
        }
        flooding.start()
        defer { stop.store(true, ordering: .relaxed) }
        // The flood has taken the bucket once its own queries are being slipped.
        var slippedSeen = false
        for _ in 0..<200 where !slippedSeen {
            let metrics = try AdminClient.get("/metrics", port: try scdns.adminPort()).body
            slippedSeen = !metrics.contains("scdns_rrl_responses_total{action=\"slipped\"} 0")
            if !slippedSeen { usleep(10_000) }
        }
        XCTAssertTrue(slippedSeen, "the flood is being limited")

        let limited = try Tools.dig(port: scdns.port, ["-b", "127.0.0.1", Self.name, "A"])
        XCTAssertTrue(limited.contains("Truncated, retrying in TCP mode"), limited)
        XCTAssertEqual(Tools.records(limited).count, 2, limited)

        let other = try Tools.dig(port: scdns.port, ["-b", "127.0.1.5", Self.name, "A"])
        XCTAssertFalse(other.contains("Truncated"), other)
        XCTAssertEqual(Tools.records(other).count, 2, other)
    }

    /// Off (the default), a burst is answered in full.
    func testOffAnswersEveryQuery() throws {
        let scdns = try server(rrl: "{ responsesPerSecond: 0 }")
        let socket = try BoundUDPSocket(source: "127.0.0.1")
        for id in 0..<100 { try socket.send(try Self.query(id: UInt16(id)), port: scdns.port) }
        var full = 0
        while full < 100, let reply = socket.receive(timeoutMilliseconds: 2_000) {
            if try !Message(parsing: reply).header.truncated { full += 1 }
        }
        XCTAssertEqual(full, 100)
        let metrics = try AdminClient.get("/metrics", port: try scdns.adminPort()).body
        XCTAssertFalse(metrics.contains("scdns_rrl_"), "no rate limiting families while it is off")
    }
}

/// A UDP socket bound to one loopback source address, so a test can ask as different clients would.
private final class BoundUDPSocket: @unchecked Sendable {
    let descriptor: Int32

    init(source: String) throws {
        descriptor = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard descriptor >= 0 else { throw TestFailure("socket failed") }
        var buffer: Int32 = 1 << 20
        setsockopt(descriptor, SOL_SOCKET, SO_RCVBUF, &buffer, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr(source)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0 else {
            close(descriptor)
            throw TestFailure("bind \(source) failed")
        }
    }

    deinit { close(descriptor) }

    func send(_ message: [UInt8], port: Int) throws {
        var address = UDPClient.loopback(port: port)
        let sent = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                sendto(descriptor, message, message.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard sent == message.count else { throw TestFailure("sendto failed") }
    }

    /// The next datagram, or nil when none comes within the timeout (0: only one already waiting).
    func receive(timeoutMilliseconds: Int32) -> [UInt8]? {
        var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, timeoutMilliseconds) == 1 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 65535)
        let received = recv(descriptor, &buffer, buffer.count, 0)
        return received > 0 ? Array(buffer[0..<received]) : nil
    }
}
