import Foundation
import HealthCheck
import ServiceRegistry
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// Health checks (the server's reachability probes, the publisher's local checks): the fall/rise damping, and
/// `CheckRunner` against real sockets on loopback.
final class HealthCheckTests: XCTestCase {
    /// One lost SYN never moves traffic: `fall` failures in a row demote, `rise` successes in a row restore, and
    /// a verdict that agrees with the state resets the count.
    func testVerdictsAreDampedByFallAndRise() {
        let cases: [(verdicts: String, transitions: String, downAtEnd: Bool)] = [
            ("ff", "", false),
            ("fff", "D", true),
            ("ffsfff", "D", true),
            ("fffs", "D", true),
            ("fffss", "DU", false),
            ("fffsfss", "DU", false),
            ("fffsfs", "D", true),
            ("ffffffffff", "D", true),
            ("fffssfff", "DUD", true),
        ]
        for row in cases {
            var tracker = HealthTracker<String>(fall: 3, rise: 2)
            var transitions = ""
            for (index, verdict) in row.verdicts.enumerated() {
                if let transition = tracker.record("10.0.0.1", up: verdict == "s", at: Double(index)) {
                    transitions += transition.up ? "U" : "D"
                }
            }
            XCTAssertEqual(transitions, row.transitions, row.verdicts)
            XCTAssertEqual(tracker.down["10.0.0.1"] != nil, row.downAtEnd, row.verdicts)
        }
        var tracker = HealthTracker<String>(fall: 1, rise: 1)
        XCTAssertNil(tracker.states["10.0.0.1"]?.since)
        XCTAssertEqual(tracker.record("10.0.0.1", up: false, at: 7)?.up, false)
        XCTAssertEqual(tracker.states["10.0.0.1"]?.since, 7, "when it went down")
        XCTAssertEqual(tracker.down, ["10.0.0.1": 7])
        XCTAssertTrue(tracker.retain(only: []), "a down target forgotten changes the answers")
        XCTAssertTrue(tracker.down.isEmpty)
    }

    func check(_ port: Int, _ kind: HealthCheck.Kind = .tcp) -> HealthCheck {
        HealthCheck(address: IPAddress("127.0.0.1")!, port: UInt16(port), kind: kind)
    }

    func testTCPChecksFindListenersUpAndClosedPortsRefused() async throws {
        let listener = try TestServer(reply: nil)
        let closedPort = try TestServer.unusedPort()
        let outcomes = await CheckRunner.run(
            [check(listener.port), check(closedPort), check(listener.port)], within: .zero, timeout: .seconds(5)
        ).map(\.outcome)
        XCTAssertEqual(outcomes, [.up, .down("connection refused"), .up])
        // The server counts on its own thread, once it has accepted.
        try await waitUntil { listener.connections == 2 }
    }

    func testHTTPChecksReadTheStatusLine() async throws {
        let ok = try TestServer(reply: "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
        let redirect = try TestServer(reply: "HTTP/1.0 302 Found\r\nLocation: /\r\n\r\n")
        let failing = try TestServer(reply: "HTTP/1.1 503 Service Unavailable\r\n\r\n")
        let notHTTP = try TestServer(reply: "SSH-2.0-OpenSSH_9.2\r\n")
        let silentClose = try TestServer(reply: "")
        let outcomes = await CheckRunner.run(
            [ok, redirect, failing, notHTTP, silentClose].map { check($0.port, .http(path: "/healthz")) },
            within: .zero, timeout: .seconds(5)
        ).map(\.outcome)
        XCTAssertEqual(
            outcomes,
            [.up, .up, .down("HTTP 503"), .down("not an HTTP response"), .down("closed without an HTTP response")])
        XCTAssertEqual(ok.requests.first?.hasPrefix("GET /healthz HTTP/1.0\r\nHost: 127.0.0.1:\(ok.port)\r\n"), true)
    }

    /// A server that accepts and never answers: the HTTP check gives up at its timeout, the others in the batch
    /// are not held up by it.
    func testAnHTTPCheckThatGetsNoAnswerTimesOut() async throws {
        let silent = try TestServer(reply: nil)
        let ok = try TestServer(reply: "HTTP/1.1 200 OK\r\n\r\n")
        let outcomes = await CheckRunner.run(
            [check(silent.port, .http(path: "/")), check(ok.port, .http(path: "/"))], within: .zero,
            timeout: .milliseconds(300)
        ).map(\.outcome)
        XCTAssertEqual(outcomes, [.down("timed out"), .up])
    }

    /// Checks start spread over the cycle but its timeout (600 - 100 ms here), so a batch lasts at least until its
    /// last check's slot.
    func testChecksAreSpreadOverTheCycle() async throws {
        let listener = try TestServer(reply: nil)
        let clock = ContinuousClock()
        let started = clock.now
        let outcomes = await CheckRunner.run(
            Array(repeating: check(listener.port), count: 10), within: .milliseconds(600), timeout: .milliseconds(100)
        ).map(\.outcome)
        XCTAssertEqual(outcomes, Array(repeating: .up, count: 10))
        XCTAssertGreaterThanOrEqual(
            clock.now - started, .milliseconds(450), "the tenth starts in the last tenth of 500 ms")
    }

    /// A batch whose last slot is minutes away ends when its task is cancelled, the checks not yet run given
    /// as cancelled.
    func testCancellingTheTaskEndsTheBatchAtOnce() async throws {
        let listener = try TestServer(reply: nil)
        let checks = Array(repeating: check(listener.port), count: 3)
        let batch = Task {
            await CheckRunner.run(checks, within: .seconds(600), timeout: .seconds(5)).map(\.outcome)
        }
        let clock = ContinuousClock()
        let cancelled = clock.now
        batch.cancel()
        let outcomes = await batch.value
        XCTAssertLessThan(clock.now - cancelled, .seconds(5), "ended by the cancellation, not by its slots")
        XCTAssertEqual(outcomes.count, 3)
        XCTAssertEqual(outcomes.last, .down("cancelled"), "the third's slot is minutes away")
        let ran = outcomes.filter(\.isUp).count
        try await waitUntil { listener.connections == ran }
    }

    /// Polls `condition` (state another thread reaches) every 10 ms, failing after 10 s.
    func waitUntil(_ condition: () -> Bool, line: UInt = #line) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while !condition() {
            guard ContinuousClock.now < deadline else {
                XCTFail("never happened", line: line)
                return
            }
            try await Task.sleep(for: .milliseconds(10))
        }
    }
}

/// A TCP server on 127.0.0.1 on a thread of its own: it accepts each connection, reads the request up to its
/// blank line and writes `reply` then closes; with `reply` nil it accepts and holds the connection, answering
/// nothing.
final class TestServer: @unchecked Sendable {
    /// What the serving thread records; the thread holds it, not the server, so the server's end (deinit) can
    /// shut the socket down, which ends the thread's accept.
    private final class Record: @unchecked Sendable {
        let lock = NSLock()
        var accepted = 0
        var received: [String] = []
        var held: [Int32] = []
    }

    let port: Int
    private let descriptor: Int32
    private let record = Record()

    var connections: Int { record.lock.withLock { record.accepted } }
    var requests: [String] { record.lock.withLock { record.received } }

    init(reply: String?) throws {
        (descriptor, port) = try Self.listen()
        let thread = Thread { [descriptor, record] in Self.serve(reply: reply, on: descriptor, into: record) }
        thread.start()
    }

    deinit {
        shutdown(descriptor, Int32(SHUT_RDWR))
        close(descriptor)
        for connection in record.lock.withLock({ record.held }) { close(connection) }
    }

    private static func serve(reply: String?, on descriptor: Int32, into record: Record) {
        while true {
            let connection = accept(descriptor, nil, nil)
            guard connection >= 0 else { return }
            record.lock.withLock { record.accepted += 1 }
            guard let reply else {
                record.lock.withLock { record.held.append(connection) }
                continue
            }
            var request: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 1024)
            while !request.ends(with: Array("\r\n\r\n".utf8)) {
                let count = read(connection, &buffer, buffer.count)
                if count <= 0 { break }
                request += buffer.prefix(count)
            }
            record.lock.withLock { record.received.append(String(decoding: request, as: UTF8.self)) }
            _ = Array(reply.utf8).withUnsafeBytes { write(connection, $0.baseAddress, $0.count) }
            close(connection)
        }
    }

    private static func listen() throws -> (Int32, Int) {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, Glibc.listen(descriptor, 64) == 0 else { throw CocoaError(.fileWriteUnknown) }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        return (descriptor, Int(UInt16(bigEndian: address.sin_port)))
    }

    /// A port nothing listens on: one bound and closed (the kernel does not hand it out again at once).
    static func unusedPort() throws -> Int {
        let (descriptor, port) = try listen()
        close(descriptor)
        return port
    }
}

extension Array where Element: Equatable {
    fileprivate func ends(with suffix: [Element]) -> Bool {
        count >= suffix.count && Array(self[(count - suffix.count)...]) == suffix
    }
}
