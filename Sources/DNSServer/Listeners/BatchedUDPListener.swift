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
final class BatchedUDPListener: Sendable {
    static let batchSize = 32
    /// Large enough for any query; the EDNS payload we accept is capped at 4096 too (limits.udpPayload).
    static let slotSize = 4096

    let descriptor: Int32
    let port: Int
    private let processor: QueryProcessor
    private let forwarder: UpstreamForwarder?
    private let stopping = Atomic<Bool>(false)
    private let thread = Mutex<pthread_t?>(nil)

    /// Binds the socket; `start()` begins serving.
    init(address: ListenAddress, processor: QueryProcessor, forwarder: UpstreamForwarder? = nil) throws {
        self.processor = processor
        self.forwarder = forwarder
        let (socketAddress, length, family) = try Self.socketAddress(address)
        let descriptor = socket(family, Int32(SOCK_DGRAM.rawValue), 0)
        guard descriptor >= 0 else { throw ListenerError.system("socket", errno) }
        var one: Int32 = 1
        setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        // Room for bursts while a batch is being answered (the kernel caps it at net.core.rmem_max/wmem_max),
        // as Knot and Unbound do with their so-rcvbuf settings.
        var buffer: Int32 = 4 << 20
        setsockopt(descriptor, SOL_SOCKET, SO_RCVBUF, &buffer, socklen_t(MemoryLayout<Int32>.size))
        setsockopt(descriptor, SOL_SOCKET, SO_SNDBUF, &buffer, socklen_t(MemoryLayout<Int32>.size))
        // A receive timeout lets the loop notice `stop()` without a signal or a wake-up datagram.
        var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
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
        self.descriptor = descriptor
        self.port = Self.port(of: local)
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
        stopping.store(true, ordering: .relaxed)
        if let handle = thread.withLock({ thread -> pthread_t? in
            defer { thread = nil }
            return thread
        }) {
            pthread_join(handle, nil)
        }
        close(descriptor)
    }

    /// The loop the thread runs until `stop()`.
    fileprivate func serve() {
        let size = Self.slotSize
        let batch = Self.batchSize
        let queries = UnsafeMutableRawPointer.allocate(byteCount: size * batch, alignment: 16)
        let answers = UnsafeMutableRawPointer.allocate(byteCount: size * batch, alignment: 16)
        let incoming = UnsafeMutablePointer<scdns_datagram>.allocate(capacity: batch)
        let outgoing = UnsafeMutablePointer<scdns_datagram>.allocate(capacity: batch)
        defer {
            queries.deallocate()
            answers.deallocate()
            incoming.deallocate()
            outgoing.deallocate()
        }
        var response: [UInt8] = []
        response.reserveCapacity(size)
        while !stopping.load(ordering: .relaxed) {
            for index in 0..<batch {
                incoming[index].buffer = queries + index * size
                incoming[index].length = size
            }
            let received = scdns_recv_batch(descriptor, incoming, UInt32(batch), Int32(MSG_WAITFORONE))
            guard received > 0 else { continue }  // timeout (EAGAIN) or EINTR: check `stopping` and go on
            var count = 0
            for index in 0..<Int(received) {
                guard let client = Self.clientAddress(incoming[index].address) else { continue }
                let query = UnsafeRawBufferPointer(start: incoming[index].buffer, count: incoming[index].length)
                let outcome = processor.process(
                    query, client: ClientContext(address: client, transport: .udp), into: &response)
                if case .forward(let plan) = outcome {
                    forward(Array(query), plan: plan, to: PeerAddress(incoming[index]))
                    continue
                }
                guard outcome == .respond, response.count <= size else { continue }
                let slot = answers + count * size
                response.withUnsafeBytes { slot.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
                outgoing[count].buffer = slot
                outgoing[count].length = response.count
                outgoing[count].address = incoming[index].address
                outgoing[count].address_length = incoming[index].address_length
                count += 1
            }
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
    /// (sendto on one socket from several threads is safe), unless the listener has stopped by then.
    private func forward(_ query: [UInt8], plan: ForwardPlan, to peer: PeerAddress) {
        guard let forwarder else { return }
        forwarder.forward(query, rule: plan.rule, overTCP: false) { [self] response in
            guard !stopping.load(ordering: .relaxed) else { return }
            var address = peer.storage
            _ = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(descriptor, response, response.count, 0, $0, peer.length)
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
