import DNSPipeline
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization

/// Binds UDP and TCP on every `listen` address and serves until graceful shutdown (SIGTERM, SIGINT).
struct ListenerService: ServiceLifecycle.Service {
    let addresses: [ListenAddress]
    let processor: QueryProcessor
    let forwarder: UpstreamForwarder?
    let tcpConnections: Int
    let tcpIdle: Duration
    let group: MultiThreadedEventLoopGroup
    let logger: Logger

    func run() async throws {
        var channels: [Channel] = []
        #if os(Linux)
        var batched: [BatchedUDPListener] = []
        #endif
        func closeAll() async {
            for channel in channels { try? await channel.close() }
            #if os(Linux)
            for listener in batched { listener.stop() }
            #endif
        }
        do {
            for address in addresses {
                // UDP first: with port 0 the kernel picks one, and TCP is then bound to the same port.
                #if os(Linux)
                // The batched recvmmsg/sendmmsg loop (DESIGN.md section 7); TCP stays on NIO.
                let listener = try BatchedUDPListener(address: address, processor: processor, forwarder: forwarder)
                batched.append(listener)
                try listener.start()
                let port = listener.port
                #else
                let udp = try await bindUDP(address)
                channels.append(udp)
                let port = udp.localAddress?.port ?? address.port
                #endif
                let tcp = try await bindTCP(ListenAddress(host: address.host, port: port))
                channels.append(tcp)
                logger.info("listening", metadata: ["address": "\(ListenAddress(host: address.host, port: port))"])
            }
        } catch {
            await closeAll()
            throw error
        }
        if let forwarder {
            // Only now can a probe that loops come back to us.
            Task { await forwarder.probeForLoops() }
        }
        try? await gracefulShutdown()
        logger.info("shutting down")
        await closeAll()
    }

    private func bindUDP(_ address: ListenAddress) async throws -> Channel {
        let processor = self.processor
        let forwarder = self.forwarder
        return try await DatagramBootstrap(group: group)
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            // Read up to 32 datagrams per system call: the kernel's per-call cost dominates small queries.
            .channelOption(.datagramVectorReadMessageCount, value: 32)
            .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: 4096))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        UDPQueryHandler(processor: processor, forwarder: forwarder))
                }
            }
            .bind(host: address.host, port: address.port).get()
    }

    private func bindTCP(_ address: ListenAddress) async throws -> Channel {
        let processor = self.processor
        let forwarder = self.forwarder
        let limit = tcpConnections
        let idle = TimeAmount(tcpIdle)
        let open = ConnectionCounter()
        let logger = self.logger
        return try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                // Over the limit, a new connection is closed at once: clients retry or fall back, and the
                // connections already open keep being served.
                guard open.acquire(limit: limit) else {
                    logger.debug("tcp connection limit reached", metadata: ["limit": "\(limit)"])
                    return channel.close()
                }
                channel.closeFuture.whenComplete { _ in open.release() }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(IdleStateHandler(readTimeout: idle))
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(TCPFrameDecoder()))
                    try channel.pipeline.syncOperations.addHandler(
                        TCPQueryHandler(processor: processor, forwarder: forwarder))
                }
            }
            .bind(host: address.host, port: address.port).get()
    }
}

/// Open TCP connections, shared by every accepted channel of one listener.
final class ConnectionCounter: Sendable {
    private let count = Atomic<Int>(0)

    func acquire(limit: Int) -> Bool {
        if count.wrappingAdd(1, ordering: .relaxed).newValue > limit {
            count.wrappingSubtract(1, ordering: .relaxed)
            return false
        }
        return true
    }

    func release() {
        count.wrappingSubtract(1, ordering: .relaxed)
    }
}
