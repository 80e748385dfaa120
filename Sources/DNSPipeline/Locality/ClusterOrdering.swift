import ServiceRegistry

/// Orders a service's exports for answering: unhealthy exports are left out unless none is healthy (then all
/// are answered: fail open), then tiers by distance from `locality` — same cluster, same zone, same region,
/// the rest — keeping the registry's stable order inside a tier.
///
/// This is the static part of DESIGN.md section 3; weighted rotation inside a tier and the client's own
/// locality come with the locality issue.
enum ClusterOrdering {
    static func ordered(_ exports: [ClusterExport], from locality: Locality) -> [ClusterExport] {
        let healthy = exports.filter(\.healthy)
        let candidates = healthy.isEmpty ? exports : healthy
        return candidates.enumerated()
            .sorted { lhs, rhs in
                let left = tier(of: lhs.element.locality, from: locality)
                let right = tier(of: rhs.element.locality, from: locality)
                return left != right ? left < right : lhs.offset < rhs.offset
            }
            .map(\.element)
    }

    /// 0 same cluster, 1 same zone, 2 same region, 3 elsewhere. Empty zone or region names never match.
    static func tier(of export: Locality, from locality: Locality) -> Int {
        if export.cluster == locality.cluster { return 0 }
        if !locality.zone.isEmpty && export.zone == locality.zone && export.region == locality.region { return 1 }
        if !locality.region.isEmpty && export.region == locality.region { return 2 }
        return 3
    }
}
