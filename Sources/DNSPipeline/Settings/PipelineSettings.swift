import DNSWire
import ServiceRegistry

/// The answering policy's knobs, already validated by the config loader (DESIGN.md section 5).
public struct PipelineSettings: Sendable {
    /// Zones answering `SVC.NS.svc.ZONE` (`serviceZones`); the first one names PTR targets.
    public var serviceZones: [DNSName]
    /// The Istio zone answering `SVC.NS.ZONE` (`globalZone`), or nil for none.
    public var globalZone: DNSName?
    /// TTL of registry answers (`ttl`).
    public var ttl: UInt32
    /// This instance's own place (`locality`): its cluster's exports are answered first.
    public var locality: Locality
    /// Whether ClusterSetIP services get `CLUSTER.SVC.NS` names (`clusterNames`; false is strict MCS).
    public var clusterNames: Bool
    /// At most this many addresses per answer after ordering; 0 answers all (`maxAnswers`).
    public var maxAnswers: Int
    /// The largest UDP response offered to EDNS clients (`limits.udpPayload`).
    public var udpPayloadLimit: Int
    /// Where clients are (`clients`): a query's locality comes from the longest network here that holds its
    /// EDNS Client Subnet, else its source address; else it is this instance's own `locality`.
    public var clients: [ClientNetwork]
    /// The zones of `forward:` rules, in the config's order: a name outside every zone of ours under one of
    /// these (the longest) is resolved by that rule's upstreams (DESIGN.md section 4).
    public var forwardZones: [DNSName] = []
    /// Clients allowed to query (`allow`); everyone else gets REFUSED. Empty allows nobody; the default here
    /// (for embedding and tests) is every address, the config loader's is the private ranges.
    public var allow: [IPNetwork]
    /// What CHAOS `id.server`/`hostname.bind` answer and NSID (RFC 5001) carries (`identity`); nil hides it
    /// (REFUSED, no NSID). The config loader defaults it to the host name, as NSD and Knot do.
    public var identity: String? = nil
    /// What CHAOS `version.server`/`version.bind` answer (`version`); nil hides it (REFUSED).
    public var version: String? = nil

    /// Every IPv4 and IPv6 address.
    public static let everyone: [IPNetwork] = [IPNetwork("0.0.0.0/0")!, IPNetwork("::/0")!]

    public init(
        serviceZones: [DNSName] = PipelineSettings.defaultServiceZones,
        globalZone: DNSName? = PipelineSettings.defaultGlobalZone,
        ttl: UInt32 = 5, locality: Locality = Locality(cluster: ""), clusterNames: Bool = true, maxAnswers: Int = 0,
        udpPayloadLimit: Int = 1232, clients: [ClientNetwork] = [], allow: [IPNetwork] = PipelineSettings.everyone
    ) {
        self.clients = clients
        self.serviceZones = serviceZones
        self.globalZone = globalZone
        self.ttl = ttl
        self.locality = locality
        self.clusterNames = clusterNames
        self.maxAnswers = maxAnswers
        self.udpPayloadLimit = udpPayloadLimit
        self.allow = allow
    }

    public static let defaultServiceZones: [DNSName] = [
        try! DNSName("supercluster.local."), try! DNSName("clusterset.local."),
    ]
    public static let defaultGlobalZone: DNSName? = try! DNSName("global.")
}

/// One `clients:` entry: a network and the locality of the clients in it.
public struct ClientNetwork: Hashable, Sendable {
    public var network: IPNetwork
    public var locality: Locality

    public init(network: IPNetwork, locality: Locality) {
        self.network = network
        self.locality = locality
    }
}
