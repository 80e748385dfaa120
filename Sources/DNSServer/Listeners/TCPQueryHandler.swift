import DNSPipeline
import NIOCore

/// Answers each framed query on a TCP connection, in arrival order; pipelined queries are all answered
/// (RFC 7766 6.2.1.1). A connection idle for `limits.tcpIdle` is closed by the IdleStateHandler's event.
final class TCPQueryHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let processor: QueryProcessor
    private let forwarder: UpstreamForwarder?
    private var response: [UInt8] = []

    init(processor: QueryProcessor, forwarder: UpstreamForwarder? = nil) {
        self.processor = processor
        self.forwarder = forwarder
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let query = Self.unwrapInboundIn(data)
        guard let remote = context.remoteAddress, let address = ClientAddress(remote) else {
            context.close(promise: nil)
            return
        }
        let client = ClientContext(address: address, transport: .tcp)
        let outcome = query.withUnsafeReadableBytes { bytes in
            processor.process(bytes, client: client, into: &response)
        }
        if case .forward(let plan) = outcome, let forwarder {
            // The answer may come after later pipelined queries' answers: RFC 7766 7 allows it.
            let channel = context.channel
            forwarder.forward(Array(buffer: query), rule: plan.rule, overTCP: true) { response in
                var buffer = channel.allocator.buffer(capacity: response.count + 2)
                buffer.writeInteger(UInt16(response.count))
                buffer.writeBytes(response)
                channel.writeAndFlush(buffer, promise: nil)
            }
            return
        }
        guard outcome == .respond else { return }
        var buffer = context.channel.allocator.buffer(capacity: response.count + 2)
        buffer.writeInteger(UInt16(response.count))
        buffer.writeBytes(response)
        context.write(Self.wrapOutboundOut(buffer), promise: nil)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}
