/// Every key `scdns.yaml` may hold, by the mapping it sits in. The loader allows these and refuses any other, so
/// these lists are what the code reads; the configuration reference (docs/configuration.md) must name exactly
/// these, as `ConfigReferenceTests` checks in both directions.
enum ConfigKeys {
    static let top = [
        "listen", "workers", "admin", "identity", "version", "lameduck", "queryLog", "zones", "serviceZones",
        "globalZone", "ttl", "locality", "clients", "registry", "forward", "cache", "limits", "allow",
        "maxAnswers", "clusterNames", "health",
    ]
    static let locality = ["cluster", "region", "zone"]
    static let clients = ["network", "cluster", "region", "zone"]
    static let registry = ["file", "etcd"]
    static let etcd = ["endpoints", "prefix", "maxStale", "tls", "auth"]
    static let etcdTLS = ["ca", "cert", "key"]
    static let etcdAuth = ["user", "passwordFile"]
    static let forward = ["zone", "upstreams", "policy", "tryTimeout", "timeout"]
    static let cache = ["capacity", "maxBytes", "minTTL", "maxTTL", "prefetch", "serveStale"]
    static let limits = ["udpPayload", "tcpConnections", "tcpPerClient", "tcpIdle", "forwardInFlight", "rrl"]
    static let rrl = ["responsesPerSecond", "slip"]
    static let health = ["probes", "interval", "timeout", "fall", "rise", "maxProbesPerSecond"]

    /// Every key as the reference writes it: `cache.capacity`, `forward[].zone` for an item of a list,
    /// `registry.etcd.endpoints`; a mapping's own key (`cache`) is listed too.
    static var paths: [String] {
        var paths = top
        func nested(_ parent: String, _ keys: [String]) { paths += keys.map { "\(parent).\($0)" } }
        nested("locality", locality)
        nested("clients[]", clients)
        nested("registry", registry)
        nested("registry.etcd", etcd)
        nested("registry.etcd.tls", etcdTLS)
        nested("registry.etcd.auth", etcdAuth)
        nested("forward[]", forward)
        nested("cache", cache)
        nested("limits", limits)
        nested("limits.rrl", rrl)
        nested("health", health)
        return paths
    }
}
