import Logging
import ServiceRegistry

/// Publishes one cluster's exports to etcd under one lease and keeps the lease alive (DESIGN.md section 2).
///
/// If the publisher dies, the lease runs out and every key it wrote disappears from etcd, and so from every
/// instance's answers: a dead cluster is forgotten without anyone cleaning up. Each publish replaces the cluster's
/// whole set in one transaction (deleting the keys that are gone, putting the rest on the current lease), so an
/// instance never sees half of an update.
public final class RegistryPublisher: Sendable {
    public let client: EtcdClient
    public let layout: RegistryKeyLayout
    public let cluster: String
    /// The lease TTL asked for, in seconds.
    public let leaseTTL: Int64
    private let logger: Logger

    public init(client: EtcdClient, layout: RegistryKeyLayout, cluster: String, leaseTTL: Int64, logger: Logger) {
        self.client = client
        self.layout = layout
        self.cluster = cluster
        self.leaseTTL = leaseTTL
        self.logger = logger
    }

    /// The etcd keys and flat JSON values of `cluster`'s exports among `services` (a registry document's
    /// services). A service that lists another cluster is an error: a cluster publishes only its own view.
    public static func exports(
        of services: [Service], cluster: String, layout: RegistryKeyLayout, file: String
    ) throws(RegistryError) -> [String: String] {
        var exports: [String: String] = [:]
        for service in services {
            for export in service.clusters {
                guard export.cluster == cluster else {
                    throw RegistryError(
                        file: file, field: "\(service.namespace)/\(service.name)",
                        message:
                            "lists cluster '\(export.cluster)'; this publisher publishes cluster '\(cluster)' only")
                }
                let key = layout.key(namespace: service.namespace, name: service.name, cluster: cluster)
                exports[key] = ExportEncoder.flatJSON(service, cluster: export)
            }
        }
        return exports
    }

    /// Replaces the cluster's exports with `exports`, all on `lease`, in one transaction; returns the revision.
    @discardableResult
    public func publish(_ exports: [String: String], lease: Int64) async throws(EtcdError) -> Int64 {
        let existing = try await client.list(prefix: layout.servicesPrefix, keysOnly: true).keyValues
            .map(\.keyText)
            .filter { layout.parse($0)?.cluster == cluster }
        var operations: [EtcdOperation] = existing.filter { exports[$0] == nil }.map { .delete(key: $0) }
        operations += exports.sorted { $0.key < $1.key }.map { .put(key: $0.key, value: $0.value, lease: lease) }
        do {
            return try await client.transaction(operations)
        } catch .server(let code, let message) where message.contains("too many operations") {
            throw .server(
                code: code,
                message:
                    "\(message): \(operations.count) operations in one transaction; raise etcd's --max-txn-ops "
                    + "(default 128) so the cluster's set can be replaced atomically")
        } catch .server(let code, let message) where message.contains("too large") {
            throw .server(
                code: code,
                message:
                    "\(message): the cluster's set is one transaction; raise etcd's --max-request-bytes "
                    + "(default 1.5 MiB)")
        }
    }

    /// What `run` reacts to.
    public enum Event: Sendable {
        /// A new set of exports to publish (from `exports(of:...)`).
        case exports([String: String])
        /// Time to renew the lease.
        case tick
    }

    /// Publishes `initial`, then keeps the lease alive and republishes each new set from `updates`, until the task
    /// is cancelled. A lease lost (etcd unreachable for longer than its TTL) is replaced by a new one and the set
    /// published again; so is a set that someone else overwrote or deleted (checked at every renewal). Errors are
    /// logged and retried at the next tick; nothing here gives up.
    public func run(initial: [String: String], updates: AsyncStream<[String: String]>) async throws {
        let interval = Duration.milliseconds(max(500, leaseTTL * 1000 / 3))
        let (events, continuation) = AsyncStream.makeStream(of: Event.self)
        continuation.yield(.tick)  // publish at once
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for await update in updates { continuation.yield(.exports(update)) }
            }
            group.addTask {
                while true {
                    try await Task.sleep(for: interval)
                    continuation.yield(.tick)
                }
            }
            defer { group.cancelAll() }
            var exports = initial
            var lease: Int64? = nil
            var published = false
            for await event in events {
                try Task.checkCancellation()
                switch event {
                case .exports(let update):
                    exports = update
                    published = false
                case .tick:
                    break
                }
                do {
                    if let current = lease, case .tick = event {
                        if try await client.keepAlive(lease: current) <= 0 {
                            logger.warning(
                                "lease expired (etcd was out of reach longer than its TTL); publishing again",
                                metadata: ["lease": "\(hex(current))"])
                            lease = nil
                            published = false
                        }
                    }
                    if lease == nil {
                        let granted = try await client.grantLease(ttl: leaseTTL)
                        lease = granted.id
                        published = false
                        logger.info(
                            "lease granted", metadata: ["lease": "\(hex(granted.id))", "ttl": "\(granted.ttl)s"])
                    }
                    if published, case .tick = event, let lease,
                        !(try await client.keysHeld(exports.keys.sorted(), lease: lease))
                    {
                        // Another writer (a second publisher of this cluster during a rollout, an operator's
                        // delete) moved or removed exports: if that writer's lease ran out, they would vanish.
                        logger.warning(
                            "some exports are no longer on this publisher's lease; publishing again",
                            metadata: ["cluster": "\(cluster)", "lease": "\(hex(lease))"])
                        published = false
                    }
                    if !published, let lease {
                        let revision = try await publish(exports, lease: lease)
                        published = true
                        logger.info(
                            "exports published",
                            metadata: [
                                "cluster": "\(cluster)", "exports": "\(exports.count)", "revision": "\(revision)",
                                "lease": "\(hex(lease))",
                            ])
                    }
                } catch {
                    logger.error("etcd: \(error); retrying", metadata: ["cluster": "\(cluster)"])
                }
            }
        }
    }
}

extension RegistryPublisher {
    /// `exports(of:cluster:layout:file:)` for this publisher, refusing an empty set unless `allowEmpty`.
    func exports(of services: [Service], file: String, allowEmpty: Bool) throws(RegistryError) -> [String: String] {
        let exports = try Self.exports(of: services, cluster: cluster, layout: layout, file: file)
        guard !exports.isEmpty || allowEmpty else {
            throw RegistryError(
                file: file, field: "services",
                message:
                    "no export of cluster '\(cluster)': publishing it would delete every export the cluster has; "
                    + "pass --allow-empty to mean that")
        }
        return exports
    }
}

/// Lease IDs as etcdctl prints them.
func hex(_ id: Int64) -> String { String(UInt64(bitPattern: id), radix: 16) }

extension RegistryPublisher {
    /// Publishes the cluster's exports listed in a registry file (the schema of DESIGN.md section 2) and follows
    /// the file: each valid change is published again; an invalid one is logged and the published set stays.
    /// A file with no export of the cluster would delete every one it has: it is refused like an invalid file
    /// unless `allowEmpty` (`--allow-empty`). Throws at once if the file is invalid, or empty, at start.
    public func run(file: String, allowEmpty: Bool = false) async throws {
        let source = FileRegistrySource(path: file, logger: logger)
        let initial = try exports(of: try source.loadNow().services, file: file, allowEmpty: allowEmpty)
        let (updates, continuation) = AsyncStream.makeStream(of: [String: String].self)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                await source.watch { snapshot in
                    do {
                        continuation.yield(
                            try self.exports(of: snapshot.services, file: file, allowEmpty: allowEmpty))
                    } catch {
                        self.logger.error("exports not republished; the published set stays: \(error)")
                    }
                }
            }
            group.addTask { try await self.run(initial: initial, updates: updates) }
            defer { group.cancelAll() }
            try await group.next()
        }
    }
}
