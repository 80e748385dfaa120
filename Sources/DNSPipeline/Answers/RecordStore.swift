import DNSWire

/// Every name scdns answers for, with its RRsets, gathered before compiling responses. Adding a name also
/// creates its ancestors up to the zone apex as empty non-terminals (RFC 8020: they exist, so NODATA).
struct RecordStore {
    struct Node {
        var name: DNSName
        /// Index into the zones array, or `RecordStore.noZone` for names no authoritative zone covers
        /// (reverse names of registry addresses).
        var zone: Int
        var rrsets: [RecordType: [ResourceRecord]] = [:]
        /// The order RRsets were first added, so ANY answers and tests are deterministic.
        var types: [RecordType] = []
    }

    static let noZone = -1

    private(set) var nodes: [DNSName: Node] = [:]
    /// Names in the order first seen, for deterministic compilation.
    private(set) var order: [DNSName] = []

    /// Ensures `name` and its ancestors below `apex` exist.
    mutating func touch(_ name: DNSName, zone: Int, apex: DNSName?) {
        var current: DNSName? = name
        while let here = current {
            if nodes[here] != nil { break }
            nodes[here] = Node(name: here.lowercased(), zone: zone)
            order.append(here)
            if let apex, here == apex { break }
            guard apex != nil else { break }
            current = here.parent
        }
    }

    /// Adds a record. With `replace: false` a record is added only when its owner has no RRset of that type yet
    /// from an earlier source, which lets registry data win over a static record of the same name and type.
    mutating func add(_ record: ResourceRecord, zone: Int, apex: DNSName?, fromSource source: Int) {
        touch(record.name, zone: zone, apex: apex)
        let key = record.name
        let type = record.type
        let rrsetKey = SourceKey(name: key, type: type)
        guard let owner = sourceOf[rrsetKey] else {
            nodes[key]!.rrsets[type] = [record]
            nodes[key]!.types.append(type)
            sourceOf[rrsetKey] = source
            return
        }
        if owner != source { return }
        // Appended in place, and a repeat found through a set once the RRset is long: a service with 100,000
        // addresses used to copy and scan its RRset for every address, minutes of compiling on every instance.
        // (No copy of the RRset is held across the append, or the append would copy it.)
        if nodes[key]!.rrsets[type]!.count < Self.linearSearchLimit {
            if nodes[key]!.rrsets[type]!.contains(where: { $0.data == record.data }) { return }
        } else {
            if rdataOf[rrsetKey] == nil { rdataOf[rrsetKey] = Set(nodes[key]!.rrsets[type]!.map(\.data)) }
            if !rdataOf[rrsetKey]!.insert(record.data).inserted { return }
        }
        nodes[key]!.rrsets[type]!.append(record)
    }

    private struct SourceKey: Hashable {
        var name: DNSName
        var type: RecordType
    }
    private var sourceOf: [SourceKey: Int] = [:]
    /// The RDATA of RRsets past `linearSearchLimit` records, made when one first grows past it.
    private var rdataOf: [SourceKey: Set<RData>] = [:]
    /// Below this, scanning the RRset costs less than hashing, and most RRsets (one to a few addresses) never
    /// pay for a set.
    private static let linearSearchLimit = 32

    func node(_ name: DNSName) -> Node? { nodes[name] }

    /// The records of `type` at `name`, if any.
    func rrset(_ name: DNSName, _ type: RecordType) -> [ResourceRecord] { nodes[name]?.rrsets[type] ?? [] }
}
