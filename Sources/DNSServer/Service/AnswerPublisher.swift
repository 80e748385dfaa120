import CSocketBatch
import DNSPipeline
import Foundation
import Logging
import ServiceRegistry
import Synchronization
import ZoneFile

/// Keeps the latest registry snapshot and zones, and compiles a new answer snapshot whenever either changes.
/// Compiling happens off the query path; queries switch over when `QueryProcessor.replace` runs.
final class AnswerPublisher: Sendable {
    private struct Inputs {
        var registry: RegistrySnapshot
        var zones: [AuthoritativeZone]
        /// What this instance's probes found down (`ReachabilityService`), with since when: their exports are
        /// answered as unhealthy here, whatever the registry says.
        var probes = ProbeVerdicts()

        /// The targets down for the current registry: a cluster found down takes its targets down, those of a
        /// registry change included.
        var down: [ProbeTarget: Date] { probes.down(in: registry.services) }
        /// The last full snapshot and the registry it answers (probe verdicts applied): what an overlay lies
        /// over, and what the next full build reuses.
        var full: (snapshot: AnswerSnapshot, answered: RegistrySnapshot)
        /// Whether a full build is running to fold the serving overlay in, and whether inputs changed since it
        /// started (it then overlays the newest on its result and folds again).
        var folding = false
        /// Bumped by every zones change, which builds in full: a fold started before one is dropped.
        var zonesGeneration = 0
        /// What changed since `full` was built, step by step.
        var changes = ChangeLog()
        /// The step of `changes` that `full` answers.
        var fullStep = 0
        /// Whether `full` was built with no target down (its answered registry then is the registry).
        var fullHadNoneDown = true

        /// The services that may differ between `full.answered` and `answered`, when every step since `full`
        /// said (a registry delta each) and no target is down, now or when `full` was built (a verdict on a
        /// shared address can change services no delta lists); nil otherwise, and an overlay compares registries.
        func changedSinceFull(noneDownNow: Bool) -> [ServiceID]? {
            guard fullHadNoneDown, noneDownNow else { return nil }
            return changes.services(after: fullStep)
        }

        /// `full` now answers everything up to step `step`.
        mutating func built(
            _ snapshot: AnswerSnapshot, from registry: RegistrySnapshot, atStep step: Int, noneDown: Bool
        ) {
            full = (snapshot, registry)
            fullStep = step
            fullHadNoneDown = noneDown
            changes.forget(through: step)
        }

        /// The registry as answered (the exports of the targets down made unhealthy), and whether none is down:
        /// one computation of `down`, which walks every service while a cluster verdict stands.
        var answered: (registry: RegistrySnapshot, noneDown: Bool) {
            let down = self.down
            guard !down.isEmpty else { return (registry, true) }
            return (registry.with(services: ReachabilityPlan.demoting(registry.services, down: down)), false)
        }
    }

    /// The services each change since the last full build touched, while every change says (a registry with a
    /// delta from the one before); a change that does not (a file reloaded, a probe verdict) makes the rest
    /// unknown until the next full build forgets it.
    struct ChangeLog {
        private var steps: [(step: Int, services: [ServiceID]?)] = []
        /// The number of changes recorded so far.
        private(set) var step = 0

        /// Records a change: the services it touched, or nil when unknown.
        mutating func record(_ services: [ServiceID]?) {
            step += 1
            steps.append((step, services))
        }

        /// Every service touched after step `since`; nil when a change since did not say.
        func services(after since: Int) -> [ServiceID]? {
            var services: [ServiceID] = []
            for entry in steps where entry.step > since {
                guard let touched = entry.services else { return nil }
                services += touched
            }
            return services
        }

        /// Drops the changes up to `step`: a full build answers them.
        mutating func forget(through step: Int) {
            steps.removeAll { $0.step <= step }
        }
    }

    /// The probes' verdicts: targets found down, and clusters whose beacons are all down.
    struct ProbeVerdicts: Sendable {
        var targets: [ProbeTarget: Date] = [:]
        var clusters: [String: Date] = [:]

        func down(in services: [Service]) -> [ProbeTarget: Date] {
            ReachabilityPlan.down(targets: targets, clusters: clusters, in: services)
        }
    }

    /// What the admin endpoint reads: the registry being served and when it was swapped in, and counts.
    struct Published: Sendable {
        var registry: RegistrySnapshot
        var at: ContinuousClock.Instant
        /// Registry snapshots swapped in after the first (`scdns_registry_reloads_total{result="success"}`).
        var reloads = 0
        /// Services that went into fail open (`scdns_locality_failopen_total`).
        var failOpenStarts = 0
    }

    let processor: QueryProcessor
    /// Where registry snapshots come from, for its status (stale, revision, rejections).
    let source: (any RegistrySource)?
    private let settings: PipelineSettings
    private let logger: Logger
    /// Held across a whole rebuild so two updates cannot publish out of order.
    private let inputs: Mutex<Inputs>
    private let published: Mutex<Published>
    /// The probes' verdicts for the admin endpoint; nil while probes are off. Apart from `inputs`, whose lock a
    /// rebuild holds for long.
    private let probed = Mutex<ProbeVerdicts?>(nil)
    /// Folds that have ended, used or dropped (for tests, which wait for one).
    private let foldsEnded = Mutex(0)

    /// `compileThreads`: threads the first build may use (nothing is answered before it); builds after it use
    /// one, beside the threads answering queries.
    init(
        registry: RegistrySnapshot, zones: [AuthoritativeZone], settings: PipelineSettings, cache: ResponseCache? = nil,
        rateLimiter: ResponseRateLimiter? = nil, source: (any RegistrySource)? = nil, compileThreads: Int = 1,
        logger: Logger
    ) {
        self.settings = settings
        self.logger = logger
        self.source = source
        let snapshot = AnswerSnapshot.build(
            registry: registry, zones: zones, settings: settings, threads: compileThreads)
        processor = QueryProcessor(snapshot: snapshot, cache: cache, rateLimiter: rateLimiter)
        inputs = Mutex(Inputs(registry: registry, zones: zones, full: (snapshot, registry)))
        published = Mutex(Published(registry: registry, at: .now))
        Self.logBuilt(snapshot, registry: registry, logger: logger)
        Self.logNamesTooLong(snapshot.namesTooLong, before: [], logger: logger)
        let starts = Self.logFailOpenTransitions(from: [], to: snapshot.failingOpen, logger: logger)
        published.withLock { $0.failOpenStarts += starts }
        // A full build frees far more than it keeps (the registry's decoding too, before it): hand it back.
        scdns_return_free_memory()
    }

    /// The registry being served, when it was swapped in, and the counts since start.
    var current: Published { published.withLock { $0 } }

    /// How many folds have ended, used or dropped.
    var foldsFinished: Int { foldsEnded.withLock { $0 } }

    /// The source's status; a publisher without one (tests) is never stale.
    func sourceStatus() -> RegistrySourceStatus { source?.status() ?? RegistrySourceStatus() }

    /// A service with no healthy export is answered with all of them (fail open); operators need to know when
    /// that starts and stops, once per transition rather than per query. Returns how many services started.
    @discardableResult
    static func logFailOpenTransitions(from previous: Set<String>, to current: Set<String>, logger: Logger) -> Int {
        let started = current.subtracting(previous)
        for service in started.sorted() {
            logger.warning(
                "no healthy export: answering every export (fail open)", metadata: ["service": "\(service)"])
        }
        for service in previous.subtracting(current).sorted() {
            logger.notice("healthy exports again: fail open ended", metadata: ["service": "\(service)"])
        }
        return started.count
    }

    /// A registry change is answered at once from an overlay of the services it changed over the last full
    /// snapshot (`AnswerSnapshot.overlay`), and a full build folds it in behind; when no overlay can be exact, it
    /// is built in full at once, reusing the compiled names of the services it leaves alone.
    func publish(registry: RegistrySnapshot) {
        let builtInFull = inputs.withLock { inputs in
            let delta = registry.delta.flatMap { delta in
                delta.from == inputs.registry.version && registry.origin == inputs.registry.origin
                    ? delta.services : nil
            }
            inputs.changes.record(delta)
            inputs.registry = registry
            return rebuild(&inputs)
        }
        if builtInFull { scdns_return_free_memory() }
    }

    /// The probes' verdicts: the exports of the targets down, and every probed export of the clusters down (each
    /// with when it went down), are unhealthy from here on. Only the services they belong to are compiled again.
    /// The cluster verdicts are kept as such, so a registry change that gives a cluster found down a new export
    /// has it answered unhealthy at once.
    func publish(down targets: [ProbeTarget: Date], clustersDown clusters: [String: Date] = [:]) {
        let verdicts = ProbeVerdicts(targets: targets, clusters: clusters)
        probed.withLock { $0 = verdicts }
        let builtInFull = inputs.withLock { inputs in
            let before = Set(inputs.down.keys)
            inputs.probes = verdicts
            guard Set(inputs.down.keys) != before else { return false }
            inputs.changes.record(nil)
            return rebuild(&inputs)
        }
        if builtInFull { scdns_return_free_memory() }
    }

    /// The targets this instance cannot reach in the serving registry, and since when; nil while probes are off.
    var unreachable: [ProbeTarget: Date]? {
        probed.withLock { $0 }.map { $0.down(in: current.registry.services) }
    }

    /// The registry as this instance answers it: the published one with the exports it cannot reach unhealthy.
    var answeredRegistry: RegistrySnapshot {
        let registry = current.registry
        guard let down = unreachable, !down.isEmpty else { return registry }
        return registry.with(services: ReachabilityPlan.demoting(registry.services, down: down))
    }

    /// New zones compile everything afresh: what a service's names answer may depend on the zone files.
    func publish(zones: [AuthoritativeZone]) {
        inputs.withLock { inputs in
            inputs.zones = zones
            inputs.zonesGeneration += 1
            let answered = inputs.answered
            let start = ContinuousClock.now
            let snapshot = AnswerSnapshot.build(registry: answered.registry, zones: inputs.zones, settings: settings)
            inputs.built(
                snapshot, from: answered.registry, atStep: inputs.changes.step, noneDown: answered.noneDown)
            swapIn(snapshot, inputs: inputs, took: ContinuousClock.now - start)
        }
        scdns_return_free_memory()
    }

    /// Answers the current inputs: an overlay over the last full snapshot, or a full build when an overlay
    /// would be too big (most of its cost is then compiling) or cannot be exact. Runs under the inputs lock;
    /// returns whether it built in full (the caller then returns the memory freed, off the lock).
    @discardableResult
    private func rebuild(_ inputs: inout Inputs) -> Bool {
        let start = ContinuousClock.now
        let answered = inputs.answered
        let limit = max(Self.overlayMinimum, inputs.full.answered.services.count / 8)
        if let overlay = AnswerSnapshot.overlay(
            registry: answered.registry, baseRegistry: inputs.full.answered, over: inputs.full.snapshot,
            zones: inputs.zones, settings: settings, maxServices: limit,
            changed: inputs.changedSinceFull(noneDownNow: answered.noneDown))
        {
            swapIn(overlay, inputs: inputs, took: ContinuousClock.now - start)
            scheduleFold(&inputs)
            return false
        }
        let snapshot = AnswerSnapshot.build(
            registry: answered.registry, zones: inputs.zones, settings: settings, previous: inputs.full.snapshot)
        inputs.built(snapshot, from: answered.registry, atStep: inputs.changes.step, noneDown: answered.noneDown)
        swapIn(snapshot, inputs: inputs, took: ContinuousClock.now - start)
        return true
    }

    /// An overlay of up to this many services is always worth it, whatever the registry's size.
    static let overlayMinimum = 256

    /// How much nicer (setpriority) the thread folding overlays in runs: a fold at 100,000 services takes
    /// seconds of CPU, which the threads answering queries and taking the next change must not wait behind.
    static let foldNiceness: Int32 = 10

    /// Starts a full build of the current inputs on a thread of its own at a lower priority, unless one is
    /// running (it then overlays what changed meanwhile on its result, and folds again).
    private func scheduleFold(_ inputs: inout Inputs) {
        guard !inputs.folding else { return }
        inputs.folding = true
        let answered = inputs.answered
        let snapshot = (
            registry: answered.registry, zones: inputs.zones, generation: inputs.zonesGeneration,
            previous: inputs.full.snapshot, step: inputs.changes.step, noneDown: answered.noneDown
        )
        // A thread of its own rather than a task: a lowered priority stays with the thread, and must not stay
        // with a thread of the shared pool.
        let thread = Thread { [self] in
            _ = scdns_lower_thread_priority(Self.foldNiceness)
            let start = ContinuousClock.now
            let full = AnswerSnapshot.build(
                registry: snapshot.registry, zones: snapshot.zones, settings: settings, previous: snapshot.previous)
            let took = ContinuousClock.now - start
            self.inputs.withLock { inputs in
                inputs.folding = false
                // A full build since (zones changed, or a change too big for an overlay) answers more than this
                // fold: it is dropped, and an overlay served since is folded over that build instead.
                guard inputs.zonesGeneration == snapshot.generation, snapshot.step >= inputs.fullStep else {
                    if processor.snapshot.base != nil { scheduleFold(&inputs) }
                    return
                }
                inputs.built(full, from: snapshot.registry, atStep: snapshot.step, noneDown: snapshot.noneDown)
                if inputs.changes.step == snapshot.step {
                    swapIn(full, inputs: inputs, took: took, folded: true)
                } else {
                    rebuild(&inputs)
                }
            }
            foldsEnded.withLock { $0 += 1 }
            // Off the lock: what the build and the snapshot it replaced freed.
            scdns_return_free_memory()
        }
        thread.name = "scdns-fold"
        thread.start()
    }

    /// Puts `snapshot` in service for `inputs`, and logs and counts what changed.
    private func swapIn(_ snapshot: AnswerSnapshot, inputs: Inputs, took: Duration, folded: Bool = false) {
        let previous = processor.snapshot
        processor.replace(with: snapshot)
        let starts = Self.logFailOpenTransitions(from: previous.failingOpen, to: snapshot.failingOpen, logger: logger)
        Self.logNamesTooLong(snapshot.namesTooLong, before: previous.namesTooLong, logger: logger)
        published.withLock { published in
            if published.registry.version != inputs.registry.version
                || published.registry.origin != inputs.registry.origin
            {
                published.reloads += 1
                published.at = .now
            }
            published.registry = inputs.registry
            published.failOpenStarts += starts
        }
        Self.logBuilt(snapshot, registry: inputs.registry, logger: logger, took: took, folded: folded)
    }

    /// Names DNS cannot hold are left out of the answers: said once each, when they appear (`scdns check` fails
    /// on them).
    static func logNamesTooLong(_ names: [String], before: [String], logger: Logger) {
        let known = Set(before)
        for name in names where !known.contains(name) {
            logger.warning(
                "a name longer than DNS allows (255 octets) is left out of the answers", metadata: ["name": "\(name)"])
        }
    }

    private static func logBuilt(
        _ snapshot: AnswerSnapshot, registry: RegistrySnapshot, logger: Logger, took: Duration? = nil,
        folded: Bool = false
    ) {
        var metadata: Logger.Metadata = [
            "registry_version": "\(registry.version)", "services": "\(registry.services.count)",
            "names": "\(snapshot.nameCount)", "origin": "\(registry.origin)",
        ]
        if let revision = registry.revision { metadata["etcd_revision"] = "\(revision)" }
        if let took { metadata["build"] = "\(took)" }
        if snapshot.reusedNames > 0 { metadata["reused_names"] = "\(snapshot.reusedNames)" }
        if snapshot.base != nil { metadata["overlay_services"] = "\(snapshot.overlaidServices)" }
        if folded { metadata["folded"] = "true" }
        logger.info("answers compiled", metadata: metadata)
    }
}

extension AuthoritativeZone {
    /// A loaded master file as the pipeline's zone.
    init(_ zone: Zone) {
        self.init(origin: zone.origin, soa: zone.soa, nameServers: zone.nameServers, records: zone.records)
    }
}
