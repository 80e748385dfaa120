import DNSWire
import NIOCore
import NIOPosix

/// One query to one upstream over UDP and its reply (TCP goes through `UpstreamTCPConnection`). A reply counts
/// only if it comes from the upstream's address, carries our random ID and echoes our question (name compared
/// without case): anything else on the socket is ignored, as a forged answer must be (RFC 5452).
enum UpstreamExchange {
    struct Timeout: Error {}

    /// A failure on our side of an exchange (no socket could be opened, a connection's queue of pending
    /// queries is full): it says nothing about the upstream, so it never marks one down.
    struct LocalFailure: Error, CustomStringConvertible {
        var description: String
    }

    static func udp(
        _ query: Message, to upstream: SocketAddress, timeout: Duration, group: EventLoopGroup
    ) async throws -> Message {
        let promise = group.next().makePromise(of: Message.self)
        let expected = Expected(query: query, from: upstream)
        // Port 0: a fresh random source port per query, as the ID is random per query.
        let channel = try await completing(promise) {
            do {
                return try await DatagramBootstrap(group: group)
                    .channelInitializer { channel in
                        channel.eventLoop.makeCompletedFuture {
                            try channel.pipeline.syncOperations.addHandler(
                                UDPReplyHandler(expected: expected, promise: promise))
                        }
                    }
                    .bind(host: upstream.protocol == .inet6 ? "::" : "0.0.0.0", port: 0).get()
            } catch {
                // Descriptors exhausted, no ephemeral port: nothing was sent, so nothing is the upstream's fault.
                throw LocalFailure(description: "no UDP socket for the query: \(error)")
            }
        }
        defer { channel.close(promise: nil) }
        let timer = channel.eventLoop.scheduleTask(in: TimeAmount(timeout)) { promise.fail(Timeout()) }
        defer { timer.cancel() }
        let bytes = query.serialized()
        try await completing(promise) {
            try await channel.writeAndFlush(
                AddressedEnvelope(remoteAddress: upstream, data: channel.allocator.buffer(bytes: bytes)))
        }
        return try await promise.futureResult.get()
    }

    /// Runs a step before the reply is awaited; if it throws, the reply promise fails too, so it is never left
    /// unfulfilled (NIO traps on a promise dropped unfulfilled).
    private static func completing<Result>(
        _ promise: EventLoopPromise<Message>, _ step: () async throws -> Result
    ) async throws -> Result {
        do {
            return try await step()
        } catch {
            promise.fail(error)
            throw error
        }
    }

    /// What a genuine reply must match.
    struct Expected: Sendable {
        var id: UInt16
        var question: Question
        var from: SocketAddress

        init(query: Message, from: SocketAddress) {
            id = query.header.id
            question = query.questions[0]
            self.from = from
        }

        func accepts(_ bytes: ByteBuffer, from source: SocketAddress) -> Message? {
            guard source == from else { return nil }
            guard let reply = try? Message(parsing: bytes.readableBytesView), reply.header.isResponse,
                reply.header.id == id, reply.questions.count == 1, reply.questions[0] == question
            else { return nil }
            return reply
        }
    }

    final class UDPReplyHandler: ChannelInboundHandler {
        typealias InboundIn = AddressedEnvelope<ByteBuffer>
        let expected: Expected
        let promise: EventLoopPromise<Message>

        init(expected: Expected, promise: EventLoopPromise<Message>) {
            self.expected = expected
            self.promise = promise
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let envelope = Self.unwrapInboundIn(data)
            if let reply = expected.accepts(envelope.data, from: envelope.remoteAddress) { promise.succeed(reply) }
        }

        func errorCaught(context: ChannelHandlerContext, error: Error) {
            promise.fail(error)
        }
    }
}
