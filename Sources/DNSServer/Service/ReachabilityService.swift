import DNSPipeline
import Foundation
import HealthCheck
import Logging
import ServiceLifecycle
import ServiceRegistry
import Synchronization

/// This instance's reachability probes (DESIGN.md section 3, `health:` in the config), two loops:
///
/// - every target of the serving registry (`ReachabilityPlan`), each once per `interval`, spread over it with
///   jitter so that instances and targets do not probe in lockstep, and never more than `maxProbesPerSecond`
///   (the cycle lengthens instead: 3,000 targets take 15 s at 200/s);
/// - every other cluster's beacons (`RegistrySnapshot.beacons`, written by its publisher), each once per
///   `interval` whatever the registry's size: a cluster whose beacons are all down is unreachable from here as
///   a whole, and every probed export of it with it. So a lost cluster leaves the answers in fall × interval
///   even when its exports alone would take a long cycle to find.
///
/// Verdicts go through `HealthTracker`'s fall/rise damping; when a target or a cluster goes down or comes back,
/// the answers are rebuilt with its exports unhealthy (or healthy again) here, and only here. A connect that
/// completes (the peer answered SYN with SYN-ACK) is a success and is closed at once; refused, unreachable or
/// not done within `timeout` is a failure. The connects are `CheckRunner`'s: plain sockets and one poll loop.
final class ReachabilityService: ServiceLifecycle.Service {
    private let settings: HealthSettings
    /// This instance's own cluster, whose beacons it does not probe: from inside, a cluster is always "there".
    private let ownCluster: String
    private let publisher: AnswerPublisher
    private let metrics: ServerMetrics?
    private let logger: Logger

    /// Both loops' verdicts, in seconds since 1970 (when a target went down is what `/registry` and `/explain`
    /// print).
    private struct Verdicts {
        var targets: HealthTracker<ProbeTarget>
        var beacons: HealthTracker<ProbeTarget>
        /// The clusters unreachable as a whole, since when.
        var clustersDown: [String: Double] = [:]
    }

    private let verdicts: Mutex<Verdicts>

    init(
        settings: HealthSettings, ownCluster: String, publisher: AnswerPublisher, metrics: ServerMetrics?,
        logger: Logger
    ) {
        self.settings = settings
        self.ownCluster = ownCluster
        self.publisher = publisher
        self.metrics = metrics
        self.logger = logger
        verdicts = Mutex(
            Verdicts(
                targets: HealthTracker(fall: settings.fall, rise: settings.rise),
                beacons: HealthTracker(fall: settings.fall, rise: settings.rise)))
    }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            self.publishDown()
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.probeTargets() }
                group.addTask { await self.probeBeacons() }
            }
        }
    }

    /// Gives the answers what is down now: the targets found down, and the clusters found down. Under the
    /// verdicts' lock, so the two loops' publications never cross (an older one undoing a newer one).
    private func publishDown() {
        verdicts.withLock { verdicts in
            publisher.publish(
                down: verdicts.targets.down.mapValues { Date(timeIntervalSince1970: $0) },
                clustersDown: verdicts.clustersDown.mapValues { Date(timeIntervalSince1970: $0) })
        }
    }

    private func probeTargets() async {
        let clock = ContinuousClock()
        while !Task.isCancelled {
            let cycleStart = clock.now
            let clusters = ReachabilityPlan.clusters(publisher.current.registry.services)
            let targets = Set(clusters.keys)
            if verdicts.withLock({ $0.targets.retain(only: targets) }) { publishDown() }
            let cycle = max(settings.interval, .seconds(Double(targets.count) / Double(settings.maxProbesPerSecond)))
            let order = Array(targets).shuffled()
            let results = await CheckRunner.run(
                order.map { HealthCheck($0) }, within: cycle, timeout: settings.timeout)
            if Task.isCancelled { return }
            let (transitions, down) = verdicts.withLock { verdicts in
                var transitions: [HealthTracker<ProbeTarget>.Transition] = []
                for (target, result) in zip(order, results) {
                    let at = result.at.timeIntervalSince1970
                    if let transition = verdicts.targets.record(target, up: result.outcome.isUp, at: at) {
                        transitions.append(transition)
                    }
                }
                return (transitions, verdicts.targets.down)
            }
            for (target, result) in zip(order, results) {
                metrics?.probed(cluster: clusters[target] ?? "", reachable: result.outcome.isUp)
            }
            var downByCluster = Dictionary(
                Set(clusters.values).map { ($0, 0) }, uniquingKeysWith: { first, _ in first })
            for target in down.keys { downByCluster[clusters[target] ?? "", default: 0] += 1 }
            metrics?.probeTargetsDown(downByCluster)
            if !transitions.isEmpty {
                for transition in transitions.sorted(by: { $0.target < $1.target }) {
                    metrics?.probeTransition(cluster: clusters[transition.target] ?? "", up: transition.up)
                    if transition.up {
                        logger.notice(
                            "reachable again from here: its exports are answered",
                            metadata: ["target": "\(transition.target)"])
                    } else {
                        logger.warning(
                            "unreachable from here: its exports are answered as unhealthy by this instance",
                            metadata: ["target": "\(transition.target)", "fall": "\(settings.fall)"])
                    }
                }
                publishDown()
            }
            // The next cycle starts one cycle after this one started, whatever the probes took.
            let elapsed = clock.now - cycleStart
            if elapsed < cycle {
                do { try await Task.sleep(for: cycle - elapsed) } catch { return }
            }
        }
    }

    private func probeBeacons() async {
        let clock = ContinuousClock()
        while !Task.isCancelled {
            let cycleStart = clock.now
            let beacons = publisher.current.registry.beacons.filter { $0.key != ownCluster }
            var clusterOf: [ProbeTarget: String] = [:]
            for (cluster, targets) in beacons { for target in targets { clusterOf[target] = cluster } }
            let order = clusterOf.keys.shuffled()
            let results = await CheckRunner.run(
                order.map { HealthCheck($0) }, within: settings.interval, timeout: settings.timeout)
            if Task.isCancelled { return }
            let (wentDown, cameBack, clustersDown) = verdicts.withLock { verdicts in
                verdicts.beacons.retain(only: Set(order))
                for (target, result) in zip(order, results) {
                    _ = verdicts.beacons.record(target, up: result.outcome.isUp, at: result.at.timeIntervalSince1970)
                }
                // A cluster is down while every one of its beacons is.
                let beaconsDown = verdicts.beacons.down
                var clustersDown: [String: Double] = [:]
                for (cluster, targets) in beacons where !targets.isEmpty {
                    let times = targets.compactMap { beaconsDown[$0] }
                    if times.count == targets.count { clustersDown[cluster] = times.max() }
                }
                let before = verdicts.clustersDown
                verdicts.clustersDown = clustersDown
                return (
                    clustersDown.keys.filter { before[$0] == nil }.sorted(),
                    before.keys.filter { clustersDown[$0] == nil }.sorted(), clustersDown
                )
            }
            metrics?.clustersReachable(
                beacons.mapValues { _ in true }.merging(clustersDown.mapValues { _ in false }) { $1 })
            for cluster in wentDown {
                metrics?.clusterTransition(cluster: cluster, up: false)
                logger.warning(
                    "cluster unreachable from here: every beacon is down; its exports are answered as unhealthy by this instance",
                    metadata: [
                        "cluster": "\(cluster)",
                        "beacons": "\(beacons[cluster, default: []].map(\.description).joined(separator: ","))",
                    ])
            }
            for cluster in cameBack {
                if beacons[cluster] == nil {
                    // Its claim ended: its publisher stopped (its exports go with its lease) or handed over (the
                    // next publisher's beacons are probed afresh).
                    logger.notice(
                        "cluster no longer has beacons (its publisher's claim ended); no longer judged as a whole",
                        metadata: ["cluster": "\(cluster)"])
                } else {
                    metrics?.clusterTransition(cluster: cluster, up: true)
                    logger.notice(
                        "cluster reachable again from here: a beacon answers", metadata: ["cluster": "\(cluster)"])
                }
            }
            if !wentDown.isEmpty || !cameBack.isEmpty { publishDown() }
            let elapsed = clock.now - cycleStart
            if elapsed < settings.interval {
                do { try await Task.sleep(for: settings.interval - elapsed) } catch { return }
            }
        }
    }
}
