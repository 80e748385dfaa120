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

    /// `d.c.b.a.in-addr.arpa.` or the nibble form under `ip6.arpa.` (RFC 3596 2.5), written straight into one
    /// array: a build makes one per registry address (labels as arrays of strings' octets cost ten allocations
    /// a name, a tenth of a start at 100,000 services).
    static func reverseName(_ address: IPAddress) -> DNSName {
        let (high, low) = address.words
        // The octets from the last: the low word's from its least significant, then the high word's.
        func octet(fromLast index: Int) -> UInt8 {
            UInt8(truncatingIfNeeded: (index < 8 ? low : high) >> (8 * UInt64(index % 8)))
        }
        var wire: [UInt8] = []
        if address.isIPv4 {
            wire.reserveCapacity(4 * 4 + 14)
            for index in 0..<4 {
                let byte = octet(fromLast: index)
                let hundreds = byte / 100
                let tens = byte / 10 % 10
                let length: UInt8 = byte >= 100 ? 3 : byte >= 10 ? 2 : 1
                wire.append(length)
                if length == 3 { wire.append(0x30 + hundreds) }
                if length >= 2 { wire.append(0x30 + tens) }
                wire.append(0x30 + byte % 10)
            }
            wire += ipv4Suffix.wire
        } else {
            wire.reserveCapacity(16 * 4 + 10)
            for index in 0..<16 {
                let byte = octet(fromLast: index)
                wire += [1, hexDigits[Int(byte & 0x0F)], 1, hexDigits[Int(byte >> 4)]]
            }
            wire += ipv6Suffix.wire
        }
        return try! DNSName(wire: wire)
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)
}
