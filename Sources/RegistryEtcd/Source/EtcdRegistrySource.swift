import Dispatch
import Logging
import ServiceRegistry
import Synchronization

/// The registry from etcd v3 (DESIGN.md section 2): list the exports at one revision, then watch from the next,
/// applying each change to the service it touches.
///
/// - A broken watch is reopened at once from the last revision seen, on the next endpoint; if that fails too,
///   the source is stale (logged once) and retries with backoff until one answers.
/// - A revision compacted away cannot be resumed: the source lists again and publishes what differs.
/// - A watch that stays open but goes quiet is not trusted blindly: every `probeInterval` the member serving
///   it must answer a linearizable read (which needs a quorum), and deliver the publishers' heartbeat, or the
///   watch is dropped and reopened elsewhere.
/// - While stale, nothing changes: the last snapshot keeps serving.
public final class EtcdRegistrySource: RegistrySource {
    public struct Timing: Sendable {
        /// Between liveness probes of the member serving the watch.
        public var probeInterval: Duration = .seconds(2)
        /// The first retry delay after a failure; it doubles up to `maximumBackoff`.
        public var initialBackoff: Duration = .milliseconds(100)
        public var maximumBackoff: Duration = .seconds(2)

        public init() {}
    }

    private struct Shared {
        var state: EtcdRegistryState
        var version: UInt64 = 0
        var stale = false
        var staleSince: ContinuousClock.Instant?
        var endpoint: String?
        /// Values rejected since start (each logged once), for `scdns_registry_reloads_total{result="failure"}`.
        var rejections = 0
    }

    public let client: EtcdClient
    public let layout: RegistryKeyLayout
    private let timing: Timing
    private let logger: Logger
    private let shared: Mutex<Shared>

    /// Threads the first listing may decode on (a start, or `scdns check`, before anything is answered); a listing
    /// after it (once a compaction outran the watch) decodes on one, beside the threads answering queries.
    private let startThreads: Int

    public init(
        client: EtcdClient, layout: RegistryKeyLayout, timing: Timing = Timing(), startThreads: Int = 1,
        logger: Logger
    ) {
        self.client = client
        self.layout = layout
        self.timing = timing
        self.startThreads = startThreads
        self.logger = logger
        shared = Mutex(Shared(state: EtcdRegistryState(layout: layout)))
    }

    /// "etcd http://a:2379,http://b:2379 /scdns/v1/", for logs and the snapshot's origin.
    public var origin: String {
        "etcd " + client.endpoints.map(\.description).joined(separator: ",") + " " + layout.prefix
    }

    public func status() -> RegistrySourceStatus {
        shared.withLock { shared in
            RegistrySourceStatus(
                stale: shared.stale, revision: shared.state.revision, endpoint: shared.endpoint,
                staleSince: shared.staleSince, rejections: shared.rejections)
        }
    }

    /// Lists the exports, retrying with backoff until etcd answers (the server does not answer from an empty
    /// registry it knows to be wrong). Throws only when cancelled.
    public func initialSnapshot() async throws -> RegistrySnapshot {
        var backoff = Backoff(timing)
        var attempts = 0
        while true {
            do {
                return try await list(threads: startThreads).snapshot
            } catch {
                attempts += 1
                // The first failure, then about every 30 s (15 tries at the 2 s ceiling): enough to see it
                // is still waiting without a line per retry.
                if attempts == 1 || attempts % 15 == 0 {
                    logger.warning(
                        "etcd not answering; the registry is not loaded yet",
                        metadata: ["error": "\(error)", "attempts": "\(attempts)"])
                }
                markStale(error)
                try await Task.sleep(for: backoff.next())
            }
        }
    }

    /// One listing, no retry: for `scdns check`, which must say at once whether etcd answers.
    /// Returns the snapshot and what was rejected (each also logged), so `check` can fail on it.
    public func listOnce() async throws(EtcdError) -> (snapshot: RegistrySnapshot, rejected: [RegistryError]) {
        try await list(threads: startThreads)
    }

    /// Lists every export and makes it the state; returns the snapshot and the values rejected.
    @discardableResult
    private func list(
        threads: Int = 1
    ) async throws(EtcdError) -> (
        snapshot: RegistrySnapshot, rejected: [RegistryError]
    ) {
        let start = ContinuousClock.now
        let pages = ListingReader(layout: layout, threads: threads)
        let revision = try await client.list(prefix: layout.clustersPrefix) { pages.add($0) }
        // How long etcd took to hand the keys over, apart from decoding and merging them (`took`).
        let read = ContinuousClock.now - start
        let listed = await pages.finish()
        let (snapshot, rejections) = shared.withLock { shared in
            let rejections = shared.state.reset(listed: listed.joined(), revision: revision)
            shared.rejections += rejections.count
            shared.version += 1
            return (makeSnapshot(shared), rejections)
        }
        for rejection in rejections { logRejection(rejection) }
        markCurrent(endpoint: client.currentEndpoint)
        logger.info(
            "etcd registry listed",
            metadata: [
                "revision": "\(revision)", "exports": "\(listed.reduce(0) { $0 + $1.count })",
                "services": "\(snapshot.services.count)", "rejected": "\(rejections.count)",
                "read": "\(read)", "took": "\(ContinuousClock.now - start)",
            ])
        return (snapshot, rejections.map(\.error))
    }

    /// Follows etcd until cancelled. Snapshots reach `publish` from a task of their own: compiling answers for a
    /// big registry takes long, and meanwhile the watch goes on applying events; when several snapshots pile up
    /// only the newest is published, so a burst of updates costs a rebuild or two, not one each.
    public func watch(publish: @escaping @Sendable (RegistrySnapshot) -> Void) async {
        let latest = LatestSnapshot()
        let (signals, signal) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await _ in signals {
                    if let snapshot = latest.take() { publish(snapshot) }
                }
            }
            group.addTask {
                await self.follow { snapshot in
                    latest.put(snapshot)
                    signal.yield()
                }
                signal.finish()
            }
            await group.waitForAll()
        }
    }

    /// The watch loop: follow, and on failure resume, relist or back off, until cancelled.
    private func follow(publish: @escaping @Sendable (RegistrySnapshot) -> Void) async {
        var backoff = Backoff(timing)
        var mustList = false
        while !Task.isCancelled {
            var failure: any Error
            do {
                if mustList {
                    let before = shared.withLock { ($0.state.services, $0.state.revision) }
                    let snapshot = try await list().snapshot
                    mustList = false
                    if snapshot.services != before.0 || snapshot.revision != before.1 { publish(snapshot) }
                }
                try await followOnce(publish: publish)
                continue
            } catch let ended as WatchEnded {
                if ended.progressed { backoff.reset() }
                failure = ended.cause
            } catch {
                failure = error
            }
            if failure is CancellationError || Task.isCancelled || (failure as? EtcdError) == .cancelled { return }
            if case EtcdError.compacted(let compactRevision) = failure {
                if shared.withLock({ $0.state.skipCompacted(to: compactRevision) }) {
                    logger.debug("etcd compacted part of the listing's catch-up; watching from the compaction")
                    continue
                }
                logger.notice(
                    "etcd compacted past the watched revision; listing again",
                    metadata: ["revision": "\(status().revision ?? 0)", "compact_revision": "\(compactRevision)"])
                mustList = true
                continue
            }
            if backoff.failures > 0 { markStale(failure) }
            logger.debug("etcd watch ended", metadata: ["error": "\(failure)"])
            // The first retry is immediate (on another member, usually); later ones wait.
            let delay = backoff.next()
            if backoff.failures > 1 {
                do { try await Task.sleep(for: delay) } catch { return }
            }
        }
    }

    /// Why `follow` returned, and whether the watch made progress first (events applied or the member proved
    /// in a quorum): only then does the next failure start a fresh backoff, so a watch that opens and fails at
    /// once, again and again, backs off and is reported stale instead of spinning.
    private struct WatchEnded: Error {
        var progressed: Bool
        var cause: any Error
    }

    /// Without publishers: one probe in this many reads the newest mod revision under the prefix (`followOnce`).
    static let sortedProbeEvery = 15

    /// Watches from the state's `watchFrom`, publishing each change, with a probe of the serving member alongside.
    /// Returns never; throws `WatchEnded`.
    ///
    /// The probe, at once and then every `probeInterval`, reads the publishers' claim keys from the member
    /// serving the watch, by linearizable reads of those keys only: it fails if the member has no quorum.
    /// Publishers rewrite their claim at every lease renewal, so the newest claim's revision is a heartbeat: if
    /// it has still not come down the watch by the next probe, while the watch sits idle, the stream is dead
    /// without having closed (a middlebox that dropped it) and is reopened. Nothing here reads the exports
    /// themselves: the probe costs the same at 10 services and at 100,000. Only with no publisher claim at all
    /// (a registry written by hand) is there no heartbeat; then every `sortedProbeEvery`-th probe asks for the
    /// newest mod revision under the prefix instead, which etcd answers by reading every key (0.73 s of its CPU
    /// at 300,000 keys, BENCHMARKS.md), so a silent watch is still found, within about 30 s; the other probes
    /// read one key, for the quorum.
    private func followOnce(publish: @escaping @Sendable (RegistrySnapshot) -> Void) async throws {
        let from = shared.withLock { $0.state.watchFrom }
        let progress = WatchProgress(received: from - 1)
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    try await self.client.watch(
                        prefix: self.layout.clustersPrefix, from: from,
                        onOpen: { endpoint in progress.opened(endpoint) },
                        onMessages: { messages in
                            progress.receiving(messages.flatMap(\.watchEvents).map(\.kv.modRevision).max() ?? 0)
                            // Events from the watch prove it current as well as a probe does.
                            if let endpoint = progress.endpoint { self.markCurrent(endpoint: endpoint) }
                            self.apply(messages, publish: publish)
                            progress.applied()
                        })
                }
                group.addTask {
                    var expected: Int64? = nil
                    var probes = 0
                    while true {
                        guard let endpoint = progress.endpoint else {
                            try await Task.sleep(for: .milliseconds(10))
                            continue
                        }
                        let latest: Int64
                        do {
                            let claims = self.shared.withLock { $0.state.claims.keys.sorted() }
                            if !claims.isEmpty {
                                latest = try await self.client.newestModRevision(of: claims, at: endpoint)
                            } else if probes % Self.sortedProbeEvery == 0 {
                                // No publisher, so no heartbeat (a registry written by hand): the newest mod
                                // revision under the prefix instead, a read that costs etcd every key.
                                latest = try await self.client.latestModRevision(
                                    prefix: self.layout.clustersPrefix, at: endpoint)
                            } else {
                                _ = try await self.client.currentRevision(
                                    reading: self.layout.clustersPrefix, at: endpoint)
                                latest = 0
                            }
                            probes += 1
                        } catch {
                            self.client.avoid(endpoint)
                            throw EtcdError.unreachable("\(endpoint) failed its probe: \(error)")
                        }
                        self.markCurrent(endpoint: endpoint)
                        progress.proved()
                        let (received, busy) = progress.delivery
                        if let target = expected, !busy, received < target {
                            self.client.avoid(endpoint)
                            throw EtcdError.unreachable(
                                "\(endpoint): the watch has not delivered revision \(target) after \(self.timing.probeInterval)"
                            )
                        }
                        expected = latest > received ? latest : nil
                        try await Task.sleep(for: self.timing.probeInterval)
                    }
                }
                defer { group.cancelAll() }
                try await group.next()
            }
        } catch {
            throw WatchEnded(progressed: progress.progressed, cause: error)
        }
    }

    private func apply(_ messages: [WatchResponse], publish: @Sendable (RegistrySnapshot) -> Void) {
        let (snapshot, rejections) = shared.withLock { shared -> (RegistrySnapshot?, [EtcdRegistryState.Rejection]) in
            var changed = false
            var rejections: [EtcdRegistryState.Rejection] = []
            var touched = Set<ServiceID>()
            for message in messages {
                let outcome = shared.state.apply(message.watchEvents)
                changed = changed || outcome.changed
                rejections += outcome.rejections
                touched.formUnion(outcome.touched)
            }
            shared.rejections += rejections.count
            guard changed else { return (nil, rejections) }
            // Events that changed nothing made no snapshot, so what they touched is still as in the last one.
            let delta = RegistryDelta(from: shared.version, services: touched.sorted())
            shared.version += 1
            return (makeSnapshot(shared, delta: delta), rejections)
        }
        for rejection in rejections { logRejection(rejection) }
        if let snapshot {
            logger.info(
                "etcd registry changed",
                metadata: ["revision": "\(snapshot.revision ?? 0)", "services": "\(snapshot.services.count)"])
            publish(snapshot)
        }
    }

    private func makeSnapshot(_ shared: Shared, delta: RegistryDelta? = nil) -> RegistrySnapshot {
        RegistrySnapshot(
            services: shared.state.services, version: shared.version, origin: origin,
            revision: shared.state.revision, beacons: shared.state.beacons, delta: delta)
    }

    private func logRejection(_ rejection: EtcdRegistryState.Rejection) {
        logger.error(
            "etcd export rejected; it counts as absent", metadata: ["error": "\(rejection)"])
    }

    private func markStale(_ error: any Error) {
        let (wasStale, revision) = shared.withLock { shared in
            defer { shared.stale = true }
            if !shared.stale { shared.staleSince = .now }
            return (shared.stale, shared.state.revision)
        }
        if !wasStale {
            logger.warning(
                "etcd unreachable: answering from the last snapshot (stale) until it is back",
                metadata: ["revision": "\(revision)", "error": "\(error)"])
        }
    }

    private func markCurrent(endpoint: EtcdEndpoint) {
        let (wasStale, previous, revision) = shared.withLock { shared in
            defer {
                shared.stale = false
                shared.staleSince = nil
                shared.endpoint = endpoint.description
            }
            return (shared.stale, shared.endpoint, shared.state.revision)
        }
        if wasStale {
            logger.notice(
                "etcd reachable again: the registry is current",
                metadata: ["revision": "\(revision)", "endpoint": "\(endpoint)"])
        } else if let previous, previous != endpoint.description {
            logger.notice(
                "etcd watch moved to another member", metadata: ["from": "\(previous)", "to": "\(endpoint)"])
        }
    }
}

/// The newest snapshot not yet published.
private final class LatestSnapshot: Sendable {
    private let snapshot = Mutex<RegistrySnapshot?>(nil)
    /// A snapshot not taken yet is replaced, its delta carried into the new one's.
    func put(_ value: RegistrySnapshot) { snapshot.withLock { $0 = $0.map { value.replacing($0) } ?? value } }
    func take() -> RegistrySnapshot? {
        snapshot.withLock { value in
            defer { value = nil }
            return value
        }
    }
}

/// What one watch has done, shared between the watch and its probe.
private final class WatchProgress: Sendable {
    private struct State {
        var endpoint: EtcdEndpoint?
        var received: Int64
        var busy = false
        var progressed = false
    }

    private let state: Mutex<State>

    init(received: Int64) { state = Mutex(State(received: received)) }

    var endpoint: EtcdEndpoint? { state.withLock { $0.endpoint } }
    /// The newest event revision the watch has handed over, and whether it is still applying it.
    var delivery: (received: Int64, busy: Bool) { state.withLock { ($0.received, $0.busy) } }
    var progressed: Bool { state.withLock { $0.progressed } }

    func opened(_ endpoint: EtcdEndpoint) { state.withLock { $0.endpoint = endpoint } }

    /// Events up to `revision` arrived; applying them (and rebuilding answers) may take a while.
    func receiving(_ revision: Int64) {
        state.withLock { state in
            state.received = max(state.received, revision)
            state.busy = true
        }
    }

    func applied() {
        state.withLock { state in
            state.busy = false
            state.progressed = true
        }
    }

    /// The serving member answered a quorum read.
    func proved() { state.withLock { $0.progressed = true } }
}

/// Exponential backoff with jitter, so instances that lost etcd together do not return in lockstep.
struct Backoff {
    private let initial: Duration
    private let maximum: Duration
    private(set) var failures = 0

    init(_ timing: EtcdRegistrySource.Timing) {
        initial = timing.initialBackoff
        maximum = timing.maximumBackoff
    }

    mutating func next() -> Duration {
        defer { failures += 1 }
        let base = min(maximum, initial * (1 << min(failures, 20)))
        return base * Double.random(in: 0.8...1.2)
    }

    mutating func reset() { failures = 0 }
}

/// The pages of a listing read (`EtcdRegistryState.read`) as they arrive: with `threads` above one (a start's
/// listing, which nothing waits beside) on other threads while etcd makes the next page, each page's keys in
/// runs; else on the spot. etcd makes a page while the pages before it are read: side by side they take the
/// longer of the two, not the sum.
final class ListingReader: Sendable {
    private let layout: RegistryKeyLayout
    private let threads: Int
    /// Each page's runs, read, by page then run.
    private let pages = Mutex<[[[EtcdRegistryState.Listed]]]>([])
    private let group = DispatchGroup()

    init(layout: RegistryKeyLayout, threads: Int) {
        self.layout = layout
        self.threads = threads
    }

    /// Keys a run holds: a page of 25,000 is read by a few threads at once.
    static let runLength = 2_500

    func add(_ page: [KeyValue]) {
        let layout = layout
        guard threads > 1 else {
            let listed = EtcdRegistryState.read(page[...], layout: layout)
            pages.withLock { $0.append([listed]) }
            return
        }
        let runs = (page.count + Self.runLength - 1) / Self.runLength
        let index = pages.withLock { pages in
            pages.append(Array(repeating: [], count: runs))
            return pages.count - 1
        }
        for run in 0..<runs {
            DispatchQueue.global(qos: .userInitiated).async(group: group) { [self] in
                let slice = page[(run * Self.runLength)..<min(page.count, (run + 1) * Self.runLength)]
                let listed = EtcdRegistryState.read(slice, layout: layout)
                pages.withLock { $0[index][run] = listed }
            }
        }
    }

    /// Every key read, in the listing's order, once every page is.
    func finish() async -> [[EtcdRegistryState.Listed]] {
        await withCheckedContinuation { continuation in
            group.notify(queue: .global()) { continuation.resume() }
        }
        return pages.withLock { $0 }.flatMap { $0 }
    }
}
