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

    /// `workers: 2`: two threads on one port with SO_REUSEPORT. Clients on many source ports are spread over
    /// both, each thread counts its own, and every query is answered by one of them.
    func testTwoWorkersShareOnePortAndBothServe() throws {
        let processor = try processor()
        let metrics = QueryMetrics(zoneLabels: .shared, cache: nil)
        let port = try BatchedUDPListener.reservePort(ListenAddress(host: "127.0.0.1", port: 0))
        let workers = try (0..<2).map { worker in
            try BatchedUDPListener(
                address: ListenAddress(host: "127.0.0.1", port: port), processor: processor, metrics: metrics,
                worker: worker, reusePort: true)
        }
        for worker in workers { try worker.start() }
        defer { for worker in workers { worker.stop() } }
        XCTAssertEqual(workers.map(\.port), [port, port])
        // 32 clients, each its own socket and source port: the kernel's hash sends all of them to one worker
        // with probability 2^-31.
        for _ in 0..<32 {
            let replies = try burst(4, to: workers[0], family: AF_INET, host: "127.0.0.1")
            XCTAssertEqual(replies.count, 4)
        }
        var text = ""
        metrics.write(into: &text)
        let perWorker = (0..<2).map { worker in
            text.split(separator: "\n").first {
                $0.hasPrefix("scdns_udp_worker_requests_total{listen=\"127.0.0.1:\(port)\",worker=\"\(worker)\"}")
            }.flatMap { $0.split(separator: " ").last }.flatMap { Int($0) } ?? -1
        }
        XCTAssertEqual(perWorker.reduce(0, +), 128, text)
        XCTAssertTrue(perWorker.allSatisfy { $0 > 0 }, "both workers serve: \(perWorker)")
    }

    /// A port another server holds is refused, never shared: by one worker's bind, and by a group's reservation,
    /// whether the holder is one worker or a SO_REUSEPORT group (which a group could otherwise join, splitting the
    /// holder's queries).
    func testAPortHeldByAnotherServerIsRefusedNotShared() throws {
        let processor = try processor()
        for holderReusesPort in [false, true] {
            let holder = try BatchedUDPListener(
                address: ListenAddress(host: "127.0.0.1", port: 0), processor: processor, reusePort: holderReusesPort)
            defer { holder.stop() }
            let taken = ListenAddress(host: "127.0.0.1", port: holder.port)
            XCTAssertThrowsError(try BatchedUDPListener.reservePort(taken)) {
                XCTAssertTrue("\($0)".contains("Address already in use"), "\($0)")
            }
            XCTAssertThrowsError(try BatchedUDPListener(address: taken, processor: processor)) {
                XCTAssertTrue("\($0)".contains("Address already in use"), "\($0)")
            }
        }
    }

    /// A new snapshot reaches a worker thread that keeps its own reference: the next query after `replace` is
    /// answered from it, whether the thread was busy or waiting in recvmmsg.
    func testAWorkerAnswersFromTheNewSnapshotAfterReplace() throws {
        let processor = try processor()
        let listener = try BatchedUDPListener(address: ListenAddress(host: "127.0.0.1", port: 0), processor: processor)
        try listener.start()
        defer { listener.stop() }
        XCTAssertEqual(try burst(1, to: listener, family: AF_INET, host: "127.0.0.1").first?.answers.count, 1)
        let moved = try RegistryDecoder.decode(
            "services:\n  - name: web\n    namespace: shop\n    clusters:\n"
                + "      - { cluster: a, addresses: [10.1.0.2] }\n",
            file: "registry.yaml")
        processor.replace(
            with: AnswerSnapshot.build(
                registry: RegistrySnapshot(services: moved, version: 2, origin: "test"), zones: [],
                settings: PipelineSettings()))
        let reply = try burst(1, to: listener, family: AF_INET, host: "127.0.0.1")
        XCTAssertEqual(reply.first?.answers.map(\.data), [.a(IPv4Address(rawValue: 0x0A01_0002))])
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
