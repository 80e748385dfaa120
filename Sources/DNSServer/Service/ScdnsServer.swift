import CSocketBatch
import DNSPipeline
import Foundation
import Logging
import NIOCore
import NIOPosix
import RegistryEtcd
import ServiceLifecycle
import ServiceRegistry
import ZoneFile

/// The server as a whole: loads the config's zones and registry, compiles answers, and runs the listeners
/// and the reload service in one ServiceGroup until SIGTERM or SIGINT.
public struct ScdnsServer: Sendable {
    public let config: ServerConfig
    public let logger: Logger

    public init(config: ServerConfig, logger: Logger) {
        self.config = config
        self.logger = logger
    }

    /// The version `scdns_build_info` and CHAOS `version.server` report.
    public static let version = "0.11.0"

    /// Allocations from this size up are mapped on their own (`scdns_map_large_allocations`), glibc's initial
    /// threshold kept for good. A build's large temporaries (each run's arrays, the names it hands over, the
    /// arrays outgrown as the snapshot's fill) were otherwise placed between the arrays that live on, and their
    /// pages stayed resident once freed: at 100,000 services from etcd, 455 MiB resident with it against 467–514
    /// without, and a peak of 662–681 MiB against 788–823 (BENCHMARKS.md). Queries allocate nothing, so they never pay for it.
    static let largeAllocation = 128 * 1024

    public func run() async throws {
        _ = scdns_map_large_allocations(Self.largeAllocation)
        let state = ServerState(maxStale: config.registryEtcd?.maxStale ?? .seconds(60))
        let zones = try ZoneFileLoader.loadDirectory(config.zonesDirectory).map(AuthoritativeZone.init)
        let (source, reloadRegistry) = try makeSource()
        // The admin endpoint answers from the start, not ready, while an etcd registry is still being listed.
        let admin = config.admin.map { address in
            AdminService(
                address: address, state: state,
                title: config.pipeline.identity ?? ServerConfig.hostName() ?? "scdns",
                locality: config.pipeline.locality,
                logger: logger)
        }
        let dns = DNSService(
            server: self, zones: zones, source: source, reloadRegistry: reloadRegistry, state: state)
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        if let admin { services.append(.init(service: admin)) }
        services.append(.init(service: dns))
        // Shut down in reverse: the DNS listeners first (lame duck, drain), the admin endpoint last.
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
        logger.info("stopped")
    }

    /// Loads the registry, then serves DNS: listeners and reloads, in a group of their own under the server's.
    private struct DNSService: ServiceLifecycle.Service {
        let server: ScdnsServer
        let zones: [AuthoritativeZone]
        let source: any RegistrySource
        let reloadRegistry: @Sendable () -> Void
        let state: ServerState

        func run() async throws {
            let source = self.source
            let registry: RegistrySnapshot
            do {
                registry = try await cancelWhenGracefulShutdown { try await source.initialSnapshot() }
            } catch {
                // SIGTERM while an etcd registry was still being listed: nothing to drain.
                if Task.isCancelled || error is CancellationError { return }
                throw error
            }
            let group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, min(4, System.coreCount)))
            do {
                try await serve(registry: registry, group: group)
            } catch {
                try? await group.shutdownGracefully()
                throw error
            }
            try await group.shutdownGracefully()
        }

        private func serve(registry: RegistrySnapshot, group: MultiThreadedEventLoopGroup) async throws {
            let config = server.config
            let logger = server.logger
            // The cache holds forwarded answers only: without forward rules there is nothing to keep.
            let cache =
                config.forward.isEmpty || config.cache.capacity == 0 ? nil : ResponseCache(settings: config.cache)
            let publisher = AnswerPublisher(
                registry: registry, zones: zones, settings: config.pipeline, cache: cache,
                rateLimiter: config.rateLimit.isEnabled ? ResponseRateLimiter(settings: config.rateLimit) : nil,
                source: source, compileThreads: ServerConfig.automaticWorkers(), logger: logger)
            let metrics = ServerMetrics(processor: publisher.processor, version: ScdnsServer.version)
            let forwarder =
                config.forward.isEmpty
                ? nil
                : try UpstreamForwarder(
                    targets: config.forward, group: group, udpPayloadLimit: config.pipeline.udpPayloadLimit,
                    processor: publisher.processor, metrics: metrics, maxInFlight: config.forwardInFlight,
                    logger: logger)
            if let cache, let forwarder, cache.settings.prefetch {
                cache.setPrefetcher { query, rule in forwarder.refresh(query, rule: rule) }
            }
            let longestForward = config.forward.map(\.timeout).max() ?? .zero
            let listeners = ListenerService(
                addresses: config.listen, processor: publisher.processor, forwarder: forwarder,
                tcpConnections: config.tcpConnections, tcpPerClient: config.tcpPerClient, tcpIdle: config.tcpIdle,
                group: group, workers: config.workers ?? ServerConfig.automaticWorkers(),
                metrics: metrics.queries, state: state, lameDuck: config.lameDuck,
                drainBound: longestForward + .seconds(1),
                queryLog: config.queryLogEvery > 0 ? QueryLog(every: config.queryLogEvery, logger: logger) : nil,
                logger: logger)
            let reloads = ReloadService(
                source: source, reloadRegistry: reloadRegistry, zonesDirectory: config.zonesDirectory,
                publisher: publisher, logger: logger)
            state.loaded(publisher, metrics: metrics)
            logger.info(
                "serving",
                metadata: [
                    "listen": "\(config.listen.map(\.description).joined(separator: ","))",
                    "registry": "\(registry.origin)", "services": "\(registry.services.count)",
                    "zones": "\(zones.map(\.origin.description).joined(separator: ","))",
                    "forward": "\(config.forward.map(\.zone.description).joined(separator: ","))",
                    "admin": "\(config.admin?.description ?? "off")",
                ])
            var running: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: reloads)]
            if config.health.probes {
                running.append(
                    .init(
                        service: ReachabilityService(
                            settings: config.health, ownCluster: config.pipeline.locality.cluster,
                            publisher: publisher, metrics: metrics, logger: logger)))
            }
            // Listeners last, so they are shut down first: lame duck while the registry still follows its source.
            running.append(.init(service: listeners))
            let services = ServiceGroup(configuration: ServiceGroupConfiguration(services: running, logger: logger))
            try await services.run()
        }
    }

    /// The registry source the config names, and what SIGHUP does to it.
    private func makeSource() throws -> (any RegistrySource, @Sendable () -> Void) {
        guard let etcd = config.registryEtcd else {
            let source = FileRegistrySource(
                path: config.registryFile, startThreads: ServerConfig.automaticWorkers(), logger: logger)
            return (source, { source.reload() })
        }
        let client = try EtcdClient(endpoints: etcd.endpoints, security: etcd.security, logger: logger)
        let source = EtcdRegistrySource(
            client: client, layout: RegistryKeyLayout(prefix: etcd.prefix),
            startThreads: ServerConfig.automaticWorkers(),
            logger: logger)
        let logger = self.logger
        // etcd pushes every change as it happens; there is nothing to re-read.
        let reload: @Sendable () -> Void = { logger.info("the registry follows etcd; SIGHUP reloads zones only") }
        return (source, reload)
    }

    /// What `scdns check` reports when everything is valid.
    public struct CheckReport: Sendable, CustomStringConvertible {
        public var zones: [String]
        public var services: Int
        public var names: Int

        public var description: String {
            "ok: \(zones.count) zone file(s) [\(zones.joined(separator: ", "))], \(services) service(s), "
                + "\(names) name(s) answered"
        }
    }

    /// Validates the zones and the registry the way `run` would load them, without serving. An etcd registry is
    /// listed once (etcd must answer); keys it rejects are logged as the server would log them.
    public func check() async throws -> CheckReport {
        _ = scdns_map_large_allocations(Self.largeAllocation)
        let loaded = try ZoneFileLoader.loadDirectory(config.zonesDirectory)
        // The server would serve without etcd's rejected keys; a check is where an operator wants to hear of them.
        let registry = try await loadRegistryOnce(rejectingInvalidKeys: true)
        let snapshot = AnswerSnapshot.build(
            registry: registry, zones: loaded.map(AuthoritativeZone.init), settings: config.pipeline,
            threads: ServerConfig.automaticWorkers())
        // The server serves without them (and warns); a check is where an operator must hear of them.
        if let first = snapshot.namesTooLong.first {
            throw ConfigFileError(
                file: registry.origin,
                message:
                    "\(snapshot.namesTooLong.count) name(s) longer than DNS allows (255 octets) would be left out of "
                    + "the answers; the first: \(first)")
        }
        return CheckReport(
            zones: loaded.map { $0.origin.description }, services: registry.services.count,
            names: snapshot.nameCount)
    }

    /// `scdns explain`: the zones and registry loaded as `check` loads them, compiled, and the query explained as
    /// a server with this config would answer it (`/explain` asks the running server instead).
    public func explain(_ request: ExplainRequest) async throws -> QueryExplanation {
        let zones = try ZoneFileLoader.loadDirectory(config.zonesDirectory).map(AuthoritativeZone.init)
        let registry = try await loadRegistryOnce(rejectingInvalidKeys: false)
        let processor = QueryProcessor(
            snapshot: AnswerSnapshot.build(registry: registry, zones: zones, settings: config.pipeline))
        return processor.explain(
            name: request.name, type: request.type, client: request.client, ecs: request.ecs, registry: registry)
    }

    /// The registry as `run` would first load it: the file, or one listing of etcd (which must answer).
    private func loadRegistryOnce(rejectingInvalidKeys: Bool) async throws -> RegistrySnapshot {
        guard let etcd = config.registryEtcd else {
            return try FileRegistrySource(path: config.registryFile, logger: logger)
                .loadNow(threads: ServerConfig.automaticWorkers())
        }
        let client = try EtcdClient(endpoints: etcd.endpoints, security: etcd.security, logger: logger)
        let source = EtcdRegistrySource(
            client: client, layout: RegistryKeyLayout(prefix: etcd.prefix),
            startThreads: ServerConfig.automaticWorkers(),
            logger: logger)
        let listed = try await source.listOnce()
        if rejectingInvalidKeys, let first = listed.rejected.first {
            throw ConfigFileError(
                file: first.file, message: "\(listed.rejected.count) etcd export(s) rejected; the first: \(first)")
        }
        return listed.snapshot
    }

    /// Reads a config file, or the defaults when `path` is nil.
    public static func loadConfig(path: String?) throws -> ServerConfig {
        guard let path else { return ServerConfig() }
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8)
        else {
            throw ConfigFileError(file: path, message: "cannot read the config file")
        }
        return try ServerConfig.load(file: path, text: text)
    }
}

/// A config file that could not be read at all (validation errors are `RegistryError`s with a line).
public struct ConfigFileError: Error, CustomStringConvertible {
    public let file: String
    public let message: String
    public var description: String { "\(file): \(message)" }
}
