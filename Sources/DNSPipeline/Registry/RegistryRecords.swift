import DNSWire
import ServiceRegistry

/// Turns registry services into the records of one naming tree (DESIGN.md section 1): `SVC.NS.BASE`,
/// `CLUSTER.SVC.NS.BASE`, `HOST.CLUSTER.SVC.NS.BASE` and `_PORT._PROTO.SVC.NS.BASE`, where BASE is
/// `svc.ZONE` for a service zone or the global zone itself for Istio names.
struct RegistryRecords {
    let settings: PipelineSettings

    /// The records of one service under `base`; none at all for a headless service with no ready endpoint,
    /// whose name must not exist (NXDOMAIN, MCS spec 2.4.1).
    func records(for service: Service, base: DNSName) -> [ResourceRecord] {
        guard let serviceName = try? base.prepending(service.namespace).prepending(service.name) else { return [] }
        let ttl = settings.ttl
        let ordered = ClusterOrdering.ordered(service.clusters, from: settings.locality)
        var records: [ResourceRecord] = []

        func addresses(_ name: DNSName, _ list: [IPAddress], limit: Int) {
            var seen = Set<IPAddress>()
            var v4: [ResourceRecord] = []
            var v6: [ResourceRecord] = []
            for address in list where seen.insert(address).inserted {
                let record = ResourceRecord(name: name, ttl: ttl, data: Self.rdata(address))
                if address.isIPv4 { v4.append(record) } else { v6.append(record) }
            }
            if limit > 0 {
                v4 = Array(v4.prefix(limit))
                v6 = Array(v6.prefix(limit))
            }
            records += v4 + v6
        }

        switch service.type {
        case .clusterSetIP:
            if let vip = service.vip {
                addresses(serviceName, [vip], limit: 0)
            } else {
                addresses(serviceName, ordered.flatMap(\.addresses), limit: settings.maxAnswers)
            }
            // Names only exist for an export that has addresses to answer.
            if settings.clusterNames {
                for export in service.clusters where !export.addresses.isEmpty {
                    guard let clusterName = try? serviceName.prepending(export.cluster) else { continue }
                    addresses(clusterName, export.addresses, limit: 0)
                }
            }
            for port in service.ports {
                guard let srvName = Self.srvName(port, under: serviceName) else { continue }
                records.append(
                    ResourceRecord(
                        name: srvName, ttl: ttl,
                        data: .srv(SRVRecord(priority: 0, weight: 100, port: port.port, target: serviceName))))
            }
        case .headless:
            let ready = ordered.map { export in (export, export.endpoints.filter(\.ready)) }
            guard ready.contains(where: { !$0.1.isEmpty }) else { return [] }
            addresses(serviceName, ready.flatMap { $0.1.flatMap(\.addresses) }, limit: settings.maxAnswers)
            var targets: [(DNSName, ClusterExport)] = []
            for (export, endpoints) in ready where !endpoints.isEmpty {
                guard let clusterName = try? serviceName.prepending(export.cluster) else { continue }
                addresses(clusterName, endpoints.flatMap(\.addresses), limit: 0)
                for endpoint in endpoints {
                    guard let host = try? clusterName.prepending(endpoint.hostname) else { continue }
                    addresses(host, endpoint.addresses, limit: 0)
                    targets.append((host, export))
                }
            }
            for port in service.ports {
                guard let srvName = Self.srvName(port, under: serviceName) else { continue }
                for (target, export) in targets {
                    let weight = UInt16(clamping: export.weight)
                    records.append(
                        ResourceRecord(
                            name: srvName, ttl: ttl,
                            data: .srv(SRVRecord(priority: 0, weight: weight, port: port.port, target: target))))
                }
            }
        }
        return records
    }

    /// `_PORT._PROTO.SVC...` for a named port; unnamed ports have no SRV name.
    static func srvName(_ port: ServicePort, under service: DNSName) -> DNSName? {
        guard let name = port.name else { return nil }
        return try? service.prepending("_" + port.portProtocol.rawValue.lowercased()).prepending("_" + name)
    }

    static func rdata(_ address: IPAddress) -> RData {
        address.isIPv4
            ? .a(IPv4Address(bytes: address.bytes)!)
            : .aaaa(IPv6Address(bytes: address.bytes)!)
    }
}
