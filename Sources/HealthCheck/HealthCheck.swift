import Foundation
import ServiceRegistry

/// One check of one address: does a TCP connection to it complete, or does an HTTP GET over one answer 2xx or
/// 3xx. The server's reachability probes are TCP checks; a publisher's local checks (`scdns registry publish
/// --check`) are either.
public struct HealthCheck: Hashable, Sendable, CustomStringConvertible {
    public enum Kind: Hashable, Sendable {
        /// The connection completes (the peer answered SYN with SYN-ACK).
        case tcp
        /// `GET path HTTP/1.0` answers a status from 200 to 399.
        case http(path: String)
    }

    public var address: IPAddress
    public var port: UInt16
    public var kind: Kind

    public init(address: IPAddress, port: UInt16, kind: Kind = .tcp) {
        self.address = address
        self.port = port
        self.kind = kind
    }

    /// A TCP check of a probe target (an export's address and port, a beacon).
    public init(_ target: ProbeTarget) {
        self.init(address: target.address, port: target.port)
    }

    /// `ADDRESS:PORT` (`[ADDRESS]:PORT` for IPv6), as a log or an operator writes it.
    public var hostPort: String { ProbeTarget(address: address, port: port).description }

    public var description: String {
        switch kind {
        case .tcp: "tcp://\(hostPort)"
        case .http(let path): "http://\(hostPort)\(path)"
        }
    }
}

/// What one check found, and when (a check of a batch spread over a cycle is known when it ends, not when the
/// batch does).
public struct CheckResult: Sendable {
    public var outcome: CheckOutcome
    public var at: Date

    public init(outcome: CheckOutcome, at: Date) {
        self.outcome = outcome
        self.at = at
    }
}

/// What one check found.
public enum CheckOutcome: Equatable, Sendable, CustomStringConvertible {
    case up
    /// Why not, as a log says it: "connection refused", "timed out", "HTTP 503", ...
    case down(String)

    public var isUp: Bool { self == .up }

    public var description: String {
        switch self {
        case .up: "up"
        case .down(let reason): reason
        }
    }
}
