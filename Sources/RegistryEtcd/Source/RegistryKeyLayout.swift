import ServiceRegistry

/// Where exports live in etcd: `PREFIX services/NAMESPACE/NAME/CLUSTER` (DESIGN.md section 2), with the default
/// prefix `/scdns/v1/`. One key per cluster's export, so each cluster writes and leases only its own keys.
public struct RegistryKeyLayout: Sendable, Equatable {
    public static let defaultPrefix = "/scdns/v1/"

    /// Ends with "/".
    public let prefix: String

    public init(prefix: String = RegistryKeyLayout.defaultPrefix) {
        self.prefix = prefix.hasSuffix("/") ? prefix : prefix + "/"
    }

    /// Every export key starts with this.
    public var servicesPrefix: String { prefix + "services/" }

    public func key(namespace: String, name: String, cluster: String) -> String {
        servicesPrefix + namespace + "/" + name + "/" + cluster
    }

    /// The keys of one service start with this.
    public func servicePrefix(namespace: String, name: String) -> String {
        servicesPrefix + namespace + "/" + name + "/"
    }

    /// The parts of an export key, or nil for a key that is not `services/NS/NAME/CLUSTER` under the prefix.
    public func parse(_ key: String) -> ExportKey? {
        guard key.hasPrefix(servicesPrefix) else { return nil }
        let parts = key.dropFirst(servicesPrefix.count).split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 3, parts.allSatisfy({ !$0.isEmpty }) else { return nil }
        return ExportKey(namespace: String(parts[0]), name: String(parts[1]), cluster: String(parts[2]))
    }
}

/// The three parts of an export key.
public struct ExportKey: Hashable, Sendable, CustomStringConvertible {
    public var namespace: String
    public var name: String
    public var cluster: String

    public init(namespace: String, name: String, cluster: String) {
        self.namespace = namespace
        self.name = name
        self.cluster = cluster
    }

    public var service: ServiceID { ServiceID(namespace: namespace, name: name) }
    public var description: String { "\(namespace)/\(name)/\(cluster)" }

    /// The first of namespace, name and cluster where `export` (one cluster's export) says otherwise than the
    /// key: an export must sit under its own key, or a copy-paste slip would publish one cluster's addresses as
    /// another's.
    public func mismatch(with export: Service) -> (field: String, inValue: String, inKey: String)? {
        for (field, inValue, inKey) in [
            ("namespace", export.namespace, namespace), ("name", export.name, name),
            ("cluster", export.clusters.first?.cluster ?? "", cluster),
        ] where inValue != inKey {
            return (field, inValue, inKey)
        }
        return nil
    }
}

/// A service's identity in the registry: exports merge by (namespace, name).
public struct ServiceID: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var namespace: String
    public var name: String

    public init(namespace: String, name: String) {
        self.namespace = namespace
        self.name = name
    }

    public static func < (lhs: ServiceID, rhs: ServiceID) -> Bool {
        (lhs.namespace, lhs.name) < (rhs.namespace, rhs.name)
    }

    public var description: String { "\(namespace)/\(name)" }
}
