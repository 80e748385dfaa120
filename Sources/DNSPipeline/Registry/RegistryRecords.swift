import DNSWire
import ServiceRegistry

/// Turns registry services into the records of one naming tree (DESIGN.md section 1): `SVC.NS.BASE`,
/// `CLUSTER.SVC.NS.BASE`, `HOST.CLUSTER.SVC.NS.BASE` and `_PORT._PROTO.SVC.NS.BASE`, where BASE is
/// `svc.ZONE` for a service zone or the global zone itself for Istio names.
///
/// Names whose answer depends on who asks (a service's own name and its headless SRV names) come out as
/// `OrderedRRset`s, one ordering per locality in `localities`; the rest are plain records.
struct RegistryRecords {
    let settings: PipelineSettings
    let localities: [Locality]

    struct Output {
        var records: [ResourceRecord] = []
        var ordered: [OrderedRRset] = []
    }

    /// The records of one service under `base`; none at all for a headless service with no ready endpoint,
    /// whose name must not exist (NXDOMAIN, MCS spec 2.4.1).
    func records(for service: Service, base: DNSName) -> Output {
        guard let serviceName = try? base.prepending(service.namespace).prepending(service.name) else {
            return Output()
        }
        var output = Output()
        switch service.type {
        case .clusterSetIP:
            // Reserved at once, for at most a vip, each cluster's addresses and a record a port.
            var count = (service.vip == nil ? 0 : 1) + service.ports.count
            if settings.clusterNames { for export in service.clusters { count += export.addresses.count } }
            output.records.reserveCapacity(count)
            if let vip = service.vip {
                output.records.append(ResourceRecord(name: serviceName, ttl: settings.ttl, data: Self.rdata(vip)))
            } else {
                addOrderedAddresses(serviceName, service, into: &output)
            }
            // Cluster names answer whatever their export holds, healthy or not: the asker chose the cluster.
            if settings.clusterNames {
                for export in service.clusters where !export.addresses.isEmpty {
                    guard let clusterName = try? serviceName.prepending(export.cluster) else { continue }
                    appendAddressRecords(clusterName, export.addresses, to: &output.records)
                }
            }
            for port in service.ports {
                guard let srvName = Self.srvName(port, under: serviceName) else { continue }
                output.records.append(
                    ResourceRecord(
                        name: srvName, ttl: settings.ttl,
                        data: .srv(SRVRecord(priority: 0, weight: 100, port: port.port, target: serviceName))))
            }
        case .headless:
            let withEndpoints = service.clusters.filter { $0.endpoints.contains(where: \.ready) }
            guard !withEndpoints.isEmpty else { return Output() }
            addOrderedAddresses(serviceName, service, into: &output)
            for export in withEndpoints {
                guard let clusterName = try? serviceName.prepending(export.cluster) else { continue }
                let ready = export.endpoints.filter(\.ready)
                appendAddressRecords(clusterName, ready.flatMap(\.addresses), to: &output.records)
                for endpoint in ready {
                    guard let host = try? clusterName.prepending(endpoint.hostname) else { continue }
                    appendAddressRecords(host, endpoint.addresses, to: &output.records)
                }
            }
            for port in service.ports {
                guard let srvName = Self.srvName(port, under: serviceName) else { continue }
                output.ordered.append(headlessSRV(srvName, port: port.port, withEndpoints, serviceName: serviceName))
            }
        }
        return output
    }

    /// The addresses an export gives its service's own name: its own, or a headless service's ready endpoints'.
    static func serviceAddresses(_ export: ClusterExport, of type: ServiceType) -> [IPAddress] {
        type == .headless ? export.endpoints.filter(\.ready).flatMap(\.addresses) : export.addresses
    }

    /// The exports with an address of one family for the service's own name. Health is judged among them alone:
    /// a healthy IPv4-only export must not leave AAAA queries with nothing while unhealthy exports have IPv6.
    static func candidates(_ service: Service, ipv4: Bool) -> [ClusterExport] {
        service.clusters.filter { hasAddress($0, of: service.type, ipv4: ipv4) }
    }

    /// Whether the service's own name answers this family from unhealthy exports only:
    /// `ClusterOrdering.failsOpen(candidates(service, ipv4:))` without the arrays, since every build asks it of
    /// every service.
    static func failsOpen(_ service: Service, ipv4: Bool) -> Bool {
        var found = false
        for export in service.clusters where hasAddress(export, of: service.type, ipv4: ipv4) {
            if export.healthy { return false }
            found = true
        }
        return found
    }

    /// Whether `serviceAddresses(export, of: type)` holds an address of the family.
    private static func hasAddress(_ export: ClusterExport, of type: ServiceType, ipv4: Bool) -> Bool {
        guard type == .headless else { return export.addresses.contains { $0.isIPv4 == ipv4 } }
        return export.endpoints.contains { $0.ready && $0.addresses.contains { $0.isIPv4 == ipv4 } }
    }

    /// A and AAAA of a service name, per locality: tiers of exports, each export one rotating unit. As
    /// `ClusterOrdering.tiers` orders them (`QueryExplainer` says why from it), without its arrays of exports: this
    /// runs for every service name of every build, and those arrays and copies were most of its cost.
    private func addOrderedAddresses(_ name: DNSName, _ service: Service, into output: inout Output) {
        let clusters = service.clusters
        // The candidates and each answer's records made to size at once, not grown append by append (a sixth of
        // this function's instructions, BENCHMARKS.md).
        for family in [true, false] {
            // The candidates (DESIGN.md section 3): each export with an address of this family, and those.
            var candidates: [(export: Int, addresses: [IPAddress])] = []
            for index in clusters.indices {
                var addresses = Self.serviceAddresses(clusters[index], of: service.type)
                if !addresses.allSatisfy({ $0.isIPv4 == family }) {
                    addresses = addresses.filter { $0.isIPv4 == family }
                }
                guard !addresses.isEmpty else { continue }
                if candidates.isEmpty { candidates.reserveCapacity(clusters.count - index) }
                candidates.append((index, addresses))
            }
            guard !candidates.isEmpty else { continue }
            // Unhealthy ones left out, unless none is healthy (fail open).
            if candidates.contains(where: { clusters[$0.export].healthy }) {
                candidates.removeAll { !clusters[$0.export].healthy }
            }
            var perLocality: [OrderedAnswer] = []
            perLocality.reserveCapacity(localities.count)
            let recordCount = candidates.reduce(0) { $0 + $1.addresses.count }
            for locality in localities {
                var answer = OrderedAnswer(records: [], tiers: [])
                answer.records.reserveCapacity(recordCount)
                var seen = AddressSet()
                for tier in ClusterOrdering.sameCluster...ClusterOrdering.elsewhere {
                    var units: [OrderedAnswer.Unit] = []
                    for candidate in candidates
                    where ClusterOrdering.tier(of: clusters[candidate.export].locality, from: locality) == tier {
                        let start = answer.records.count
                        for address in candidate.addresses where seen.insert(address) {
                            answer.records.append(
                                ResourceRecord(name: name, ttl: settings.ttl, data: Self.rdata(address)))
                        }
                        guard answer.records.count > start else { continue }
                        units.append(
                            OrderedAnswer.Unit(
                                recordCount: answer.records.count - start, weight: clusters[candidate.export].weight))
                    }
                    if !units.isEmpty { answer.tiers.append(units) }
                }
                perLocality.append(answer)
            }
            guard !perLocality[0].records.isEmpty else { continue }
            output.ordered.append(OrderedRRset(name: name, type: family ? .a : .aaaa, perLocality: perLocality))
        }
    }

    /// One SRV per ready endpoint: priority is the tier of the endpoint's cluster seen from the locality
    /// (0 same cluster ... 3 elsewhere), weight the export's weight, as RFC 2782 clients expect.
    private func headlessSRV(
        _ srvName: DNSName, port: UInt16, _ exports: [ClusterExport], serviceName: DNSName
    ) -> OrderedRRset {
        let perLocality = localities.map { locality in
            var records: [ResourceRecord] = []
            for (tier, tierExports) in ClusterOrdering.tiers(exports, from: locality) {
                for export in tierExports {
                    guard let clusterName = try? serviceName.prepending(export.cluster) else { continue }
                    for endpoint in export.endpoints where endpoint.ready {
                        guard let host = try? clusterName.prepending(endpoint.hostname) else { continue }
                        let srv = SRVRecord(
                            priority: UInt16(tier), weight: UInt16(clamping: export.weight), port: port, target: host)
                        records.append(ResourceRecord(name: srvName, ttl: settings.ttl, data: .srv(srv)))
                    }
                }
            }
            return OrderedAnswer(records: records, tiers: [])
        }
        return OrderedRRset(name: srvName, type: .srv, perLocality: perLocality)
    }

    /// The A records, then the AAAA records, of `addresses`, each address once, appended to `records`: an array of
    /// their own, then appended, was 54M of the 379M instructions generating 10,000 services' records under two
    /// trees (BENCHMARKS.md).
    private func appendAddressRecords(_ name: DNSName, _ addresses: [IPAddress], to records: inout [ResourceRecord]) {
        for family in [true, false] {
            var seen = AddressSet()
            for address in addresses where address.isIPv4 == family && seen.insert(address) {
                records.append(ResourceRecord(name: name, ttl: settings.ttl, data: Self.rdata(address)))
            }
        }
    }

    /// The names `service` would have under `bases` that DNS cannot hold (over 255 octets on the wire): they are
    /// left out of the answers, so `scdns check` fails on them and the server warns. Each as
    /// "NS/NAME: TEXT (N octets)". Every snapshot build asks this of every service, so it works on lengths: the
    /// service's longest name under the longest base settles almost every service with a few additions, and only
    /// a service over the limit has its names spelled out.
    static func namesTooLong(_ service: Service, bases: [DNSName], settings: PipelineSettings) -> [String] {
        // Cluster and host names: a headless service's always, a ClusterSetIP service's with `clusterNames`.
        let hasClusterNames = service.type == .headless || settings.clusterNames
        let serviceLength = 2 + service.namespace.utf8.count + service.name.utf8.count
        func srvExtra(_ port: ServicePort) -> Int? {
            port.name.map { 2 + port.portProtocol.rawValue.utf8.count + 2 + $0.utf8.count }
        }
        // Maxima by loops, not arrays: this runs for every service of every build.
        var longestExtra = 0
        for port in service.ports { longestExtra = max(longestExtra, srvExtra(port) ?? 0) }
        if hasClusterNames {
            for export in service.clusters {
                var host = 0
                for endpoint in export.endpoints { host = max(host, 1 + endpoint.hostname.utf8.count) }
                longestExtra = max(longestExtra, 1 + export.cluster.utf8.count + host)
            }
        }
        var longestBase = 0
        for base in bases { longestBase = max(longestBase, base.wire.count) }
        guard !bases.isEmpty, longestBase + serviceLength + longestExtra > 255 else { return [] }
        var found: [String] = []
        for base in bases {
            func check(_ extra: [String]) {
                let length = base.wire.count + serviceLength + extra.reduce(0) { $0 + 1 + $1.utf8.count }
                guard length > 255 else { return }
                let text = (extra.reversed() + [service.name, service.namespace]).joined(separator: ".")
                found.append("\(service.namespace)/\(service.name): \(text).\(base) (\(length) octets)")
            }
            check([])
            for port in service.ports {
                guard let name = port.name else { continue }
                check(["_" + port.portProtocol.rawValue.lowercased(), "_" + name])
            }
            guard hasClusterNames else { continue }
            for export in service.clusters {
                check([export.cluster])
                for endpoint in export.endpoints { check([export.cluster, endpoint.hostname]) }
            }
        }
        return found
    }

    /// `_PORT._PROTO.SVC...` for a named port; unnamed ports have no SRV name.
    static func srvName(_ port: ServicePort, under service: DNSName) -> DNSName? {
        guard let name = port.name else { return nil }
        return try? service.prepending("_" + port.portProtocol.rawValue.lowercased()).prepending("_" + name)
    }

    static func rdata(_ address: IPAddress) -> RData {
        let (high, low) = address.words
        return address.isIPv4
            ? .a(IPv4Address(rawValue: UInt32(truncatingIfNeeded: low)))
            : .aaaa(IPv6Address(high: high, low: low))
    }
}

/// The addresses already answered in one answer: a few, compared one by one, until there are enough to hash.
private struct AddressSet {
    private var few: [IPAddress] = []
    private var many: Set<IPAddress>? = nil

    /// Adds `address`; false when it was there already.
    mutating func insert(_ address: IPAddress) -> Bool {
        if many != nil { return many!.insert(address).inserted }
        if few.contains(address) { return false }
        few.append(address)
        if few.count > 16 { many = Set(few) }
        return true
    }
}
