import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import NIOSSL
import Synchronization

/// A small etcd v3 client over etcd's JSON gateway (`POST /v3/...` on the client port), and over gRPC for the
/// one call whose size grows with the registry: a listing's pages (`list`).
///
/// Why the gateway: every etcd v3 server has it on the same port, it needs no generated protobuf code or gRPC
/// library (grpc-swift plus protoc would double the build of this package), and an operator can replay any call
/// with curl (a listing, with etcdctl). What scdns needs — range, put, delete, one transaction, leases, compaction and a watch stream — all
/// map to single POSTs; a watch is one long response of newline-separated JSON messages.
///
/// Why gRPC for a listing: the gateway turns each answer into JSON, and a listing through it costs etcd 7.6
/// times the CPU of the same listing over gRPC (300,000 exports: 6.8 s against 0.9 s, BENCHMARKS.md), on a
/// member every instance lists from when it starts. A Range is one unary call, so it needs HTTP/2 (swift-nio-http2, already under
/// AsyncHTTPClient) and the two messages' protobuf encoding by hand (`RangeProtobuf`), not a gRPC library.
///
/// Several endpoints: each call starts at the endpoint that last worked and moves to the next on a connection
/// failure or an "unavailable" answer, so one dead member of a cluster costs one failed connect, not an outage.
///
/// Security (`EtcdSecurity`): https endpoints are checked against the given CA (or the system's roots) and
/// can present a client certificate; with a user, the client authenticates once (`/v3/auth/authenticate`),
/// sends the token with every call and stream, and authenticates again when etcd says the token expired.
public final class EtcdClient: Sendable {
    public let endpoints: [EtcdEndpoint]
    /// How long one unary call may take on one endpoint, connect included.
    public let callTimeout: Duration
    private let preferred = Atomic<Int>(0)
    let logger: Logger
    /// For https endpoints; nil when every endpoint is http.
    private let tls: TLSConfiguration?
    private let credentials: EtcdCredentials?
    /// The token of the last authentication, while etcd takes it.
    private let token = Mutex<String?>(nil)
    /// For gRPC to https endpoints: `tls` offering `h2` by ALPN.
    let grpcTLS: NIOSSLContext?
    /// One HTTP/2 connection per endpoint, made at its first gRPC call and kept while it stays open.
    let grpcConnections = Mutex<[EtcdEndpoint: EtcdGRPCConnection]>([:])

    /// `maximumResponseBytes` bounds what one response may make us buffer (tests lower it to exercise the
    /// listing's halving against a real etcd). Every file `security` names is read here: a missing or
    /// unreadable one fails now, naming it.
    public init(
        endpoints: [String], security: EtcdSecurity = EtcdSecurity(), callTimeout: Duration = .seconds(3),
        maximumResponseBytes: Int = 256 << 20, logger: Logger
    ) throws(EtcdError) {
        guard !endpoints.isEmpty else { throw .badEndpoint("") }
        var parsed: [EtcdEndpoint] = []
        for text in endpoints { parsed.append(try EtcdEndpoint(text)) }
        if security.usesTLSFiles, let plain = parsed.first(where: { !$0.isTLS }) {
            throw .badSetting("TLS files are given but \(plain) is not https: give https:// endpoints")
        }
        self.endpoints = parsed
        self.callTimeout = callTimeout
        self.maximumResponseBytes = maximumResponseBytes
        self.logger = logger
        tls = parsed.contains(where: \.isTLS) ? try security.tlsConfiguration() : nil
        if var grpc = tls {
            grpc.applicationProtocols = ["h2"]
            do {
                grpcTLS = try NIOSSLContext(configuration: grpc)
            } catch {
                throw .badSetting("cannot use the TLS settings: \(error)")
            }
        } else {
            grpcTLS = nil
        }
        credentials = try security.credentials()
        if let credentials, let plain = parsed.first(where: { !$0.isTLS }) {
            logger.warning(
                "etcd authentication over http: the password and token travel in clear; use https endpoints",
                metadata: ["endpoint": "\(plain)", "user": "\(credentials.user)"])
        }
    }

    deinit {
        for connection in grpcConnections.withLock({ $0.values }) { connection.close() }
    }

    /// One HTTP client for the process, as AHC advises: its connections are pooled per endpoint and shared by
    /// every `EtcdClient`, and it lives as long as the process, so there is nothing to shut down.
    private static let sharedHTTP: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        // A member that is down refuses at once on loopback; one that is partitioned away must not hold a call
        // for long before the next endpoint is tried.
        configuration.timeout = .init(connect: TimeAmount(EtcdClient.connectTimeout), read: nil)
        configuration.httpVersion = .http1Only
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()

    private var http: HTTPClient { Self.sharedHTTP }

    /// How long connecting to one endpoint may take, over HTTP/1.1 and HTTP/2 alike.
    static let connectTimeout: Duration = .seconds(1)

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
        return try await authenticated { token throws(EtcdError) in
            try await withFailover(only: endpoint) { endpoint throws in
                try decode(Response.self, from: try await post(endpoint, path, body: body, token: token))
            }
        }
    }

    // MARK: - Authentication

    /// Runs `body` with the current token (nil without a user), authenticating first if there is none, and once
    /// more if etcd says the token is no longer valid (simple tokens expire after `--auth-token-ttl` idle, 5
    /// minutes by default; a member restart forgets them).
    func authenticated<Result>(
        _ body: (String?) async throws(EtcdError) -> Result
    ) async throws(EtcdError) -> Result {
        var renewed = false
        while true {
            let current = try await authToken()
            do {
                return try await body(current)
            } catch .server(let code, let message)
                where current != nil && !renewed
                && (code == EtcdError.unauthenticated || message.contains("auth token"))
            {
                token.withLock { if $0 == current { $0 = nil } }
                renewed = true
                logger.debug("etcd token no longer valid; authenticating again", metadata: ["detail": "\(message)"])
            }
        }
    }

    /// With a user: a linearizable read of `key`, through `authenticated`, which authenticates again if etcd
    /// says the token is no longer valid. For a stream that etcd cancelled with "permission denied".
    func renewTokenIfRejected(reading key: String) async {
        guard credentials != nil else { return }
        _ = try? await currentRevision(reading: key)
    }

    /// The token to send, authenticating when there is none yet; nil without a user.
    private func authToken() async throws(EtcdError) -> String? {
        guard let credentials else { return nil }
        if let current = token.withLock({ $0 }) { return current }
        let body = try encode(AuthenticateRequest(name: credentials.user, password: credentials.password))
        let response = try await withFailover { endpoint throws in
            try decode(
                AuthenticateResponse.self,
                from: try await post(endpoint, "/v3/auth/authenticate", body: body, token: nil))
        }
        guard let value = response.token, !value.isEmpty else {
            throw .malformed("etcd authenticated \(credentials) without a token (is authentication enabled?)")
        }
        token.withLock { $0 = value }
        return value
    }

    /// Runs `attempt` on each endpoint in turn from the preferred one (or on `only`), until one succeeds; that
    /// one becomes the preferred. An error that another member might not have (a connection refused, reset or
    /// cut short, a timeout, "unavailable") moves on; any other is thrown at once.
    func withFailover<Result>(
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
                let failure = error as? EtcdError ?? .unreachable("\(endpoint): \(Self.describe(error))")
                if Task.isCancelled { throw .cancelled }
                guard failure.isEndpointFailure, tries > 1 else { throw failure }
                // An unreachable endpoint names itself already.
                if case .unreachable(let detail) = failure, detail.hasPrefix(endpoint.base) {
                    failures.append(detail)
                } else {
                    failures.append("\(endpoint): \(failure)")
                }
                logger.debug("etcd endpoint failed; trying the next", metadata: ["endpoint": "\(endpoint)"])
            }
        }
        throw .unreachable(failures.joined(separator: "; "))
    }

    /// A JSON POST of `path` to `endpoint`, with the token when there is one. etcd's gateway passes the
    /// `Authorization` header on as the gRPC metadata etcd reads the token from.
    private func request(
        _ endpoint: EtcdEndpoint, _ path: String, body: ByteBuffer, token: String?
    ) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: endpoint.base + path)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        if let token { request.headers.add(name: "Authorization", value: token) }
        if endpoint.isTLS { request.tlsConfiguration = tls }
        request.body = .bytes(body)
        return request
    }

    /// One POST, its whole body read, bounded by `callTimeout` from start to end.
    private func post(_ endpoint: EtcdEndpoint, _ path: String, body: ByteBuffer, token: String?) async throws -> Data {
        let http = self.http
        let maximumResponseBytes = self.maximumResponseBytes
        let timeout = callTimeout
        let prepared = request(endpoint, path, body: body, token: token)
        return try await withDeadline(timeout) {
            let response: HTTPClientResponse
            do {
                response = try await http.execute(prepared, timeout: TimeAmount(timeout))
            } catch {
                throw EtcdError.unreachable("\(endpoint): \(Self.describe(error))")
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

    /// A connection failure in an operator's terms: TLS failures say which side's certificate is wrong and which
    /// setting fixes it, rather than a BoringSSL error code alone.
    static func describe(_ error: any Error) -> String {
        let text = "\(error)"
        if text.contains("CERTIFICATE_VERIFY_FAILED") {
            return "TLS: etcd's certificate is not signed by a CA this client trusts; give that CA "
                + "(--etcd-ca, registry.etcd.tls.ca) [\(text)]"
        }
        if text.contains("failedToValidateHostname") {
            return "TLS: etcd's certificate does not name the endpoint's host (subjectAltName) [\(text)]"
        }
        if text.contains("CERTIFICATE_REQUIRED") || text.contains("BAD_CERTIFICATE")
            || text.contains("UNKNOWN_CA")
        {
            return "TLS: etcd refused this client's certificate, or its absence; give one signed by a CA etcd "
                + "trusts (--etcd-cert and --etcd-key, registry.etcd.tls.cert and .key) [\(text)]"
        }
        return text
    }

    /// A page of 25,000 exports is about 6 MB; this bounds what a confused peer can make us buffer (default
    /// 256 MiB).
    let maximumResponseBytes: Int

    static func gatewayError(status: HTTPResponseStatus, body: Data) -> EtcdError {
        guard let error = try? JSONDecoder().decode(GatewayError.self, from: body), let code = error.code else {
            return .malformed("HTTP \(status.code): \(String(decoding: body.prefix(200), as: UTF8.self))")
        }
        return etcdError(code: code, message: error.message ?? error.error ?? "")
    }

    /// A gRPC status from etcd, through the gateway or not, as the error callers act on.
    static func etcdError(code: Int, message: String) -> EtcdError {
        if code == EtcdError.outOfRange && message.contains("compacted") {
            return .compacted(compactRevision: 0)
        }
        // A cap on what is relayed: the gateway's ("grpc: received message larger than max"), or etcd's own on
        // what it sends over gRPC.
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
        return try await authenticated { token throws(EtcdError) in
            try await withFailover { endpoint throws in
                var request = self.request(endpoint, path, body: body, token: token)
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
