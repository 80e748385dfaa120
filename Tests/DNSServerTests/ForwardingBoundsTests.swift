#if os(Linux)
import DNSWire
import Foundation
import NIOCore
import NIOPosix
import XCTest

@testable import DNSServer

/// What bounds the upstream client on a hostile network (issue: safe on a hostile network): queries pending on one
/// TCP connection, questions in flight, local failures that are not the upstream's, and a truncated reply whose
/// TCP retry fails. Each against real sockets on loopback.
final class ForwardingBoundsTests: XCTestCase {
    private typealias SlowUpstream = UpstreamForwarderTests.SlowUpstream
    private typealias StalledTCPUpstream = UpstreamTCPConnectionTests.ReversingUpstream

    /// Waits, up to `limit`, for `condition`; false if it never held.
    private func eventually(within limit: Duration = .seconds(5), _ condition: () -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return condition()
    }

    private func reply(_ bytes: [UInt8]?, file: StaticString = #filePath, line: UInt = #line) throws -> Message {
        try Message(parsing: try XCTUnwrap(bytes, "no response", file: file, line: line))
    }

    private func message(_ name: String) throws -> Message {
        Message(header: Header(id: 1), questions: [Question(name: try DNSName(name), type: .a)])
    }

    /// With every ID of a connection taken the ID search never ended and every TCP forward hung; now a
    /// connection holds `maxPending` queries and the next one fails at once, as a local failure.
    func testQueriesPendingOnOneConnectionAreCappedAndTheNextFailsAtOnce() async throws {
        let upstream = StalledTCPUpstream(batch: 1_000_000)
        defer { upstream.stop() }
        let connection = UpstreamTCPConnection(
            upstream: try SocketAddress(ipAddress: "127.0.0.1", port: upstream.port),
            group: MultiThreadedEventLoopGroup.singleton, maxPending: 4)
        let waiting = try (0..<4).map { index in
            let query = try message("q\(index).cluster.local.")
            return Task { try await connection.exchange(query, timeout: .seconds(30)) }
        }
        let filled = await eventually { connection.pendingCount == 4 }
        XCTAssertTrue(filled, "four queries pending")
        let started = ContinuousClock.now
        do {
            _ = try await connection.exchange(try message("fifth.cluster.local."), timeout: .seconds(30))
            XCTFail("a fifth query was accepted")
        } catch {
            XCTAssertTrue(error is UpstreamExchange.LocalFailure, "\(error)")
        }
        XCTAssertLessThan(ContinuousClock.now - started, .seconds(2), "refused at once, not after a timeout")
        upstream.stop()
        for task in waiting { task.cancel() }
    }

    /// A flood of distinct names against a slow upstream: at most `maxInFlight` are sent, the rest are answered
    /// SERVFAIL at once (nothing cached to serve stale) and counted as shed; once the flood drains, a new
    /// question is sent again.
    func testQuestionsInFlightAreBoundedAndTheRestAnsweredAtOnce() async throws {
        let upstream = SlowUpstream(delay: 1)
        defer { upstream.stop() }
        let forwarder = try UpstreamForwarderTests.forwarder(
            ports: [upstream.port], tryTimeout: .seconds(4), maxInFlight: 2)
        let slow = try (0..<2).map { index in
            let bytes = try UpstreamForwarderTests.query("slow\(index).cluster.local.", id: UInt16(index))
            return Task { await forwarder.resolve(bytes, rule: 0, overTCP: false) }
        }
        let full = await eventually { forwarder.inFlightCount == 2 }
        XCTAssertTrue(full)
        let started = ContinuousClock.now
        for index in 0..<20 {
            let bytes = try UpstreamForwarderTests.query("flood\(index).cluster.local.", id: UInt16(100 + index))
            let response = try reply(await forwarder.resolve(bytes, rule: 0, overTCP: false))
            XCTAssertEqual(response.rcode, .servFail)
            XCTAssertEqual(response.header.id, UInt16(100 + index))
        }
        XCTAssertLessThan(ContinuousClock.now - started, .milliseconds(900), "shed queries wait for nothing")
        XCTAssertEqual(forwarder.shed.load(ordering: .relaxed), 20)
        for task in slow {
            let response = try reply(await task.value)
            XCTAssertEqual(response.rcode, .noError)
        }
        XCTAssertFalse(upstream.queries.contains { $0.hasPrefix("flood") }, "\(upstream.queries)")
        let after = try UpstreamForwarderTests.query("after.cluster.local.", id: 7)
        let response = try reply(await forwarder.resolve(after, rule: 0, overTCP: false))
        XCTAssertEqual(response.rcode, .noError)
        XCTAssertEqual(forwarder.inFlightCount, 0)
    }

    /// A full queue on our connection to the first upstream is our limit, not its failure: the next upstream
    /// answers at once, and the first is not marked down.
    func testALocalFailureIsNotBlamedOnTheUpstream() async throws {
        let stalled = StalledTCPUpstream(batch: 1_000_000)
        let working = StalledTCPUpstream(batch: 1)
        defer {
            stalled.stop()
            working.stop()
        }
        let forwarder = try UpstreamForwarderTests.forwarder(
            ports: [stalled.port, working.port], tryTimeout: .seconds(20), maxPending: 1)
        let first = try UpstreamForwarderTests.query("first.cluster.local.", id: 1)
        let waiting = Task { await forwarder.resolve(first, rule: 0, overTCP: true) }
        let queued = await eventually { forwarder.pendingOverTCP(rule: 0, index: 0) == 1 }
        XCTAssertTrue(queued)
        let started = ContinuousClock.now
        let second = try UpstreamForwarderTests.query("second.cluster.local.", id: 2)
        let response = try reply(await forwarder.resolve(second, rule: 0, overTCP: true))
        XCTAssertEqual(response.rcode, .noError)
        XCTAssertEqual(response.answers.count, 1)
        XCTAssertLessThan(ContinuousClock.now - started, .seconds(5), "the second upstream answered at once")
        XCTAssertFalse(forwarder.isDown(rule: 0, index: 0), "our own limit marked the upstream down")
        stalled.stop()
        waiting.cancel()
    }

    /// A truncated UDP reply is an answer: when its TCP retry fails (nothing listens on TCP there), the client
    /// gets the truncated reply with TC set, to retry over TCP itself, not SERVFAIL.
    func testATruncatedReplyWhoseTCPRetryFailsIsSentTruncated() async throws {
        let upstream = SlowUpstream(delay: 0, truncated: true)
        defer { upstream.stop() }
        let forwarder = try UpstreamForwarderTests.forwarder(ports: [upstream.port], tryTimeout: .seconds(2))
        let bytes = try UpstreamForwarderTests.query("big.cluster.local.", id: 0x4242)
        let response = try reply(await forwarder.resolve(bytes, rule: 0, overTCP: false))
        XCTAssertEqual(response.rcode, .noError)
        XCTAssertTrue(response.header.truncated)
        XCTAssertEqual(response.header.id, 0x4242)
        XCTAssertEqual(response.answers.map(\.data), [.a(IPv4Address(rawValue: 0x0A00_0001))])
        XCTAssertFalse(forwarder.isDown(rule: 0, index: 0), "it answered over UDP: it is not down")
    }
}
#endif
