/// One service as the registry knows it after merging every cluster's export of `(namespace, name)`.
///
/// The model is DNS-agnostic on purpose (DESIGN.md section 7): it says what exists where, and the pipeline decides
/// which names and records that becomes.
///
/// Its fields live in one shared, copy-on-write box: a registry of 100,000 services is an array a served snapshot
/// shares with its source, and changing one service copies that array. With the box a copy retains one reference
/// per service rather than each of its arrays, and two copies of one value compare by identity (bench/PipelineBench
/// `overlay`: copying and then freeing 100,000 services took 16 + 15 ms unboxed).
public struct Service: Hashable, Sendable {
    private final class Storage: @unchecked Sendable {
        // Mutated only through `unique()`, when no other value refers to this box.
        var name: String
        var namespace: String
        var type: ServiceType
        var vip: IPAddress?
        var ports: [ServicePort]
        var clusters: [ClusterExport]

        init(
            name: String, namespace: String, type: ServiceType, vip: IPAddress?, ports: [ServicePort],
            clusters: [ClusterExport]
        ) {
            self.name = name
            self.namespace = namespace
            self.type = type
            self.vip = vip
            self.ports = ports
            self.clusters = clusters
        }

        func copy() -> Storage {
            Storage(name: name, namespace: namespace, type: type, vip: vip, ports: ports, clusters: clusters)
        }
    }

    private var storage: Storage

    /// The box, copied first when another value shares it.
    private mutating func unique() -> Storage {
        if !isKnownUniquelyReferenced(&storage) { storage = storage.copy() }
        return storage
    }

    public var name: String {
        get { storage.name }
        set { unique().name = newValue }
    }
    public var namespace: String {
        get { storage.namespace }
        set { unique().namespace = newValue }
    }
    public var type: ServiceType {
        get { storage.type }
        set { unique().type = newValue }
    }
    /// The ClusterSetIP when the service has one; `nil` for Headless services and for ClusterSetIP services that
    /// answer with their clusters' addresses instead.
    public var vip: IPAddress? {
        get { storage.vip }
        set { unique().vip = newValue }
    }
    /// Union of the ports of every export, in order of first appearance.
    public var ports: [ServicePort] {
        get { storage.ports }
        _modify { yield &unique().ports }
    }
    /// One entry per exporting cluster, sorted by cluster name, no cluster twice.
    public var clusters: [ClusterExport] {
        get { storage.clusters }
        _modify { yield &unique().clusters }
    }

    public init(
        name: String,
        namespace: String,
        type: ServiceType = .clusterSetIP,
        vip: IPAddress? = nil,
        ports: [ServicePort] = [],
        clusters: [ClusterExport] = []
    ) {
        storage = Storage(name: name, namespace: namespace, type: type, vip: vip, ports: ports, clusters: clusters)
    }

    public static func == (lhs: Service, rhs: Service) -> Bool {
        if lhs.storage === rhs.storage { return true }
        let (a, b) = (lhs.storage, rhs.storage)
        return a.name == b.name && a.namespace == b.namespace && a.type == b.type && a.vip == b.vip
            && a.ports == b.ports && a.clusters == b.clusters
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(name)
        hasher.combine(namespace)
        hasher.combine(type)
        hasher.combine(vip)
        hasher.combine(ports)
        hasher.combine(clusters)
    }
}

extension Service: CustomStringConvertible {
    /// As the synthesized description was, fields and all (test failures and debug logs print it).
    public var description: String {
        "Service(name: \(name.debugDescription), namespace: \(namespace.debugDescription), type: \(type), "
            + "vip: \(vip.map { "\($0)" } ?? "nil"), ports: \(ports), clusters: \(clusters))"
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
