/// One cluster's export of one service.
public struct ClusterExport: Hashable, Sendable {
    /// Where the exporting cluster runs; `locality.cluster` is the cluster's name.
    public var locality: Locality
    /// The service's addresses in this cluster (its ClusterIP, or load-balancer addresses reachable across the
    /// supercluster), in the order given. May be empty.
    public var addresses: [IPAddress]
    /// Relative share of answers within a locality tier, 1...65535 (`ClusterExport.weightRange`), default 100.
    /// Zero is not allowed: it would need a special case in every weighted rotation, and an operator who wants a
    /// cluster drained sets `healthy: false`. The upper bound is the SRV weight field's, so a weight can be
    /// carried into SRV answers unchanged.
    public var weight: UInt32
    /// An unhealthy export is left out of answers unless every export is unhealthy (fail open).
    public var healthy: Bool
    /// Headless services only: the pods behind the service in this cluster.
    public var endpoints: [Endpoint]

    /// The weights accepted by the decoder.
    public static let weightRange: ClosedRange<UInt32> = 1...65535
    /// The weight of an export that gives none.
    public static let defaultWeight: UInt32 = 100

    public init(
        locality: Locality,
        addresses: [IPAddress] = [],
        weight: UInt32 = ClusterExport.defaultWeight,
        healthy: Bool = true,
        endpoints: [Endpoint] = []
    ) {
        self.locality = locality
        self.addresses = addresses
        self.weight = weight
        self.healthy = healthy
        self.endpoints = endpoints
    }

    /// The exporting cluster's name.
    public var cluster: String { locality.cluster }
}

/// Where something runs: the tiers of DESIGN.md section 3 (same cluster, same zone, same region, others).
public struct Locality: Hashable, Sendable {
    public var cluster: String
    /// "" when not given. Whether two empty regions (or zones) count as the same tier is the pipeline's policy.
    public var region: String
    public var zone: String

    public init(cluster: String, region: String = "", zone: String = "") {
        self.cluster = cluster
        self.region = region
        self.zone = zone
    }
}

/// One pod behind a Headless service.
public struct Endpoint: Hashable, Sendable {
    /// A DNS label, unique within its cluster's export.
    public var hostname: String
    /// At least one address.
    public var addresses: [IPAddress]
    /// A not-ready endpoint is kept in the model (the admin endpoint shows it) but never answered.
    public var ready: Bool

    public init(hostname: String, addresses: [IPAddress], ready: Bool = true) {
        self.hostname = hostname
        self.addresses = addresses
        self.ready = ready
    }
}
