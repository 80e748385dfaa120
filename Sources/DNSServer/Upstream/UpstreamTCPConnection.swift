import DNSWire
import NIOCore
import NIOPosix
import Synchronization

/// One reused TCP connection to one upstream, pipelined (RFC 7766 6.2.1): queries are written as they come,
/// each under an ID no other query in flight on it holds, and replies are matched back by ID and question in
/// any order. It connects on first use and again after the upstream closes it (idle timeouts are normal).
final class UpstreamTCPConnection: Sendable {
    private struct State {
        var channel: Channel?
        var connecting: EventLoopFuture<Channel>?
        var pending: [UInt16: (question: Question, promise: EventLoopPromise<Message>)] = [:]
    }

    private let upstream: SocketAddress
    private let group: EventLoopGroup
    private let state = Mutex(State())
    /// Queries waiting on the connection at most. Far below the 65,536 IDs, so a free ID is found in a few
    /// random draws, and a stuck upstream holds a bounded number of queries: past it, an exchange fails at once.
    let maxPending: Int

    init(upstream: SocketAddress, group: EventLoopGroup, maxPending: Int = 256) {
        self.upstream = upstream
        self.group = group
        self.maxPending = min(maxPending, 16_384)
    }

    /// Queries sent and not yet answered.
    var pendingCount: Int { state.withLock { $0.pending.count } }

    /// Sends `query` (its ID is replaced by one free on this connection) and waits for the matching reply.
    /// Throws `UpstreamExchange.LocalFailure` at once when `maxPending` queries are waiting already.
    func exchange(_ query: Message, timeout: Duration) async throws -> Message {
        let channel = try await connection(timeout: timeout)
        let promise = channel.eventLoop.makePromise(of: Message.self)
        var outgoing = query
        let admitted = state.withLock { state -> Bool in
            guard state.pending.count < maxPending else { return false }
            // At most a quarter of the IDs are taken, so each draw is free with probability 3/4 or better.
            var id = UInt16.random(in: .min ... .max)
            while state.pending[id] != nil { id = UInt16.random(in: .min ... .max) }
            outgoing.header.id = id
            state.pending[id] = (query.questions[0], promise)
            return true
        }
        guard admitted else {
            promise.fail(UpstreamExchange.LocalFailure(description: "\(maxPending) queries pending on the connection"))
            throw UpstreamExchange.LocalFailure(description: "\(maxPending) queries pending on the connection")
        }
        let id = outgoing.header.id
        let timer = channel.eventLoop.scheduleTask(in: TimeAmount(timeout)) {
            self.finish(id, with: .failure(UpstreamExchange.Timeout()))
        }
        defer { timer.cancel() }
        let bytes = outgoing.serialized()
        var buffer = channel.allocator.buffer(capacity: bytes.count + 2)
        buffer.writeInteger(UInt16(bytes.count))
        buffer.writeBytes(bytes)
        channel.writeAndFlush(buffer).whenFailure { self.finish(id, with: .failure($0)) }
        return try await promise.futureResult.get()
    }

    /// The open channel, or a new connection (shared by everyone who asks while it is being made).
    private func connection(timeout: Duration) async throws -> Channel {
        let future: EventLoopFuture<Channel> = state.withLock { state in
            if let channel = state.channel, channel.isActive { return channel.eventLoop.makeSucceededFuture(channel) }
            if let connecting = state.connecting { return connecting }
            let connecting = ClientBootstrap(group: group)
                .connectTimeout(TimeAmount(timeout))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(TCPFrameDecoder()))
                        try channel.pipeline.syncOperations.addHandler(ReplyHandler(connection: self))
                    }
                }
                .connect(to: upstream)
            state.connecting = connecting
            return connecting
        }
        do {
            let channel = try await future.get()
            state.withLock { state in
                state.connecting = nil
                state.channel = channel
            }
            return channel
        } catch {
            state.withLock { $0.connecting = nil }
            throw error
        }
    }

    fileprivate func received(_ bytes: ByteBuffer) {
        guard let reply = try? Message(parsing: bytes.readableBytesView), reply.header.isResponse,
            reply.questions.count == 1
        else { return }
        let waiting = state.withLock { $0.pending[reply.header.id] }
        // A reply whose question is not the one asked under that ID is not an answer to it.
        guard let waiting, waiting.question == reply.questions[0] else { return }
        finish(reply.header.id, with: .success(reply))
    }

    fileprivate func closed() {
        let pending = state.withLock { state -> [(question: Question, promise: EventLoopPromise<Message>)] in
            state.channel = nil
            defer { state.pending = [:] }
            return Array(state.pending.values)
        }
        for entry in pending { entry.promise.fail(ChannelError.eof) }
    }

    private func finish(_ id: UInt16, with result: Result<Message, Error>) {
        guard let entry = state.withLock({ $0.pending.removeValue(forKey: id) }) else { return }
        entry.promise.completeWith(result)
    }

    private final class ReplyHandler: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        let connection: UpstreamTCPConnection

        init(connection: UpstreamTCPConnection) {
            self.connection = connection
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            connection.received(Self.unwrapInboundIn(data))
        }

        func channelInactive(context: ChannelHandlerContext) {
            connection.closed()
            context.fireChannelInactive()
        }

        func errorCaught(context: ChannelHandlerContext, error: Error) {
            context.close(promise: nil)
        }
    }
}
