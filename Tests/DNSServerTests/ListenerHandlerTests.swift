import DNSPipeline
import DNSWire
import NIOCore
import NIOEmbedded
import ServiceRegistry
import XCTest

@testable import DNSServer

/// The socket handlers in EmbeddedChannel: framing and addressing only, the policy is the pipeline's.
final class ListenerHandlerTests: XCTestCase {
    private func processor() throws -> QueryProcessor {
        let services = try RegistryDecoder.decode(
            """
            services:
              - name: web
                namespace: shop
                clusters:
                  - cluster: a
                    addresses: [10.1.0.1]
            """, file: "registry.yaml")
        let snapshot = AnswerSnapshot.build(
            registry: RegistrySnapshot(services: services, version: 1, origin: "test"), zones: [],
            settings: PipelineSettings())
        return QueryProcessor(snapshot: snapshot)
    }

    private func query(id: UInt16, _ name: String) throws -> [UInt8] {
        Message(header: Header(id: id), questions: [Question(name: try DNSName(name), type: .a)]).serialized()
    }

    func testTCPQueriesSplitAcrossReadsAndPipelinedAreAllAnsweredInOrder() throws {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(TCPFrameDecoder()))
        try channel.pipeline.syncOperations.addHandler(TCPQueryHandler(processor: try processor()))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 53)).wait()

        var stream: [UInt8] = []
        for (id, name) in [(1, "web.shop.svc.supercluster.local."), (2, "nope.shop.svc.supercluster.local.")] {
            let bytes = try query(id: UInt16(id), name)
            stream += [UInt8(bytes.count >> 8), UInt8(bytes.count & 0xFF)] + bytes
        }
        // Three reads: a lone length octet, the rest of the first query with part of the second, the remainder.
        for chunk in [stream[0..<1], stream[1..<40], stream[40...]] {
            try channel.writeInbound(channel.allocator.buffer(bytes: chunk))
        }
        var replies: [Message] = []
        while var buffer = try channel.readOutbound(as: ByteBuffer.self) {
            let length = Int(buffer.readInteger(as: UInt16.self) ?? 0)
            XCTAssertEqual(length, buffer.readableBytes, "one framed message per write")
            replies.append(try Message(parsing: buffer.readBytes(length: length) ?? []))
        }
        XCTAssertEqual(replies.map(\.header.id), [1, 2])
        XCTAssertEqual(replies.map(\.rcode), [.noError, .nxDomain])
        XCTAssertEqual(replies[0].answers.map(\.data), [.a(IPv4Address(rawValue: 0x0A01_0001))])
        XCTAssertTrue(try channel.finish().isClean)
    }

    /// RFC 7766 6.2.3: idle time counts from the last complete message. A client trickling one octet at a time
    /// (slowloris) is closed after `tcpIdle` like a silent one; before, every octet restarted the clock.
    func testIdleTimeCountsFromTheLastCompleteMessageNotTheLastOctet() throws {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(TCPFrameDecoder()))
        try channel.pipeline.syncOperations.addHandler(TCPQueryHandler(processor: try processor(), idle: .seconds(10)))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 53)).wait()
        // A whole query at 9 s restarts the clock: still open at 18 s.
        channel.embeddedEventLoop.advanceTime(by: .seconds(9))
        let bytes = try query(id: 1, "web.shop.svc.supercluster.local.")
        try channel.writeInbound(
            channel.allocator.buffer(bytes: [UInt8(bytes.count >> 8), UInt8(bytes.count)] + bytes))
        XCTAssertNotNil(try channel.readOutbound(as: ByteBuffer.self))
        channel.embeddedEventLoop.advanceTime(by: .seconds(9))
        XCTAssertTrue(channel.isActive, "a complete message restarts the idle clock")
        // Then one octet of a second query every second: the clock does not restart, and the connection closes
        // 10 s after the last complete message.
        let next = try query(id: 2, "web.shop.svc.supercluster.local.")
        let framed = [UInt8(next.count >> 8), UInt8(next.count)] + next
        for octet in framed.prefix(3) where channel.isActive {
            try channel.writeInbound(channel.allocator.buffer(bytes: [octet]))
            channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        }
        XCTAssertFalse(channel.isActive, "trickled octets kept the connection open")
    }

    func testASilentConnectionIsClosedAfterTheIdleTimeButNotWhileAForwardIsOwed() throws {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(TCPQueryHandler(processor: try processor(), idle: .seconds(2)))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 53)).wait()
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(1900))
        XCTAssertTrue(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(200))
        XCTAssertFalse(channel.isActive)
    }

    /// A client that pipelines queries and never reads: while its answers cannot be written nothing more is read
    /// (autoRead off). The byte cap behind it is tried on a real socket (`HostileTCPClientTests`).
    func testAClientThatDoesNotReadIsNotReadFrom() throws {
        let channel = EmbeddedChannel()
        let handler = TCPQueryHandler(processor: try processor(), maxBufferedBytes: 4096)
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(TCPFrameDecoder()))
        try channel.pipeline.syncOperations.addHandler(handler)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 53)).wait()
        channel.isWritable = false
        channel.pipeline.fireChannelWritabilityChanged()
        XCTAssertTrue(handler.readingPaused, "reading goes on while nothing can be written")
        channel.isWritable = true
        channel.pipeline.fireChannelWritabilityChanged()
        XCTAssertFalse(handler.readingPaused)
    }

    func testUDPAnswersGoBackToTheSender() throws {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(UDPQueryHandler(processor: try processor()))
        let client = try SocketAddress(ipAddress: "127.0.0.9", port: 40000)
        let bytes = try query(id: 77, "web.shop.svc.supercluster.local.")
        try channel.writeInbound(AddressedEnvelope(remoteAddress: client, data: channel.allocator.buffer(bytes: bytes)))
        let reply = try XCTUnwrap(try channel.readOutbound(as: AddressedEnvelope<ByteBuffer>.self))
        XCTAssertEqual(reply.remoteAddress, client)
        let message = try Message(parsing: Array(buffer: reply.data))
        XCTAssertEqual(message.header.id, 77)
        XCTAssertTrue(message.header.authoritative)
        // A response arriving on the listening socket is dropped, never answered (no reflection loops).
        var response = bytes
        response[2] |= 0x80
        try channel.writeInbound(
            AddressedEnvelope(remoteAddress: client, data: channel.allocator.buffer(bytes: response)))
        XCTAssertNil(try channel.readOutbound(as: AddressedEnvelope<ByteBuffer>.self))
    }

    /// A dual-stack socket reports an IPv4 client as ::ffff:a.b.c.d: the pipeline must see IPv4, or `allow:`
    /// refuses it and no IPv4 `clients:` network ever holds it.
    func testIPv4MappedAddressesAreIPv4() throws {
        let cases: [(socket: String, expected: ClientAddress)] = [
            ("::ffff:10.1.2.3", .v4(0x0A01_0203)),
            ("10.1.2.3", .v4(0x0A01_0203)),
            ("::1", .v6(high: 0, low: 1)),
            // Neighbours of the mapped range stay IPv6: IPv4-compatible (::a.b.c.d) and ::fffe:a.b.c.d.
            ("::10.1.2.3", .v6(high: 0, low: 0x0A01_0203)),
            ("::fffe:a01:203", .v6(high: 0, low: 0xFFFE_0A01_0203)),
            ("fd00::ffff:a01:203", .v6(high: 0xFD00_0000_0000_0000, low: 0xFFFF_0A01_0203)),
        ]
        for row in cases {
            XCTAssertEqual(ClientAddress(try SocketAddress(ipAddress: row.socket, port: 53)), row.expected, row.socket)
        }
    }

    /// `tcpConnections` counts every listener's connections together; `tcpPerClient` one client's (an IPv6
    /// client by its /64).
    func testTCPConnectionLimitsAreGlobalAndPerClient() throws {
        let limits = TCPConnectionLimits(total: 4, perClient: 2)
        let first = ClientAddress(try SocketAddress(ipAddress: "10.0.0.1", port: 1))!
        let second = ClientAddress(try SocketAddress(ipAddress: "10.0.0.2", port: 1))!
        let v6 = ClientAddress(try SocketAddress(ipAddress: "fd00::1", port: 1))!
        let v6Neighbour = ClientAddress(try SocketAddress(ipAddress: "fd00::ffff:2", port: 1))!
        XCTAssertNil(limits.acquire(first))
        XCTAssertNil(limits.acquire(first))
        XCTAssertEqual(limits.acquire(first), .perClient)
        XCTAssertNil(limits.acquire(second))
        XCTAssertNil(limits.acquire(v6))
        XCTAssertEqual(limits.acquire(v6Neighbour), .total)
        limits.release(second)
        XCTAssertEqual(limits.acquire(v6Neighbour), nil)
        XCTAssertEqual(limits.acquire(v6), .total)
        limits.release(first)
        XCTAssertEqual(limits.acquire(v6), .perClient, "one /64 is one client")
        XCTAssertEqual(limits.open(), 3)
        XCTAssertEqual(limits.open(for: first), 1)
    }
}
