import ServiceRegistry

/// Orders a service's exports for one client locality (DESIGN.md section 3): unhealthy exports are left out
/// unless none is healthy (then all are answered: fail open, like Envoy's panic threshold), then tiers by
/// distance — same cluster, same zone, same region, the rest (KEP-5939's tiers) — keeping the registry's
/// order inside a tier. The weighted rotation inside a tier happens per query, on the compiled answer.
enum ClusterOrdering {
    /// Tier numbers: also the SRV priority of an export in that tier.
    static let sameCluster = 0
    static let sameZone = 1
    static let sameRegion = 2
    static let elsewhere = 3

    /// The exports to answer, grouped by tier, nearest first; empty tiers are left out.
    static func tiers(_ exports: [ClusterExport], from locality: Locality) -> [(tier: Int, exports: [ClusterExport])] {
        var grouped: [[ClusterExport]] = Array(repeating: [], count: 4)
        for export in answerable(exports) { grouped[tier(of: export.locality, from: locality)].append(export) }
        return grouped.enumerated().filter { !$0.element.isEmpty }.map { ($0.offset, $0.element) }
    }

    /// The healthy exports, or all of them when none is healthy.
    static func answerable(_ exports: [ClusterExport]) -> [ClusterExport] {
        let healthy = exports.filter(\.healthy)
        return healthy.isEmpty ? exports : healthy
    }

    /// True when a service is being answered only because nothing of it is healthy.
    static func failsOpen(_ exports: [ClusterExport]) -> Bool {
        !exports.isEmpty && !exports.contains(where: \.healthy)
    }

    /// 0 same cluster, 1 same zone, 2 same region, 3 elsewhere. Empty zone or region names never match.
    static func tier(of export: Locality, from locality: Locality) -> Int {
        if !locality.cluster.isEmpty && export.cluster == locality.cluster { return sameCluster }
        if !locality.zone.isEmpty && export.zone == locality.zone && export.region == locality.region {
            return sameZone
        }
        if !locality.region.isEmpty && export.region == locality.region { return sameRegion }
        return elsewhere
    }
}
