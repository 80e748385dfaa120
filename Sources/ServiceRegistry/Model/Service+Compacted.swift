extension Service {
    /// This service with each of its arrays and long strings in storage allocated now.
    ///
    /// Decoding makes a service's parts among the parser's temporaries (composed nodes, events, scalars), a few
    /// live objects on each page once those are freed: pages malloc can neither reuse whole nor return. At 100,000
    /// services x 3 clusters that was about 57 MB resident beyond the registry's 65 MB (bench/PipelineBench
    /// `memory`). Copied together after the merge, while the temporaries still stand, the parts sit side by side,
    /// and the pages the temporaries leave are free whole. The value is equal; only where it lives changes.
    public func compacted() -> Service {
        Service(
            name: name.inOwnStorage, namespace: namespace.inOwnStorage, type: type, vip: vip,
            ports: ports.map { ServicePort(name: $0.name?.inOwnStorage, port: $0.port, portProtocol: $0.portProtocol) },
            clusters: clusters.map { export in
                ClusterExport(
                    locality: Locality(
                        cluster: export.locality.cluster.inOwnStorage, region: export.locality.region.inOwnStorage,
                        zone: export.locality.zone.inOwnStorage),
                    addresses: export.addresses.map { $0 }, weight: export.weight, healthy: export.healthy,
                    endpoints: export.endpoints.map {
                        Endpoint(
                            hostname: $0.hostname.inOwnStorage, addresses: $0.addresses.map { $0 }, ready: $0.ready)
                    })
            })
    }
}

extension String {
    /// The same text in storage allocated now; a string short enough to be held inline (15 UTF-8 octets) has no
    /// storage and is returned as it is.
    var inOwnStorage: String {
        let count = utf8.count
        guard count > 15 else { return self }
        return String(unsafeUninitializedCapacity: count) { buffer in
            buffer.initialize(from: utf8).1
        }
    }
}
