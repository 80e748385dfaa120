import ServiceRegistry

/// What an instance probes in a registry, and what the probes' verdicts do to it.
///
/// A ClusterSetIP export is probed at each of its addresses on the service's first TCP port; a service without
/// a TCP port, a Headless service (its endpoints change faster than probes could follow) and an export its
/// publisher already marks unhealthy are not probed. An export is demoted when every one of its targets is
/// down: a probe can only demote, never restore what a publisher marked unhealthy, and when every export of a
/// service is unhealthy the answers fail open as before.
public enum ReachabilityPlan {
    /// The port a service's exports are probed on: its first TCP port.
    public static func port(of service: Service) -> UInt16? {
        guard service.type == .clusterSetIP, service.vip == nil else { return nil }
        return service.ports.first { $0.portProtocol == .tcp }?.port
    }

    /// Every target of `services`, each once.
    public static func targets(_ services: [Service]) -> Set<ProbeTarget> { Set(clusters(services).keys) }

    /// Each probed export's targets with its cluster, in registry order: what `clusters` and `targetsByCluster`
    /// view two ways.
    private static func probed(_ services: [Service], _ body: (String, ProbeTarget) -> Void) {
        for service in services {
            guard let port = port(of: service) else { continue }
            for export in service.clusters where export.healthy {
                for address in export.addresses { body(export.cluster, ProbeTarget(address: address, port: port)) }
            }
        }
    }

    /// Every target of `services` with the cluster of the export it belongs to (the first in registry order when
    /// exports of two clusters share an address and port), for per-cluster metrics.
    public static func clusters(_ services: [Service]) -> [ProbeTarget: String] {
        var targets: [ProbeTarget: String] = [:]
        probed(services) { cluster, target in
            if targets[target] == nil { targets[target] = cluster }
        }
        return targets
    }

    /// Each cluster's targets among `services`: what a cluster found unreachable as a whole (every beacon down)
    /// takes down with it.
    public static func targetsByCluster(_ services: [Service]) -> [String: Set<ProbeTarget>] {
        var targets: [String: Set<ProbeTarget>] = [:]
        probed(services) { cluster, target in targets[cluster, default: []].insert(target) }
        return targets
    }

    /// The targets down as answers see them: those the probes found down, and every target of a cluster whose
    /// beacons are all down (since the earlier of the two).
    public static func down<Time: Comparable>(
        targets: [ProbeTarget: Time], clusters: [String: Time], in services: [Service]
    ) -> [ProbeTarget: Time] {
        guard !clusters.isEmpty else { return targets }
        var down = targets
        for (cluster, members) in targetsByCluster(services) {
            guard let since = clusters[cluster] else { continue }
            for target in members { down[target] = min(down[target] ?? since, since) }
        }
        return down
    }

    /// Whether `export` of `service` has probe targets and, if so, since when it has been unreachable: the
    /// latest of its targets' times in `down`, `.reachable` while any of its targets is not in `down`, and
    /// `.notProbed` for a service the plan does not probe or an export without addresses. The one test of
    /// "unreachable" that answers, `/registry` and `/explain` share. It does not look at `healthy`: `/explain`
    /// asks it of exports already demoted; an export its publisher marks unhealthy has no target in `down`.
    public static func reachability<Time: Comparable>(
        of export: ClusterExport, in service: Service, down: [ProbeTarget: Time]
    ) -> Reachability<Time> {
        guard !export.addresses.isEmpty, let port = port(of: service) else { return .notProbed }
        var latest: Time? = nil
        for address in export.addresses {
            guard let since = down[ProbeTarget(address: address, port: port)] else { return .reachable }
            latest = max(latest ?? since, since)
        }
        return latest.map { .unreachable(since: $0) } ?? .reachable
    }

    /// `services` with every export whose targets are all in `down` marked unhealthy; services untouched keep
    /// their value, so an answer build reuses their compiled names.
    public static func demoting<Time: Comparable>(_ services: [Service], down: [ProbeTarget: Time]) -> [Service] {
        guard !down.isEmpty else { return services }
        return services.map { service in
            var demoted = service
            for (index, export) in service.clusters.enumerated() {
                if case .unreachable = reachability(of: export, in: service, down: down) {
                    demoted.clusters[index].healthy = false
                }
            }
            return demoted
        }
    }
}

/// What this instance's probes say of one export.
public enum Reachability<Time: Comparable>: Equatable {
    case notProbed
    case reachable
    case unreachable(since: Time)
}
