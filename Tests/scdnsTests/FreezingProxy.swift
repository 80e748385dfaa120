import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A TCP relay on a loopback port to another, which can silently stop relaying the connections that carry an
/// etcd watch: no FIN, no RST, no data, as when a NAT or a firewall forgets a connection. Connections opened
/// after `freezeWatches()` are relayed normally.
final class FreezingProxy: @unchecked Sendable {
    let port: Int
    private let target: Int
    private let listener: Int32
    private let lock = NSLock()
    private var connections: [Connection] = []
    private var sockets: [Int32] = []
    private var stopped = false

    init(to target: Int) throws {
        self.target = target
        (listener, port) = try listenTCP(backlog: 16)
        Thread { [self] in acceptLoop() }.start()
    }

    deinit { stop() }

    func stop() {
        lock.lock()
        stopped = true
        let open = sockets
        sockets = []
        lock.unlock()
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
        for fd in open { shutdown(fd, Int32(SHUT_RDWR)) }
    }

    /// From now on, the connections carrying a watch at this moment carry nothing either way.
    func freezeWatches() {
        lock.lock()
        for connection in connections where connection.isWatch { connection.frozen = true }
        lock.unlock()
    }

    private func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            guard client >= 0 else { return }
            let upstream = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = UDPClient.loopback(port: target)
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(upstream, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            guard connected == 0 else {
                close(client)
                close(upstream)
                continue
            }
            let connection = Connection()
            lock.lock()
            sockets += [client, upstream]
            connections.append(connection)
            lock.unlock()
            Thread { [self] in relay(from: client, to: upstream, connection, inspect: true) }.start()
            Thread { [self] in relay(from: upstream, to: client, connection, inspect: false) }.start()
        }
    }

    /// Whether a connection carries a watch, and whether it is frozen (both guarded by the proxy's lock).
    private final class Connection: @unchecked Sendable {
        var isWatch = false
        var frozen = false
    }

    private func relay(from source: Int32, to destination: Int32, _ connection: Connection, inspect: Bool) {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = recv(source, &buffer, buffer.count, 0)
            guard count > 0 else { break }
            lock.lock()
            if inspect && String(decoding: buffer[0..<count], as: UTF8.self).contains("POST /v3/watch") {
                connection.isWatch = true
            }
            let frozen = connection.frozen
            lock.unlock()
            // A frozen connection swallows what it reads and sends nothing on.
            if frozen { continue }
            var sent = 0
            while sent < count {
                let written = buffer[sent..<count].withUnsafeBytes { send(destination, $0.baseAddress, $0.count, 0) }
                guard written > 0 else { return }
                sent += written
            }
        }
        shutdown(destination, Int32(SHUT_WR))
    }
}

/// A listening TCP socket on HOST:PORT (a loopback address; port 0: the kernel picks one); returns it and its
/// port. The kernel completes handshakes into its backlog whether or not anything accepts.
func listenTCP(host: String = "127.0.0.1", port: Int = 0, backlog: Int32) throws -> (descriptor: Int32, port: Int) {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var one: Int32 = 1
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
    var address = UDPClient.loopback(port: port)
    address.sin_addr.s_addr = inet_addr(host)
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard bound == 0, listen(fd, backlog) == 0 else {
        close(fd)
        throw TestFailure("cannot listen on \(host):\(port)")
    }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return (fd, Int(UInt16(bigEndian: address.sin_port)))
}
