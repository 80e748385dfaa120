import DNSWire

/// Every name scdns answers for, with its RRsets, gathered before compiling responses. Adding a name also
/// creates its ancestors up to the zone apex as empty non-terminals (RFC 8020: they exist, so NODATA).
struct RecordStore {
    struct Node {
        var name: DNSName
        /// Index into the zones array, or `RecordStore.noZone` for names no authoritative zone covers
        /// (reverse names of registry addresses).
        var zone: Int
        var rrsets = RRsets()
        /// The types in the order their RRsets were first added, so ANY answers and tests are deterministic: the
        /// RRsets' own order (an array of its own was an allocation a name, a million at 100,000 services).
        var types: RRsets.Types { rrsets.types }
    }

    /// A node's RRsets by type. A name has one to three types, found sooner by a scan than by hashing, and a
    /// dictionary per name was a tenth of compiling a registry (its storage made and freed for each of a million
    /// names).
    struct RRsets {
        typealias Types = LazyMapCollection<[(type: RecordType, records: [ResourceRecord])], RecordType>
        private var entries: [(type: RecordType, records: [ResourceRecord])] = []

        /// The types held, in the order first added (an RRset is never removed while a store is filled).
        var types: Types { entries.lazy.map(\.type) }

        subscript(type: RecordType) -> [ResourceRecord]? {
            get { entries.first { $0.type == type }?.records }
            // In place: the RRset is moved out while it is changed, so an append through `rrsets[type]!` finds
            // its array unshared and does not copy it (`RecordStore.append`).
            _modify {
                let index = entries.firstIndex { $0.type == type }
                var value: [ResourceRecord]? = nil
                if let index {
                    value = entries[index].records
                    entries[index].records = []
                }
                defer {
                    switch (index, value) {
                    case (let index?, let value?): entries[index].records = value
                    case (let index?, nil): entries.remove(at: index)
                    case (nil, let value?): entries.append((type, value))
                    case (nil, nil): break
                    }
                }
                yield &value
            }
        }
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
            sourceOf[rrsetKey] = source
            return
        }
        if owner != source { return }
        Self.append(record, to: &nodes[key]!.rrsets[type]!, seen: &rdataOf, key: rrsetKey)
    }

    /// Appends `record` to `rrset` unless its RDATA is there already. In place, and a repeat found through a set
    /// (`seen`, made once the RRset is long) rather than a scan: a service with 100,000 addresses used to copy and
    /// scan its RRset for every address, minutes of compiling on every instance. (No copy of the RRset is held
    /// across the append, or the append would copy it.) `ServiceRecords` gathers its RRsets the same way.
    ///
    /// `seen` is a dictionary of such sets, `key` the RRset's: it is only looked into for a long RRset, since a
    /// look-up through its subscript gives an empty dictionary storage (one allocation a service) and hashes
    /// the key even when nothing is stored.
    static func append<Key: Hashable>(
        _ record: ResourceRecord, to rrset: inout [ResourceRecord], seen: inout [Key: Set<RData>], key: Key
    ) {
        if rrset.count < linearSearchLimit {
            if rrset.contains(where: { $0.data == record.data }) { return }
        } else {
            if !seen[key, default: Set(rrset.map(\.data))].insert(record.data).inserted { return }
        }
        rrset.append(record)
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

/// What compiling a node reads besides the node itself: other names' records (a CNAME chain, the addresses of an
/// SRV target) and a name's per-locality RRsets.
protocol RecordLookup {
    func node(_ name: DNSName) -> RecordStore.Node?
    func rrset(_ name: DNSName, _ type: RecordType) -> [ResourceRecord]
    func ordered(_ name: DNSName, _ type: RecordType) -> OrderedRRset?
}

/// A `RecordStore` with the registry's per-locality RRsets beside it: every name the compiler did not compile
/// service by service.
struct StoreWithOrdered: RecordLookup {
    struct Key: Hashable {
        var name: DNSName
        var type: RecordType
    }

    var store = RecordStore()
    var orderedRRsets: [Key: OrderedRRset] = [:]

    func node(_ name: DNSName) -> RecordStore.Node? { store.node(name) }
    func rrset(_ name: DNSName, _ type: RecordType) -> [ResourceRecord] { store.rrset(name, type) }
    func ordered(_ name: DNSName, _ type: RecordType) -> OrderedRRset? { orderedRRsets[Key(name: name, type: type)] }
}

/// The records of one service's names (all at or below its root, `SVC.NS.BASE`), gathered as `RecordStore`
/// gathers a registry's: each name with its ancestors up to the root, each RRset without repeats, in the order
/// first seen. A service has a handful of names, found by comparing them rather than hashing; one with many
/// (a headless service of many endpoints) gets an index once it passes `indexFrom`.
///
/// Compiling a registry service by service, each one's records held only while its answers are made, was what
/// made the build's peak smaller than the registry's records: the registry-wide store held every record at once.
struct ServiceRecords: RecordLookup {
    let root: DNSName
    let zone: Int
    private(set) var nodes: [RecordStore.Node] = []
    var orderedRRsets: [OrderedRRset] = []
    private var index: [DNSName: Int]? = nil
    private var rdataOf: [Int: Set<RData>] = [:]
    private static let indexFrom = 32

    /// `expectedNames`: the nodes reserved at once, so that they are not grown one by one. The compiler passes its
    /// records' count, which is the names' count for a ClusterSetIP service's one address an export, and up to
    /// a few times it for many addresses a name (a headless service's cluster names): held only while the
    /// service is compiled.
    init(root: DNSName, zone: Int, expectedNames: Int = 0) {
        self.root = root
        self.zone = zone
        nodes.reserveCapacity(expectedNames)
    }

    private func position(_ name: DNSName) -> Int? {
        if let index { return index[name] }
        return nodes.firstIndex { $0.name == name }
    }

    /// Ensures `name` (at or below the root) and its ancestors up to the root exist; returns its position.
    @discardableResult
    private mutating func touch(_ name: DNSName) -> Int {
        if let found = position(name) { return found }
        if name != root && !parentIsANode(name), let parent = name.parent { touch(parent) }
        nodes.append(RecordStore.Node(name: name.lowercased(), zone: zone))
        if index == nil && nodes.count > Self.indexFrom {
            index = Dictionary(uniqueKeysWithValues: nodes.enumerated().map { ($1.name, $0) })
        } else {
            index?[name] = nodes.count - 1
        }
        return nodes.count - 1
    }

    /// Whether `name`'s parent is a node already, found by comparing the octets after its first label with the
    /// nodes' names: making the parent's name to look it up was an allocation a name. (With an index, the parent
    /// is made and looked up in it.)
    private func parentIsANode(_ name: DNSName) -> Bool {
        let wire = name.wire
        guard index == nil, let first = wire.first, first != 0 else { return false }
        let parent = wire[(1 + Int(first))...]
        return nodes.contains { DNSName.equalIgnoringCase($0.name.wire[...], parent) }
    }

    mutating func add(_ record: ResourceRecord) {
        let at = touch(record.name)
        let type = record.type
        guard nodes[at].rrsets[type] != nil else {
            nodes[at].rrsets[type] = [record]
            return
        }
        RecordStore.append(record, to: &nodes[at].rrsets[type]!, seen: &rdataOf, key: at << 16 | Int(type.rawValue))
    }

    func node(_ name: DNSName) -> RecordStore.Node? { position(name).map { nodes[$0] } }
    func rrset(_ name: DNSName, _ type: RecordType) -> [ResourceRecord] { node(name)?.rrsets[type] ?? [] }
    func ordered(_ name: DNSName, _ type: RecordType) -> OrderedRRset? {
        orderedRRsets.first { $0.type == type && $0.name == name }
    }
}
