import Glibc

/// One TCP connection with queries pipelined on it: 2-octet length framing (RFC 1035 4.2.2), as many queries
/// written per system call as are pending, answers cut out of the stream in place. Non-blocking after connect.
///
/// If the server closes the connection, the transport connects again; the queries in flight on the old one
/// are never answered and time out as lost.
struct TCPTransport: QueryTransport, ~Copyable {
    static let blocksInReceive = false
    static let outputCapacity = 256 * 1024
    /// Room for at least one largest message (65,535 octets and its length) after any partial one.
    static let inputCapacity = 256 * 1024
    private static let frameSize = 2 + QueryTemplates.maxLength
    /// The most frames a full input buffer can hold (the smallest is a 12-octet header and its length).
    private static let maxFrames = inputCapacity / 14 + 1

    private(set) var descriptor: Int32
    private let server: ServerAddress
    private let output: UnsafeMutableRawPointer
    private var outputStart = 0
    private var outputEnd = 0
    private let input: UnsafeMutableRawPointer
    private var inputStart = 0
    private var inputEnd = 0
    private var parsedEnd = 0
    private let frameStarts: UnsafeMutablePointer<Int>
    private let frameLengths: UnsafeMutablePointer<Int>
    /// How often the server closed the connection and it was opened again.
    private(set) var reconnects = 0

    /// Connects to `server` (blocking), then makes the socket non-blocking.
    static func open(_ server: ServerAddress) throws(LoadGenError) -> Int32 {
        let descriptor = try server.connectedSocket(type: Int32(SOCK_STREAM.rawValue))
        var one: Int32 = 1
        setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
        return descriptor
    }

    /// Takes ownership of `descriptor`, a socket from `open(server)`.
    init(descriptor: Int32, server: ServerAddress) {
        self.descriptor = descriptor
        self.server = server
        output = .allocate(byteCount: Self.outputCapacity, alignment: 64)
        input = .allocate(byteCount: Self.inputCapacity, alignment: 64)
        frameStarts = .allocate(capacity: Self.maxFrames)
        frameLengths = .allocate(capacity: Self.maxFrames)
    }

    deinit {
        close(descriptor)
        output.deallocate()
        input.deallocate()
        frameStarts.deallocate()
        frameLengths.deallocate()
    }

    var room: Int { (Self.outputCapacity - outputEnd) / Self.frameSize }
    var hasPendingOutput: Bool { outputEnd > outputStart }

    @inline(__always)
    mutating func append(_ query: UnsafeRawBufferPointer, id: UInt16) {
        let frame = output + outputEnd
        frame.storeBytes(of: UInt16(query.count).bigEndian, as: UInt16.self)
        (frame + 2).copyMemory(from: query.baseAddress!, byteCount: query.count)
        (frame + 2).storeBytes(of: id.bigEndian, as: UInt16.self)
        outputEnd += 2 + query.count
    }

    mutating func flush() throws(LoadGenError) {
        while outputStart < outputEnd {
            let written = send(
                descriptor, output + outputStart, outputEnd - outputStart, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT))
            if written > 0 {
                outputStart += written
                continue
            }
            let code = errno
            if code == EINTR { continue }
            if code == EAGAIN || code == EWOULDBLOCK { break }
            try reconnect()
            return
        }
        if outputStart == outputEnd {
            outputStart = 0
            outputEnd = 0
        } else if outputStart > 0 {
            (output).copyMemory(from: output + outputStart, byteCount: outputEnd - outputStart)
            outputEnd -= outputStart
            outputStart = 0
        }
    }

    mutating func receive(wait: Bool) throws(LoadGenError) -> Int {
        if inputStart > 0 && Self.inputCapacity - inputEnd < 65_537 {
            input.copyMemory(from: input + inputStart, byteCount: inputEnd - inputStart)
            inputEnd -= inputStart
            inputStart = 0
        }
        let count = recv(descriptor, input + inputEnd, Self.inputCapacity - inputEnd, Int32(MSG_DONTWAIT))
        if count == 0 {
            try reconnect()
            return 0
        }
        if count < 0 {
            let code = errno
            if code == EAGAIN || code == EWOULDBLOCK || code == EINTR { return 0 }
            try reconnect()
            return 0
        }
        inputEnd += count
        var position = inputStart
        var frames = 0
        while inputEnd - position >= 2 {
            let length = Int(UInt16(bigEndian: (input + position).loadUnaligned(as: UInt16.self)))
            guard inputEnd - position - 2 >= length else { break }
            frameStarts[frames] = position + 2
            frameLengths[frames] = length
            frames += 1
            position += 2 + length
        }
        parsedEnd = position
        return frames
    }

    @inline(__always)
    func message(_ index: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: input + frameStarts[index], count: frameLengths[index])
    }

    mutating func consume() {
        inputStart = parsedEnd
        if inputStart == inputEnd {
            inputStart = 0
            inputEnd = 0
            parsedEnd = 0
        }
    }

    /// The server closed the connection or it failed: open a new one; what was pending or in flight is lost.
    private mutating func reconnect() throws(LoadGenError) {
        close(descriptor)
        descriptor = -1
        outputStart = 0
        outputEnd = 0
        inputStart = 0
        inputEnd = 0
        parsedEnd = 0
        descriptor = try Self.open(server)
        reconnects += 1
    }
}
