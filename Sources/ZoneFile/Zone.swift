import DNSWire

/// One authoritative zone read from a master file: its apex (SOA and NS) and every other record, as written.
///
/// The value is immutable and holds only DNSWire types, so a loaded zone can be handed to any thread and compiled
/// into answers without touching ldns again. Equality lets a reload skip recompiling a zone whose file did not change.
public struct Zone: Sendable, Hashable {
    /// The apex. Every record's owner is at or below it.
    public let origin: DNSName
    /// The apex SOA (exactly one in the file).
    public let soa: ResourceRecord
    /// The NS records at the apex (at least one in the file).
    public let nameServers: [ResourceRecord]
    /// Every other record in the file (static records), in file order, owner names absolute. NS records below the
    /// apex (delegations) are here too: only the apex NS set describes this zone.
    public let records: [ResourceRecord]
    /// The file the zone was read from, as it was named to the loader; errors and logs name it.
    public let file: String

    /// Builds a zone without a file, e.g. the internal default apex served when `zones/` has none. No validation
    /// happens here: the loader validates what it reads, and code constructing a zone by hand is trusted.
    public init(
        origin: DNSName, soa: ResourceRecord, nameServers: [ResourceRecord], records: [ResourceRecord],
        file: String
    ) {
        self.origin = origin
        self.soa = soa
        self.nameServers = nameServers
        self.records = records
        self.file = file
    }

    /// The SOA's fields. The loader guarantees `soa` holds SOA data; a hand-built zone without one gets zeros, so
    /// negative caching degrades to "do not cache" rather than trapping.
    public var soaData: SOARecord {
        if case .soa(let data) = soa.data { return data }
        return SOARecord(primary: origin, mailbox: origin, serial: 0, refresh: 0, retry: 0, expire: 0, minimum: 0)
    }

    /// The TTL of a negative answer's SOA: min(SOA TTL, SOA MINIMUM), as RFC 2308 section 5 prescribes.
    public var negativeTTL: UInt32 { min(soa.ttl, soaData.minimum) }

    /// Every record of the zone: the SOA, the apex NS set, then the static records in file order.
    public var allRecords: [ResourceRecord] { [soa] + nameServers + records }
}
