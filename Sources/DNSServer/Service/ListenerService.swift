import DNSPipeline
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization

/// Binds UDP and TCP on every `listen` address and serves until graceful shutdown (SIGTERM, SIGINT).
///
/// Shutdown is CoreDNS's lame duck: `/ready` turns 503 at once (`ServerState.enterLameDuck`) while queries are
/// still answered for `lameDuck`, so a load balancer stops sending before anything closes; then the listeners
/// stop reading, every query already read is answered (forwarded ones included, for up to `drainBound`), and
/// the sockets close.
struct ListenerService: ServiceLifecycle.Service {
    let addresses: [ListenAddress]
    let processor: QueryProcessor
    let forwarder: UpstreamForwarder?
    let tcpConnections: Int
    /// `limits.tcpPerClient`: TCP connections one client (an IPv4 address, an IPv6 /64) may hold.
    var tcpPerClient: Int = 64
    let tcpIdle: Duration
    let group: MultiThreadedEventLoopGroup
    /// `workers`: UDP threads per listen address, each on its own SO_REUSEPORT socket (Linux; elsewhere UDP is
    /// one NIO channel per address).
    var workers: Int = 1
    var metrics: QueryMetrics? = nil
    var state: ServerState? = nil
    var lameDuck: Duration = .zero
    /// How long shutdown waits for replies owed to clients: the longest forward timeout and a margin.
    var drainBound: Duration = .seconds(3)
    /// The sampled query log, when `queryLog` is on.
    var queryLog: QueryLog? = nil
    let logger: Logger

    func run() async throws {
        var servers: [Channel] = []
        let connections = OpenConnections()
        // One count for every listener: more listen addresses do not multiply `limits.tcpConnections`.
        let limits = TCPConnectionLimits(total: tcpConnections, perClient: tcpPerClient)
        #if os(Linux)
        var batched: [BatchedUDPListener] = []
        #endif
        func closeAll() async {
            for channel in servers { try? await channel.close() }
            #if os(Linux)
            for listener in batched { listener.stop() }
            #endif
        }
        do {
            for address in addresses {
                // UDP first: with port 0 the kernel picks one, and TCP is then bound to the same port. That port
                // can be in use for TCP (another socket's ephemeral port): then both are tried again on another.
                var attempt = 0
                while true {
                    attempt += 1
                    #if os(Linux)
                    // The batched recvmmsg/sendmmsg loop (DESIGN.md section 7); TCP stays on NIO.
                    let workerGroup = try startUDPWorkers(address)
                    let port = workerGroup[0].port
                    #else
                    let udp = try await bindUDP(address)
                    let port = udp.localAddress?.port ?? address.port
                    #endif
                    let tcp: Channel
                    do {
                        tcp = try await bindTCP(
                            ListenAddress(host: address.host, port: port), connections: connections, limits: limits)
                    } catch let error as IOError where error.errnoCode == EADDRINUSE && address.port == 0 && attempt < 8
                    {
                        #if os(Linux)
                        for listener in workerGroup { listener.stop() }
                        #else
                        try? await udp.close()
                        #endif
                        continue
                    }
                    #if os(Linux)
                    batched += workerGroup
                    #else
                    servers.append(udp)
                    #endif
                    servers.append(tcp)
                    logger.info(
                        "listening",
                        metadata: [
                            "address": "\(ListenAddress(host: address.host, port: port))", "workers": "\(workers)",
                        ])
                    break
                }
            }
        } catch {
            await closeAll()
            throw error
        }
        state?.startedListening()
        if let forwarder {
            // Only now can a probe that loops come back to us.
            Task { await forwarder.probeForLoops() }
        }
        try? await gracefulShutdown()
        state?.enterLameDuck()
        if lameDuck > .zero {
            logger.notice("lame duck: /ready answers 503, queries are still answered", metadata: ["for": "\(lameDuck)"])
            try? await Task.sleep(for: lameDuck)
        }
        logger.info("shutting down: answering the queries already read, then closing")
        for channel in servers { try? await channel.close() }
        let drainBound = self.drainBound
        await withTaskGroup(of: Void.self) { drains in
            #if os(Linux)
            for listener in batched { drains.addTask { await listener.drain(within: drainBound) } }
            #endif
            drains.addTask { await connections.drain(within: drainBound) }
        }
    }

    #if os(Linux)
    /// `workers` UDP threads serving `address`, started. One binds as before; several first reserve the port
    /// (`BatchedUDPListener.reservePort`: a port another server holds is refused, not shared) and then bind it
    /// together with SO_REUSEPORT.
    private func startUDPWorkers(_ address: ListenAddress) throws -> [BatchedUDPListener] {
        var listeners: [BatchedUDPListener] = []
        do {
            let shared =
                workers > 1
                ? ListenAddress(host: address.host, port: try BatchedUDPListener.reservePort(address)) : address
            for worker in 0..<workers {
                let listener = try BatchedUDPListener(
                    address: shared, processor: processor, forwarder: forwarder, metrics: metrics, queryLog: queryLog,
                    worker: worker, reusePort: workers > 1)
                listeners.append(listener)
                try listener.start()
            }
        } catch {
            for listener in listeners { listener.stop() }
            throw error
        }
        return listeners
    }
    #endif

    private func bindUDP(_ address: ListenAddress) async throws -> Channel {
        let processor = self.processor
        let forwarder = self.forwarder
        let counters = metrics?.shared
        return try await DatagramBootstrap(group: group)
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            // Read up to 32 datagrams per system call: the kernel's per-call cost dominates small queries.
            .channelOption(.datagramVectorReadMessageCount, value: 32)
            .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: 4096))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        UDPQueryHandler(processor: processor, forwarder: forwarder, counters: counters))
                }
            }
            .bind(host: address.host, port: address.port).get()
    }

    private func bindTCP(
        _ address: ListenAddress, connections: OpenConnections, limits: TCPConnectionLimits
    ) async throws -> Channel {
        let processor = self.processor
        let forwarder = self.forwarder
        let counters = metrics?.shared
        let queryLog = self.queryLog
        let idle = TimeAmount(tcpIdle)
        let logger = self.logger
        return try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                // Over a limit, a new connection is closed at once: clients retry or fall back, and the
                // connections already open keep being served.
                guard let remote = channel.remoteAddress, let client = ClientAddress(remote) else {
                    return channel.close()
                }
                if let refusal = limits.acquire(client) {
                    logger.debug(
                        "tcp connection refused",
                        metadata: [
                            "client": "\(remote)",
                            "limit": refusal == .total
                                ? "tcpConnections \(limits.total)" : "tcpPerClient \(limits.perClient)",
                        ])
                    return channel.close()
                }
                connections.insert(channel)
                channel.closeFuture.whenComplete { _ in
                    limits.release(client)
                    connections.remove(channel)
                }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(TCPFrameDecoder()))
                    try channel.pipeline.syncOperations.addHandler(
                        TCPQueryHandler(
                            processor: processor, forwarder: forwarder, counters: counters, queryLog: queryLog,
                            idle: idle))
                }
            }
            .bind(host: address.host, port: address.port).get()
    }
}

/// The accepted TCP connections of every listener, so shutdown can drain each one.
final class OpenConnections: Sendable {
    private let channels = Mutex<[ObjectIdentifier: any Channel]>([:])

    func insert(_ channel: any Channel) {
        channels.withLock { $0[ObjectIdentifier(channel)] = channel }
    }

    func remove(_ channel: any Channel) {
        _ = channels.withLock { $0.removeValue(forKey: ObjectIdentifier(channel)) }
    }

    /// Asks every connection to finish what it has read and close (`TCPQueryHandler.Drain`); those still open
    /// after `bound` are closed as they are.
    func drain(within bound: Duration) async {
        let open = channels.withLock { Array($0.values) }
        for channel in open { channel.pipeline.fireUserInboundEventTriggered(TCPQueryHandler.Drain()) }
        let closing = open.map { channel in
            Task {
                let timeout = channel.eventLoop.scheduleTask(in: TimeAmount(bound)) { channel.close(promise: nil) }
                try? await channel.closeFuture.get()
                timeout.cancel()
            }
        }
        for task in closing { await task.value }
    }
}
