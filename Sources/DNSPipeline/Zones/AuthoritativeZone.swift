import DNSWire

/// One zone scdns is authoritative for: its apex SOA and NS, and any static records an operator wrote for it.
/// The zone-file loader produces these; the pipeline never reads files.
public struct AuthoritativeZone: Sendable {
    public var origin: DNSName
    public var soa: ResourceRecord
    public var nameServers: [ResourceRecord]
    public var records: [ResourceRecord]

    public init(origin: DNSName, soa: ResourceRecord, nameServers: [ResourceRecord], records: [ResourceRecord] = []) {
        self.origin = origin
        self.soa = soa
        self.nameServers = nameServers
        self.records = records
    }

    /// The zone a service zone gets when `zones/` has no file for it, shaped like CoreDNS's kubernetes plugin
    /// default (`ns.dns.ZONE`, `hostmaster.ZONE`), with the registry's TTL as SOA TTL and negative TTL so that
    /// negative answers expire as fast as positive ones.
    public static func synthesized(origin: DNSName, ttl: UInt32, serial: UInt32) -> AuthoritativeZone {
        let nameServer = (try? origin.prepending("dns").prepending("ns")) ?? origin
        let mailbox = (try? origin.prepending("hostmaster")) ?? origin
        let soa = SOARecord(
            primary: nameServer, mailbox: mailbox, serial: serial, refresh: 7200, retry: 1800, expire: 86400,
            minimum: ttl)
        return AuthoritativeZone(
            origin: origin, soa: ResourceRecord(name: origin, ttl: ttl, data: .soa(soa)),
            nameServers: [ResourceRecord(name: origin, ttl: ttl, data: .ns(nameServer))])
    }

    /// RFC 2308 5: a negative answer lives for the smaller of the SOA's TTL and its MINIMUM field.
    public var negativeTTL: UInt32 {
        guard case .soa(let fields) = soa.data else { return soa.ttl }
        return min(soa.ttl, fields.minimum)
    }
}
