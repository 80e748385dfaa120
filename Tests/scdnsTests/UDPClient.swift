import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Raw sockets for what dig cannot send: malformed datagrams and pipelined TCP queries.
enum UDPClient {
    static func exchange(_ query: [UInt8], port: Int, timeoutSeconds: Int = 2) throws -> [UInt8] {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket failed") }
        defer { close(fd) }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = loopback(port: port)
        let sent = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                sendto(fd, query, query.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard sent == query.count else { throw TestFailure("sendto failed") }
        var buffer = [UInt8](repeating: 0, count: 65535)
        let received = recv(fd, &buffer, buffer.count, 0)
        guard received > 0 else { throw TestFailure("no UDP reply") }
        return Array(buffer[0..<received])
    }

    static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }
}

enum TCPClient {
    /// Writes every query in one send (pipelined, RFC 7766 6.2.1.1) and reads `count` length-prefixed replies.
    static func pipeline(_ queries: [[UInt8]], port: Int, timeoutSeconds: Int = 3) throws -> [[UInt8]] {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket failed") }
        defer { close(fd) }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = UDPClient.loopback(port: port)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { throw TestFailure("connect failed") }
        var stream: [UInt8] = []
        for query in queries { stream += [UInt8(query.count >> 8), UInt8(query.count & 0xFF)] + query }
        guard send(fd, stream, stream.count, 0) == stream.count else { throw TestFailure("send failed") }
        var pending: [UInt8] = []
        var replies: [[UInt8]] = []
        var chunk = [UInt8](repeating: 0, count: 65535)
        while replies.count < queries.count {
            let received = recv(fd, &chunk, chunk.count, 0)
            guard received > 0 else { throw TestFailure("connection ended after \(replies.count) replies") }
            pending += chunk[0..<received]
            while pending.count >= 2 {
                let length = Int(pending[0]) << 8 | Int(pending[1])
                guard pending.count >= 2 + length else { break }
                replies.append(Array(pending[2..<(2 + length)]))
                pending.removeFirst(2 + length)
            }
        }
        return replies
    }
}
