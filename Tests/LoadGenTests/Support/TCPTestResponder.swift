import Foundation
import Glibc
import Synchronization

/// A small TCP responder: accepts connections on an ephemeral loopback port and answers each framed query on
/// a thread per connection, in order, as pipelined queries expect.
final class TCPTestResponder: Sendable {
    let port: UInt16
    private let listener: Int32
    private let behavior: ResponderBehavior
    /// Closes each connection after answering this many queries on it.
    private let closeAfter: Int?
    private let stopping = Atomic<Bool>(false)
    private let running = Atomic<Int>(0)
    /// Connections accepted so far.
    let accepted = Atomic<Int>(0)

    init(behavior: ResponderBehavior, closeAfter: Int? = nil) throws {
        self.behavior = behavior
        self.closeAfter = closeAfter
        listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard listener >= 0 else { throw ResponderError("socket: \(errno)") }
        var one: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        port = try Loopback.bind(listener, ipv6: false)
        guard listen(listener, 16) == 0 else { throw ResponderError("listen: \(errno)") }
        running.add(1, ordering: .relaxed)
        Thread { [self] in acceptLoop() }.start()
    }

    var address: String { "127.0.0.1:\(port)" }

    /// Stops every thread (each notices within 20 ms) and closes the listener.
    func stop() {
        stopping.store(true, ordering: .relaxed)
        while running.load(ordering: .relaxed) > 0 { usleep(5000) }
        close(listener)
    }

    private func acceptLoop() {
        defer { running.subtract(1, ordering: .relaxed) }
        while !stopping.load(ordering: .relaxed) {
            var descriptor = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            guard poll(&descriptor, 1, 20) > 0 else { continue }
            let connection = accept(listener, nil, nil)
            guard connection >= 0 else { continue }
            accepted.add(1, ordering: .relaxed)
            var timeout = timeval(tv_sec: 0, tv_usec: 20_000)
            setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            running.add(1, ordering: .relaxed)
            Thread { [self] in serve(connection) }.start()
        }
    }

    private func serve(_ connection: Int32) {
        defer {
            close(connection)
            running.subtract(1, ordering: .relaxed)
        }
        var stream: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        var answered = 0
        var arrival = 0
        while !stopping.load(ordering: .relaxed) {
            let count = recv(connection, &chunk, chunk.count, 0)
            if count == 0 { return }
            guard count > 0 else { continue }
            stream += chunk[0..<count]
            var output: [UInt8] = []
            while stream.count >= 2 {
                let length = Int(stream[0]) << 8 | Int(stream[1])
                guard stream.count >= 2 + length else { break }
                let query = Array(stream[2..<(2 + length)])
                stream.removeFirst(2 + length)
                arrival += 1
                if let response = behavior.respond(to: query, arrival: arrival) {
                    output += [UInt8(response.count >> 8), UInt8(response.count & 0xFF)] + response
                }
                answered += 1
                if let closeAfter, answered >= closeAfter { break }
            }
            var offset = 0
            while offset < output.count {
                let written = output[offset...].withUnsafeBytes {
                    send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
                }
                guard written > 0 else { return }
                offset += written
            }
            if let closeAfter, answered >= closeAfter { return }
        }
    }
}
