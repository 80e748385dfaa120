import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A plain HTTP/1.0 GET over a loopback socket, for the admin endpoint: what a kubelet probe or a Prometheus
/// scrape sends, with no HTTP library in the test target.
enum AdminClient {
    struct Response {
        var status: Int
        var headers: String
        var body: String
    }

    static func get(_ path: String, port: Int, timeoutSeconds: Int = 5) throws -> Response {
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
        guard connected == 0 else { throw TestFailure("connect to the admin port \(port) failed") }
        let request = Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8)
        guard send(fd, request, request.count, 0) == request.count else { throw TestFailure("send failed") }
        var data: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        // Until the server closes, or the body reaches its Content-Length.
        while !Self.isComplete(data) {
            let received = recv(fd, &chunk, chunk.count, 0)
            if received < 0 { throw TestFailure("no complete HTTP response from the admin port") }
            if received == 0 { break }
            data += chunk[0..<received]
        }
        let text = String(decoding: data, as: UTF8.self)
        guard let split = text.range(of: "\r\n\r\n"),
            let status = text.split(separator: " ", maxSplits: 2).dropFirst().first.flatMap({ Int($0) })
        else { throw TestFailure("not an HTTP response: \(text.prefix(200))") }
        return Response(
            status: status, headers: String(text[..<split.lowerBound]), body: String(text[split.upperBound...]))
    }

    private static func isComplete(_ data: [UInt8]) -> Bool {
        let text = String(decoding: data, as: UTF8.self)
        guard let split = text.range(of: "\r\n\r\n") else { return false }
        let head = text[..<split.lowerBound].lowercased()
        guard let field = head.range(of: "content-length:") else { return false }
        let value = head[field.upperBound...].prefix { $0 != "\r" }.trimmingCharacters(in: .whitespaces)
        guard let length = Int(value) else { return false }
        return text[split.upperBound...].utf8.count >= length
    }

    /// Polls `path` until `condition` holds (the state it waits for is the server's, reached asynchronously),
    /// failing after `timeout`.
    @discardableResult
    static func await(
        _ path: String, port: Int, timeout: TimeInterval = 20, file: StaticString = #filePath, line: UInt = #line,
        until condition: (Response) -> Bool
    ) throws -> Response {
        let deadline = Date().addingTimeInterval(timeout)
        var last: Response?
        while Date() < deadline {
            if let response = try? get(path, port: port) {
                if condition(response) { return response }
                last = response
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        throw TestFailure(
            "\(path) never reached the expected state; last: \(last.map { "\($0.status) \($0.body)" } ?? "none")")
    }
}

/// A Prometheus text exposition as sample name with labels -> value, e.g.
/// `scdns_dns_responses_total{rcode="NOERROR"}` -> 12.
struct MetricSamples {
    let values: [String: Double]

    init(_ text: String) {
        var values: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else {
                continue
            }
            values[String(line[..<space])] = value
        }
        self.values = values
    }

    subscript(_ sample: String) -> Double { values[sample] ?? 0 }
}
