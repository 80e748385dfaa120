/// Why a call to etcd failed, in terms that decide what the caller does next.
public enum EtcdError: Error, Sendable, CustomStringConvertible, Equatable {
    /// No endpoint answered: connection refused, reset or timed out on every one. Retry later.
    case unreachable(String)
    /// etcd answered with a gRPC error: `code` is the gRPC status (5 not found, 11 out of range, 14 unavailable).
    case server(code: Int, message: String)
    /// The revision asked for was compacted away: list again.
    case compacted(compactRevision: Int64)
    /// etcd's answer could not be read (a gateway of another version, or a proxy in the way).
    case malformed(String)
    /// A response larger than the client reads (`maximumResponseBytes`), than etcd's gateway passes on (etcd 3.4
    /// before 3.4.17: 4 MiB) or than etcd sends over gRPC: a listing halves its page and asks again.
    case responseTooBig(String)
    /// An endpoint URL that is not `http://HOST:PORT` or `https://HOST:PORT`.
    case badEndpoint(String)
    /// A TLS or authentication setting that cannot be used: a file that cannot be read, a user without a
    /// password file, TLS files with an http endpoint, an endpoint with credentials in its URL (not echoed).
    case badSetting(String)
    /// The calling task was cancelled.
    case cancelled

    public var description: String {
        switch self {
        case .unreachable(let detail): "etcd unreachable: \(detail)"
        case .server(let code, let message) where code == Self.permissionDenied:
            "etcd refused: \(message) (the etcd user's roles do not allow this key or operation)"
        case .server(let code, let message)
        where code == Self.unauthenticated
            || code == Self.invalidArgument
                && message.contains("authentication failed"):
            "etcd refused the credentials: \(message)"
        case .server(let code, let message): "etcd error \(code): \(message)"
        case .compacted(let revision): "etcd revision compacted (compact revision \(revision))"
        case .malformed(let detail): "unreadable etcd response: \(detail)"
        case .responseTooBig(let detail): "etcd response too big: \(detail)"
        case .badEndpoint(let text): "'\(text)' is not an etcd endpoint (http://HOST:PORT or https://HOST:PORT)"
        case .badSetting(let detail): detail
        case .cancelled: "cancelled"
        }
    }

    /// gRPC status codes the gateway passes through (google.golang.org/grpc/codes).
    static let invalidArgument = 3
    static let notFound = 5
    static let permissionDenied = 7
    static let unauthenticated = 16
    static let resourceExhausted = 8
    static let outOfRange = 11
    static let unavailable = 14

    /// Failures that another endpoint might not have: try the next one.
    var isEndpointFailure: Bool {
        switch self {
        case .unreachable: true
        case .server(let code, _): code == Self.unavailable
        case .malformed: true
        default: false
        }
    }
}
