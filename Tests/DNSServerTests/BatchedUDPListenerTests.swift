#if os(Linux)
import DNSPipeline
import DNSWire
import Glibc
import ServiceRegistry
import XCTest

@testable import DNSServer

/// The recvmmsg/sendmmsg fast path on real loopback sockets: bursts are answered whole and in batches, each
/// answer goes back to its sender, and stop() ends the thread.
final class BatchedUDPListenerTests: XCTestCase {
    private func processor() throws -> QueryProcessor {
        let services = try RegistryDecoder.decode(
            "services:\n  - name: web\n    namespace: shop\n    clusters:\n"
                + "      - { cluster: a, addresses: [10.1.0.1, \"fd00::1\"] }\n",
            file: "registry.yaml")
        return QueryProcessor(
            snapshot: AnswerSnapshot.build(
                registry: RegistrySnapshot(services: services, version: 1, origin: "test"), zones: [],
                settings: PipelineSettings()))
    }

    private func query(_ id: UInt16) throws -> [UInt8] {
        Message(
            header: Header(id: id),
            questions: [Question(name: try DNSName("web.shop.svc.supercluster.local."), type: .a)]
        ).serialized()
    }

    /// Sends `count` queries back to back from one socket, then reads every answer.
    private func burst(_ count: Int, to listener: BatchedUDPListener, family: Int32, host: String) throws -> [Message] {
        let fd = socket(family, Int32(SOCK_DGRAM.rawValue), 0)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var buffer = [UInt8](repeating: 0, count: 4096)
        var storage = sockaddr_storage()
        let length: socklen_t
        if family == AF_INET6 {
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = in_port_t(UInt16(listener.port).bigEndian)
            inet_pton(AF_INET6, host, &address.sin6_addr)
            withUnsafeBytes(of: address) { source in
                withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: source) }
            }
            length = socklen_t(MemoryLayout<sockaddr_in6>.size)
        } else {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(listener.port).bigEndian)
            inet_pton(AF_INET, host, &address.sin_addr)
            withUnsafeBytes(of: address) { source in
                withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: source) }
            }
            length = socklen_t(MemoryLayout<sockaddr_in>.size)
        }
        for id in 0..<count {
            let bytes = try query(UInt16(id))
            let sent = withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sendto(fd, bytes, bytes.count, 0, $0, length) }
            }
            XCTAssertEqual(sent, bytes.count)
        }
        var replies: [Message] = []
        while replies.count < count {
            let received = recv(fd, &buffer, buffer.count, 0)
            guard received > 0 else { break }
            replies.append(try Message(parsing: buffer[0..<received]))
        }
        return replies
    }

    func testABurstIsAnsweredWholeOverIPv4AndIPv6() throws {
        let processor = try processor()
        for (family, host) in [(AF_INET, "127.0.0.1"), (AF_INET6, "::1")] {
            let listener = try BatchedUDPListener(address: ListenAddress(host: host, port: 0), processor: processor)
            XCTAssertGreaterThan(listener.port, 0)
            try listener.start()
            // More than one batch of 32, sent before the first is read: the kernel queues them for recvmmsg.
            let replies = try burst(100, to: listener, family: family, host: host)
            XCTAssertEqual(replies.count, 100, host)
            XCTAssertEqual(Set(replies.map(\.header.id)), Set((0..<100).map(UInt16.init)), host)
            XCTAssertTrue(replies.allSatisfy { $0.answers.map(\.data) == [.a(IPv4Address(rawValue: 0x0A01_0001))] })
            let start = ContinuousClock.now
            listener.stop()
            XCTAssertLessThan(ContinuousClock.now - start, .seconds(2), "stop() waits at most one receive timeout")
        }
    }

    func testGarbageGetsFormErrAndTheLoopGoesOn() throws {
        let listener = try BatchedUDPListener(
            address: ListenAddress(host: "127.0.0.1", port: 0), processor: processor())
        try listener.start()
        defer { listener.stop() }
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        defer { close(fd) }
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(listener.port).bigEndian)
        inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
        let garbage: [UInt8] = [0xAB, 0xCD, 0x00, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0, 0xC0, 0x0C]
        let tooShort: [UInt8] = [1, 2, 3]
        var buffer = [UInt8](repeating: 0, count: 512)
        for datagram in [tooShort, garbage, try query(7)] {
            _ = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(fd, datagram, datagram.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }
        // The 3-octet datagram is dropped (no ID to answer); the bad pointer gets FORMERR; the query an answer.
        let first = recv(fd, &buffer, buffer.count, 0)
        XCTAssertEqual(first, 12)
        XCTAssertEqual(Array(buffer[0..<2]), [0xAB, 0xCD])
        XCTAssertEqual(buffer[3] & 0x0F, 1)
        let second = recv(fd, &buffer, buffer.count, 0)
        XCTAssertGreaterThan(second, 12)
        XCTAssertEqual(try Message(parsing: buffer[0..<second]).header.id, 7)
    }
}
#endif
