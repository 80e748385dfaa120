#if os(Linux)
import DNSWire
import Foundation
import Glibc
import NIOCore
import NIOPosix
import XCTest

@testable import DNSServer

/// RFC 7766 towards the upstream: one connection carries many queries, written before earlier ones are answered,
/// and replies are matched by ID and question in whatever order they come.
final class UpstreamTCPConnectionTests: XCTestCase {
    /// A TCP upstream that counts connections and answers every batch of queries it has read in reverse order,
    /// each with an A record whose last octet is the query's position in the batch.
    final class ReversingUpstream: @unchecked Sendable {
        let listener: Int32
        let port: Int
        private let lock = NSLock()
        private var accepted = 0

        init(batch: Int) {
            let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var one: Int32 = 1
            setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
            _ = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            listen(descriptor, 8)
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
            }
            listener = descriptor
            port = Int(UInt16(bigEndian: address.sin_port))
            Thread { [self] in serve(batch: batch) }.start()
        }

        var connections: Int {
            lock.lock()
            defer { lock.unlock() }
            return accepted
        }

        func stop() {
            shutdown(listener, Int32(SHUT_RDWR))
            close(listener)
        }

        private func serve(batch: Int) {
            while true {
                let connection = accept(listener, nil, nil)
                guard connection >= 0 else { return }
                lock.lock()
                accepted += 1
                lock.unlock()
                Thread { Self.answer(connection, batch: batch) }.start()
            }
        }

        private static func answer(_ connection: Int32, batch: Int) {
            defer { close(connection) }
            var pending: [UInt8] = []
            var queries: [Message] = []
            var chunk = [UInt8](repeating: 0, count: 4096)
            while true {
                let count = recv(connection, &chunk, chunk.count, 0)
                guard count > 0 else { return }
                pending += chunk[0..<count]
                while pending.count >= 2, pending.count >= 2 + (Int(pending[0]) << 8 | Int(pending[1])) {
                    let length = Int(pending[0]) << 8 | Int(pending[1])
                    if let query = try? Message(parsing: pending[2..<(2 + length)]) { queries.append(query) }
                    pending.removeFirst(2 + length)
                }
                guard queries.count >= batch else { continue }
                for (position, query) in queries.enumerated().reversed() {
                    var reply = query
                    reply.header.isResponse = true
                    reply.answers = [
                        ResourceRecord(
                            name: query.questions[0].name, ttl: 30,
                            data: .a(IPv4Address(rawValue: 0x0A00_0000 | UInt32(position))))
                    ]
                    let bytes = reply.serialized()
                    let framed = [UInt8(bytes.count >> 8), UInt8(bytes.count & 0xFF)] + bytes
                    _ = send(connection, framed, framed.count, 0)
                }
                queries = []
            }
        }
    }

    func testPipelinedQueriesShareOneConnectionAndRepliesMatchOutOfOrder() async throws {
        let upstream = ReversingUpstream(batch: 3)
        defer { upstream.stop() }
        let connection = UpstreamTCPConnection(
            upstream: try SocketAddress(ipAddress: "127.0.0.1", port: upstream.port),
            group: MultiThreadedEventLoopGroup.singleton)
        let names = ["a.cluster.local.", "b.cluster.local.", "c.cluster.local."]
        for round in 0..<2 {
            let replies = try await withThrowingTaskGroup(of: (String, Message).self) { group in
                for name in names {
                    let query = Message(header: Header(id: 1), questions: [Question(name: try DNSName(name), type: .a)])
                    group.addTask { (name, try await connection.exchange(query, timeout: .seconds(3))) }
                }
                var all: [String: Message] = [:]
                for try await (name, reply) in group { all[name] = reply }
                return all
            }
            XCTAssertEqual(replies.count, 3, "round \(round)")
            for (name, reply) in replies {
                XCTAssertEqual(reply.questions.first?.name, try DNSName(name), "each reply matched to its own question")
            }
            // Every query, though all were sent with ID 1, went out under an ID of its own.
            XCTAssertEqual(Set(replies.values.map(\.header.id)).count, 3)
        }
        XCTAssertEqual(upstream.connections, 1, "one connection for every query")
    }
}
#endif
