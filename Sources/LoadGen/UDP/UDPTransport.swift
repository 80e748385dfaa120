import CSocketBatch
import Glibc

/// A connected UDP socket sending and receiving in batches with sendmmsg and recvmmsg (through CSocketBatch,
/// since Glibc does not expose them). Connected, so the kernel routes once and filters other sources.
struct UDPTransport: QueryTransport, ~Copyable {
    static let batchSize = 64
    /// Outgoing slots hold a query (at most `QueryTemplates.maxLength`); incoming ones any UDP answer we care for.
    static let outgoingSize = 512
    static let incomingSize = 4096
    static let blocksInReceive = true

    let descriptor: Int32
    private let outgoing: UnsafeMutablePointer<scdns_datagram>
    private let incoming: UnsafeMutablePointer<scdns_datagram>
    private let memory: UnsafeMutableRawPointer
    private var pending = 0
    private var received = 0

    /// Opens the socket and connects it to `server`. `receiveTimeout` bounds a waiting `receive` so the
    /// worker still checks its timeouts and its end when nothing comes back.
    static func open(_ server: ServerAddress, receiveTimeoutMicroseconds: Int = 50_000) throws(LoadGenError) -> Int32 {
        let descriptor = try server.connectedSocket(type: Int32(SOCK_DGRAM.rawValue))
        var size: Int32 = 4 << 20
        setsockopt(descriptor, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        setsockopt(descriptor, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        var timeout = timeval(tv_sec: 0, tv_usec: receiveTimeoutMicroseconds)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        return descriptor
    }

    /// Takes ownership of `descriptor`, a connected UDP socket.
    init(descriptor: Int32) {
        self.descriptor = descriptor
        let batch = Self.batchSize
        memory = .allocate(byteCount: batch * (Self.outgoingSize + Self.incomingSize), alignment: 64)
        outgoing = .allocate(capacity: batch)
        incoming = .allocate(capacity: batch)
        for index in 0..<batch {
            outgoing.advanced(by: index).initialize(to: scdns_datagram())
            outgoing[index].buffer = memory + index * Self.outgoingSize
            incoming.advanced(by: index).initialize(to: scdns_datagram())
            incoming[index].buffer = memory + batch * Self.outgoingSize + index * Self.incomingSize
            incoming[index].length = Self.incomingSize
        }
    }

    deinit {
        close(descriptor)
        memory.deallocate()
        outgoing.deallocate()
        incoming.deallocate()
    }

    var room: Int { Self.batchSize - pending }
    var hasPendingOutput: Bool { pending > 0 }
    var reconnects: Int { 0 }

    @inline(__always)
    mutating func append(_ query: UnsafeRawBufferPointer, id: UInt16) {
        let slot = outgoing.advanced(by: pending)
        let buffer = slot.pointee.buffer!
        buffer.copyMemory(from: query.baseAddress!, byteCount: query.count)
        buffer.storeBytes(of: id.bigEndian, as: UInt16.self)
        slot.pointee.length = query.count
        pending += 1
    }

    mutating func flush() throws(LoadGenError) {
        var sent = 0
        var retries = 0
        while sent < pending {
            let result = scdns_send_batch(descriptor, outgoing + sent, UInt32(pending - sent), Int32(MSG_DONTWAIT))
            if result > 0 {
                sent += Int(result)
                retries = 0
                continue
            }
            let code = errno
            if code == EAGAIN || code == EWOULDBLOCK || code == ENOBUFS {
                // The socket buffer is full: keep the rest, in order, for the next flush.
                shiftPending(by: sent)
                return
            }
            // EINTR, or ECONNREFUSED reporting an earlier datagram's ICMP error: this one was not sent yet.
            retries += 1
            if (code == EINTR || code == ECONNREFUSED) && retries < 8 { continue }
            // A datagram that cannot go stays in flight and counts as lost; the rest of the batch still goes.
            sent += 1
            retries = 0
        }
        pending = 0
    }

    /// Moves the unsent slots to the front, swapping buffers so none is copied.
    private mutating func shiftPending(by sent: Int) {
        guard sent > 0 else { return }
        for index in sent..<pending { swapAt(index - sent, index) }
        pending -= sent
    }

    private func swapAt(_ first: Int, _ second: Int) {
        let saved = outgoing[first]
        outgoing[first] = outgoing[second]
        outgoing[second] = saved
    }

    @inline(__always)
    mutating func receive(wait: Bool) throws(LoadGenError) -> Int {
        for index in 0..<received { incoming[index].length = Self.incomingSize }
        received = 0
        let flags = wait ? Int32(MSG_WAITFORONE) : Int32(MSG_DONTWAIT)
        let result = scdns_recv_batch(descriptor, incoming, UInt32(Self.batchSize), flags)
        if result >= 0 {
            received = Int(result)
            return received
        }
        switch errno {
        case EAGAIN, EWOULDBLOCK, EINTR, ECONNREFUSED: return 0
        case let code: throw .system("recvmmsg", code)
        }
    }

    @inline(__always)
    func message(_ index: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: incoming[index].buffer, count: incoming[index].length)
    }

    mutating func consume() {}
}
