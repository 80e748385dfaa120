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

    /// A service being merged, with where each part came from, for error messages.
    private struct Accumulator {
        var service: Service
        var typeOrigin: String
        var vipOrigin: String?
        var portOrigins: [String]
        var clusterOrigins: [String: String]
    }

    static func merge(_ entries: [ExportEntry]) throws(RegistryError) -> [Service] {
        var indexByKey: [Key: Int] = [:]
        var merged: [Accumulator] = []
        for entry in entries {
            let key = Key(namespace: entry.service.namespace, name: entry.service.name)
            if let index = indexByKey[key] {
                try add(entry, to: &merged[index])
            } else {
                indexByKey[key] = merged.count
                var accumulator = Accumulator(
                    service: entry.service,
                    typeOrigin: entry.origin.locate(""),
                    vipOrigin: entry.service.vip == nil ? nil : entry.origin.locate("vip"),
                    portOrigins: entry.service.ports.indices.map { entry.origin.locate("ports[\($0)]") },
                    clusterOrigins: [:]
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
        .sorted { ($0.namespace, $0.name) < ($1.namespace, $1.name) }
    }

    private static func add(_ entry: ExportEntry, to accumulator: inout Accumulator) throws(RegistryError) {
        let service = entry.service
        let existing = accumulator.service
        let qualified = "\(service.namespace)/\(service.name)"
        guard service.type == existing.type else {
            throw entry.origin.error(
                "type",
                "\(service.type.rawValue) disagrees with type \(existing.type.rawValue) of \(qualified) in "
                    + "\(accumulator.typeOrigin); every export of a service has the same type"
            )
        }
        if let vip = service.vip {
            if let existingVIP = existing.vip, existingVIP != vip, let vipOrigin = accumulator.vipOrigin {
                throw entry.origin.error(
                    "vip",
                    "\(vip) disagrees with vip \(existingVIP) of \(qualified) in \(vipOrigin)"
                )
            }
            if existing.vip == nil {
                accumulator.service.vip = vip
                accumulator.vipOrigin = entry.origin.locate("vip")
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
                throw entry.origin.error(
                    "ports[\(index)].port",
                    "port '\(name)' is \(port.port)/\(port.portProtocol.rawValue) here but "
                        + "\(previous.port)/\(previous.portProtocol.rawValue) in \(accumulator.portOrigins[other]); "
                        + "a port name means one port"
                )
            }
            accumulator.service.ports.append(port)
            accumulator.portOrigins.append(entry.origin.locate("ports[\(index)]"))
        }
        try addClusters(of: entry, to: &accumulator)
    }

    private static func addClusters(of entry: ExportEntry, to accumulator: inout Accumulator) throws(RegistryError) {
        let qualified = "\(entry.service.namespace)/\(entry.service.name)"
        for (index, cluster) in entry.service.clusters.enumerated() {
            let relative = index < entry.origin.clusterPaths.count ? entry.origin.clusterPaths[index] : ""
            let name = cluster.locality.cluster
            if let previous = accumulator.clusterOrigins[name] {
                throw entry.origin.error(
                    ExportOrigin.join(relative, "cluster"),
                    "cluster '\(name)' already exports \(qualified) in \(previous)"
                )
            }
            accumulator.clusterOrigins[name] = entry.origin.locate(relative)
            accumulator.service.clusters.append(cluster)
        }
    }
}
