/// Merges export entries by `(namespace, name)` into services (DESIGN.md section 2).
///
/// Rules: clusters are concatenated and no cluster may export a service twice; every export agrees on the type;
/// vips agree where both are set (one export may leave it out); ports are unioned by (name, port, protocol), and
/// a port name means one port, so the same name with another number or protocol is an error. Errors name the
/// later entry's field, the one an operator most likely just added.
enum ServiceMerger {
    private struct Key: Hashable {
        var namespace: String
        var name: String
    }

    /// A service being merged, with the entry each part came from, for error messages (spelled only then).
    private struct Accumulator {
        var service: Service
        var typeOrigin: ExportOrigin
        var vipOrigin: ExportOrigin?
        /// Each port's entry and its index there.
        var portOrigins: [(origin: ExportOrigin, index: Int)]
        /// Each cluster's entry and its index there, in the order of `service.clusters`.
        var clusterOrigins: [(origin: ExportOrigin, index: Int)] = []
        /// Cluster names to their index in `service.clusters`, made once a service has many.
        var clusterIndex: [String: Int]? = nil
    }

    /// Past this many clusters a service's names are found through `clusterIndex` rather than by a scan.
    private static let clusterScanLimit = 16

    static func merge(_ entries: [ExportEntry]) throws(RegistryError) -> [Service] {
        var indexByKey: [Key: Int] = [:]
        indexByKey.reserveCapacity(entries.count)
        var merged: [Accumulator] = []
        for entry in entries {
            let key = Key(namespace: entry.service.namespace, name: entry.service.name)
            if let index = indexByKey[key] {
                try add(entry, to: &merged[index])
            } else {
                indexByKey[key] = merged.count
                var accumulator = Accumulator(
                    service: entry.service,
                    typeOrigin: entry.origin,
                    vipOrigin: entry.service.vip == nil ? nil : entry.origin,
                    portOrigins: entry.service.ports.indices.map { (entry.origin, $0) }
                )
                accumulator.service.clusters = []
                try addClusters(of: entry, to: &accumulator)
                merged.append(accumulator)
            }
        }
        return merged.map { accumulator in
            var service = accumulator.service
            service.clusters.sort { $0.locality.cluster < $1.locality.cluster }
            return service
        }
        .sorted { ServiceID($0) < ServiceID($1) }
    }

    private static func add(_ entry: ExportEntry, to accumulator: inout Accumulator) throws(RegistryError) {
        let service = entry.service
        let existing = accumulator.service
        let qualified = "\(service.namespace)/\(service.name)"
        guard service.type == existing.type else {
            throw entry.origin.error(
                .type,
                "\(service.type.rawValue) disagrees with type \(existing.type.rawValue) of \(qualified) in "
                    + "\(accumulator.typeOrigin.locate(.entry)); every export of a service has the same type"
            )
        }
        if let vip = service.vip {
            if let existingVIP = existing.vip, existingVIP != vip, let vipOrigin = accumulator.vipOrigin {
                throw entry.origin.error(
                    .vip,
                    "\(vip) disagrees with vip \(existingVIP) of \(qualified) in \(vipOrigin.locate(.vip))"
                )
            }
            if existing.vip == nil {
                accumulator.service.vip = vip
                accumulator.vipOrigin = entry.origin
            }
        }
        for (index, port) in service.ports.enumerated() {
            if accumulator.service.ports.contains(port) {
                continue
            }
            if let name = port.name,
                let other = accumulator.service.ports.firstIndex(where: { $0.name == name })
            {
                let previous = accumulator.service.ports[other]
                let (origin, originIndex) = accumulator.portOrigins[other]
                throw entry.origin.error(
                    .portNumber(index),
                    "port '\(name)' is \(port.port)/\(port.portProtocol.rawValue) here but "
                        + "\(previous.port)/\(previous.portProtocol.rawValue) in \(origin.locate(.port(originIndex))); "
                        + "a port name means one port"
                )
            }
            accumulator.service.ports.append(port)
            accumulator.portOrigins.append((entry.origin, index))
        }
        try addClusters(of: entry, to: &accumulator)
    }

    private static func addClusters(of entry: ExportEntry, to accumulator: inout Accumulator) throws(RegistryError) {
        for (index, cluster) in entry.service.clusters.enumerated() {
            let name = cluster.locality.cluster
            let existing =
                accumulator.clusterIndex.map { $0[name] }
                ?? accumulator.service.clusters.firstIndex { $0.locality.cluster == name }
            if let existing {
                let (origin, originIndex) = accumulator.clusterOrigins[existing]
                throw entry.origin.error(
                    .clusterName(index),
                    "cluster '\(name)' already exports \(entry.service.namespace)/\(entry.service.name) in "
                        + origin.locate(.cluster(originIndex))
                )
            }
            accumulator.clusterIndex?[name] = accumulator.service.clusters.count
            accumulator.service.clusters.append(cluster)
            accumulator.clusterOrigins.append((entry.origin, index))
            if accumulator.clusterIndex == nil && accumulator.service.clusters.count > clusterScanLimit {
                accumulator.clusterIndex = Dictionary(
                    uniqueKeysWithValues: accumulator.service.clusters.enumerated().map { ($1.locality.cluster, $0) })
            }
        }
    }
}
