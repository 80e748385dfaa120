import DNSPipeline
import Foundation
import ServiceRegistry
import Synchronization

/// What the status page draws over time: the query counters' totals sampled every `interval`, the last
/// `kept` samples (ten minutes), and when each cluster's exports last changed as this instance saw them.
/// Sampled by the admin endpoint only (no admin, no sampling), off the query path: a sample sums the
/// per-thread counter blocks as a scrape does.
final class StatusHistory: Sendable {
    static let interval: Duration = .seconds(5)
    static let kept = 121

    /// The RCODEs charted one by one; every other RCODE is summed as "other".
    static let rcodes: [(name: String, value: Int)] = [
        ("NOERROR", 0), ("NXDOMAIN", 3), ("SERVFAIL", 2), ("REFUSED", 5),
    ]

    struct Sample: Sendable {
        /// Where the chart puts it.
        var at: Date
        /// What rates divide by.
        var taken: ContinuousClock.Instant
        /// Responses sent since start, by `rcodes` and then "other".
        var responses: [UInt64]
        /// Cache hits and misses since start; nil without a cache.
        var cache: (hits: Int, misses: Int)?
    }

    private struct State {
        var samples: [Sample] = []
        /// A hash of each cluster's exports at the last sample, and when it last differed.
        var clusterHashes: [String: Int] = [:]
        var clusterChanged: [String: Date] = [:]
    }

    private let state = Mutex(State())

    var samples: [Sample] { state.withLock { $0.samples } }
    /// When each cluster's exports last changed, since this instance started (absent: not since then).
    var clusterChanges: [String: Date] { state.withLock { $0.clusterChanged } }

    /// Takes one sample of `metrics` and `registry` at `now`.
    func record(metrics: ServerMetrics, registry: RegistrySnapshot?, now: Date = Date()) {
        let totals = metrics.queries.totals()
        var responses = Self.rcodes.map { totals[QueryCounters.rcodeIndex($0.value)] }
        let charted = Set(Self.rcodes.map(\.value))
        responses.append(
            (0..<QueryCounters.rcodeSlots).filter { !charted.contains($0) }.reduce(0) {
                $0 &+ totals[QueryCounters.rcodeIndex($1)]
            })
        let sample = Sample(at: now, taken: .now, responses: responses, cache: metrics.queries.cacheTotals)
        let hashes = registry.map(Self.clusterHashes) ?? [:]
        state.withLock { state in
            state.samples.append(sample)
            if state.samples.count > Self.kept { state.samples.removeFirst(state.samples.count - Self.kept) }
            if registry != nil {
                // The first sample is the baseline: a change is one seen after this instance started.
                if !state.clusterHashes.isEmpty {
                    for (cluster, hash) in hashes where state.clusterHashes[cluster] != hash {
                        state.clusterChanged[cluster] = now
                    }
                    for cluster in state.clusterHashes.keys where hashes[cluster] == nil {
                        state.clusterChanged[cluster] = now
                    }
                }
                state.clusterHashes = hashes
            }
        }
    }

    /// One hash per cluster over its exports (with their services' names), so a change to any export of it,
    /// its health included, shows as a new hash.
    static func clusterHashes(_ registry: RegistrySnapshot) -> [String: Int] {
        var hashers: [String: Hasher] = [:]
        for service in registry.services {
            for export in service.clusters {
                hashers[export.cluster, default: Hasher()].combine(service.namespace)
                hashers[export.cluster, default: Hasher()].combine(service.name)
                hashers[export.cluster, default: Hasher()].combine(export)
            }
        }
        return hashers.mapValues { $0.finalize() }
    }

    /// Samples every `interval` until cancelled, from the moment the registry is loaded (the metrics exist).
    func run(state server: ServerState) async {
        while !Task.isCancelled {
            guard let metrics = server.metrics else {
                do { try await Task.sleep(for: .milliseconds(100)) } catch { return }
                continue
            }
            record(metrics: metrics, registry: server.publisher?.current.registry)
            do { try await Task.sleep(for: Self.interval) } catch { return }
        }
    }
}
