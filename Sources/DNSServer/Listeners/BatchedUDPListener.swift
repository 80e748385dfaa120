#if os(Linux)
import CSocketBatch
import DNSPipeline
import Glibc
import Synchronization

/// The UDP fast path of DESIGN.md section 7: one thread per socket receives up to `batchSize` queries with
/// one recvmmsg, answers each through the pipeline into a preallocated slot, and sends the answers with one
/// sendmmsg. The kernel's per-call cost dominates small queries, so batching is the win; a NIO datagram
/// pipeline measured 1.7–2.3× the floor responder before doing any DNS work.
///
/// Nothing is allocated per query: the slots, their buffers and the pipeline's response buffer are made once.
/// Each listener counts into a `QueryCounters` block only its thread writes (forwarded replies, sent from NIO's
/// threads, count into the shared block).
final class BatchedUDPListener: Sendable {
    static let batchSize = 32
    /// Large enough for any query; the EDNS payload we accept is capped at 4096 too (limits.udpPayload).
    static let slotSize = 4096

    let descriptor: Int32
    let port: Int
    private let processor: QueryProcessor
    private let forwarder: UpstreamForwarder?
    private let counters: QueryCounters
    private let sharedCounters: QueryCounters?
    private let queryLog: QueryLog?
    private let stopping = Atomic<Bool>(false)
    private let thread = Mutex<pthread_t?>(nil)
    /// Whether the socket is still open: a forwarded reply is sent under this lock, and `close` takes it, so a
    /// late reply can never reach a descriptor number the kernel has handed to something else.
    private let open = Mutex<Bool>(true)
    /// Forwarded queries whose replies have not been sent yet; `drain` waits for them.
    private let pendingForwards = Atomic<Int>(0)

    /// Binds the socket; `start()` begins serving. `metrics` gives the thread its own counter block, labelled
    /// with the bound address and `worker`. With `reusePort`, the socket joins the others bound to the same
    /// address with SO_REUSEPORT, and the kernel spreads clients over them by a hash of their address and port:
    /// several workers serve one address, each thread with its own socket, buffers and counters.
    init(
        address: ListenAddress, processor: QueryProcessor, forwarder: UpstreamForwarder? = nil,
        metrics: QueryMetrics? = nil, queryLog: QueryLog? = nil, worker: Int = 0, reusePort: Bool = false
    ) throws {
        self.processor = processor
        self.queryLog = queryLog
        self.forwarder = forwarder
        sharedCounters = metrics?.shared
        (descriptor, port) = try Self.bindSocket(address, reusePort: reusePort)
        // Room for bursts while a batch is being answered (the kernel caps it at net.core.rmem_max/wmem_max),
        // as Knot and Unbound do with their so-rcvbuf settings.
        var buffer: Int32 = 4 << 20
        setsockopt(descriptor, SOL_SOCKET, SO_RCVBUF, &buffer, socklen_t(MemoryLayout<Int32>.size))
        setsockopt(descriptor, SOL_SOCKET, SO_SNDBUF, &buffer, socklen_t(MemoryLayout<Int32>.size))
        // A receive timeout lets the loop notice `stop()` without a signal or a wake-up datagram.
        var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let bound = ListenAddress(host: address.host, port: port)
        counters =
            metrics?.makeThreadCounters(listen: bound.description, worker: worker) ?? QueryCounters(concurrent: false)
    }

    /// A port on `address` that no socket holds, bound and released at once, for a group of SO_REUSEPORT
    /// workers to bind together. A socket without SO_REUSEPORT cannot join another server's group, so this fails
    /// with "address in use" where the group's own bind would silently share the port with that server. With
    /// port 0, the port the kernel picked.
    static func reservePort(_ address: ListenAddress) throws -> Int {
        let (descriptor, port) = try bindSocket(address, reusePort: false)
        close(descriptor)
        return port
    }

    /// A UDP socket bound to `address`, and its port.
    private static func bindSocket(_ address: ListenAddress, reusePort: Bool) throws -> (Int32, Int) {
        let (socketAddress, length, family) = try socketAddress(address)
        let descriptor = socket(family, Int32(SOCK_DGRAM.rawValue), 0)
        guard descriptor >= 0 else { throw ListenerError.system("socket", errno) }
        // No SO_REUSEADDR: on UDP it lets a second socket bind a port that another has bound with it too, and the
        // two servers then split or steal each other's queries without a word. (UDP has no TIME_WAIT to wait out.)
        var one: Int32 = 1
        if reusePort {
            setsockopt(descriptor, SOL_SOCKET, SO_REUSEPORT, &one, socklen_t(MemoryLayout<Int32>.size))
        }
        var storage = socketAddress
        let bound = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(descriptor, $0, length) }
        }
        guard bound == 0 else {
            let error = errno
            close(descriptor)
            throw ListenerError.system("bind \(address)", error)
        }
        var local = sockaddr_storage()
        var localLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &local) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &localLength) }
        }
        return (descriptor, port(of: local))
    }

    /// Starts the serving thread.
    func start() throws {
        let context = Unmanaged.passRetained(self).toOpaque()
        var handle = pthread_t()
        let result = pthread_create(&handle, nil, batchedUDPListenerMain, context)
        guard result == 0 else {
            Unmanaged<BatchedUDPListener>.fromOpaque(context).release()
            throw ListenerError.system("pthread_create", result)
        }
        thread.withLock { $0 = handle }
    }

    /// Stops the loop (within the receive timeout), waits for the thread and closes the socket.
    func stop() {
        stopReceiving()
        closeSocket()
    }

    /// Stops reading queries, waits up to `bound` for the replies of forwarded queries already read, then
    /// closes the socket: a query that was read gets its answer.
    func drain(within bound: Duration) async {
        stopReceiving()
        let deadline = ContinuousClock.now + bound
        while pendingForwards.load(ordering: .relaxed) > 0 && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
        closeSocket()
    }

    private func stopReceiving() {
        stopping.store(true, ordering: .relaxed)
        if let handle = thread.withLock({ thread -> pthread_t? in
            defer { thread = nil }
            return thread
        }) {
            pthread_join(handle, nil)
        }
    }

    private func closeSocket() {
        open.withLock { open in
            guard open else { return }
            open = false
            close(descriptor)
        }
    }

    /// The loop the thread runs until `stop()`.
    fileprivate func serve() {
        let size = Self.slotSize
        let batch = Self.batchSize
        let queries = UnsafeMutableRawPointer.allocate(byteCount: size * batch, alignment: 16)
        let answers = UnsafeMutableRawPointer.allocate(byteCount: size * batch, alignment: 16)
        let incoming = UnsafeMutablePointer<scdns_datagram>.allocate(capacity: batch)
        let outgoing = UnsafeMutablePointer<scdns_datagram>.allocate(capacity: batch)
        for index in 0..<batch {
            incoming[index].buffer = queries + index * size
            incoming[index].length = size
        }
        // recvmmsg's headers, built once over these slots (20 KiB: like the allocations above, it cannot fail
        // short of the process being out of memory).
        guard let receiver = scdns_receiver_create(incoming, UInt32(batch)) else {
            fatalError("out of memory for the UDP receive headers")
        }
        defer {
            scdns_receiver_destroy(receiver)
            queries.deallocate()
            answers.deallocate()
            incoming.deallocate()
            outgoing.deallocate()
        }
        var response: [UInt8] = []
        response.reserveCapacity(size)
        var facts = QueryFacts()
        let counters = self.counters.owned
        // This thread's own reference to the serving snapshot, refreshed once per batch: no lock per query, and
        // an old snapshot is let go within one receive timeout even while no query comes.
        var hold = processor.hold()
        // The sampled query log's one-in-N, counted down on this thread alone. Off, it starts at 0 and only goes
        // further below, so it costs one decrement and one compare per query.
        let logEvery = queryLog?.every ?? 0
        var countdown = logEvery
        while !stopping.load(ordering: .relaxed) {
            let received = scdns_receiver_receive(receiver, descriptor, Int32(MSG_WAITFORONE))
            processor.refresh(&hold)
            guard received > 0 else { continue }  // timeout (EAGAIN) or EINTR: check `stopping` and go on
            let start = monotonicNanoseconds()
            var count = 0
            for index in 0..<Int(received) {
                guard let client = Self.clientAddress(incoming[index].address) else { continue }
                let query = UnsafeRawBufferPointer(start: incoming[index].buffer, count: incoming[index].length)
                let outcome = processor.process(
                    query, client: ClientContext(address: client, transport: .udp), hold: hold, into: &response,
                    facts: &facts)
                counters.countRequest(transport: 0, facts: facts)
                countdown &-= 1
                let sampled = countdown == 0
                if sampled { countdown = logEvery }
                if case .forward(let plan) = outcome {
                    forward(
                        Array(query), plan: plan, to: PeerAddress(incoming[index]), client: client, start: start,
                        logged: sampled)
                    continue
                }
                if sampled {
                    queryLog?.log(
                        query: query, response: outcome == .respond ? response : nil, client: client,
                        transport: "udp", nanoseconds: monotonicNanoseconds() &- start)
                }
                guard outcome == .respond, response.count <= size else { continue }
                counters.countResponse(headerRCode: response[3], extended: facts.extendedRCode)
                let slot = answers + count * size
                response.withUnsafeBytes { slot.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
                outgoing[count].buffer = slot
                outgoing[count].length = response.count
                outgoing[count].address = incoming[index].address
                outgoing[count].address_length = incoming[index].address_length
                count += 1
            }
            // One duration for the whole batch, from its receipt to its send: two clock reads per recvmmsg rather
            // than two per query, an upper bound for each query in it.
            if count > 0 { counters.observe(nanoseconds: monotonicNanoseconds() &- start, count: count) }
            var sent = 0
            while sent < count {
                let result = scdns_send_batch(descriptor, outgoing + sent, UInt32(count - sent), 0)
                // A datagram that cannot be sent (a vanished client's ICMP error, a full buffer) is dropped,
                // as any UDP answer may be; the rest of the batch still goes.
                sent += result > 0 ? Int(result) : 1
            }
        }
    }

    /// Hands a query to the upstream client; its answer is sent from whichever thread it completes on
    /// (sendto on one socket from several threads is safe), unless the socket has been closed by then.
    private func forward(
        _ query: [UInt8], plan: ForwardPlan, to peer: PeerAddress, client: ClientAddress, start: UInt64, logged: Bool
    ) {
        guard let forwarder else { return }
        pendingForwards.wrappingAdd(1, ordering: .relaxed)
        forwarder.forward(query, rule: plan.rule, overTCP: false) { [self] response in
            defer { pendingForwards.wrappingSubtract(1, ordering: .relaxed) }
            open.withLock { open in
                guard open else { return }
                // A forwarded reply's RCODE is its header's: our query upstream carries EDNS version 0, so no
                // upstream has a reason to answer it with an extended RCODE.
                sharedCounters?.countResponse(headerRCode: response[3], extended: 0)
                sharedCounters?.observe(nanoseconds: monotonicNanoseconds() &- start, count: 1)
                if logged {
                    query.withUnsafeBytes {
                        queryLog?.log(
                            query: $0, response: response, client: client, transport: "udp",
                            nanoseconds: monotonicNanoseconds() &- start)
                    }
                }
                var address = peer.storage
                _ = withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        sendto(descriptor, response, response.count, 0, $0, peer.length)
                    }
                }
            }
        }
    }

    private static func clientAddress(_ storage: sockaddr_storage) -> ClientAddress? {
        var storage = storage
        switch Int32(storage.ss_family) {
        case AF_INET:
            return withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) {
                    ClientAddress.v4(UInt32(bigEndian: $0.pointee.sin_addr.s_addr))
                }
            }
        case AF_INET6:
            return withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { pointer in
                    var address = pointer.pointee.sin6_addr
                    return withUnsafeBytes(of: &address) { raw in
                        ClientAddress(
                            ipv6High: raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self).bigEndian,
                            low: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self).bigEndian)
                    }
                }
            }
        default:
            return nil
        }
    }

    private static func socketAddress(_ address: ListenAddress) throws -> (sockaddr_storage, socklen_t, Int32) {
        var storage = sockaddr_storage()
        if address.host.contains(":") {
            var v6 = sockaddr_in6()
            v6.sin6_family = sa_family_t(AF_INET6)
            v6.sin6_port = in_port_t(UInt16(address.port).bigEndian)
            guard inet_pton(AF_INET6, address.host, &v6.sin6_addr) == 1 else {
                throw ListenerError.badAddress(address.description)
            }
            withUnsafeBytes(of: v6) { source in
                withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: source) }
            }
            return (storage, socklen_t(MemoryLayout<sockaddr_in6>.size), AF_INET6)
        }
        var v4 = sockaddr_in()
        v4.sin_family = sa_family_t(AF_INET)
        v4.sin_port = in_port_t(UInt16(address.port).bigEndian)
        guard inet_pton(AF_INET, address.host, &v4.sin_addr) == 1 else {
            throw ListenerError.badAddress(address.description)
        }
        withUnsafeBytes(of: v4) { source in
            withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: source) }
        }
        return (storage, socklen_t(MemoryLayout<sockaddr_in>.size), AF_INET)
    }

    private static func port(of storage: sockaddr_storage) -> Int {
        var storage = storage
        return withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin_port)) }
        }
    }
}

/// The thread entry point: a global function, since a closure formed in top-level code would be
/// main-actor isolated and trap when run on another thread (DESIGN.md section 7).
private func batchedUDPListenerMain(_ context: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    let listener = Unmanaged<BatchedUDPListener>.fromOpaque(context!).takeRetainedValue()
    listener.serve()
    return nil
}

/// CLOCK_MONOTONIC in nanoseconds (the vDSO: no system call).
@inline(__always)
private func monotonicNanoseconds() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) &* 1_000_000_000 &+ UInt64(now.tv_nsec)
}

/// A client's socket address carried to another thread with its answer.
private struct PeerAddress: @unchecked Sendable {
    var storage: sockaddr_storage
    var length: socklen_t

    init(_ datagram: scdns_datagram) {
        storage = datagram.address
        length = datagram.address_length
    }
}

/// Why a listener could not start.
enum ListenerError: Error, CustomStringConvertible {
    case system(String, Int32)
    case badAddress(String)

    var description: String {
        switch self {
        case .system(let call, let code): return "\(call): \(String(cString: strerror(code)))"
        case .badAddress(let text): return "'\(text)' is not a literal IPv4 or IPv6 address"
        }
    }
}
#endif
