import DNSPipeline
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
    }

    let processor: QueryProcessor
    private let settings: PipelineSettings
    private let logger: Logger
    /// Held across a whole rebuild so two updates cannot publish out of order.
    private let inputs: Mutex<Inputs>

    init(
        registry: RegistrySnapshot, zones: [AuthoritativeZone], settings: PipelineSettings, cache: ResponseCache? = nil,
        logger: Logger
    ) {
        self.settings = settings
        self.logger = logger
        let snapshot = AnswerSnapshot.build(registry: registry, zones: zones, settings: settings)
        processor = QueryProcessor(snapshot: snapshot, cache: cache)
        inputs = Mutex(Inputs(registry: registry, zones: zones))
        Self.logBuilt(snapshot, registry: registry, logger: logger)
        Self.logFailOpenTransitions(from: [], to: snapshot.failingOpen, logger: logger)
    }

    /// A service with no healthy export is answered with all of them (fail open); operators need to know when
    /// that starts and stops, once per transition rather than per query.
    static func logFailOpenTransitions(from previous: Set<String>, to current: Set<String>, logger: Logger) {
        for service in current.subtracting(previous).sorted() {
            logger.warning(
                "no healthy export: answering every export (fail open)", metadata: ["service": "\(service)"])
        }
        for service in previous.subtracting(current).sorted() {
            logger.notice("healthy exports again: fail open ended", metadata: ["service": "\(service)"])
        }
    }

    /// A registry change reuses the serving snapshot's compiled names for the services it leaves alone.
    func publish(registry: RegistrySnapshot) {
        inputs.withLock { inputs in
            inputs.registry = registry
            rebuild(inputs, reusing: processor.snapshot)
        }
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
        let snapshot = AnswerSnapshot.build(
            registry: inputs.registry, zones: inputs.zones, settings: settings, previous: previous)
        let previous = processor.snapshot
        processor.replace(with: snapshot)
        Self.logFailOpenTransitions(from: previous.failingOpen, to: snapshot.failingOpen, logger: logger)
        Self.logBuilt(snapshot, registry: inputs.registry, logger: logger, took: ContinuousClock.now - start)
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
