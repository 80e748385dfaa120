import DNSWire
import ServiceRegistry

/// PTR records for the registry's addresses (DESIGN.md section 1): a vip names its service, a cluster's
/// address its cluster-specific name, a headless endpoint its host name, all in the first service zone.
struct ReverseRecords {
    let settings: PipelineSettings

    func records(for service: Service, base: DNSName) -> [ResourceRecord] {
        guard let serviceName = try? base.prepending(service.namespace).prepending(service.name) else { return [] }
        var records: [ResourceRecord] = []
        func add(_ address: IPAddress, _ target: DNSName) {
            records.append(ResourceRecord(name: Self.reverseName(address), ttl: settings.ttl, data: .ptr(target)))
        }
        if let vip = service.vip { add(vip, serviceName) }
        for export in service.clusters {
            let clusterName = try? serviceName.prepending(export.cluster)
            switch service.type {
            case .clusterSetIP:
                // Without cluster names (strict MCS) the service's own name is the only one to point at.
                let target = settings.clusterNames ? (clusterName ?? serviceName) : serviceName
                for address in export.addresses { add(address, target) }
            case .headless:
                guard let clusterName else { continue }
                for endpoint in export.endpoints where endpoint.ready {
                    guard let host = try? clusterName.prepending(endpoint.hostname) else { continue }
                    for address in endpoint.addresses { add(address, host) }
                }
            }
        }
        return records
    }

    static let ipv4Suffix = try! DNSName("in-addr.arpa.")
    static let ipv6Suffix = try! DNSName("ip6.arpa.")

    /// `d.c.b.a.in-addr.arpa.` or the nibble form under `ip6.arpa.` (RFC 3596 2.5).
    static func reverseName(_ address: IPAddress) -> DNSName {
        var labels: [[UInt8]] = []
        if address.isIPv4 {
            labels = address.bytes.reversed().map { Array(String($0).utf8) }
            labels += [Array("in-addr".utf8), Array("arpa".utf8)]
        } else {
            let digits = Array("0123456789abcdef".utf8)
            for byte in address.bytes.reversed() {
                labels.append([digits[Int(byte & 0x0F)]])
                labels.append([digits[Int(byte >> 4)]])
            }
            labels += [Array("ip6".utf8), Array("arpa".utf8)]
        }
        return try! DNSName(labels: labels)
    }
}
