/// One service as the registry knows it after merging every cluster's export of `(namespace, name)`.
///
/// The model is DNS-agnostic on purpose (DESIGN.md section 7): it says what exists where, and the pipeline decides
/// which names and records that becomes.
public struct Service: Hashable, Sendable {
    public var name: String
    public var namespace: String
    public var type: ServiceType
    /// The ClusterSetIP when the service has one; `nil` for Headless services and for ClusterSetIP services that
    /// answer with their clusters' addresses instead.
    public var vip: IPAddress?
    /// Union of the ports of every export, in order of first appearance.
    public var ports: [ServicePort]
    /// One entry per exporting cluster, sorted by cluster name, no cluster twice.
    public var clusters: [ClusterExport]

    public init(
        name: String,
        namespace: String,
        type: ServiceType = .clusterSetIP,
        vip: IPAddress? = nil,
        ports: [ServicePort] = [],
        clusters: [ClusterExport] = []
    ) {
        self.name = name
        self.namespace = namespace
        self.type = type
        self.vip = vip
        self.ports = ports
        self.clusters = clusters
    }
}

/// The two MCS service types (KEP-1645).
public enum ServiceType: String, Sendable, CaseIterable {
    /// Answered with the vip, or with the exporting clusters' addresses.
    case clusterSetIP = "ClusterSetIP"
    /// Answered with the ready endpoints' own addresses.
    case headless = "Headless"
}

/// A port's transport, spelled as Kubernetes spells it.
public enum PortProtocol: String, Sendable, CaseIterable {
    case tcp = "TCP"
    case udp = "UDP"
    case sctp = "SCTP"
}

/// A service port. Only named ports get SRV records, as in Kubernetes DNS.
public struct ServicePort: Hashable, Sendable {
    /// An RFC 6335-style service name (a DNS label with at least one letter), or `nil` for an unnamed port.
    public var name: String?
    /// 1...65535.
    public var port: UInt16
    public var portProtocol: PortProtocol

    public init(name: String? = nil, port: UInt16, portProtocol: PortProtocol = .tcp) {
        self.name = name
        self.port = port
        self.portProtocol = portProtocol
    }
}
