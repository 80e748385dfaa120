import DNSPipeline
import Foundation
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import ServiceRegistry

/// This instance's reachability probes (DESIGN.md section 3, `health:` in the config): a TCP connect to every
/// target of the serving registry (`ReachabilityPlan`), each once per `interval`, spread over it with jitter so
/// that instances and targets do not probe in lockstep, and never more than `maxProbesPerSecond` (the cycle
/// lengthens instead). Verdicts go through `ReachabilityTracker`'s fall/rise damping; when a target goes down or
/// comes back, the answers are rebuilt with its exports unhealthy (or healthy again) here, and only here.
///
/// A connect that completes (the peer answered SYN with SYN-ACK) is a success and is closed at once; refused,
/// unreachable or not done within `timeout` is a failure.
final class ReachabilityService: ServiceLifecycle.Service {
    private let settings: HealthSettings
    private let publisher: AnswerPublisher
    private let group: any EventLoopGroup
    private let metrics: ServerMetrics?
    private let logger: Logger

    init(
        settings: HealthSettings, publisher: AnswerPublisher, group: any EventLoopGroup, metrics: ServerMetrics?,
        logger: Logger
    ) {
        self.settings = settings
        self.publisher = publisher
        self.group = group
        self.metrics = metrics
        self.logger = logger
    }

    func run() async throws {
        await cancelWhenGracefulShutdown { await self.probeUntilCancelled() }
    }

    private func probeUntilCancelled() async {
        // The tracker's times are seconds since 1970: when a target went down is what `/registry` and `/explain`
        // print.
        var tracker = ReachabilityTracker(fall: settings.fall, rise: settings.rise)
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
            let results = await probe(Array(targets).shuffled(), over: cycle)
            var transitions: [ReachabilityTracker.Transition] = []
            let now = Date().timeIntervalSince1970
            for (target, reachable) in results {
                metrics?.probed(cluster: clusters[target] ?? "", reachable: reachable)
                if let transition = tracker.record(target, reachable: reachable, at: now) {
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

    /// Probes each target once, starting them spread over `cycle` (jittered), all at once in flight; returns
    /// every verdict once the last is in.
    private func probe(_ targets: [ProbeTarget], over cycle: Duration) async -> [(ProbeTarget, Bool)] {
        guard !targets.isEmpty else { return [] }
        let spacing = cycle / targets.count
        return await withTaskGroup(of: (ProbeTarget, Bool)?.self) { group in
            for (index, target) in targets.enumerated() {
                let offset = spacing * index + spacing * Double.random(in: 0..<1)
                group.addTask {
                    do { try await Task.sleep(for: offset) } catch { return nil }
                    return (target, await self.connect(target))
                }
            }
            var results: [(ProbeTarget, Bool)] = []
            for await result in group {
                if let result { results.append(result) }
            }
            return results
        }
    }

    /// Whether a TCP connection to `target` completes within the timeout.
    private func connect(_ target: ProbeTarget) async -> Bool {
        let address: SocketAddress
        do {
            address = try SocketAddress(ipAddress: target.address.description, port: Int(target.port))
        } catch {
            return false
        }
        let bootstrap = ClientBootstrap(group: group).connectTimeout(TimeAmount(settings.timeout))
        do {
            let channel = try await bootstrap.connect(to: address).get()
            try? await channel.close()
            return true
        } catch {
            return false
        }
    }
}
