/// An immutable, validated view of the whole registry. Sources build a new one for every accepted change and the
/// server swaps it in atomically, so a query always sees one consistent registry (DESIGN.md section 7).
public struct RegistrySnapshot: Sendable {
    /// Merged by (namespace, name) and sorted by (namespace, name); each service's clusters sorted by name.
    public let services: [Service]
    /// Increases by one with each snapshot a source accepts, so logs and `/registry` show which one is serving.
    public let version: UInt64
    /// Where the snapshot came from, e.g. the file path or the etcd endpoints and prefix.
    public let origin: String
    /// The etcd revision the snapshot was built from (nil for a file), so an operator can compare two instances:
    /// the same revision means the same registry.
    public let revision: Int64?
    /// Each cluster's beacons: addresses in that cluster its publisher names (`scdns registry publish --beacon`),
    /// which instances elsewhere probe to tell whether the cluster as a whole is reachable from them. Only an etcd
    /// registry has them.
    public let beacons: [String: [ProbeTarget]]
    /// Which services differ from the snapshot before it, when the source knows (etcd's watch does); nil when it
    /// does not (a file is read whole). What answers a change can then cost that change, not the registry.
    public let delta: RegistryDelta?

    /// Takes services that are already validated, merged and sorted (`RegistryDecoder` produces them). It does not
    /// re-validate: building test fixtures directly must stay cheap, and the decoder is the single gatekeeper.
    public init(
        services: [Service], version: UInt64, origin: String, revision: Int64? = nil,
        beacons: [String: [ProbeTarget]] = [:], delta: RegistryDelta? = nil
    ) {
        self.services = services
        self.version = version
        self.origin = origin
        self.revision = revision
        self.beacons = beacons
        self.delta = delta
    }

    /// This snapshot with other services (the same origin, version, revision and beacons; no delta, which
    /// described the services replaced).
    public func with(services: [Service]) -> RegistrySnapshot {
        RegistrySnapshot(services: services, version: version, origin: origin, revision: revision, beacons: beacons)
    }

    /// This snapshot taking the place of `earlier`, which its consumer never saw (a consumer that keeps only the
    /// newest): its delta then spans both changes, from the version `earlier` changed from; nil when either does
    /// not say, or they do not follow each other.
    public func replacing(_ earlier: RegistrySnapshot) -> RegistrySnapshot {
        var spanning: RegistryDelta? = nil
        if let delta, let before = earlier.delta, delta.from == earlier.version, earlier.origin == origin {
            spanning = RegistryDelta(from: before.from, services: Array(Set(before.services + delta.services)).sorted())
        }
        return RegistrySnapshot(
            services: services, version: version, origin: origin, revision: revision, beacons: beacons,
            delta: spanning)
    }

    /// A snapshot with no services, for a server that has not loaded anything yet.
    public static func empty(origin: String = "") -> RegistrySnapshot {
        RegistrySnapshot(services: [], version: 0, origin: origin)
    }

    /// The service `(namespace, name)`, found by binary search over the sorted services.
    public func service(namespace: String, name: String) -> Service? {
        let low = firstIndex(notBefore: namespace, name)
        guard low < services.count, services[low].namespace == namespace, services[low].name == name else {
            return nil
        }
        return services[low]
    }

    /// The service `id`, found by binary search.
    public func service(_ id: ServiceID) -> Service? { service(namespace: id.namespace, name: id.name) }

    /// Whether any service is in `namespace`, found by binary search.
    public func hasServices(inNamespace namespace: String) -> Bool {
        let low = firstIndex(notBefore: namespace, "")
        return low < services.count && services[low].namespace == namespace
    }

    /// The index of the first service not sorting before `(namespace, name)`.
    private func firstIndex(notBefore namespace: String, _ name: String) -> Int {
        var low = 0
        var high = services.count
        while low < high {
            let middle = (low + high) / 2
            let candidate = services[middle]
            if (candidate.namespace, candidate.name) < (namespace, name) {
                low = middle + 1
            } else {
                high = middle
            }
        }
        return low
    }
}

/// The services one snapshot changed from another: every one added, changed or removed is listed (one listed may
/// have ended up as it was), so a consumer holding the older snapshot finds what differs without comparing the
/// whole registry.
public struct RegistryDelta: Sendable, Equatable {
    /// The version of the snapshot this one changed from (of the same origin).
    public var from: UInt64
    public var services: [ServiceID]

    public init(from: UInt64, services: [ServiceID]) {
        self.from = from
        self.services = services
    }
}
