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

    init(
        registry: RegistrySnapshot, zones: [AuthoritativeZone], settings: PipelineSettings, cache: ResponseCache? = nil,
        rateLimiter: ResponseRateLimiter? = nil, source: (any RegistrySource)? = nil, logger: Logger
    ) {
        self.settings = settings
        self.logger = logger
        self.source = source
        let snapshot = AnswerSnapshot.build(registry: registry, zones: zones, settings: settings)
        processor = QueryProcessor(snapshot: snapshot, cache: cache, rateLimiter: rateLimiter)
        inputs = Mutex(Inputs(registry: registry, zones: zones))
        published = Mutex(Published(registry: registry, at: .now))
        Self.logBuilt(snapshot, registry: registry, logger: logger)
        Self.logNamesTooLong(snapshot.namesTooLong, before: [], logger: logger)
        let starts = Self.logFailOpenTransitions(from: [], to: snapshot.failingOpen, logger: logger)
        published.withLock { $0.failOpenStarts += starts }
    }

    /// The registry being served, when it was swapped in, and the counts since start.
    var current: Published { published.withLock { $0 } }

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

    /// A registry change reuses the serving snapshot's compiled names for the services it leaves alone.
    func publish(registry: RegistrySnapshot) {
        inputs.withLock { inputs in
            inputs.registry = registry
            rebuild(inputs, reusing: processor.snapshot)
        }
    }

    /// The probes' verdicts: the exports of the targets down, and every probed export of the clusters down (each
    /// with when it went down), are unhealthy from here on. Only the services they belong to are compiled again.
    /// The cluster verdicts are kept as such, so a registry change that gives a cluster found down a new export
    /// has it answered unhealthy at once.
    func publish(down targets: [ProbeTarget: Date], clustersDown clusters: [String: Date] = [:]) {
        let verdicts = ProbeVerdicts(targets: targets, clusters: clusters)
        probed.withLock { $0 = verdicts }
        inputs.withLock { inputs in
            let before = Set(inputs.down.keys)
            inputs.probes = verdicts
            if Set(inputs.down.keys) != before { rebuild(inputs, reusing: processor.snapshot) }
        }
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
            rebuild(inputs, reusing: nil)
        }
    }

    private func rebuild(_ inputs: Inputs, reusing previous: AnswerSnapshot?) {
        let start = ContinuousClock.now
        var answered = inputs.registry
        let down = inputs.down
        if !down.isEmpty {
            answered = answered.with(services: ReachabilityPlan.demoting(inputs.registry.services, down: down))
        }
        let snapshot = AnswerSnapshot.build(
            registry: answered, zones: inputs.zones, settings: settings, previous: previous)
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
        Self.logBuilt(snapshot, registry: inputs.registry, logger: logger, took: ContinuousClock.now - start)
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
        _ snapshot: AnswerSnapshot, registry: RegistrySnapshot, logger: Logger, took: Duration? = nil
    ) {
        var metadata: Logger.Metadata = [
            "registry_version": "\(registry.version)", "services": "\(registry.services.count)",
            "names": "\(snapshot.nameCount)", "origin": "\(registry.origin)",
        ]
        if let revision = registry.revision { metadata["etcd_revision"] = "\(revision)" }
        if let took { metadata["build"] = "\(took)" }
        if snapshot.reusedNames > 0 { metadata["reused_names"] = "\(snapshot.reusedNames)" }
        logger.info("answers compiled", metadata: metadata)
    }
}

extension AuthoritativeZone {
    /// A loaded master file as the pipeline's zone.
    init(_ zone: Zone) {
        self.init(origin: zone.origin, soa: zone.soa, nameServers: zone.nameServers, records: zone.records)
    }
}
