import DNSPipeline
import Foundation
import HealthCheck
import Logging
import ServiceLifecycle
import ServiceRegistry

/// This instance's reachability probes (DESIGN.md section 3, `health:` in the config): a TCP connect to every
/// target of the serving registry (`ReachabilityPlan`), each once per `interval`, spread over it with jitter so
/// that instances and targets do not probe in lockstep, and never more than `maxProbesPerSecond` (the cycle
/// lengthens instead). Verdicts go through `HealthTracker`'s fall/rise damping; when a target goes down or
/// comes back, the answers are rebuilt with its exports unhealthy (or healthy again) here, and only here.
///
/// A connect that completes (the peer answered SYN with SYN-ACK) is a success and is closed at once; refused,
/// unreachable or not done within `timeout` is a failure. The connects are `CheckRunner`'s: plain sockets and one
/// poll loop, not a channel each.
final class ReachabilityService: ServiceLifecycle.Service {
    private let settings: HealthSettings
    private let publisher: AnswerPublisher
    private let metrics: ServerMetrics?
    private let logger: Logger

    init(settings: HealthSettings, publisher: AnswerPublisher, metrics: ServerMetrics?, logger: Logger) {
        self.settings = settings
        self.publisher = publisher
        self.metrics = metrics
        self.logger = logger
    }

    func run() async throws {
        await cancelWhenGracefulShutdown { await self.probeUntilCancelled() }
    }

    private func probeUntilCancelled() async {
        // The tracker's times are seconds since 1970: when a target went down is what `/registry` and `/explain`
        // print.
        var tracker = HealthTracker<ProbeTarget>(fall: settings.fall, rise: settings.rise)
        func publishDown() {
            publisher.publish(down: tracker.down.mapValues { Date(timeIntervalSince1970: $0) })
        }
        publishDown()
        let clock = ContinuousClock()
        while !Task.isCancelled {
            let cycleStart = clock.now
            let clusters = ReachabilityPlan.clusters(publisher.current.registry.services)
            let targets = Set(clusters.keys)
            if tracker.retain(only: targets) { publishDown() }
            let cycle = max(settings.interval, .seconds(Double(targets.count) / Double(settings.maxProbesPerSecond)))
            let order = Array(targets).shuffled()
            let outcomes = await CheckRunner.run(
                order.map { HealthCheck(address: $0.address, port: $0.port) }, spreadOver: cycle,
                timeout: settings.timeout)
            if Task.isCancelled { return }
            var transitions: [HealthTracker<ProbeTarget>.Transition] = []
            let now = Date().timeIntervalSince1970
            for (target, outcome) in zip(order, outcomes) {
                metrics?.probed(cluster: clusters[target] ?? "", reachable: outcome.isUp)
                if let transition = tracker.record(target, up: outcome.isUp, at: now) {
                    transitions.append(transition)
                    metrics?.probeTransition(cluster: clusters[target] ?? "", up: transition.up)
                }
            }
            var downByCluster = Dictionary(
                Set(clusters.values).map { ($0, 0) }, uniquingKeysWith: { first, _ in first })
            for target in tracker.down.keys { downByCluster[clusters[target] ?? "", default: 0] += 1 }
            metrics?.probeTargetsDown(downByCluster)
            if !transitions.isEmpty {
                for transition in transitions.sorted(by: { $0.target < $1.target }) {
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
}
