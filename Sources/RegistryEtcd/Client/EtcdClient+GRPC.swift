import NIOCore

/// The client's gRPC calls: a listing's pages (`list`; why gRPC for them: `EtcdClient`), with the same
/// authentication, failover and deadline as the gateway's calls.
extension EtcdClient {
    /// A unary gRPC call of `path` (`/etcdserverpb.KV/Range`) with `message` (protobuf), through the same
    /// authentication and failover as `call`; returns the answer's message.
    func grpcCall(_ path: String, _ message: [UInt8]) async throws(EtcdError) -> ByteBuffer {
        try await authenticated { token throws(EtcdError) in
            try await withFailover { endpoint throws in
                try await unary(endpoint, path, message, token: token)
            }
        }
    }

    /// One gRPC call on `endpoint`, bounded by `callTimeout` from start to end. A kept connection that the
    /// member closed meanwhile (it restarted, or dropped it idle) is replaced once before the endpoint counts as
    /// failed. A connection that broke, or that a call was cancelled on (at its deadline: the member may be
    /// stalled), is not kept; one that still stands after a failed stream is, for the other calls on it.
    private func unary(
        _ endpoint: EtcdEndpoint, _ path: String, _ message: [UInt8], token: String?
    ) async throws -> ByteBuffer {
        let maximumBytes = maximumResponseBytes
        return try await withDeadline(callTimeout) {
            var retried = false
            while true {
                let (connection, fresh) = try await self.grpcConnection(to: endpoint)
                do {
                    return try await connection.unary(
                        path: path, message: message, token: token, maximumBytes: maximumBytes)
                } catch let status as EtcdGRPCConnection.Status {
                    throw Self.etcdError(code: status.code, message: status.message)
                } catch let error as EtcdError {
                    throw error
                } catch {
                    let cancelled = error is CancellationError || Task.isCancelled
                    let broken = cancelled || !connection.isActive
                    if broken {
                        self.grpcConnections.withLock { if $0[endpoint] === connection { $0[endpoint] = nil } }
                        connection.close()
                    }
                    if cancelled { throw CancellationError() }
                    if fresh || retried || !broken {
                        throw EtcdError.unreachable("\(endpoint): \(Self.describe(error))")
                    }
                    retried = true
                }
            }
        }
    }

    /// The kept connection to `endpoint` while it is open, or a new one (then `fresh`).
    private func grpcConnection(to endpoint: EtcdEndpoint) async throws -> (EtcdGRPCConnection, fresh: Bool) {
        if let kept = grpcConnections.withLock({ $0[endpoint] }), kept.isActive { return (kept, false) }
        let made: EtcdGRPCConnection
        do {
            made = try await EtcdGRPCConnection.connect(
                to: endpoint, tls: endpoint.isTLS ? grpcTLS : nil, connectTimeout: Self.connectTimeout)
        } catch let error as EtcdError {
            throw error
        } catch {
            throw EtcdError.unreachable("\(endpoint): \(Self.describe(error))")
        }
        // Two calls may connect at once: the first kept wins, the other is closed.
        let kept = grpcConnections.withLock { connections in
            if let other = connections[endpoint], other.isActive { return other }
            connections[endpoint] = made
            return made
        }
        if kept !== made { made.close() }
        return (kept, true)
    }
}
