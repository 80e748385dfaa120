import Foundation
import Glibc
import Synchronization

/// A small UDP responder on a thread of its own, bound to an ephemeral loopback port.
final class UDPTestResponder: Sendable {
    let port: UInt16
    private let descriptor: Int32
    private let behavior: ResponderBehavior
    private let stopping = Atomic<Bool>(false)
    private let stopped = DispatchSemaphore(value: 0)
    /// Queries received so far.
    let received = Atomic<Int>(0)

    init(behavior: ResponderBehavior, ipv6: Bool = false) throws {
        self.behavior = behavior
        let family = ipv6 ? AF_INET6 : AF_INET
        descriptor = socket(family, Int32(SOCK_DGRAM.rawValue), 0)
        guard descriptor >= 0 else { throw ResponderError("socket: \(errno)") }
        var size: Int32 = 4 << 20
        setsockopt(descriptor, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        var timeout = timeval(tv_sec: 0, tv_usec: 20_000)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        port = try Loopback.bind(descriptor, ipv6: ipv6)
        Thread { [self] in serve() }.start()
    }

    /// Stops the thread and closes the socket.
    func stop() {
        stopping.store(true, ordering: .relaxed)
        stopped.wait()
        close(descriptor)
    }

    /// "127.0.0.1:PORT" or "[::1]:PORT".
    func address(ipv6: Bool = false) -> String { ipv6 ? "[::1]:\(port)" : "127.0.0.1:\(port)" }

    private func serve() {
        var buffer = [UInt8](repeating: 0, count: 4096)
        var arrival = 0
        while !stopping.load(ordering: .relaxed) {
            var peer = sockaddr_storage()
            var peerLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let count = withUnsafeMutablePointer(to: &peer) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    recvfrom(descriptor, &buffer, buffer.count, 0, $0, &peerLength)
                }
            }
            guard count > 0 else { continue }
            arrival += 1
            received.store(arrival, ordering: .relaxed)
            if let stall = behavior.stall, arrival == stall.after { usleep(UInt32(stall.milliseconds * 1000)) }
            guard let response = behavior.respond(to: Array(buffer[0..<count]), arrival: arrival) else { continue }
            _ = withUnsafePointer(to: &peer) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(descriptor, response, response.count, 0, $0, peerLength)
                }
            }
        }
        stopped.signal()
    }
}

struct ResponderError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
