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

    /// Octet by octet, as etcd compares keys: splitting the text into characters was 15,426 instructions a key,
    /// more than decoding its value now (a listing classifies every key), and the UTF-8 view's generic split
    /// half of that. Octets differ from characters only for a "/" followed by a combining mark, which a
    /// character-wise split took for no separator; no valid key has one (cluster, namespace and name are DNS
    /// labels), and etcd, RBAC prefixes included, sees octets.
    public func classify(_ key: String) -> Kind {
        var key = key
        return key.withUTF8 { bytes in
            let prefix = clustersPrefix.utf8
            guard bytes.count >= prefix.count, bytes.prefix(prefix.count).elementsEqual(prefix) else { return .other }
            // Where each of the first four parts after the prefix ends; a fifth part holds the rest of a key with
            // too many, which is then malformed.
            var ends: (Int, Int, Int, Int) = (bytes.count, bytes.count, bytes.count, bytes.count)
            var parts = 1
            for index in prefix.count..<bytes.count where bytes[index] == UInt8(ascii: "/") {
                switch parts {
                case 1: ends.0 = index
                case 2: ends.1 = index
                case 3: ends.2 = index
                default: ends.3 = index
                }
                parts += 1
                if parts == 5 { break }
            }
            let first = prefix.count..<ends.0
            let second = min(ends.0 + 1, bytes.count)..<ends.1
            let third = min(ends.1 + 1, bytes.count)..<ends.2
            let fourth = min(ends.2 + 1, bytes.count)..<ends.3
            func text(_ range: Range<Int>) -> String {
                String(decoding: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self)
            }
            func `is`(_ range: Range<Int>, _ word: StaticString) -> Bool {
                range.count == word.utf8CodeUnitCount
                    && word.withUTF8Buffer { $0.elementsEqual(UnsafeBufferPointer(rebasing: bytes[range])) }
            }
            guard parts >= 2, !first.isEmpty else { return .other }
            let cluster = text(first)
            if parts == 2, `is`(second, "publisher") { return .claim(cluster: cluster) }
            guard `is`(second, "services"), parts >= 3 else { return .other }
            guard parts == 4, !third.isEmpty, !fourth.isEmpty else { return .malformedExport(cluster: cluster) }
            return .export(ExportKey(namespace: text(third), name: text(fourth), cluster: cluster))
        }
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
        // One comparison after another, no array of them: every listed export is checked.
        if export.namespace != namespace { return ("namespace", export.namespace, namespace) }
        if export.name != name { return ("name", export.name, name) }
        let exportCluster = export.clusters.first?.cluster ?? ""
        if exportCluster != cluster { return ("cluster", exportCluster, cluster) }
        return nil
    }
}
