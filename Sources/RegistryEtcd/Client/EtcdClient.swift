import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import Synchronization

/// A small etcd v3 client over etcd's JSON gateway (`POST /v3/...` on the client port).
///
/// Why the gateway and not gRPC: every etcd v3 server has it on the same port, it needs no generated protobuf
/// code or HTTP/2 stack (grpc-swift plus protoc would double the build of this package), and an operator can
/// replay any call with curl. What scdns needs — range, put, delete, one transaction, leases, compaction and a
/// watch stream — all map to single POSTs; a watch is one long response of newline-separated JSON messages.
///
/// Several endpoints: each call starts at the endpoint that last worked and moves to the next on a connection
/// failure or an "unavailable" answer, so one dead member of a cluster costs one failed connect, not an outage.
public final class EtcdClient: Sendable {
    public let endpoints: [EtcdEndpoint]
    /// How long one unary call may take on one endpoint, connect included.
    public let callTimeout: Duration
    private let preferred = Atomic<Int>(0)
    let logger: Logger

    /// `maximumResponseBytes` bounds what one response may make us buffer (tests lower it to exercise the
    /// listing's halving against a real etcd).
    public init(
        endpoints: [String], callTimeout: Duration = .seconds(3), maximumResponseBytes: Int = 256 << 20,
        logger: Logger
    ) throws(EtcdError) {
        guard !endpoints.isEmpty else { throw .badEndpoint("") }
        var parsed: [EtcdEndpoint] = []
        for text in endpoints { parsed.append(try EtcdEndpoint(text)) }
        self.endpoints = parsed
        self.callTimeout = callTimeout
        self.maximumResponseBytes = maximumResponseBytes
        self.logger = logger
    }

    /// One HTTP client for the process, as AHC advises: its connections are pooled per endpoint and shared by
    /// every `EtcdClient`, and it lives as long as the process, so there is nothing to shut down.
    private static let sharedHTTP: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        // A member that is down refuses at once on loopback; one that is partitioned away must not hold a call
        // for long before the next endpoint is tried.
        configuration.timeout = .init(connect: .seconds(1), read: nil)
        configuration.httpVersion = .http1Only
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()

    private var http: HTTPClient { Self.sharedHTTP }

    /// The endpoint calls start at: the one that answered last.
    public var currentEndpoint: EtcdEndpoint { endpoints[preferred.load(ordering: .relaxed) % endpoints.count] }

    // MARK: - Calls

    /// `POST path` with `request` as JSON, decoded as `Response`, trying each endpoint in turn from the preferred
    /// one, or only `endpoint` when given (a probe of one member). Writes are retried on the next endpoint too:
    /// after a timeout the first may have committed, so a put can land twice (the same value) and a delete can
    /// report 0 deleted.
    func call<Request: Encodable, Response: Decodable>(
        _ path: String, _ request: Request, as: Response.Type = Response.self, only endpoint: EtcdEndpoint? = nil
    ) async throws(EtcdError) -> Response {
        let body = try encode(request)
        return try await withFailover(only: endpoint) { endpoint throws in
            try decode(Response.self, from: try await post(endpoint.base + path, body: body, timeout: callTimeout))
        }
    }

    /// Runs `attempt` on each endpoint in turn from the preferred one (or on `only`), until one succeeds; that
    /// one becomes the preferred. An error that another member might not have (a connection refused, reset or
    /// cut short, a timeout, "unavailable") moves on; any other is thrown at once.
    private func withFailover<Result>(
        only endpoint: EtcdEndpoint? = nil, _ attempt: (EtcdEndpoint) async throws -> Result
    ) async throws(EtcdError) -> Result {
        let start = endpoint.flatMap { endpoints.firstIndex(of: $0) } ?? preferred.load(ordering: .relaxed)
        let tries = endpoint == nil ? endpoints.count : 1
        var failures: [String] = []
        for offset in 0..<tries {
            let index = (start + offset) % endpoints.count
            let endpoint = endpoints[index]
            do {
                let result = try await attempt(endpoint)
                // A probe of one member says nothing about which member calls should start at.
                if tries > 1 { preferred.store(index, ordering: .relaxed) }
                return result
            } catch is CancellationError {
                throw .cancelled
            } catch {
                let failure = error as? EtcdError ?? .unreachable("\(endpoint): \(error)")
                if Task.isCancelled { throw .cancelled }
                guard failure.isEndpointFailure, tries > 1 else { throw failure }
                failures.append("\(endpoint): \(failure)")
                logger.debug("etcd endpoint failed; trying the next", metadata: ["endpoint": "\(endpoint)"])
            }
        }
        throw .unreachable(failures.joined(separator: "; "))
    }

    /// A JSON POST to `url`.
    private static func request(_ url: String, body: ByteBuffer) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(body)
        return request
    }

    /// One POST, its whole body read, bounded by `timeout` from start to end.
    private func post(_ url: String, body: ByteBuffer, timeout: Duration) async throws -> Data {
        let http = self.http
        let maximumResponseBytes = self.maximumResponseBytes
        let prepared = Self.request(url, body: body)
        return try await withDeadline(timeout) {
            let response: HTTPClientResponse
            do {
                response = try await http.execute(prepared, timeout: TimeAmount(timeout))
            } catch {
                throw EtcdError.unreachable("\(error)")
            }
            let bytes: ByteBuffer
            do {
                bytes = try await response.body.collect(upTo: maximumResponseBytes)
            } catch is NIOTooManyBytesError {
                throw EtcdError.responseTooBig("more than \(maximumResponseBytes) octets")
            }
            let data = Data(buffer: bytes)
            guard response.status == .ok else {
                throw Self.gatewayError(status: response.status, body: data)
            }
            return data
        }
    }

    /// A range of 10,000 exports is about 4 MB; this bounds what a confused peer can make us buffer (default
    /// 256 MiB).
    let maximumResponseBytes: Int

    static func gatewayError(status: HTTPResponseStatus, body: Data) -> EtcdError {
        guard let error = try? JSONDecoder().decode(GatewayError.self, from: body), let code = error.code else {
            return .malformed("HTTP \(status.code): \(String(decoding: body.prefix(200), as: UTF8.self))")
        }
        let message = error.message ?? error.error ?? ""
        if code == EtcdError.outOfRange && message.contains("compacted") {
            return .compacted(compactRevision: 0)
        }
        // The gateway's own cap on what it relays ("grpc: received message larger than max").
        if code == EtcdError.resourceExhausted && message.contains("larger than max") {
            return .responseTooBig(message)
        }
        return .server(code: code, message: message)
    }

    private func encode<Request: Encodable>(_ request: Request) throws(EtcdError) -> ByteBuffer {
        do {
            return ByteBuffer(data: try JSONEncoder().encode(request))
        } catch {
            throw .malformed("cannot encode request: \(error)")
        }
    }

    func decode<Response: Decodable>(_ type: Response.Type, from data: Data) throws(EtcdError) -> Response {
        do {
            return try JSONDecoder().decode(type, from: data)
        } catch {
            throw .malformed("\(error): \(String(decoding: data.prefix(200), as: UTF8.self))")
        }
    }

    // MARK: - Streams

    /// Opens a streaming call on the preferred endpoint (failing over like `call` while connecting) and returns
    /// the endpoint with the response, whose body the caller reads for as long as it wants. No deadline applies
    /// once the response head has arrived: a watch is meant to stay open.
    func openStream<Request: Encodable>(
        _ path: String, _ request: Request
    ) async throws(EtcdError) -> (
        EtcdEndpoint, HTTPClientResponse
    ) {
        let body = try encode(request)
        return try await withFailover { endpoint throws in
            var request = Self.request(endpoint.base + path, body: body)
            // gRPC metadata through the gateway: a member cut off from the leader cancels the watch instead of
            // keeping it open with no events, so the watcher moves to a member that has a quorum.
            request.headers.add(name: "Grpc-Metadata-Hasleader", value: "true")
            let response = try await http.execute(request, timeout: TimeAmount(callTimeout))
            guard response.status == .ok else {
                let data = Data(buffer: try await response.body.collect(upTo: 1 << 20))
                throw Self.gatewayError(status: response.status, body: data)
            }
            return (endpoint, response)
        }
    }

    /// Moves the preferred endpoint past `endpoint`, after a stream from it broke.
    func avoid(_ endpoint: EtcdEndpoint) {
        guard endpoints.count > 1, let index = endpoints.firstIndex(of: endpoint) else { return }
        if preferred.load(ordering: .relaxed) % endpoints.count == index {
            preferred.store((index + 1) % endpoints.count, ordering: .relaxed)
        }
    }
}

/// Runs `operation`, cancelling it and throwing `EtcdError.unreachable` when `timeout` passes first: AHC's
/// deadline covers the response head only, and a member that stalls mid-body must not hang a call.
func withDeadline<Result: Sendable>(
    _ timeout: Duration, _ operation: @escaping @Sendable () async throws -> Result
) async throws -> Result {
    try await withThrowingTaskGroup(of: Result?.self) { group in
        group.addTask { try await operation() }
        group.addTask {
            try await Task.sleep(for: timeout)
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let result = first else {
            throw EtcdError.unreachable("no complete answer within \(timeout)")
        }
        return result
    }
}
