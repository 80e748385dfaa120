import DNSPipeline
import Synchronization

/// The TCP connections every listener may hold, counted across all of them (`limits.tcpConnections`), and per
/// client (`limits.tcpPerClient`, an IPv4 address or an IPv6 /64, since one host holds a whole /64): one client
/// cannot take every connection, and more listen addresses do not multiply the limit.
final class TCPConnectionLimits: Sendable {
    private struct State {
        var total = 0
        var perClient: [ClientAddress: Int] = [:]
    }

    let total: Int
    let perClient: Int
    private let state = Mutex(State())

    init(total: Int, perClient: Int) {
        self.total = total
        self.perClient = perClient
    }

    /// What refused a connection.
    enum Refusal: Equatable {
        case total
        case perClient
    }

    /// Takes a connection for `client`, or says which limit is reached.
    func acquire(_ client: ClientAddress) -> Refusal? {
        let key = Self.key(client)
        return state.withLock { state in
            guard state.total < total else { return .total }
            guard state.perClient[key, default: 0] < perClient else { return .perClient }
            state.total += 1
            state.perClient[key, default: 0] += 1
            return nil
        }
    }

    func release(_ client: ClientAddress) {
        let key = Self.key(client)
        state.withLock { state in
            state.total -= 1
            let left = state.perClient[key, default: 1] - 1
            state.perClient[key] = left > 0 ? left : nil
        }
    }

    /// Connections open now, in all and for `client`.
    func open(for client: ClientAddress? = nil) -> Int {
        state.withLock { state in client.map { state.perClient[Self.key($0), default: 0] } ?? state.total }
    }

    private static func key(_ client: ClientAddress) -> ClientAddress {
        switch client {
        case .v4: return client
        case .v6(let high, _): return .v6(high: high, low: 0)
        }
    }
}
