import DNSWire
import Foundation
import XCTest

#if canImport(Glibc)
import Glibc
#endif

/// TCP clients as an attacker writes them, against the real server (issue: safe on a hostile network): one that
/// pipelines and never reads, slowloris connections trickling octets, one client taking every connection, and
/// connections spread over two listen addresses. Each was found to lock clients out or grow the server.
final class HostileTCPClientTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "scdns-hostile-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        // One service with 150 addresses: a 2.5 KB answer, whole over TCP.
        let addresses = (0..<150).map { "10.7.\($0 / 250).\($0 % 250 + 1)" }.joined(separator: ", ")
        try """
        services:
          - name: big
            namespace: app
            clusters:
              - cluster: cluster-a
                addresses: [\(addresses)]
        """.write(toFile: directory + "/registry.yaml", atomically: true, encoding: .utf8)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    private func server(limits: String, extra: [String] = []) throws -> ServerProcess {
        let config = directory + "/scdns.yaml"
        try """
        zones: \(ServerProcess.repositoryRoot)/zones
        registry: { file: registry.yaml }
        limits: { \(limits) }
        """.write(toFile: config, atomically: true, encoding: .utf8)
        return try ServerProcess(arguments: ["--config", config] + extra)
    }

    private static let bigName = "big.app.svc.supercluster.local."

    private static func framed(_ name: String, id: UInt16) throws -> [UInt8] {
        let query = Message(header: Header(id: id), questions: [Question(name: try DNSName(name), type: .a)])
            .serialized()
        return [UInt8(query.count >> 8), UInt8(query.count & 0xFF)] + query
    }

    /// An ordinary client can still get an answer over TCP.
    private func answersOverTCP(_ port: Int) -> Bool {
        guard
            let replies = try? TCPClient.pipeline(
                [Array(try! Self.framed(Self.bigName, id: 9).dropFirst(2))], port: port)
        else { return false }
        return (try? Message(parsing: replies[0]).answers.count) == 150
    }

    private func residentKiB(_ server: ServerProcess) -> Int {
        let status =
            (try? String(contentsOfFile: "/proc/\(server.process.processIdentifier)/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    }

    /// 60,000 pipelined queries for a 2.5 KB answer from a client that never reads used to grow the server by
    /// over 100 MB (every answer queued); now nothing more is read while answers cannot be written, and past
    /// 1 MiB of queued answers the connection is closed. Other clients are answered throughout.
    func testAClientThatNeverReadsCannotGrowTheServer() throws {
        let scdns = try server(limits: "tcpIdle: 2s")
        XCTAssertTrue(answersOverTCP(scdns.port), "warm-up")
        let before = residentKiB(scdns)
        let socket = try RawTCP(port: scdns.port)
        var stream: [UInt8] = []
        for index in 0..<60_000 { stream += try Self.framed(Self.bigName, id: UInt16(truncatingIfNeeded: index)) }
        let sent = socket.sendAll(stream, within: 5)
        // The connection is closed by the server: past the cap at once, else after tcpIdle with nothing more
        // read. Only then has it done all it will with what it read, so only then is its memory measured; and
        // the client must not read meanwhile, or the answers would drain.
        XCTAssertTrue(socket.hungUpWithoutReading(within: 15), "the never-reading connection stayed open")
        let grown = residentKiB(scdns) - before
        XCTAssertLessThan(grown, 40 * 1024, "RSS grew by \(grown) KiB after \(sent) of \(stream.count) octets")
        XCTAssertTrue(answersOverTCP(scdns.port), "another client is still answered")
        XCTAssertEqual(scdns.stop(), 0)
    }

    /// Slowloris: as many connections as `tcpConnections`, each trickling a query one octet at a time, used to
    /// keep every slot taken (each octet restarted the idle clock). Idle now counts from the last complete
    /// message, so they are closed after `tcpIdle` and a real client gets in.
    func testTricklingConnectionsDoNotLockOutANewClient() throws {
        let scdns = try server(limits: "tcpConnections: 20, tcpIdle: 1s")
        let trickling = try (0..<20).map { _ in try RawTCP(port: scdns.port) }
        let query = try Self.framed(Self.bigName, id: 1)
        var admitted = false
        let deadline = Date().addingTimeInterval(10)
        var octet = 0
        while !admitted && Date() < deadline {
            for connection in trickling { _ = connection.send([query[octet % query.count]]) }
            octet += 1
            admitted = answersOverTCP(scdns.port)
            if !admitted { Thread.sleep(forTimeInterval: 0.2) }
        }
        XCTAssertTrue(admitted, "20 trickling connections kept a new client out for 10 s")
        XCTAssertTrue(trickling.allSatisfy { $0.closedByPeer(within: 5) }, "every trickling connection is closed")
        XCTAssertEqual(scdns.stop(), 0)
    }

    /// `tcpPerClient`: one address cannot take every connection; another address still gets in.
    func testOneClientCannotTakeEveryConnection() throws {
        let scdns = try server(limits: "tcpConnections: 100, tcpPerClient: 3")
        let held = try (0..<3).map { _ in try RawTCP(port: scdns.port, from: "127.0.0.2") }
        for connection in held { XCTAssertTrue(connection.answers(try Self.framed(Self.bigName, id: 2))) }
        let fourth = try RawTCP(port: scdns.port, from: "127.0.0.2")
        XCTAssertTrue(fourth.closedByPeer(within: 5), "a fourth connection from 127.0.0.2 was kept")
        XCTAssertTrue(answersOverTCP(scdns.port), "127.0.0.1 is another client")
        withExtendedLifetime(held) {}
        XCTAssertEqual(scdns.stop(), 0)
    }

    /// `tcpConnections` counts every listen address together: two listeners do not double it.
    func testTheConnectionLimitIsSharedByEveryListenAddress() throws {
        let scdns = try server(limits: "tcpConnections: 4", extra: ["--listen", "127.0.0.3:0"])
        let second = try scdns.awaitLog(matching: #"address=127\.0\.0\.3:(\d+) .*listening"#)
        let otherPort = Int(second[1]) ?? 0
        let held = try (0..<4).map { _ in try RawTCP(port: scdns.port) }
        for connection in held { XCTAssertTrue(connection.answers(try Self.framed(Self.bigName, id: 3))) }
        let other = try RawTCP(port: otherPort, host: "127.0.0.3")
        XCTAssertTrue(other.closedByPeer(within: 5), "a fifth connection on the second address was kept")
        withExtendedLifetime(held) {}
        XCTAssertEqual(scdns.stop(), 0)
    }
}

/// A TCP connection driven octet by octet, as the hostile clients above need.
final class RawTCP {
    let fd: Int32

    init(port: Int, host: String = "127.0.0.1", from source: String? = nil) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket failed") }
        if let source {
            var local = sockaddr_in()
            local.sin_family = sa_family_t(AF_INET)
            local.sin_addr.s_addr = inet_addr(source)
            let bound = withUnsafePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            guard bound == 0 else { throw TestFailure("bind to \(source) failed") }
        }
        var address = UDPClient.loopback(port: port)
        address.sin_addr.s_addr = inet_addr(host)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { throw TestFailure("connect failed") }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
    }

    deinit { close(fd) }

    @discardableResult
    func send(_ bytes: [UInt8]) -> Int {
        Glibc.send(fd, bytes, bytes.count, Int32(MSG_NOSIGNAL))
    }

    /// Sends as much of `bytes` as the connection takes within `seconds`; returns how much that was.
    func sendAll(_ bytes: [UInt8], within seconds: TimeInterval) -> Int {
        var offset = 0
        let deadline = Date().addingTimeInterval(seconds)
        while offset < bytes.count && Date() < deadline {
            let sent = bytes[offset...].withUnsafeBytes {
                Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            if sent > 0 {
                offset += sent
            } else if errno == EAGAIN || errno == EWOULDBLOCK {
                var poller = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                _ = poll(&poller, 1, 100)
            } else {
                break
            }
        }
        return offset
    }

    /// Whether the server closes the connection within `seconds`, whatever it sent before (read and dropped).
    func closedByPeer(within seconds: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        var buffer = [UInt8](repeating: 0, count: 65536)
        while Date() < deadline {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 100) > 0 else { continue }
            let count = recv(fd, &buffer, buffer.count, 0)
            if count == 0 || (count < 0 && errno != EAGAIN && errno != EWOULDBLOCK) { return true }
        }
        return false
    }

    /// POLLRDHUP (Linux, 0x2000): Glibc hides it behind _GNU_SOURCE.
    private static let pollReadHangUp: Int16 = 0x2000

    /// Whether the server closes its side within `seconds`, seen without reading what it sent (POLLRDHUP).
    func hungUpWithoutReading(within seconds: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            var poller = pollfd(fd: fd, events: Self.pollReadHangUp, revents: 0)
            if poll(&poller, 1, 100) > 0 && poller.revents & (Self.pollReadHangUp | Int16(POLLHUP | POLLERR)) != 0 {
                return true
            }
        }
        return false
    }

    /// Sends one framed query and whether a whole reply comes back within 3 s.
    func answers(_ framed: [UInt8]) -> Bool {
        guard send(framed) == framed.count else { return false }
        var pending: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        let deadline = Date().addingTimeInterval(3)
        while Date() < deadline {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 100) > 0 else { continue }
            let count = recv(fd, &buffer, buffer.count, 0)
            guard count > 0 else { return false }
            pending += buffer[0..<count]
            if pending.count >= 2 && pending.count >= 2 + (Int(pending[0]) << 8 | Int(pending[1])) { return true }
        }
        return false
    }
}
