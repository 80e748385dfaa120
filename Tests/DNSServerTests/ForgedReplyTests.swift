#if os(Linux)
import DNSWire
import Foundation
import Glibc
import Logging
import NIOPosix
import XCTest

@testable import DNSServer

/// RFC 5452: only a reply from the upstream's address, with our ID and our question, is an answer. A spoofer
/// racing the upstream with a wrong ID, a wrong question, or from another port must lose.
final class ForgedReplyTests: XCTestCase {
    /// An upstream that, before its genuine answer (10.0.0.1), sends three forgeries to the querier's port.
    final class ForgingUpstream: @unchecked Sendable {
        let fd: Int32
        let spoofer: Int32
        let port: Int
        private var thread: Thread?

        init() {
            fd = Self.boundSocket()
            spoofer = Self.boundSocket()
            port = Self.port(of: fd)
            let thread = Thread { [self] in serveOnce() }
            self.thread = thread
            thread.start()
        }

        deinit {
            close(fd)
            close(spoofer)
        }

        private static func boundSocket() -> Int32 {
            let descriptor = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
            _ = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            var timeout = timeval(tv_sec: 3, tv_usec: 0)
            setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            return descriptor
        }

        private static func port(of descriptor: Int32) -> Int {
            var address = sockaddr_in()
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
            }
            return Int(UInt16(bigEndian: address.sin_port))
        }

        private func serveOnce() {
            var buffer = [UInt8](repeating: 0, count: 4096)
            var peer = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let count = withUnsafeMutablePointer(to: &peer) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(fd, &buffer, 4096, 0, $0, &length) }
            }
            guard count > 0, let query = try? Message(parsing: buffer[0..<count]) else { return }
            func reply(_ address: UInt32, id: UInt16, name: DNSName, from socket: Int32) {
                var message = query
                message.header.id = id
                message.header.isResponse = true
                message.questions[0].name = name
                message.answers = [ResourceRecord(name: name, ttl: 30, data: .a(IPv4Address(rawValue: address)))]
                let bytes = message.serialized()
                _ = withUnsafePointer(to: &peer) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        sendto(socket, bytes, bytes.count, 0, $0, length)
                    }
                }
            }
            let name = query.questions[0].name
            let evil = try! DNSName("evil.cluster.local.")
            // In order: a wrong ID, a wrong question, the right ID and question from another port, then the
            // genuine answer.
            reply(0x0606_0601, id: query.header.id &+ 1, name: name, from: fd)
            reply(0x0606_0602, id: query.header.id, name: evil, from: fd)
            reply(0x0606_0603, id: query.header.id, name: name, from: spoofer)
            Thread.sleep(forTimeInterval: 0.05)
            reply(0x0A00_0001, id: query.header.id, name: name, from: fd)
        }
    }

    func testForgedRepliesAreIgnoredAndTheGenuineOneIsAnswered() async throws {
        let upstream = ForgingUpstream()
        let forwarder = try UpstreamForwarder(
            targets: [
                ForwardTarget(
                    zone: try DNSName("cluster.local."),
                    upstreams: [ListenAddress(host: "127.0.0.1", port: upstream.port)])
            ], group: MultiThreadedEventLoopGroup.singleton, udpPayloadLimit: 1232, logger: Logger(label: "test"))
        let query = Message(
            header: Header(id: 7, recursionDesired: true),
            questions: [Question(name: try DNSName("web.prod.svc.cluster.local."), type: .a)]
        ).serialized()
        let bytes = await forwarder.resolve(query, rule: 0, overTCP: false)
        let reply = try Message(parsing: XCTUnwrap(bytes))
        XCTAssertEqual(reply.header.id, 7)
        XCTAssertEqual(reply.rcode, .noError)
        XCTAssertEqual(reply.answers.map(\.data), [.a(IPv4Address(rawValue: 0x0A00_0001))])
    }
}
#endif
