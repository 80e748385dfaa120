import Glibc

/// The server under test: a literal IPv4 or IPv6 address and a port, written `192.0.2.1:53` or `[2001:db8::1]:53`.
public struct ServerAddress: Hashable, Sendable, CustomStringConvertible {
    public let host: String
    public let port: UInt16
    /// `AF_INET` or `AF_INET6`.
    let family: Int32
    /// The socket address, `sockaddr_in` or `sockaddr_in6` in the first `length` bytes.
    let storage: sockaddr_storage
    let length: socklen_t

    /// Parses `ADDRESS:PORT`; an IPv6 address goes in brackets. Returns nil for anything else (host names too:
    /// a load test that resolved its target through DNS would measure the resolver as well).
    public init?(_ text: String) {
        let hostPart: Substring
        let portPart: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else {
                return nil
            }
            hostPart = text[text.index(after: text.startIndex)..<close]
            portPart = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":"), !text[..<colon].contains(":") else { return nil }
            hostPart = text[..<colon]
            portPart = text[text.index(after: colon)...]
        }
        guard let port = UInt16(portPart), port > 0 else { return nil }
        var storage = sockaddr_storage()
        let host = String(hostPart)
        if text.hasPrefix("[") {
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = in_port_t(port.bigEndian)
            guard inet_pton(AF_INET6, host, &address.sin6_addr) == 1 else { return nil }
            withUnsafeBytes(of: address) { source in
                withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: source) }
            }
            family = AF_INET6
            length = socklen_t(MemoryLayout<sockaddr_in6>.size)
        } else {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(port.bigEndian)
            guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else { return nil }
            withUnsafeBytes(of: address) { source in
                withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: source) }
            }
            family = AF_INET
            length = socklen_t(MemoryLayout<sockaddr_in>.size)
        }
        self.host = host
        self.port = port
        self.storage = storage
    }

    public var description: String { family == AF_INET6 ? "[\(host)]:\(port)" : "\(host):\(port)" }

    public static func == (lhs: ServerAddress, rhs: ServerAddress) -> Bool {
        lhs.host == rhs.host && lhs.port == rhs.port
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(host)
        hasher.combine(port)
    }

    /// Opens a socket of `type` and connects it to the server; the caller owns the descriptor.
    func connectedSocket(type: Int32) throws(LoadGenError) -> Int32 {
        let descriptor = socket(family, type | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw .system("socket", errno) }
        var address = storage
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(descriptor, $0, length) }
        }
        guard result == 0 else {
            let code = errno
            close(descriptor)
            throw .system("connect to \(self)", code)
        }
        return descriptor
    }
}
