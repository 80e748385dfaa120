import DNSPipeline
import Foundation
import Prometheus
import ServiceRegistry
import Synchronization

/// Everything `/metrics` shows. Metrics produced off the query path live in a swift-prometheus collector
/// registry (used directly rather than through swift-metrics' facade, whose API carries no HELP text):
/// forwarding, health checks, the registry, build info. The query path's counters are per thread and summed
/// on scrape (`QueryMetrics`), written in the same text format after the registry's.
final class ServerMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    let queries: QueryMetrics
    private let cache: ResponseCache?
    private let rateLimiter: ResponseRateLimiter?
    private let forwardBuckets: [Duration] = (0..<16).map { .microseconds(250 << $0) }

    private let cacheEntries: Gauge
    private let registryServices: Gauge
    private let registryRevision: Gauge
    private let registryAge: Gauge
    private let registryStale: Gauge
    private let reloadsSucceeded: SyncedCounter
    private let reloadsFailed: SyncedCounter
    private let failOpenStarts: SyncedCounter
    private let rateLimitDropped: SyncedCounter?
    private let rateLimitSlipped: SyncedCounter?

    /// Each upstream's exchanges so far, for the status page.
    struct UpstreamTally: Sendable {
        var replies = 0
        var failures = 0
        var lastReply: Date? = nil
        /// When and why ("timeout", "error").
        var lastFailure: (at: Date, reason: String)? = nil
    }

    private let upstreams = Mutex<[String: UpstreamTally]>([:])
    var upstreamTallies: [String: UpstreamTally] { upstreams.withLock { $0 } }

    init(processor: QueryProcessor, version: String) {
        cache = processor.cache
        rateLimiter = processor.rateLimiter
        queries = QueryMetrics(zoneLabels: processor.zoneLabels, cache: processor.cache)
        registry.makeGauge(
            descriptor: .scdns("scdns_build_info", help: "The running scdns's version (always 1)."),
            labels: [("version", version)]
        ).set(Int64(1))
        cacheEntries = registry.makeGauge(
            descriptor: .scdns("scdns_cache_entries", help: "Forwarded answers held in the cache."))
        registryServices = registry.makeGauge(
            descriptor: .scdns("scdns_registry_services", help: "Services in the registry snapshot being served."))
        registryRevision = registry.makeGauge(
            descriptor: .scdns(
                "scdns_registry_revision",
                help: "The etcd revision of the serving registry snapshot (a file registry: its version)."))
        registryAge = registry.makeGauge(
            descriptor: .scdns(
                "scdns_registry_snapshot_age_seconds", help: "Seconds since the serving registry snapshot changed."))
        registryStale = registry.makeGauge(
            descriptor: .scdns(
                "scdns_registry_stale",
                help: "1 while the registry source (etcd) is unreachable and the last snapshot is served."))
        let reloadsHelp = "Registry changes taken (success) and rejected inputs (failure: a file or etcd value)."
        reloadsSucceeded = SyncedCounter(
            registry.makeCounter(
                descriptor: .scdns("scdns_registry_reloads_total", help: reloadsHelp), labels: [("result", "success")]))
        reloadsFailed = SyncedCounter(
            registry.makeCounter(
                descriptor: .scdns("scdns_registry_reloads_total", help: reloadsHelp), labels: [("result", "failure")]))
        failOpenStarts = SyncedCounter(
            registry.makeCounter(
                descriptor: .scdns(
                    "scdns_locality_failopen_total",
                    help: "Times a service had no healthy export and was answered with all of them (fail open).")))
        // Shown only with limits.rrl on, as CoreDNS shows a plugin's metrics only when the plugin is used.
        let limitedHelp =
            "UDP responses over limits.rrl: dropped, or slipped (sent truncated so a real client retries over TCP)."
        let registry = registry
        func limited(_ action: String) -> SyncedCounter {
            SyncedCounter(
                registry.makeCounter(
                    descriptor: .scdns("scdns_rrl_responses_total", help: limitedHelp), labels: [("action", action)]))
        }
        rateLimitDropped = processor.rateLimiter == nil ? nil : limited("dropped")
        rateLimitSlipped = processor.rateLimiter == nil ? nil : limited("slipped")
    }

    /// One forwarded query's exchange with one upstream: its reply's RCODE, or `timeout`/`error` without one.
    func forwarded(upstream: String, rcode: String, duration: Duration) {
        let failed = rcode == "timeout" || rcode == "error"
        let now = Date()
        upstreams.withLock { upstreams in
            if failed {
                upstreams[upstream, default: UpstreamTally()].failures += 1
                upstreams[upstream, default: UpstreamTally()].lastFailure = (now, rcode)
            } else {
                upstreams[upstream, default: UpstreamTally()].replies += 1
                upstreams[upstream, default: UpstreamTally()].lastReply = now
            }
        }
        registry.makeCounter(
            descriptor: .scdns(
                "scdns_forward_requests_total",
                help: "Queries sent to upstreams, by upstream and the reply's RCODE (timeout, error: none came)."),
            labels: [("upstream", upstream), ("rcode", rcode)]
        ).increment()
        registry.makeDurationHistogram(
            descriptor: .scdns(
                "scdns_forward_request_duration_seconds",
                help: "Time from sending a query upstream to its reply or failure."), labels: [("upstream", upstream)],
            buckets: forwardBuckets
        ).record(duration)
    }

    /// A forwarded question was answered without being sent: `limits.forwardInFlight` were being resolved.
    func forwardShed() {
        registry.makeCounter(
            descriptor: .scdns(
                "scdns_forward_shed_total",
                help: "Forwarded queries answered at once (stale or SERVFAIL) because limits.forwardInFlight "
                    + "questions were being resolved.")
        ).increment()
    }

    /// Distinct questions being resolved upstream now.
    func forwardInFlight(_ count: Int) {
        registry.makeGauge(
            descriptor: .scdns(
                "scdns_forward_inflight", help: "Distinct forwarded questions being resolved upstream now.")
        ).set(Int64(count))
    }

    /// A health check of a down upstream went unanswered.
    func healthCheckFailed(upstream: String) {
        registry.makeCounter(
            descriptor: .scdns(
                "scdns_forward_healthcheck_failures_total",
                help: "Health checks (. IN NS) of upstreams marked down that went unanswered."),
            labels: [("upstream", upstream)]
        ).increment()
    }

    /// One reachability probe of an export of `cluster` (`health.probes`).
    func probed(cluster: String, reachable: Bool) {
        registry.makeCounter(
            descriptor: .scdns(
                "scdns_probe_requests_total",
                help: "Reachability probes (TCP connects) of exports, by the export's cluster and result."),
            labels: [("cluster", cluster), ("result", reachable ? "success" : "failure")]
        ).increment()
    }

    /// A probed target of `cluster` went down or came back (after fall or rise probes in a row).
    func probeTransition(cluster: String, up: Bool) {
        registry.makeCounter(
            descriptor: .scdns(
                "scdns_probe_transitions_total",
                help: "Probed export addresses that went down or came back up, by the export's cluster."),
            labels: [("cluster", cluster), ("to", up ? "up" : "down")]
        ).increment()
    }

    /// How many probed targets of each cluster are down now (0 for a cluster with none down).
    func probeTargetsDown(_ down: [String: Int]) {
        for (cluster, count) in down {
            registry.makeGauge(
                descriptor: .scdns(
                    "scdns_probe_targets_down",
                    help: "Probed export addresses this instance cannot reach now, by the export's cluster."),
                labels: [("cluster", cluster)]
            ).set(Int64(count))
        }
    }

    /// A cluster went unreachable from here as a whole (every beacon down) or came back.
    func clusterTransition(cluster: String, up: Bool) {
        registry.makeCounter(
            descriptor: .scdns(
                "scdns_probe_cluster_transitions_total",
                help: "Clusters that went unreachable from here as a whole (every beacon down) or came back."),
            labels: [("cluster", cluster), ("to", up ? "up" : "down")]
        ).increment()
    }

    /// Whether each cluster with beacons is reachable from here now (1) or has every beacon down (0).
    func clustersReachable(_ reachable: [String: Bool]) {
        for (cluster, up) in reachable {
            registry.makeGauge(
                descriptor: .scdns(
                    "scdns_probe_cluster_reachable",
                    help: "1 while some beacon of the cluster answers this instance's probes, 0 when none does "
                        + "(every probed export of the cluster is then answered as unhealthy here)."),
                labels: [("cluster", cluster)]
            ).set(Int64(up ? 1 : 0))
        }
    }

    /// The whole exposition, gauges read now.
    func render(publisher: AnswerPublisher?, now: ContinuousClock.Instant = .now) -> String {
        if let cache { cacheEntries.set(Int64(cache.count)) }
        if let rateLimiter {
            let totals = rateLimiter.totals
            rateLimitDropped?.sync(to: totals.dropped)
            rateLimitSlipped?.sync(to: totals.slipped)
        }
        if let publisher {
            let published = publisher.current
            let status = publisher.sourceStatus()
            registryServices.set(Int64(published.registry.services.count))
            registryRevision.set(published.registry.revision ?? Int64(published.registry.version))
            registryAge.set((now - published.at).secondsValue)
            registryStale.set(Int64(status.stale ? 1 : 0))
            reloadsSucceeded.sync(to: published.reloads)
            reloadsFailed.sync(to: status.rejections)
            failOpenStarts.sync(to: published.failOpenStarts)
        }
        var text = registry.emitToString()
        queries.write(into: &text)
        return text
    }
}

/// A Prometheus counter that mirrors a total kept elsewhere: each sync adds what the total grew by.
final class SyncedCounter: Sendable {
    private let counter: Counter
    private let last = Mutex(0)

    init(_ counter: Counter) {
        self.counter = counter
    }

    func sync(to total: Int) {
        let delta = last.withLock { last -> Int in
            defer { last = max(last, total) }
            return max(0, total - last)
        }
        if delta > 0 { counter.increment(by: Int64(delta)) }
    }
}

extension Duration {
    var secondsValue: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}

extension MetricNameDescriptor {
    /// A metric's whole name as written (`scdns_<subsystem>_<name>_<unit>`, DESIGN.md section 7) and its HELP.
    static func scdns(_ name: String, help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }
}
