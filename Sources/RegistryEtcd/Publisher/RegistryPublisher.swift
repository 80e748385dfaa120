import Foundation
import HealthCheck
import Logging
import ServiceRegistry
import Synchronization

/// Publishes one cluster's exports to etcd under one lease and keeps the lease alive (DESIGN.md section 2).
///
/// If the publisher dies, the lease runs out and every key it wrote disappears from etcd, and so from every
/// instance's answers: a dead cluster is forgotten without anyone cleaning up. Each publish replaces the cluster's
/// whole set in one transaction (deleting the keys that are gone, putting the rest on the current lease), so an
/// instance never sees half of an update.
///
/// One publisher per cluster at a time: before it writes anything, a publisher creates the cluster's claim key
/// (`RegistryKeyLayout.claimKey`) on its lease, in a transaction that requires the key to be absent, and every
/// publish is conditional on the claim still being on its lease. A second publisher of the cluster (a rollout's
/// overlap, `replicas: 2`, a mistyped `--cluster`) finds the claim taken, says whose it is, and waits, watching
/// it: it takes over when the holder stops (which gives the claim up at once) or its lease runs out. Two never
/// write in turn, so the services never flap between two sets.
public final class RegistryPublisher: Sendable {
    public let client: EtcdClient
    public let layout: RegistryKeyLayout
    public let cluster: String
    /// The lease TTL asked for, in seconds.
    public let leaseTTL: Int64
    /// Who this publisher is (host and process), written as the claim's value so that a waiting publisher can
    /// say whom it waits for.
    public let identity: String
    /// The cluster's beacons, written in the claim (`ClaimValue`): what instances elsewhere probe to tell whether
    /// the cluster is reachable from them.
    public let beacons: [ProbeTarget]
    private let logger: Logger

    public init(
        client: EtcdClient, layout: RegistryKeyLayout, cluster: String, leaseTTL: Int64,
        identity: String = RegistryPublisher.defaultIdentity, beacons: [ProbeTarget] = [], logger: Logger
    ) {
        self.client = client
        self.layout = layout
        self.cluster = cluster
        self.leaseTTL = leaseTTL
        self.identity = identity
        self.beacons = beacons
        self.logger = logger
    }

    /// The claim's value: who holds it and the cluster's beacons.
    public var claimValue: String { ClaimValue(holder: identity, beacons: beacons).json }

    /// "HOST pid PID".
    public static var defaultIdentity: String {
        var name = [CChar](repeating: 0, count: 256)
        let host =
            gethostname(&name, name.count) == 0
            ? String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : "unknown-host"
        return "\(host) pid \(getpid())"
    }

    /// The key this publisher holds while it publishes.
    public var claimKey: String { layout.claimKey(cluster: cluster) }

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

    /// Who holds the cluster's claim.
    public enum Claim: Equatable, Sendable {
        /// This publisher's lease.
        case held
        /// Another publisher: its claim's value (who it is) and lease.
        case heldBy(holder: String, lease: Int64)
    }

    /// Takes the cluster's claim on `lease` if no one holds it; says who does otherwise.
    public func claim(lease: Int64) async throws(EtcdError) -> Claim {
        let (existing, _) = try await client.create(claimKey, value: claimValue, lease: lease)
        guard let existing, existing.leaseID != lease else { return .held }
        return .heldBy(holder: ClaimValue(parsing: existing.valueText).holder, lease: existing.leaseID)
    }

    /// Rewrites the claim if `lease` still holds it; returns the revision, or nil when it does not. Done at every
    /// lease renewal: servers read the claims as a heartbeat that proves their watch is still delivering.
    public func heartbeat(lease: Int64) async throws(EtcdError) -> Int64? {
        try await client.transaction(
            [.put(key: claimKey, value: claimValue, lease: lease)], ifKey: claimKey, isOnLease: lease)
    }

    /// Gives the claim up if `lease` holds it, leaving the exports on the lease: a publisher waiting for the
    /// claim takes over at once and puts the same exports on its own lease before this one's runs out, so a
    /// rollout moves the cluster from one publisher to the next without its exports leaving etcd.
    public func release(lease: Int64) async throws(EtcdError) {
        _ = try await client.transaction([.delete(key: claimKey)], ifKey: claimKey, isOnLease: lease)
    }

    /// Replaces the cluster's exports with `exports`, all on `lease`, in one transaction that requires the claim
    /// to be on `lease`; returns the revision, or nil when the claim is not (nothing was written).
    public func publish(_ exports: [String: String], lease: Int64) async throws(EtcdError) -> Int64? {
        let existing = try await client.list(prefix: layout.servicesPrefix(cluster: cluster), keysOnly: true)
            .keyValues.map(\.keyText)
        var operations: [EtcdOperation] = existing.filter { exports[$0] == nil }.map { .delete(key: $0) }
        operations += exports.sorted { $0.key < $1.key }.map { .put(key: $0.key, value: $0.value, lease: lease) }
        do {
            return try await client.transaction(operations, ifKey: claimKey, isOnLease: lease)
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

    /// What `run` holds between steps.
    private struct Holding {
        var lease: Int64? = nil
        var claimed = false
        var published = false
        /// The holder last reported while waiting, so the wait is logged once per holder, not every tick.
        var waitingFor: Claim? = nil
    }

    /// Publishes `initial`, then keeps the lease alive and republishes each new set from `updates`, until the task
    /// is cancelled; then gives the claim up. A lease lost (etcd unreachable for longer than its TTL) is replaced
    /// by a new one, the claim taken again and the set published again; so is a set that someone else
    /// overwrote or deleted (checked at every renewal). While another publisher holds the claim, nothing is
    /// written. Errors are logged and retried at the next tick; nothing here gives up.
    ///
    /// Work arrives as wake-ups that collapse while a step runs: after an etcd outage, the renewals that came due
    /// meanwhile are one renewal, not a burst, and only the newest set is published.
    public func run(initial: [String: String], updates: AsyncStream<[String: String]>) async throws {
        let interval = Duration.milliseconds(max(500, leaseTTL * 1000 / 3))
        let (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let pending = PendingWork()
        pending.tick()  // publish at once
        wake.yield()
        var holding = Holding()
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await update in updates {
                        pending.put(update)
                        wake.yield()
                    }
                }
                group.addTask {
                    while true {
                        try await Task.sleep(for: interval)
                        pending.tick()
                        wake.yield()
                    }
                }
                group.addTask {
                    try await self.watchClaim {
                        pending.tick()
                        wake.yield()
                    }
                }
                defer { group.cancelAll() }
                var exports = initial
                for await _ in wakeups {
                    try Task.checkCancellation()
                    let (update, tick) = pending.take()
                    if let update {
                        exports = update
                        holding.published = false
                    }
                    guard update != nil || tick else { continue }
                    do {
                        try await step(tick: tick, exports: exports, holding: &holding)
                    } catch {
                        if Task.isCancelled { break }
                        logger.error("etcd: \(error); retrying", metadata: ["cluster": "\(cluster)"])
                    }
                }
                // The wake-ups never end but by cancellation.
                throw CancellationError()
            }
        } catch {
            // Whether or not the claim was confirmed: a claim that committed as the task was cancelled is on this
            // lease all the same, and the release deletes it only if it is.
            if let lease = holding.lease {
                // The task is cancelled, and so would be any call made from it.
                await Task.detached { try? await self.release(lease: lease) }.value
                logger.info("claim given up", metadata: ["cluster": "\(cluster)", "lease": "\(hex(lease))"])
            }
            throw error
        }
    }

    /// One turn of `run`: renew the lease (on a tick), take the claim, check and publish the set, as far as each
    /// is due.
    private func step(tick: Bool, exports: [String: String], holding: inout Holding) async throws(EtcdError) {
        if let current = holding.lease, tick {
            if try await client.keepAlive(lease: current) <= 0 {
                logger.warning(
                    "lease expired (etcd was out of reach longer than its TTL); publishing again",
                    metadata: ["lease": "\(hex(current))"])
                holding = Holding(waitingFor: holding.waitingFor)
            }
        }
        if holding.lease == nil {
            let granted = try await client.grantLease(ttl: leaseTTL)
            holding.lease = granted.id
            holding.claimed = false
            holding.published = false
            logger.info("lease granted", metadata: ["lease": "\(hex(granted.id))", "ttl": "\(granted.ttl)s"])
        }
        guard let lease = holding.lease else { return }
        if holding.claimed, tick, try await heartbeat(lease: lease) == nil {
            logger.warning(
                "the claim is no longer on this publisher's lease (deleted by hand?); claiming again",
                metadata: ["cluster": "\(cluster)", "lease": "\(hex(lease))"])
            holding.claimed = false
            holding.published = false
        }
        if !holding.claimed {
            let claim = try await self.claim(lease: lease)
            guard claim == .held else {
                if holding.waitingFor != claim, case .heldBy(let holder, let holderLease) = claim {
                    logger.warning(
                        "another publisher holds this cluster's claim; waiting until it stops or its lease runs out",
                        metadata: [
                            "cluster": "\(cluster)", "holder": "\(holder)", "holder_lease": "\(hex(holderLease))",
                            "claim": "\(claimKey)",
                        ])
                }
                holding.waitingFor = claim
                return
            }
            holding.claimed = true
            holding.published = false
            holding.waitingFor = nil
            logger.info("cluster claimed", metadata: ["cluster": "\(cluster)", "lease": "\(hex(lease))"])
        }
        if holding.published, tick,
            !(try await client.keysHeld(exports.keys.sorted(), lease: lease))
        {
            // Someone else (an operator's put or delete, a publisher that ignored the claim) moved or removed
            // exports: if that writer's lease ran out, they would vanish.
            logger.warning(
                "some exports are no longer on this publisher's lease; publishing again",
                metadata: ["cluster": "\(cluster)", "lease": "\(hex(lease))"])
            holding.published = false
        }
        guard !holding.published else { return }
        guard let revision = try await publish(exports, lease: lease) else {
            logger.warning(
                "the claim is no longer on this publisher's lease; nothing written, claiming again",
                metadata: ["cluster": "\(cluster)", "lease": "\(hex(lease))"])
            holding.claimed = false
            return
        }
        holding.published = true
        logger.info(
            "exports published",
            metadata: [
                "cluster": "\(cluster)", "exports": "\(exports.count)", "revision": "\(revision)",
                "lease": "\(hex(lease))",
            ])
    }

    /// Calls `deleted` whenever the claim key is deleted, until cancelled: a waiting publisher then takes over at
    /// once instead of at its next tick. A broken watch is opened again from the current revision (a deletion
    /// missed meanwhile is found by the next tick).
    private func watchClaim(deleted: @escaping @Sendable () -> Void) async throws {
        while true {
            do {
                let from = try await client.currentRevision(reading: claimKey) + 1
                try await client.watch(key: claimKey, from: from) { messages in
                    if messages.contains(where: { $0.watchEvents.contains(where: \.isDelete) }) { deleted() }
                }
            } catch is CancellationError {
                throw CancellationError()
            } catch EtcdError.cancelled {
                throw CancellationError()
            } catch {
                try await Task.sleep(for: .seconds(1))
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
    ///
    /// With `checks`, each export is also checked from here (`ExportCheckPlan`): one that fails `fall` times in a
    /// row is published unhealthy (an endpoint not ready) until it passes `rise` times, so a copy its own cluster
    /// cannot serve leaves every instance's answers within seconds instead of a lease TTL.
    public func run(file: String, allowEmpty: Bool = false, checks: ExportCheckSettings? = nil) async throws {
        let source = FileRegistrySource(path: file, logger: logger)
        let services = try source.loadNow().services
        let initial = try exports(of: services, file: file, allowEmpty: allowEmpty)
        let checked = CheckedServices(services: services, settings: checks)
        if let checks { _ = try checks.plan.checks(of: services, file: file) }
        let (updates, continuation) = AsyncStream.makeStream(of: [String: String].self)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                await source.watch { snapshot in
                    do {
                        // A bad file changes nothing: the checks are validated first, and `replace` keeps the
                        // services it had when their exports do not validate.
                        if let checks { _ = try checks.plan.checks(of: snapshot.services, file: file) }
                        try checked.replace(snapshot.services) { services in
                            continuation.yield(try self.exports(of: services, file: file, allowEmpty: allowEmpty))
                        }
                    } catch {
                        self.logger.error("exports not republished; the published set stays: \(error)")
                    }
                }
            }
            if let checks {
                group.addTask {
                    try await self.check(checked, settings: checks, file: file) { services in
                        continuation.yield(try self.exports(of: services, file: file, allowEmpty: allowEmpty))
                    }
                }
            }
            group.addTask { try await self.run(initial: initial, updates: updates) }
            defer { group.cancelAll() }
            try await group.next()
        }
    }

    /// Runs `settings`' checks once per interval over the services `checked` holds, until cancelled; after a
    /// cycle in which an export or endpoint went down or came back, calls `changed` with the services as checked.
    private func check(
        _ checked: CheckedServices, settings: ExportCheckSettings, file: String,
        changed: @Sendable ([Service]) throws -> Void
    ) async throws {
        var tracker = HealthTracker<HealthCheck>(fall: settings.fall, rise: settings.rise)
        let clock = ContinuousClock()
        while true {
            let cycleStart = clock.now
            let services = checked.services
            let checks = (try? settings.plan.checks(of: services, file: file)) ?? []
            var moved = tracker.retain(only: checks)
            let order = Array(checks).shuffled()
            let results = await CheckRunner.run(order, within: settings.interval, timeout: settings.timeout)
            try Task.checkCancellation()
            for (check, result) in zip(order, results) {
                let outcome = result.outcome
                let at = result.at.timeIntervalSince1970
                guard let transition = tracker.record(check, up: outcome.isUp, at: at) else { continue }
                moved = true
                if transition.up {
                    logger.notice(
                        "check passes again: its exports are published healthy", metadata: ["check": "\(check)"])
                } else {
                    logger.warning(
                        "check failed \(settings.fall) times in a row: its exports are published unhealthy",
                        metadata: ["check": "\(check)", "reason": "\(outcome)"])
                }
            }
            if moved {
                do {
                    try checked.down(Set(tracker.down.keys), then: changed)
                } catch {
                    logger.error("exports not republished; the published set stays: \(error)")
                }
            }
            let elapsed = clock.now - cycleStart
            if elapsed < settings.interval { try await Task.sleep(for: settings.interval - elapsed) }
        }
    }
}

/// The services of the publisher's file, and the checks that are down, shared by the file watch and the checks:
/// what is published is the file's services as the checks found them.
private final class CheckedServices: Sendable {
    private let state: Mutex<(services: [Service], down: Set<HealthCheck>)>
    private let plan: ExportCheckPlan

    init(services: [Service], settings: ExportCheckSettings?) {
        state = Mutex((services, []))
        plan = settings?.plan ?? ExportCheckPlan()
    }

    var services: [Service] { state.withLock { $0.services } }

    /// Takes the file's new services and hands them, as checked, to `publish`, under the lock: the file watch
    /// and the checks publish in the order they change the state, so an older set never follows a newer one.
    func replace(_ services: [Service], then publish: ([Service]) throws -> Void) throws {
        try state.withLock { state in
            try publish(plan.applying(down: state.down, to: services))
            state.services = services
        }
    }

    /// Takes the checks down now and, if that changes anything, hands the services as checked to `publish`,
    /// under the lock.
    func down(_ down: Set<HealthCheck>, then publish: ([Service]) throws -> Void) throws {
        try state.withLock { state in
            guard down != state.down else { return }
            try publish(plan.applying(down: down, to: state.services))
            state.down = down
        }
    }
}

/// The work waiting for a publisher's next step: the newest set of exports, and whether a renewal is due.
private final class PendingWork: Sendable {
    private let state = Mutex<(exports: [String: String]?, tick: Bool)>((nil, false))

    func put(_ exports: [String: String]) { state.withLock { $0.exports = exports } }
    func tick() { state.withLock { $0.tick = true } }

    /// What is waiting, now taken.
    func take() -> (exports: [String: String]?, tick: Bool) {
        state.withLock { state in
            defer { state = (nil, false) }
            return state
        }
    }
}
