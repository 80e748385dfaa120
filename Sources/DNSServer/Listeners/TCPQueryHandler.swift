import DNSPipeline
import NIOCore

/// Answers each framed query on a TCP connection, in arrival order; pipelined queries are all answered
/// (RFC 7766 6.2.1.1).
///
/// What one connection can hold is bounded. Idle time counts from the last complete message (RFC 7766 6.2.3),
/// not the last octet, so a client trickling a message one octet at a time is closed after `limits.tcpIdle`
/// like a silent one. A client that sends and does not read is not read from while its answers cannot be
/// written (backpressure), and is closed once `maxBufferedBytes` of answers wait for it.
///
/// At shutdown the listener sends `Drain`: the connection stops reading, answers what it has read (forwarded
/// queries included, when their replies come) and then closes, so no query a client got read is lost.
final class TCPQueryHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Stop reading, finish what was read, close.
    struct Drain {}

    private let processor: QueryProcessor
    private let forwarder: UpstreamForwarder?
    private let counters: QueryCounters?
    private let queryLog: QueryLog?
    private var response: [UInt8] = []
    private var facts = QueryFacts()
    /// Forwarded queries whose replies have not been written yet.
    private var pendingForwards = 0
    private var draining = false
    /// `limits.tcpIdle`, and when the last complete message arrived (or the connection opened).
    private let idle: TimeAmount
    private var lastMessage = NIODeadline.uptimeNanoseconds(0)
    private var idleTimer: Scheduled<Void>?
    /// True while the client's answers cannot be written, and so nothing more is read from it.
    private(set) var readingPaused = false
    /// Answers waiting to be written past this and the client is not reading: the connection is closed.
    let maxBufferedBytes: Int

    init(
        processor: QueryProcessor, forwarder: UpstreamForwarder? = nil, counters: QueryCounters? = nil,
        queryLog: QueryLog? = nil, idle: TimeAmount = .seconds(10), maxBufferedBytes: Int = 1 << 20
    ) {
        self.processor = processor
        self.queryLog = queryLog
        self.forwarder = forwarder
        self.counters = counters
        self.idle = idle
        self.maxBufferedBytes = maxBufferedBytes
    }

    func handlerAdded(context: ChannelHandlerContext) {
        lastMessage = context.eventLoop.now
        scheduleIdleCheck(context: context, at: lastMessage + idle)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        idleTimer?.cancel()
        idleTimer = nil
    }

    /// One timer per connection, not one per message: when it fires it closes the connection if no complete
    /// message came for `idle` (and no forwarded answer is owed), else it is set again for the time left.
    private func scheduleIdleCheck(context: ChannelHandlerContext, at deadline: NIODeadline) {
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        idleTimer = context.eventLoop.scheduleTask(deadline: deadline) {
            let (handler, context) = loopBound.value
            let due = handler.lastMessage + handler.idle
            let now = context.eventLoop.now
            if now >= due && handler.pendingForwards == 0 {
                context.close(promise: nil)
            } else {
                // While a forwarded answer is owed, look again a tenth of the idle time later.
                let later = now + .nanoseconds(handler.idle.nanoseconds / 10)
                handler.scheduleIdleCheck(context: context, at: max(due, later))
            }
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        // Backpressure: read nothing more from a client while its answers cannot be written.
        if !draining {
            readingPaused = !context.channel.isWritable
            context.channel.setOption(.autoRead, value: !readingPaused).whenComplete { _ in }
        }
        context.fireChannelWritabilityChanged()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let query = Self.unwrapInboundIn(data)
        lastMessage = context.eventLoop.now
        guard let remote = context.remoteAddress, let address = ClientAddress(remote) else {
            context.close(promise: nil)
            return
        }
        let start = NIODeadline.now()
        let client = ClientContext(address: address, transport: .tcp)
        let outcome = query.withUnsafeReadableBytes { bytes in
            processor.process(bytes, client: client, into: &response, facts: &facts)
        }
        counters?.countRequest(transport: 1, facts: facts)
        let queryLog = self.queryLog.flatMap { $0.sample() ? $0 : nil }
        if case .forward(let plan) = outcome, let forwarder {
            // The answer may come after later pipelined queries' answers: RFC 7766 7 allows it.
            let channel = context.channel
            let counters = self.counters
            pendingForwards += 1
            let bytes = Array(buffer: query)
            forwarder.forward(bytes, rule: plan.rule, overTCP: true) { response in
                counters?.countResponse(headerRCode: response[3], extended: 0)
                counters?.observe(nanoseconds: Self.nanoseconds(since: start), count: 1)
                bytes.withUnsafeBytes {
                    queryLog?.log(
                        query: $0, response: response, client: address, transport: "tcp",
                        nanoseconds: Self.nanoseconds(since: start))
                }
                var buffer = channel.allocator.buffer(capacity: response.count + 2)
                buffer.writeInteger(UInt16(response.count))
                buffer.writeBytes(response)
                channel.writeAndFlush(buffer, promise: nil)
                channel.pipeline.fireUserInboundEventTriggered(ForwardDone())
            }
            return
        }
        if let queryLog {
            query.withUnsafeReadableBytes {
                queryLog.log(
                    query: $0, response: outcome == .respond ? response : nil, client: address, transport: "tcp",
                    nanoseconds: Self.nanoseconds(since: start))
            }
        }
        guard outcome == .respond else { return }
        counters?.countResponse(headerRCode: response[3], extended: facts.extendedRCode)
        counters?.observe(nanoseconds: Self.nanoseconds(since: start), count: 1)
        var buffer = context.channel.allocator.buffer(capacity: response.count + 2)
        buffer.writeInteger(UInt16(response.count))
        buffer.writeBytes(response)
        context.write(Self.wrapOutboundOut(buffer), promise: nil)
        // The queries of one read are answered before backpressure can stop the next read: past the cap, a
        // client that does not read its answers loses the connection rather than grow our memory.
        if let buffered = try? context.channel.syncOptions?.getOption(.bufferedWritableBytes),
            buffered > maxBufferedBytes
        {
            context.close(promise: nil)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case is Drain:
            draining = true
            context.channel.setOption(.autoRead, value: false).whenComplete { _ in }
            closeIfDrained(context: context)
        case is ForwardDone:
            pendingForwards -= 1
            closeIfDrained(context: context)
        default:
            context.fireUserInboundEventTriggered(event)
        }
    }

    private func closeIfDrained(context: ChannelHandlerContext) {
        guard draining, pendingForwards == 0 else { return }
        context.flush()
        context.close(promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }

    /// A forwarded reply was written (sent through the pipeline, so the count changes on the channel's loop).
    private struct ForwardDone {}

    static func nanoseconds(since start: NIODeadline) -> UInt64 {
        UInt64(max(0, (NIODeadline.now() - start).nanoseconds))
    }
}
