import Foundation
import Glibc
import Synchronization

/// Loopback ports for the servers the tests start (scdns, Knot, Unbound, etcd), taken from outside the kernel's
/// ephemeral range (`net.ipv4.ip_local_port_range`).
///
/// Why not port 0: a UDP socket bound with SO_REUSEPORT (scdns's workers, Knot's, Unbound's) holds its port only
/// against sockets without it. dig binds its own source port with SO_REUSEPORT and lets the kernel pick it from the
/// ephemeral range, so about once in 28,000 queries it is given the port of a server the kernel had picked from
/// that same range. That dig then reads its own query back as the reply: "status: NOERROR", no answer (and "query
/// response not set"), and the server never sees it. A port outside the range is never picked for anyone.
enum LoopbackPort {
    /// Ports handed out by this process, so two servers of one test never get the same one before either binds.
    private static let handedOut = Mutex<Set<Int>>([])

    /// The kernel's ephemeral range, inclusive, as /proc says (Linux's default when it cannot be read).
    static var ephemeralRange: ClosedRange<Int> {
        let text = (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8)) ?? ""
        let bounds = text.split(whereSeparator: \.isWhitespace).compactMap { Int($0) }
        guard bounds.count == 2, bounds[0] <= bounds[1] else { return 32768...60999 }
        return bounds[0]...bounds[1]
    }

    /// A port free for both UDP and TCP on 127.0.0.1 right now, outside the ephemeral range and above the
    /// well-known ports, not handed out before by this process.
    static func reserve() throws -> Int {
        let ephemeral = ephemeralRange
        // The room below the range and above it, where there are a thousand ports (a range from 1024 leaves none
        // below).
        let candidates = [(10_000, ephemeral.lowerBound), (ephemeral.upperBound + 1, 65_536)]
            .filter { $0.1 - $0.0 >= 1_000 }.map { $0.0..<$0.1 }
        guard !candidates.isEmpty else {
            throw TestFailure("no room for test ports outside the ephemeral range \(ephemeral)")
        }
        for _ in 0..<200 {
            let range = candidates.randomElement()!
            let port = Int.random(in: range)
            let taken = handedOut.withLock { ports in
                guard !ports.contains(port), isFree(port) else { return true }
                ports.insert(port)
                return false
            }
            if !taken { return port }
        }
        throw TestFailure("no loopback port free for both UDP and TCP outside \(ephemeral)")
    }

    /// Whether a UDP and a TCP socket without SO_REUSEADDR or SO_REUSEPORT can each bind 127.0.0.1:`port`: such a
    /// socket conflicts with any socket on the port, whatever its options.
    private static func isFree(_ port: Int) -> Bool {
        [SOCK_DGRAM, SOCK_STREAM].allSatisfy { type in
            let descriptor = socket(AF_INET, Int32(type.rawValue), 0)
            guard descriptor >= 0 else { return false }
            defer { close(descriptor) }
            var address = UDPClient.loopback(port: port)
            return withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            } == 0
        }
    }
}
