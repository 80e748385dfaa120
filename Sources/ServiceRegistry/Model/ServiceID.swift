/// A service's identity in the registry: exports merge by (namespace, name), and a snapshot's services are
/// sorted by it.
public struct ServiceID: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var namespace: String
    public var name: String

    public init(namespace: String, name: String) {
        self.namespace = namespace
        self.name = name
    }

    public init(_ service: Service) {
        self.init(namespace: service.namespace, name: service.name)
    }

    public static func < (lhs: ServiceID, rhs: ServiceID) -> Bool {
        (lhs.namespace, lhs.name) < (rhs.namespace, rhs.name)
    }

    public var description: String { "\(namespace)/\(name)" }
}
