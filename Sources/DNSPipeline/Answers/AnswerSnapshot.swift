import DNSWire
import ServiceRegistry

/// Everything the query path needs, compiled once per registry or zone change and then only read: a name
/// table, each name's precompiled responses by type, and each zone's negative-answer SOA.
///
/// Queries read one snapshot reference and use nothing else, so each sees one consistent registry while a new
/// snapshot is built beside it (Knot's RCU idea, DESIGN.md section 7).
public final class AnswerSnapshot: Sendable {
    /// A name, as plain integers so that reading one costs no reference counting.
    struct Node: Sendable {
        var zone: Int32
        /// The name's precompiled responses by type: `types.codes[firstType..<firstType + typeCount]`, and the
        /// answer of each in the type table at the same index, side by side for a short linear scan.
        var firstType: Int32
        var typeCount: UInt16
        /// The metric `zone` slot of `zone` (0 for none), kept here so counting a query reads no other array.
        var zoneSlot: UInt8 = 0
        /// The response for QTYPE ANY: every RRset at the name (RFC 8482 allows less; this is simplest).
        var anyTemplate: Int32
        /// For a CNAME node, the response to any type it has no template for: the CNAME chain alone.
        var fallbackTemplate: Int32

        /// Whether the two answer every type from the same entries (their zones aside): a service's node under a
        /// tree after its first shares the first tree's node's (`AnswerCompiler`).
        func sharesAnswers(with other: Node) -> Bool {
            firstType == other.firstType && typeCount == other.typeCount && anyTemplate == other.anyTemplate
                && fallbackTemplate == other.fallbackTemplate
        }
    }

    struct Zone: Sendable {
        var origin: DNSName
        /// The SOA record for negative answers without its owner name, which points into the question.
        var negativeSOA: [UInt8]
    }

    /// Each name's types and what answers them: a template for everyone, or one per client locality.
    struct TypeTable: Sendable {
        var codes: [UInt16]
        var templates: [Int32]
        /// -1 where `templates` answers everyone; else the first of `localityCount` entries in
        /// `variantTemplates` and `variantPlans`, one per locality index.
        var variants: [Int32]
        var variantTemplates: [Int32]
        /// The rotation plan of each variant, or -1 when its order is fixed.
        var variantPlans: [Int32]
        /// For a variant whose orderings are all precompiled: its group in `choices` (its template is -1).
        var variantChoices: [Int32]
        var choices: ChoiceTable
        var localityCount: Int
    }

    let table: NameTable
    let nodes: [Node]
    let types: TypeTable
    let templates: TemplateStore
    let rotations: RotationPlans
    let localities: LocalityResolver
    /// Services answered from unhealthy exports only ("NS/NAME"), for logging transitions into and out of it.
    public let failingOpen: Set<String>
    let zones: [Zone]
    /// Zone origins to zone indices, and the set of origin lengths, for finding the zone of a missing name.
    let zoneTable: NameTable
    let zoneLengths: LengthSet
    /// `forward:` zones to rule indices, searched the same way for names outside every zone of ours.
    let forwardTable: NameTable
    let forwardLengths: LengthSet
    let allow: NetworkMatcher
    /// The metric `zone` slot (`ZoneLabels.shared`) of each zone, then of each `forward:` rule.
    let zoneSlots: [UInt8]
    /// The NSID option (RFC 5001) a reply carries when asked, whole (code, length, identity); empty when the
    /// identity is hidden. Built once, so the query path only copies it.
    let nsidOption: [UInt8]
    public let registryVersion: UInt64
    public let settings: PipelineSettings
    /// The nodes each service compiled to, by the service and its naming tree: what the next snapshot copies
    /// instead of compiling again when the service is unchanged (`AnswerCompiler`).
    let fragments: ServiceFragments
    /// Which nodes are the registry's PTR names, whose records the next snapshot and overlays read back from their
    /// templates.
    let reverseFragments: ReverseFragments
    /// How many of `nameCount` names were copied from the previous snapshot rather than compiled.
    public let reusedNames: Int
    /// Names the registry's services would have that DNS cannot hold (over 255 octets), left out of the answers:
    /// "NS/NAME: TEXT (N octets)" (`RegistryRecords.namesTooLong`).
    public let namesTooLong: [String]

    /// Names this snapshot answers for (an overlay's count includes its base's names).
    public let nameCount: Int
    /// For an overlay (`AnswerSnapshot.overlay`): the full snapshot it lies over. A name this snapshot's table
    /// lacks, and `removed` does not list, is answered from the base; everything else (zones and their SOA
    /// serial, settings) is this snapshot's. Nil for a full snapshot.
    public let base: AnswerSnapshot?
    /// Names of the base that no longer exist (the old names of changed services), for an overlay.
    let removed: NameTable
    /// Each node's slot in `table` (`NameTable.slotsByValue`): its name, for an overlay over this snapshot.
    private let nodeSlots: [Int32]
    /// What the snapshot's arrays hold, in bytes, by part (element counts times their size; each array's spare
    /// capacity and malloc's overhead are not counted): where the memory of a big registry goes.
    public var memoryByPart: [(part: String, bytes: Int)] {
        let table = self.table.bytes
        let templates = self.templates.byteCounts
        return [
            ("name table slots", table.slots), ("name table keys", table.keys),
            ("nodes", nodes.count * MemoryLayout<Node>.stride), ("node slots", nodeSlots.count * 4),
            (
                "type tables",
                types.codes.count * 2 + (types.templates.count + types.variants.count) * 4
                    + (types.variantTemplates.count + types.variantPlans.count + types.variantChoices.count) * 4
            ),
            ("templates (responses)", templates.responses), ("templates (spans)", templates.spans),
            (
                "fragments (entries; their services share the registry's storage)", fragments.byteCount
            ),
            (
                "reverse fragments (runs of nodes)", reverseFragments.byteCount
            ),
        ]
    }

    /// The name (lower-cased wire form) of node `index`, if the table holds it.
    func name(ofNode index: Int) -> ArraySlice<UInt8>? {
        index >= 0 && index < nodeSlots.count ? table.key(atSlot: nodeSlots[index]) : nil
    }

    /// Services an overlay compiled afresh (changed since its base, or sharing an address with one); 0 for a
    /// full snapshot.
    public let overlaidServices: Int

    init(
        table: NameTable, nodes: [Node], types: TypeTable, templates: TemplateStore, rotations: RotationPlans,
        localities: LocalityResolver, zones: [Zone], zoneSlots: [UInt8], failingOpen: [String], registryVersion: UInt64,
        settings: PipelineSettings, fragments: ServiceFragments = ServiceFragments(),
        reverseFragments: ReverseFragments = ReverseFragments(), reusedNames: Int = 0, namesTooLong: [String] = [],
        overlay: (base: AnswerSnapshot, removed: NameTable, nameCount: Int, services: Int)? = nil
    ) {
        self.base = overlay?.base
        self.removed = overlay?.removed ?? NameTable(capacity: 0)
        self.nameCount = overlay?.nameCount ?? nodes.count
        self.overlaidServices = overlay?.services ?? 0
        nodeSlots = table.slotsByValue(count: nodes.count)
        self.namesTooLong = namesTooLong
        self.fragments = fragments
        self.reverseFragments = reverseFragments
        self.reusedNames = reusedNames
        self.table = table
        self.nodes = nodes
        self.types = types
        // A build's index of its templates' bytes is not kept (`TemplateStore.finished`).
        self.templates = templates.finished()
        self.rotations = rotations
        self.localities = localities
        self.failingOpen = Set(failingOpen)
        self.zones = zones
        var zoneTable = NameTable(capacity: zones.count)
        var zoneLengths = LengthSet()
        for (index, zone) in zones.enumerated() {
            zoneTable.insert(zone.origin.wire, value: index)
            zoneLengths.insert(zone.origin.wire.count)
        }
        self.zoneTable = zoneTable
        self.zoneLengths = zoneLengths
        var forwardTable = NameTable(capacity: settings.forwardZones.count)
        var forwardLengths = LengthSet()
        // The first rule for a zone wins; later duplicates are refused by the config loader anyway.
        var seen = Set<DNSName>()
        for (index, zone) in settings.forwardZones.enumerated() where seen.insert(zone).inserted {
            forwardTable.insert(zone.wire, value: index)
            forwardLengths.insert(zone.wire.count)
        }
        self.forwardTable = forwardTable
        self.forwardLengths = forwardLengths
        self.allow = NetworkMatcher(settings.allow)
        self.zoneSlots = zoneSlots
        let identity = Array((settings.identity ?? "").utf8.prefix(255))
        nsidOption =
            identity.isEmpty
            ? [] : [0, UInt8(EDNSOption.nsidCode), UInt8(identity.count >> 8), UInt8(identity.count & 0xFF)] + identity
        self.registryVersion = registryVersion
        self.settings = settings
    }

    /// Compiles the registry and the zones into a snapshot.
    /// With `previous`, the names of services that did not change are copied from it rather than compiled
    /// again: a registry update costs the changed services plus copying bytes. `previous` must have been built
    /// with the same zones and settings (the caller knows: zones change on SIGHUP, settings never at run time).
    /// The result answers exactly as a build from scratch (`IncrementalBuildTests`).
    /// Compiles a snapshot; services compiled apart are shared among `threads` threads (the same snapshot,
    /// sooner), which only a build that nothing else waits on for CPU should ask for: the first, at start.
    public static func build(
        registry: RegistrySnapshot, zones: [AuthoritativeZone], settings: PipelineSettings,
        previous: AnswerSnapshot? = nil, threads: Int = 1
    ) -> AnswerSnapshot {
        var compiler = AnswerCompiler(registry: registry, zoneFiles: zones, settings: settings, previous: previous)
        compiler.threads = threads
        return compiler.compile()
    }
}

/// The nodes each service compiled to under each naming tree (`svc.ZONE` or the global zone), which the next
/// snapshot copies instead of compiling again when the service is unchanged: whether it is, is an equality check
/// of the value kept, cheap when it did not change (copies of one `Service` share its box and compare by identity).
///
/// Kept per tree in the registry's order (`ServiceID`'s), so the next build walks them beside its
/// own sorted services and an overlay finds one by binary search. A dictionary keyed by names was 29 MB at
/// 100,000 services (its buckets at a quarter empty past a power of two); these arrays are 16 octets an entry.
struct ServiceFragments: Sendable {
    /// The naming trees the entries are under (`AnswerCompiler.namingTrees`), in `trees`' order: a snapshot built
    /// under other trees finds nothing here rather than another tree's nodes.
    let bases: [DNSName]
    private var trees: [[CompiledFragment]]

    init(bases: [DNSName] = [], trees: [[CompiledFragment]] = []) {
        precondition(trees.isEmpty || trees.count == bases.count, "one list of entries per naming tree")
        self.bases = bases
        self.trees = trees
    }

    /// Entries in all trees.
    var count: Int { trees.reduce(0) { $0 + $1.count } }
    var byteCount: Int { trees.reduce(0) { $0 + $1.capacity * MemoryLayout<CompiledFragment>.stride } }

    /// The entries under naming tree `base`, sorted; none for a tree these were not built under.
    func entries(ofTree base: DNSName) -> [CompiledFragment] {
        guard let tree = bases.firstIndex(of: base), tree < trees.count else { return [] }
        return trees[tree]
    }

    /// The entry of service `id` under naming tree `base`, if it was compiled apart or copied.
    func entry(ofTree base: DNSName, _ id: ServiceID) -> CompiledFragment? {
        let entries = entries(ofTree: base)
        var low = 0
        var high = entries.count
        while low < high {
            let middle = (low + high) / 2
            if ServiceID(entries[middle].service) < id { low = middle + 1 } else { high = middle }
        }
        guard low < entries.count, ServiceID(entries[low].service) == id else { return nil }
        return entries[low]
    }
}

/// What a service compiled to: its value then, and its nodes. A service's nodes are always one run (compiled or
/// copied together), kept as a range: an array each was 10 MB at 100,000 services.
struct CompiledFragment: Sendable {
    var service: Service
    var nodes: Range<Int32>
}

/// A set of wire-name lengths (0...255) as a 256-bit map: membership is two instructions, no allocation.
struct LengthSet: Sendable {
    private var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)

    mutating func insert(_ length: Int) {
        let bit = UInt64(1) << UInt64(length & 63)
        switch length >> 6 {
        case 0: words.0 |= bit
        case 1: words.1 |= bit
        case 2: words.2 |= bit
        default: words.3 |= bit
        }
    }

    @inline(__always)
    func contains(_ length: Int) -> Bool {
        let word: UInt64
        switch length >> 6 {
        case 0: word = words.0
        case 1: word = words.1
        case 2: word = words.2
        default: word = words.3
        }
        return word & (UInt64(1) << UInt64(length & 63)) != 0
    }
}
