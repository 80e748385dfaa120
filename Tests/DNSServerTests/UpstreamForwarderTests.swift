#if os(Linux)
import DNSWire
import Foundation
import Glibc
import Logging
import NIOPosix
import XCTest

@testable import DNSServer

/// The upstream client against a scripted upstream on loopback: identical questions in flight share one
/// upstream query, and each client still gets its own ID and question case.
final class UpstreamForwarderTests: XCTestCase {
    /// A UDP upstream that counts the queries it gets and answers each with one A record after `delay`.
    final class SlowUpstream: @unchecked Sendable {
        let fd: Int32
        let port: Int
        private let lock = NSLock()
        private var received: [String] = []
        private var thread: Thread?

        /// `truncated`: every reply has TC set (and one record), as a UDP reply too large for its payload.
        init(delay: TimeInterval, truncated: Bool = false) {
            let descriptor = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
            _ = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
            }
            var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
            setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            fd = descriptor
            port = Int(UInt16(bigEndian: address.sin_port))
            let thread = Thread { [self] in serve(delay: delay, truncated: truncated) }
            self.thread = thread
            thread.start()
        }

        var queries: [String] {
            lock.lock()
            defer { lock.unlock() }
            return received
        }

        func stop() {
            thread?.cancel()
        }

        private func serve(delay: TimeInterval, truncated: Bool) {
            var buffer = [UInt8](repeating: 0, count: 4096)
            while !Thread.current.isCancelled {
                var peer = sockaddr_storage()
                var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
                let count = withUnsafeMutablePointer(to: &peer) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(fd, &buffer, 4096, 0, $0, &length) }
                }
                guard count > 0, var query = try? Message(parsing: buffer[0..<count]) else { continue }
                lock.lock()
                received.append(query.questions[0].name.description)
                lock.unlock()
                Thread.sleep(forTimeInterval: delay)
                query.header.isResponse = true
                query.header.truncated = truncated
                query.answers = [
                    ResourceRecord(name: query.questions[0].name, ttl: 30, data: .a(IPv4Address(rawValue: 0x0A00_0001)))
                ]
                let reply = query.serialized()
                _ = withUnsafePointer(to: &peer) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        sendto(fd, reply, reply.count, 0, $0, length)
                    }
                }
            }
            close(fd)
        }
    }

    private func forwarder(port: Int) throws -> UpstreamForwarder {
        try Self.forwarder(ports: [port])
    }

    private func forwarder(ports: [Int], tryTimeout: Duration = .milliseconds(500)) throws -> UpstreamForwarder {
        try Self.forwarder(ports: ports, tryTimeout: tryTimeout)
    }

    static func forwarder(
        ports: [Int], tryTimeout: Duration = .milliseconds(500), maxInFlight: Int = 1024, maxPending: Int = 256
    ) throws -> UpstreamForwarder {
        try UpstreamForwarder(
            targets: [
                ForwardTarget(
                    zone: try DNSName("cluster.local."),
                    upstreams: ports.map { ListenAddress(host: "127.0.0.1", port: $0) },
                    tryTimeout: tryTimeout, timeout: .seconds(5))
            ], group: MultiThreadedEventLoopGroup.singleton, udpPayloadLimit: 1232, maxInFlight: maxInFlight,
            maxPendingPerConnection: maxPending, logger: Logger(label: "test"))
    }

    func testAnUpstreamThatTimedOutIsSkippedUntilItAnswersAHealthCheck() async throws {
        // The first upstream takes every query and answers none within the try timeout.
        let silent = SlowUpstream(delay: 3)
        let working = SlowUpstream(delay: 0)
        defer {
            silent.stop()
            working.stop()
        }
        let forwarder = try forwarder(ports: [silent.port, working.port], tryTimeout: .seconds(1))
        let clock = ContinuousClock()
        let firstQuery = try query("one.cluster.local.", id: 1)
        let secondQuery = try query("two.cluster.local.", id: 2)
        var first: [UInt8]? = nil
        let failover = await clock.measure {
            first = await forwarder.resolve(firstQuery, rule: 0, overTCP: false)
        }
        XCTAssertNotNil(first)
        XCTAssertGreaterThanOrEqual(failover, .milliseconds(900), "the first query waited for the silent upstream")
        var second: [UInt8]? = nil
        let skipped = await clock.measure {
            second = await forwarder.resolve(secondQuery, rule: 0, overTCP: false)
        }
        XCTAssertNotNil(second)
        XCTAssertLessThan(skipped, .milliseconds(900), "the silent upstream is skipped while it is down")
        XCTAssertFalse(silent.queries.contains("two.cluster.local."))
    }

    private func query(_ name: String, id: UInt16) throws -> [UInt8] {
        try Self.query(name, id: id)
    }

    static func query(_ name: String, id: UInt16) throws -> [UInt8] {
        Message(
            header: Header(id: id, recursionDesired: true), questions: [Question(name: try DNSName(name), type: .a)]
        )
        .serialized()
    }

    func testIdenticalQuestionsInFlightShareOneUpstreamQuery() async throws {
        let upstream = SlowUpstream(delay: 0.3)
        defer { upstream.stop() }
        let forwarder = try forwarder(port: upstream.port)
        let names = (0..<10).map { $0 % 2 == 0 ? "web.prod.svc.cluster.local." : "WEB.prod.svc.cluster.local." }
        let replies = try await withThrowingTaskGroup(of: (UInt16, [UInt8]?).self) { group in
            for (index, name) in names.enumerated() {
                let bytes = try query(name, id: UInt16(100 + index))
                group.addTask { (UInt16(100 + index), await forwarder.resolve(bytes, rule: 0, overTCP: false)) }
            }
            var all: [UInt16: Message] = [:]
            for try await (id, reply) in group { all[id] = try reply.map { try Message(parsing: $0) } }
            return all
        }
        XCTAssertEqual(upstream.queries.count, 1, "one upstream query for ten identical questions: \(upstream.queries)")
        XCTAssertEqual(replies.count, 10)
        for (index, name) in names.enumerated() {
            let reply = try XCTUnwrap(replies[UInt16(100 + index)])
            XCTAssertEqual(reply.header.id, UInt16(100 + index), "each client's own ID")
            XCTAssertTrue(reply.questions[0].name.isIdentical(to: try DNSName(name)), "each client's own case")
            XCTAssertEqual(reply.answers.map(\.data), [.a(IPv4Address(rawValue: 0x0A00_0001))])
        }
    }

    func testDifferentQuestionsAreNotCoalesced() async throws {
        let upstream = SlowUpstream(delay: 0.2)
        defer { upstream.stop() }
        let forwarder = try forwarder(port: upstream.port)
        let queryA = try query("a.cluster.local.", id: 1)
        let queryB = try query("b.cluster.local.", id: 2)
        async let first = forwarder.resolve(queryA, rule: 0, overTCP: false)
        async let second = forwarder.resolve(queryB, rule: 0, overTCP: false)
        let (a, b) = await (first, second)
        XCTAssertNotNil(a)
        XCTAssertNotNil(b)
        XCTAssertEqual(Set(upstream.queries), ["a.cluster.local.", "b.cluster.local."])
    }
}
#endif
