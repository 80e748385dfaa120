import DNSWire

/// One `forward:` rule (DESIGN.md section 4): names under `zone` that scdns is not authoritative for go to
/// `upstreams`, tried in the order `policy` gives.
public struct ForwardTarget: Sendable, Equatable {
    public enum Policy: String, Sendable, CaseIterable {
        case sequential
        case roundRobin = "round_robin"
        case random
    }

    public var zone: DNSName
    public var upstreams: [ListenAddress]
    public var policy: Policy
    /// How long one upstream gets before the next is tried (`tryTimeout`, default 500 ms).
    public var tryTimeout: Duration
    /// How long a query may take in all before the client gets SERVFAIL (`timeout`, default 2 s).
    public var timeout: Duration

    public init(
        zone: DNSName, upstreams: [ListenAddress], policy: Policy = .sequential,
        tryTimeout: Duration = .milliseconds(500),
        timeout: Duration = .seconds(2)
    ) {
        self.zone = zone
        self.upstreams = upstreams
        self.policy = policy
        self.tryTimeout = tryTimeout
        self.timeout = timeout
    }
}
