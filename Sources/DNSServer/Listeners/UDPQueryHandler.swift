import DNSPipeline
import NIOCore

/// Answers each datagram through the pipeline. One handler per UDP channel, so the response buffer is reused
/// across queries without locking.
final class UDPQueryHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>

    private let processor: QueryProcessor
    private let forwarder: UpstreamForwarder?
    private let counters: QueryCounters?
    private var response: [UInt8] = []
    private var facts = QueryFacts()

    init(processor: QueryProcessor, forwarder: UpstreamForwarder? = nil, counters: QueryCounters? = nil) {
        self.processor = processor
        self.forwarder = forwarder
        self.counters = counters
        response.reserveCapacity(4096)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = Self.unwrapInboundIn(data)
        guard let address = ClientAddress(envelope.remoteAddress) else { return }
        let start = NIODeadline.now()
        let client = ClientContext(address: address, transport: .udp)
        let outcome = envelope.data.withUnsafeReadableBytes { query in
            processor.process(query, client: client, into: &response, facts: &facts)
        }
        counters?.countRequest(transport: 0, facts: facts)
        if case .forward(let plan) = outcome, let forwarder {
            let channel = context.channel
            let remote = envelope.remoteAddress
            let counters = self.counters
            forwarder.forward(Array(buffer: envelope.data), rule: plan.rule, overTCP: false) { response in
                counters?.countResponse(headerRCode: response[3], extended: 0)
                counters?.observe(nanoseconds: TCPQueryHandler.nanoseconds(since: start), count: 1)
                let buffer = channel.allocator.buffer(bytes: response)
                channel.writeAndFlush(AddressedEnvelope(remoteAddress: remote, data: buffer), promise: nil)
            }
            return
        }
        guard outcome == .respond else { return }
        counters?.countResponse(headerRCode: response[3], extended: facts.extendedRCode)
        counters?.observe(nanoseconds: TCPQueryHandler.nanoseconds(since: start), count: 1)
        var buffer = context.channel.allocator.buffer(capacity: response.count)
        buffer.writeBytes(response)
        context.write(
            Self.wrapOutboundOut(AddressedEnvelope(remoteAddress: envelope.remoteAddress, data: buffer)), promise: nil)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
    }

    /// A send error (an ICMP port unreachable reported on the next call, say) concerns one client only: the
    /// listening socket stays open.
    func errorCaught(context: ChannelHandlerContext, error: Error) {}
}
