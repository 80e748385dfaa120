import DNSWire

/// An RRset whose order depends on who asks: one `OrderedAnswer` per locality index.
struct OrderedRRset {
    var name: DNSName
    var type: RecordType
    var perLocality: [OrderedAnswer]
}

/// The records answered to one locality, nearest tier first, and how they may rotate per query.
struct OrderedAnswer: Equatable {
    /// One export's records inside a tier: the unit that rotates.
    struct Unit: Equatable {
        var recordCount: Int
        var weight: UInt32
    }

    var records: [ResourceRecord]
    /// The units of each tier, in record order. A tier of one unit never rotates.
    var tiers: [[Unit]]

    /// Whether any tier has something to rotate.
    var rotates: Bool { tiers.contains { $0.count > 1 } }
}
