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

    func testTCPIdleEventClosesTheConnection() throws {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(TCPQueryHandler(processor: try processor()))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 53)).wait()
        XCTAssertTrue(channel.isActive)
        channel.pipeline.fireUserInboundEventTriggered(IdleStateHandler.IdleStateEvent.read)
        XCTAssertFalse(channel.isActive)
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

    func testConnectionCounterEnforcesTheLimit() {
        let counter = ConnectionCounter()
        XCTAssertTrue(counter.acquire(limit: 2))
        XCTAssertTrue(counter.acquire(limit: 2))
        XCTAssertFalse(counter.acquire(limit: 2))
        counter.release()
        XCTAssertTrue(counter.acquire(limit: 2))
    }
}
