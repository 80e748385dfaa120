import ServiceRegistry

/// Where the registry lives in etcd (DESIGN.md section 2), under a prefix (default `/scdns/v1/`):
///
/// - `PREFIX clusters/CLUSTER/services/NAMESPACE/NAME`: one cluster's export of one service, a flat JSON value;
/// - `PREFIX clusters/CLUSTER/publisher`: the claim of the publisher that writes the cluster's exports.
///
/// Cluster first, so that everything one cluster writes sits under `PREFIX clusters/CLUSTER/` and an etcd role
/// can confine that cluster's publisher to it. Servers list and watch `PREFIX clusters/`; keys there that are
/// neither of the above (a later version's) are not theirs to judge and are passed over.
public struct RegistryKeyLayout: Sendable, Equatable {
    public static let defaultPrefix = "/scdns/v1/"

    /// Ends with "/".
    public let prefix: String
    /// Every key servers read starts with this: what they list and watch.
    public let clustersPrefix: String

    public init(prefix: String = RegistryKeyLayout.defaultPrefix) {
        self.prefix = prefix.hasSuffix("/") ? prefix : prefix + "/"
        clustersPrefix = self.prefix + "clusters/"
    }

    /// Everything `cluster` writes starts with this: its exports and its publisher's claim.
    public func clusterPrefix(_ cluster: String) -> String { clustersPrefix + cluster + "/" }

    /// The exports of `cluster` start with this.
    public func servicesPrefix(cluster: String) -> String { clusterPrefix(cluster) + "services/" }

    public func key(namespace: String, name: String, cluster: String) -> String {
        servicesPrefix(cluster: cluster) + namespace + "/" + name
    }

    /// The key a cluster's publisher holds on its lease while it publishes.
    public func claimKey(cluster: String) -> String { clusterPrefix(cluster) + "publisher" }

    /// What a key under the prefix is.
    public enum Kind: Equatable, Sendable {
        /// A well-formed export key.
        case export(ExportKey)
        /// Under a cluster's `services/` but not `NAMESPACE/NAME` (an empty part, too few or too many): a value
        /// there is meant as an export and is rejected as one.
        case malformedExport(cluster: String)
        /// A cluster's publisher claim.
        case claim(cluster: String)
        /// Anything else, inside the prefix or not: not the registry's.
        case other
    }

    /// Octet by octet, as etcd compares keys: splitting the text into characters was 15,700 instructions a key,
    /// more than decoding its value (a listing classifies every key).
    public func classify(_ key: String) -> Kind {
        let prefix = clustersPrefix.utf8
        guard key.utf8.starts(with: prefix) else { return .other }
        // Five parts at most: a fifth holds the rest of a key with too many, which is then malformed.
        let parts = key.utf8.dropFirst(prefix.count).split(
            separator: UInt8(ascii: "/"), maxSplits: 4, omittingEmptySubsequences: false)
        guard parts.count >= 2, !parts[0].isEmpty else { return .other }
        func text(_ part: Substring.UTF8View) -> String { String(Substring(part)) }
        let cluster = text(parts[0])
        if parts.count == 2, parts[1].elementsEqual("publisher".utf8) { return .claim(cluster: cluster) }
        guard parts[1].elementsEqual("services".utf8), parts.count >= 3 else { return .other }
        guard parts.count == 4, !parts[2].isEmpty, !parts[3].isEmpty else { return .malformedExport(cluster: cluster) }
        return .export(ExportKey(namespace: text(parts[2]), name: text(parts[3]), cluster: cluster))
    }

    /// The parts of an export key, or nil for any other key.
    public func parse(_ key: String) -> ExportKey? {
        if case .export(let exportKey) = classify(key) { return exportKey }
        return nil
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
