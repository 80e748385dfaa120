import DNSWire
import Dispatch
import ServiceRegistry

/// Builds an `AnswerSnapshot`: precompiles one response per (name, type) so the query path only copies bytes and
/// patches the ID, flags and the question's case. A service whose names are its own alone is compiled from its
/// own records alone (`ServiceRecords`), and a PTR name outside every zone from its own records; both are
/// compiled first, in runs that several threads can share (`threads`). Everything else (zone data, PTR names
/// inside a zone, services zone data shares names with) is gathered into one `RecordStore` and compiled after.
///
/// A service compiled apart under several naming trees is compiled in full under the first; under the others its
/// names share the first tree's answers (a template holds no question, and a service's answers name nothing but
/// the question, except for SRV targets, which are compiled under each tree).
///
/// With a previous snapshot (same zones and settings), a service whose value and naming tree are unchanged has
/// its nodes copied from it instead: its names are all under `SVC.NS.BASE` and nothing else reads them, unless
/// a zone file has a record at or below that name or pointing into it (then it is compiled as before).
struct AnswerCompiler {
    let registry: RegistrySnapshot
    let zoneFiles: [AuthoritativeZone]
    let settings: PipelineSettings
    var previous: AnswerSnapshot? = nil
    /// Names compiled but left out of the name table: an overlay's reverse names that are not its to answer
    /// (`AnswerSnapshot.overlay`).
    var leaveOut: Set<DNSName> = []
    /// Whether a service whose names are its own alone is compiled on its own, as soon as it is generated (false:
    /// through the registry-wide store, as names shared with zone data are; tests compare the two).
    var compilesServicesApart = true
    /// Threads that compile services apart (and PTR names outside every zone) at once, in runs of consecutive
    /// ones merged back in order, so the snapshot is byte for byte the one a single thread makes. 1 compiles
    /// them on the calling thread (a fold, which runs at a lower priority that other threads would not share).
    var threads = 1
    /// Below this many services to compile apart, one thread does it all: threads cost more than they save.
    var parallelMinimum = 2_048
    /// Services a run holds at most, when several threads share the work: runs are merged in order and freed
    /// as they are, so the build's peak holds the snapshot and a few runs, not a second snapshot.
    var runLength = 4_096

    /// Registry data wins over a static record of the same name and type.
    private static let registrySource = 0
    private static let staticSource = 1
    private static let maxChain = 8
    /// How many of a node's latest templates a new one is compared with for sharing (`compileNode`): a bound on
    /// the work for a name with many localities and orderings.
    private static let sharedTemplateScan = 64
    /// A template this long or shorter, and not cut short (TC), fits a TCP response whatever the question: the
    /// same answer under every naming tree. A longer one may fit under a tree whose names are shorter alone.
    private static let largestTreeIndependentTemplate = 65_535 - DNSName.maxLength - 4

    func compile() -> AnswerSnapshot {
        let zones = allZones()
        // Each zone's metric slot, then each forward rule's: the snapshot keeps them, and nodes carry their zone's.
        let zoneSlots = ZoneLabels.shared.slots(for: zones.map(\.origin) + settings.forwardZones)
        var records = StoreWithOrdered()
        func zoneIndex(of name: DNSName) -> Int { Self.zoneIndex(of: name, in: zones) }
        func add(_ record: ResourceRecord, source: Int) {
            let zone = zoneIndex(of: record.name)
            records.store.add(
                record, zone: zone, apex: zone == RecordStore.noZone ? nil : zones[zone].origin, fromSource: source)
        }
        // The nodes compiled so far and the name table, filled service by service, then with the names the
        // registry-wide store gathered.
        // One access to the table a name (a method of its own that grows it): a closure reading a count and the
        // capacity beside it made four dynamically checked accesses a name.
        var table = NameTable(capacity: registry.services.count * 8)
        func insert(_ wire: [UInt8], value: Int) { table.insertGrowing(wire, value: value) }
        var output = Output()
        func append(_ node: RecordStore.Node, from lookup: some RecordLookup) -> Int32 {
            let index = Int32(output.nodes.count)
            if leaveOut.isEmpty || !leaveOut.contains(node.name) { insert(node.name.wire, value: Int(index)) }
            var compiled = compileNode(node, records: lookup, into: &output)
            if compiled.zone >= 0 { compiled.zoneSlot = zoneSlots[Int(compiled.zone)] }
            output.nodes.append(compiled)
            return index
        }

        let resolver = LocalityResolver(own: settings.locality, clients: settings.clients)
        let generator = RegistryRecords(settings: settings, localities: resolver.localities)
        // Reuse: services copied from `previous` (their old node indices), and for services compiled now, the
        // root of their names, to record which nodes are theirs for the next build. Only when every naming tree
        // stands apart from the others: with `globalZone: clusterset.local` beside `serviceZones:
        // [clusterset.local]`, SVC.NS.global of one service is NS.svc.ZONE of others, and names stop belonging to
        // one service.
        let reuse = Self.namingTreesAreDisjoint(settings)
        let bases = Self.namingTrees(settings)
        // One placement for each service under each naming tree, in that order: tree by tree, services in order.
        let placementCount = registry.services.count * bases.count
        let previous = reuse ? self.previous : nil
        let unsafeRoots = reuse ? Self.namesReferencedByZones(zones) : []
        // Copied services: their placement, value and old nodes.
        var copied: [(placement: Int, service: Service, nodes: Range<Int32>)] = []
        // What each placement compiled to, when it was compiled apart or copied (`ServiceFragments`).
        var compiledFragments = [CompiledFragment?](repeating: nil, count: reuse ? placementCount : 0)
        func touchParent(_ parent: DNSName) {
            let zone = zoneIndex(of: parent)
            records.store.touch(parent, zone: zone, apex: zone == RecordStore.noZone ? nil : zones[zone].origin)
        }

        // Where each service goes under each naming tree, decided first, in the order of the walk below: copied
        // from `previous`, compiled apart (a service whose names are its own alone), or into the registry-wide
        // store. The services compiled apart are then compiled, on several threads when asked, and their nodes
        // come first in the snapshot, service by service, each service's tree by tree.
        var placements: [Placement] = []
        placements.reserveCapacity(placementCount)
        for base in bases {
            // The previous snapshot's services under this tree, sorted as the registry's are: walked beside them.
            let old = previous?.fragments.entries(ofTree: base) ?? []
            var next = 0
            for service in registry.services {
                let root = try? base.prepending(service.namespace).prepending(service.name)
                guard reuse, let root, !unsafeRoots.contains(root) else {
                    placements.append(.store)
                    continue
                }
                let id = ServiceID(service)
                while next < old.count && ServiceID(old[next].service) < id { next += 1 }
                if next < old.count, old[next].service == service {
                    placements.append(.copied(root: root, nodes: old[next].nodes))
                } else if compilesServicesApart {
                    placements.append(.apart(root: root, index: -1))
                } else {
                    placements.append(.store)
                }
            }
        }
        // The services compiled apart, each with every tree it is compiled apart under: the trees after its first
        // share the first's answers (`ApartRun.addSharing`). Numbered service by service, as runs compile them.
        var apart: [ApartService] = []
        // Each service's names DNS cannot hold, asked once: for sharing here, and reported with the snapshot.
        let namesTooLong = registry.services.map {
            RegistryRecords.namesTooLong($0, bases: bases, settings: settings)
        }
        if compilesServicesApart && reuse {
            let lowercasedBases = bases.map { $0.lowercased() }
            var slot = 0
            for (position, service) in registry.services.enumerated() {
                var trees: [ApartTree] = []
                for tree in bases.indices {
                    let placement = tree * registry.services.count + position
                    guard case .apart(let root, _) = placements[placement] else { continue }
                    placements[placement] = .apart(root: root, index: slot)
                    slot += 1
                    trees.append(ApartTree(base: bases[tree], lowercasedBase: lowercasedBases[tree], root: root))
                }
                guard !trees.isEmpty else { continue }
                // Sharing needs every name under every tree: one too long is left out of one tree alone.
                let shares =
                    trees.count > 1
                    && namesTooLong[position].isEmpty
                apart.append(ApartService(service: service, trees: trees, sharesAnswers: shares))
            }
        }
        // Runs merged in order, each let go once merged: the first run's arrays become the snapshot's (nothing
        // is compiled before them), the others are appended. Each item's node ranges (one a tree, for a service)
        // are appended to `nodes`.
        func merge(_ run: ApartRun, into nodes: inout [Range<Int32>]) {
            let first = Int32(output.nodes.count)
            if output.nodes.isEmpty { output = run.output } else { output.append(contentsOf: run.output) }
            for (offset, name) in run.names.enumerated()
            where leaveOut.isEmpty || !leaveOut.contains(name) {
                insert(name.wire, value: Int(first) + offset)
            }
            var next = first
            for count in run.nodeCounts {
                nodes.append(next..<(next + count))
                next += count
            }
        }
        var apartNodes: [Range<Int32>] = []
        apartNodes.reserveCapacity(apart.count)
        let compiler = self
        compileInRuns(apart) { entry, run in
            // The tree compiled in full, whose answers the others share: its nodes' positions in the run, and, for
            // a ClusterSetIP service with SRV names, its records, which those names' are made from under the others
            // (kept no longer than the service's compile, and only where they serve).
            var first: (nodes: Range<Int>, tree: ApartTree, records: ServiceRecords?)? = nil
            let movesSRVRecords =
                entry.service.type == .clusterSetIP && entry.service.ports.contains { $0.name != nil }
            var shares = entry.sharesAnswers
            for tree in entry.trees {
                let zone = Self.zoneIndex(of: tree.root, in: zones)
                if shares, let first {
                    run.addSharing(
                        first.nodes, under: first.tree.lowercasedBase, as: tree.lowercasedBase, zone: zone,
                        srvRecords: {
                            first.records.flatMap {
                                Self.movedSRVRecords($0, from: first.tree.base, to: tree, zone: zone)
                            }
                                ?? Self.serviceRecords(
                                    generator.records(for: entry.service, base: tree.base), tree.root, zone)
                        }, compiler: compiler, zoneSlots: zoneSlots)
                    continue
                }
                let start = run.output.nodes.count
                let nearTheLimit = run.output.templatesNearTheLimit
                let own = Self.serviceRecords(generator.records(for: entry.service, base: tree.base), tree.root, zone)
                run.add(own.nodes, from: own, compiler: compiler, zoneSlots: zoneSlots)
                if first == nil { first = (start..<run.output.nodes.count, tree, movesSRVRecords ? own : nil) }
                // An answer that a longer or shorter question would change is compiled under each tree.
                if run.output.templatesNearTheLimit > nearTheLimit { shares = false }
            }
        } merge: {
            merge($0, into: &apartNodes)
        }

        var placementIndex = 0
        func addService(_ service: Service, base: DNSName) {
            defer { placementIndex += 1 }
            switch placements[placementIndex] {
            case .copied(let root, let nodes):
                // Its ancestors still exist (NS.svc.ZONE as an empty non-terminal) as when it was compiled.
                if !nodes.isEmpty, let parent = root.parent { touchParent(parent) }
                copied.append((placementIndex, service, nodes))
            case .apart(let root, let index):
                let nodes = apartNodes[index]
                if !nodes.isEmpty, let parent = root.parent { touchParent(parent) }
                compiledFragments[placementIndex] = CompiledFragment(service: service, nodes: nodes)
            case .store:
                let generated = generator.records(for: service, base: base)
                for record in generated.records { add(record, source: Self.registrySource) }
                for rrset in generated.ordered {
                    records.orderedRRsets[StoreWithOrdered.Key(name: rrset.name, type: rrset.type)] = rrset
                    // The store holds the instance's own ordering: it decides existence, ANY and additional data.
                    for record in rrset.perLocality[0].records { add(record, source: Self.registrySource) }
                }
            }
        }
        for zone in settings.serviceZones {
            guard let base = try? zone.prepending("svc") else { continue }
            records.store.touch(base, zone: zoneIndex(of: base), apex: zone)
            if let version = try? zone.prepending("dns-version") {
                add(ResourceRecord(name: version, ttl: settings.ttl, data: .txt("1.0.0")), source: Self.registrySource)
            }
            for service in registry.services { addService(service, base: base) }
        }
        if let global = settings.globalZone {
            for service in registry.services { addService(service, base: global) }
        }
        precondition(placementIndex == placements.count, "the walk met every placement")
        // PTR names: one per address, its records from every service holding the address (deduplicated, in the
        // order seen, as the store would). A name whose records are as before is copied like a service's.
        var copiedReverse: [(name: DNSName, node: Int32)] = []
        // PTR names outside every zone, which no other name reads: compiled on their own, in runs as services are.
        var reverseApart: [ReverseName] = []
        if let base = Self.reverseTree(settings) {
            let reverse = ReverseRecords(settings: settings)
            // Each name's records in the order first seen, found by one probe of `positions` a record: most
            // addresses are one service's alone, so the probe that inserts is the only one (a look-up, an insert
            // and a read back were a twentieth of compiling).
            var sets: [(name: DNSName, records: [ResourceRecord])] = []
            var positions: [DNSName: Int] = [:]
            // About one name an address (a vip's, an export's, a ready endpoint's; endpoints counted as one
            // address each): sized once, not grown as it fills.
            let addressCount = registry.services.reduce(0) { count, service in
                service.clusters.reduce(count + (service.vip == nil ? 0 : 1)) {
                    $0 + $1.addresses.count + $1.endpoints.count
                }
            }
            sets.reserveCapacity(addressCount)
            positions.reserveCapacity(addressCount)
            for service in registry.services {
                for record in reverse.records(for: service, base: base) {
                    guard let seen = positions.updateValue(sets.count, forKey: record.name) else {
                        sets.append((record.name, [record]))
                        continue
                    }
                    positions[record.name] = seen
                    if !sets[seen].records.contains(where: { $0.data == record.data }) {
                        sets[seen].records.append(record)
                    }
                }
            }
            positions = [:]
            for (name, ptrRecords) in sets {
                // Only names outside every zone of ours (no empty non-terminals to keep) and unknown to zone files.
                let reusable = reuse && zoneIndex(of: name) == RecordStore.noZone && !unsafeRoots.contains(name)
                if reusable, let previous, let old = previous.table.lookup(ArraySlice(name.wire)),
                    previous.registryPTRNode(Int32(old), named: name, isMadeOf: ptrRecords),
                    records.store.node(name) == nil
                {
                    copiedReverse.append((name, Int32(old)))
                    continue
                }
                if reusable && records.store.node(name) == nil {
                    reverseApart.append(ReverseName(name: name, records: ptrRecords))
                    continue
                }
                for record in ptrRecords { add(record, source: Self.registrySource) }
            }
        }
        var reverseNodes: [Range<Int32>] = []
        reverseNodes.reserveCapacity(reverseApart.count)
        compileInRuns(reverseApart) { entry, run in
            // A name of its own, as a service's names are: its one node and records.
            var own = ServiceRecords(root: entry.name, zone: RecordStore.noZone)
            for record in entry.records { own.add(record) }
            run.add(own.nodes, from: own, compiler: compiler, zoneSlots: zoneSlots)
        } merge: {
            merge($0, into: &reverseNodes)
        }
        for zone in zones {
            for record in [zone.soa] + zone.nameServers + zone.records { add(record, source: Self.staticSource) }
        }

        let copiedCount = copied.reduce(0) { $0 + $1.nodes.count } + copiedReverse.count
        output.nodes.reserveCapacity(output.nodes.count + records.store.order.count + copiedCount)
        for name in records.store.order {
            guard let node = records.store.node(name) else { continue }
            _ = append(node, from: records)
        }
        var reverseFragments = ReverseFragments()
        for nodes in reverseNodes { reverseFragments.add(node: nodes.lowerBound) }
        if let previous, !copied.isEmpty || !copiedReverse.isEmpty {
            let names = previous.table.keysByValue(count: previous.nodes.count)
            func copy(_ old: Int32) -> Int32 {
                let new = Int32(output.nodes.count)
                insert(Array(names[Int(old)]), value: Int(new))
                output.nodes.append(Self.copyNode(Int(old), from: previous, into: &output))
                return new
            }
            let serviceCount = registry.services.count
            for (placement, service, nodes) in copied {
                // Copied in order, so they stay one run of nodes.
                let first = Int32(output.nodes.count)
                // The service copied under an earlier tree (its old nodes and their copies): a node that shared
                // that tree's node's answers (`ApartRun.addSharing`) shares its copy's, not a copy of its own.
                var earlier: (old: Range<Int32>, new: Range<Int32>)? = nil
                for tree in 0..<(placement / serviceCount) {
                    let other = tree * serviceCount + placement % serviceCount
                    if case .copied(_, let old) = placements[other], let new = compiledFragments[other]?.nodes {
                        earlier = (old, new)
                        break
                    }
                }
                for (offset, node) in nodes.enumerated() {
                    let old = previous.nodes[Int(node)]
                    if let earlier, earlier.old.count == nodes.count {
                        let source = previous.nodes[Int(earlier.old.lowerBound) + offset]
                        if old.sharesAnswers(with: source) {
                            insert(Array(names[Int(node)]), value: output.nodes.count)
                            var shared = output.nodes[Int(earlier.new.lowerBound) + offset]
                            shared.zone = old.zone
                            shared.zoneSlot = old.zoneSlot
                            output.nodes.append(shared)
                            continue
                        }
                    }
                    _ = copy(node)
                }
                compiledFragments[placement] = CompiledFragment(
                    service: service, nodes: first..<Int32(output.nodes.count))
            }
            for entry in copiedReverse {
                reverseFragments.add(node: copy(entry.node))
            }
        }
        let compiledZones = zones.map { zone in
            AnswerSnapshot.Zone(origin: zone.origin.lowercased(), negativeSOA: Self.negativeSOA(zone))
        }
        // A vip is answered whatever the exports' health; other services fail open per address family.
        let failingOpen = registry.services.filter { service in
            service.vip == nil
                && (RegistryRecords.failsOpen(service, ipv4: true) || RegistryRecords.failsOpen(service, ipv4: false))
        }.map { "\($0.namespace)/\($0.name)" }
        return AnswerSnapshot(
            table: table, nodes: output.nodes,
            types: AnswerSnapshot.TypeTable(
                codes: output.typeCodes, templates: output.typeTemplates, variants: output.typeVariants,
                variantTemplates: output.variantTemplates, variantPlans: output.variantPlans,
                variantChoices: output.variantChoices, choices: output.choices,
                localityCount: resolver.localities.count),
            templates: output.templates, rotations: output.rotations, localities: resolver, zones: compiledZones,
            zoneSlots: zoneSlots,
            failingOpen: failingOpen, registryVersion: registry.version, settings: settings,
            fragments: ServiceFragments(
                bases: reuse ? bases : [],
                trees: reuse
                    ? bases.indices.map { tree in
                        compiledFragments[(tree * registry.services.count)..<((tree + 1) * registry.services.count)]
                            .compactMap { $0 }
                    } : []),
            reverseFragments: reverseFragments,
            reusedNames: copiedCount, namesTooLong: namesTooLong.flatMap { $0 })
    }

    /// Where a service goes under one naming tree (`compile`).
    private enum Placement {
        /// Unchanged since `previous`: its nodes there, copied.
        case copied(root: DNSName, nodes: Range<Int32>)
        /// Compiled apart: entry `index` of the node ranges runs compiled, numbered service by service and, for
        /// each service, tree by tree.
        case apart(root: DNSName, index: Int)
        /// Its records go into the registry-wide store.
        case store
    }

    /// A service's records gathered by name, to compile it apart: `generated` under the tree of `root`.
    private static func serviceRecords(
        _ generated: RegistryRecords.Output, _ root: DNSName, _ zone: Int
    )
        -> ServiceRecords
    {
        var own = ServiceRecords(
            root: root, zone: zone, expectedNames: generated.records.count + generated.ordered.count + 1)
        for record in generated.records { own.add(record) }
        for rrset in generated.ordered {
            own.orderedRRsets.append(rrset)
            // The instance's own ordering decides existence, ANY and additional data.
            for record in rrset.perLocality[0].records { own.add(record) }
        }
        return own
    }

    /// What a service's SRV names answer under `tree`, from its records under the tree first compiled (`first`,
    /// made under `firstBase`): each SRV record and the addresses its target has there (the instance's own order),
    /// moved to `tree`'s names as the registry's records would name them, and nothing else. Generating and
    /// gathering a service's records again for its SRV names alone cost 22,000 instructions a name (bench/
    /// etcd-callgrind.sh, BENCHMARKS.md). Nil for SRV answers per locality (a headless service's): the caller
    /// makes all of the service's records then.
    private static func movedSRVRecords(
        _ first: ServiceRecords, from firstBase: DNSName, to tree: ApartTree, zone: Int
    ) -> ServiceRecords? {
        var moved = ServiceRecords(root: tree.root, zone: zone)
        for node in first.nodes {
            guard let rrset = node.rrsets[.srv] else { continue }
            guard first.ordered(node.name, .srv) == nil else { return nil }
            for record in rrset {
                guard case .srv(var srv) = record.data,
                    let name = record.name.replacingAncestor(firstBase, with: tree.base),
                    let target = srv.target.replacingAncestor(firstBase, with: tree.base)
                else { return nil }
                let addresses = first.rrset(srv.target, .a) + first.rrset(srv.target, .aaaa)
                srv.target = target
                var movedRecord = record
                movedRecord.name = name
                movedRecord.data = .srv(srv)
                moved.add(movedRecord)
                for var address in addresses {
                    address.name = target
                    moved.add(address)
                }
            }
        }
        return moved
    }

    /// A service compiled apart from the rest under one or more naming trees: its names under each are its own
    /// alone, all at or below the tree's `root`.
    private struct ApartService: Sendable {
        var service: Service
        var trees: [ApartTree]
        /// Whether the trees after the first share the first's answers: there are several, and every name of the
        /// service fits under every tree (a name over 255 octets under one tree only is left out of that one).
        /// The compile still declines once it finds an answer near 65,535 octets under the first tree
        /// (`Output.templatesNearTheLimit`).
        var sharesAnswers: Bool
    }

    /// One naming tree a service is compiled apart under.
    private struct ApartTree: Sendable {
        /// `svc.ZONE` or the global zone, as `settings` spell it (records are made under it).
        var base: DNSName
        /// The same, lower-cased, as nodes' names are (names are moved from one tree to another under it).
        var lowercasedBase: DNSName
        /// `SVC.NS.BASE`.
        var root: DNSName
    }

    /// A PTR name outside every zone, with its records from every service holding its address.
    private struct ReverseName: Sendable {
        var name: DNSName
        var records: [ResourceRecord]
    }

    /// A run of consecutive items (services, PTR names) compiled apart: their nodes and all they refer to,
    /// indices counted from the run's start (`Output.append(contentsOf:)` moves them on), each node's name, and
    /// each item's number of nodes under each of its trees (0 for a service with no names, a headless one with no
    /// ready endpoint).
    private struct ApartRun: Sendable {
        var output = Output()
        var names: [DNSName] = []
        var nodeCounts: [Int32] = []

        /// Compiles one item's nodes, which `lookup` holds.
        mutating func add(
            _ nodes: [RecordStore.Node], from lookup: some RecordLookup, compiler: AnswerCompiler, zoneSlots: [UInt8]
        ) {
            for node in nodes {
                var compiled = compiler.compileNode(node, records: lookup, into: &output)
                if compiled.zone >= 0 { compiled.zoneSlot = zoneSlots[Int(compiled.zone)] }
                output.nodes.append(compiled)
                names.append(node.name)
            }
            nodeCounts.append(Int32(nodes.count))
        }

        /// One service's nodes under another tree, from its nodes `first` (positions in this run) under
        /// `firstBase`: a node without SRV records answers with the same bytes under every tree (its answers'
        /// names are compressed to the question, which a template leaves out, and none of its answers is near
        /// 65,535 octets, where a longer question would cut it short), so it is the same node, its zone
        /// apart, sharing the first one's types and templates. An SRV name's answer writes its targets out in
        /// full, so it is compiled afresh from `srvRecords` (made once, if the service has one: `movedSRVRecords`).
        /// Each node is named as the first one is, under `base`.
        mutating func addSharing(
            _ first: Range<Int>, under firstBase: DNSName, as base: DNSName, zone: Int,
            srvRecords: () -> ServiceRecords, compiler: AnswerCompiler, zoneSlots: [UInt8]
        ) {
            let srv = RecordType.srv.rawValue
            var own: ServiceRecords? = nil
            for position in first {
                var node = output.nodes[position]
                guard let name = names[position].replacingAncestor(firstBase, with: base) else {
                    preconditionFailure("a service sharing answers has every name under every tree")
                }
                let types = Int(node.firstType)..<(Int(node.firstType) + Int(node.typeCount))
                if output.typeCodes[types].contains(srv) {
                    if own == nil { own = srvRecords() }
                    guard let records = own, let srvNode = records.node(name) else {
                        preconditionFailure("an SRV name under one tree is one under every tree")
                    }
                    node = compiler.compileNode(srvNode, records: records, into: &output)
                } else {
                    node.zone = Int32(zone)
                }
                node.zoneSlot = node.zone >= 0 ? zoneSlots[Int(node.zone)] : 0
                output.nodes.append(node)
                names.append(name)
            }
            nodeCounts.append(Int32(first.count))
        }
    }

    /// Compiles `items` with `compile` in runs handed to `merge` in order on the calling thread: one run made
    /// there when `threads` is 1 or the items are few, else runs made by `threads` threads taking them in turn,
    /// each handed over as soon as it and those before it are done.
    private func compileInRuns<Item: Sendable>(
        _ items: [Item], compile: @escaping @Sendable (Item, inout ApartRun) -> Void, merge: (ApartRun) -> Void
    ) {
        @Sendable func run(_ slice: ArraySlice<Item>) -> ApartRun {
            var run = ApartRun()
            run.nodeCounts.reserveCapacity(slice.count)
            for item in slice { compile(item, &run) }
            return run
        }
        guard threads > 1, items.count >= parallelMinimum else {
            merge(run(items[...]))
            return
        }
        let length = runLength
        let board = RunBoard<ApartRun>(count: (items.count + length - 1) / length)
        let group = DispatchGroup()
        for _ in 0..<min(threads, board.count) {
            DispatchQueue.global(qos: .userInitiated).async(group: group) {
                while let index = board.claim() {
                    board.finish(index, run(items[(index * length)..<min(items.count, (index + 1) * length)]))
                }
            }
        }
        for index in 0..<board.count { merge(board.take(index)) }
        group.wait()
    }

    /// One pass, nothing allocated: it runs for every record the registry-wide store takes.
    static func zoneIndex(of name: DNSName, in zones: [AuthoritativeZone]) -> Int {
        var found = RecordStore.noZone
        var longest = -1
        for (index, zone) in zones.enumerated() where zone.origin.wire.count > longest {
            if name.isSubdomain(of: zone.origin) {
                found = index
                longest = zone.origin.wire.count
            }
        }
        return found
    }

    /// The trees services are named under: `svc.ZONE` of each service zone, then the global zone.
    static func namingTrees(_ settings: PipelineSettings) -> [DNSName] {
        settings.serviceZones.compactMap { try? $0.prepending("svc") } + [settings.globalZone].compactMap { $0 }
    }

    /// The tree PTR records point into: `svc.ZONE` of the first service zone; nil without one (no PTR names).
    static func reverseTree(_ settings: PipelineSettings) -> DNSName? {
        settings.serviceZones.first.flatMap { try? $0.prepending("svc") }
    }

    /// Whether no naming tree (`svc.ZONE` of each service zone, the global zone) equals or contains another.
    /// Nor shares names with the reverse trees PTR names are made in (a global zone of `in-addr.arpa` would make
    /// service `2` of namespace `1` the empty non-terminal `2.1.in-addr.arpa` above a PTR name).
    static func namingTreesAreDisjoint(_ settings: PipelineSettings) -> Bool {
        let bases = namingTrees(settings)
        let arpa = try! DNSName("arpa")
        if bases.contains(where: { $0.isSubdomain(of: arpa) || arpa.isSubdomain(of: $0) }) { return false }
        for (index, base) in bases.enumerated() {
            for other in bases[(index + 1)...] where base.isSubdomain(of: other) || other.isSubdomain(of: base) {
                return false
            }
        }
        return true
    }

    /// Names the zones' records own or point at (CNAME, SRV, NS, MX targets), with all their ancestors: a
    /// service whose root is among them shares data with a zone (a zone file's record, or the `ns.dns.ZONE`
    /// host of a synthesized zone, whose NS answer carries its addresses) and is always compiled afresh.
    static func namesReferencedByZones(_ zones: [AuthoritativeZone]) -> Set<DNSName> {
        var names = Set<DNSName>()
        func insertWithAncestors(_ name: DNSName) {
            var current: DNSName? = name
            while let here = current, names.insert(here).inserted { current = here.parent }
        }
        for zone in zones {
            for record in [zone.soa] + zone.nameServers + zone.records {
                insertWithAncestors(record.name)
                switch record.data {
                case .cname(let target), .ns(let target), .ptr(let target): insertWithAncestors(target)
                case .srv(let srv): insertWithAncestors(srv.target)
                case .mx(_, let exchange): insertWithAncestors(exchange)
                default: continue
                }
            }
        }
        return names
    }

    /// Appends node `index` of `previous` with everything it refers to (templates, per-locality variants,
    /// choice groups, rotation plans), re-based onto `output`.
    private static func copyNode(
        _ index: Int, from previous: AnswerSnapshot, into output: inout Output
    )
        -> AnswerSnapshot.Node
    {
        let old = previous.nodes[index]
        let types = previous.types
        // A template the node uses twice (`compileNode` shares equal ones) is copied once and shared again.
        var copiedTemplates: [(old: Int32, new: Int32)] = []
        func template(_ index: Int32) -> Int32 {
            if let copied = copiedTemplates.first(where: { $0.old == index }) { return copied.new }
            let new = output.templates.copy(index, from: previous.templates)
            if index >= 0 { copiedTemplates.append((index, new)) }
            return new
        }
        var node = AnswerSnapshot.Node(
            zone: old.zone, firstType: Int32(output.typeCodes.count), typeCount: old.typeCount,
            zoneSlot: old.zoneSlot, anyTemplate: template(old.anyTemplate),
            fallbackTemplate: template(old.fallbackTemplate))
        // Each new index is computed before it is appended: `template` writes to `output` too.
        for entry in Int(old.firstType)..<(Int(old.firstType) + Int(old.typeCount)) {
            let copiedTemplate = template(types.templates[entry])
            output.typeCodes.append(types.codes[entry])
            output.typeTemplates.append(copiedTemplate)
            let variant = types.variants[entry]
            guard variant >= 0 else {
                output.typeVariants.append(-1)
                continue
            }
            output.typeVariants.append(Int32(output.variantTemplates.count))
            for locality in Int(variant)..<(Int(variant) + types.localityCount) {
                let variantTemplate = template(types.variantTemplates[locality])
                output.variantTemplates.append(variantTemplate)
                let plan = types.variantPlans[locality]
                let copiedPlan = plan < 0 ? -1 : output.rotations.copy(plan, from: previous.rotations)
                output.variantPlans.append(copiedPlan)
                let choice = types.variantChoices[locality]
                var copiedChoice: Int32 = -1
                if choice >= 0 {
                    let options = types.choices.options(choice).map { (template($0.template), $0.weight) }
                    copiedChoice = output.choices.add(options)
                }
                output.variantChoices.append(copiedChoice)
            }
        }
        node.typeCount = old.typeCount
        return node
    }

    /// The flat arrays a snapshot is made of, filled name by name.
    private struct Output: Sendable {
        var nodes: [AnswerSnapshot.Node] = []
        var typeCodes: [UInt16] = []
        var typeTemplates: [Int32] = []
        /// -1 for a type answered the same to everyone, else the first of its per-locality entries.
        var typeVariants: [Int32] = []
        var variantTemplates: [Int32] = []
        var variantPlans: [Int32] = []
        var variantChoices: [Int32] = []
        /// Sharing equal templates' bytes, in every run as in the snapshot: the first run's output becomes the
        /// snapshot's (`merge`), index included, and each later run's templates are stored through it.
        var templates = TemplateStore(sharingBytes: true)
        var choices = ChoiceTable()
        var rotations = RotationPlans()
        /// Templates that answer differently under a longer or shorter question: cut short (TC) or within a
        /// question's length of 65,535 octets (`largestTreeIndependentTemplate`).
        var templatesNearTheLimit = 0

        /// Appends everything of `other`, compiled apart on another thread, moving its indices on by what is
        /// here already; -1 (none) stays -1.
        mutating func append(contentsOf other: Output) {
            let templateBase = Int32(templates.count)
            let typeBase = Int32(typeCodes.count)
            let variantBase = Int32(variantTemplates.count)
            let planBase = Int32(rotations.plans.count)
            let choiceBase = Int32(choices.groups.count)
            func moved(_ index: Int32, by base: Int32) -> Int32 { index < 0 ? index : index + base }
            nodes += other.nodes.map {
                var node = $0
                node.firstType += typeBase
                node.anyTemplate = moved(node.anyTemplate, by: templateBase)
                node.fallbackTemplate = moved(node.fallbackTemplate, by: templateBase)
                return node
            }
            typeCodes += other.typeCodes
            typeTemplates += other.typeTemplates.map { moved($0, by: templateBase) }
            typeVariants += other.typeVariants.map { moved($0, by: variantBase) }
            variantTemplates += other.variantTemplates.map { moved($0, by: templateBase) }
            variantPlans += other.variantPlans.map { moved($0, by: planBase) }
            variantChoices += other.variantChoices.map { moved($0, by: choiceBase) }
            templates.append(contentsOf: other.templates)
            choices.append(contentsOf: other.choices, templateOffset: templateBase)
            rotations.append(contentsOf: other.rotations)
        }
    }

    /// The zone files plus a synthesized zone for each service or global zone that has no file.
    func allZones() -> [AuthoritativeZone] {
        var zones = zoneFiles
        // etcd's revision where there is one, so every instance at one revision says the same serial; a file's
        // snapshots are numbered by the instance.
        let serial = UInt32(truncatingIfNeeded: registry.revision ?? Int64(truncatingIfNeeded: registry.version))
        for origin in settings.serviceZones + [settings.globalZone].compactMap({ $0 })
        where !zones.contains(where: { $0.origin == origin }) {
            zones.append(.synthesized(origin: origin, ttl: settings.ttl, serial: serial))
        }
        return zones
    }

    private func compileNode(
        _ node: RecordStore.Node, records store: some RecordLookup, into output: inout Output
    ) -> AnswerSnapshot.Node {
        func template(_ type: RecordType, _ answers: [ResourceRecord], _ additional: [ResourceRecord]) -> [UInt8] {
            Self.template(of: node.name, type: type, answers: answers, additional: additional)
        }
        // A template equal to one this node already has is that one: a name with one RRset and nothing in the
        // additional section answers ANY with the same bytes as its type, and localities often share an order.
        // Half of a big registry's template bytes were such copies.
        let nodeTemplates = output.templates.count
        func index(of bytes: [UInt8]) -> Int32 {
            if bytes.count > Self.largestTreeIndependentTemplate || bytes[2] & 0x02 != 0 {
                output.templatesNearTheLimit += 1
            }
            let recent = max(nodeTemplates, output.templates.count - Self.sharedTemplateScan)
            for candidate in Int32(recent)..<Int32(output.templates.count)
            where output.templates.template(candidate, equals: bytes) {
                return candidate
            }
            return output.templates.append(template: bytes)
        }
        func emit(_ type: RecordType, _ answers: [ResourceRecord], _ additional: [ResourceRecord]) -> Int32 {
            index(of: template(type, answers, additional))
        }
        var types: [UInt16] = []
        func add(_ type: RecordType, _ template: Int32, variant: Int32 = -1) {
            types.append(type.rawValue)
            output.typeCodes.append(type.rawValue)
            output.typeTemplates.append(template)
            output.typeVariants.append(variant)
        }
        /// One template (and rotation plan) per locality; collapsed to a plain template when every locality
        /// gets the same bytes and nothing rotates.
        func addOrdered(_ rrset: OrderedRRset) {
            let isAddress = rrset.type == .a || rrset.type == .aaaa
            func serialize(_ records: [ResourceRecord]) -> [UInt8] {
                template(rrset.type, records, additionalRecords(for: records, store: store))
            }
            func limited(_ records: [ResourceRecord]) -> [ResourceRecord] {
                isAddress && settings.maxAnswers > 0 ? Array(records.prefix(settings.maxAnswers)) : records
            }
            // Per locality: one fixed answer, a few precompiled orderings to choose from, or a rotation plan.
            var compiled: [(bytes: [UInt8], choices: [(template: [UInt8], weight: UInt64)], plan: Int32)] = []
            for answer in rrset.perLocality {
                guard isAddress && answer.rotates else {
                    compiled.append((serialize(limited(answer.records)), [], -1))
                    continue
                }
                if let orderings = answer.orderings(limit: ChoiceTable.maxOrderings) {
                    // maxAnswers applies after ordering, so each ordering is cut on its own.
                    compiled.append(([], orderings.map { (serialize(limited($0.records)), $0.weight) }, -1))
                    continue
                }
                let bytes = serialize(answer.records)
                let answerStart = TemplateStore.headerLength
                var plan: Int32 = -1
                if (bytes.count - answerStart) % answer.records.count == 0 {
                    plan = output.rotations.add(
                        answer, recordSize: (bytes.count - answerStart) / answer.records.count,
                        maxAnswers: settings.maxAnswers)
                }
                compiled.append((bytes, [], plan))
            }
            if compiled.allSatisfy({ $0.plan < 0 && $0.choices.isEmpty && $0.bytes == compiled[0].bytes }) {
                add(rrset.type, index(of: compiled[0].bytes))
                return
            }
            let variant = Int32(output.variantTemplates.count)
            for entry in compiled {
                if entry.choices.isEmpty {
                    output.variantTemplates.append(index(of: entry.bytes))
                    output.variantChoices.append(-1)
                } else {
                    output.variantTemplates.append(-1)
                    output.variantChoices.append(
                        output.choices.add(
                            entry.choices.map { (index(of: $0.template), $0.weight) }))
                }
                output.variantPlans.append(entry.plan)
            }
            add(rrset.type, -1, variant: variant)
        }
        var compiled = AnswerSnapshot.Node(
            zone: Int32(node.zone), firstType: Int32(output.typeCodes.count), typeCount: 0, anyTemplate: -1,
            fallbackTemplate: -1)
        // A name with one plain RRset and nothing in the additional section answers ANY with its template: a
        // template holds no question, so the bytes are the same (and `index(of:)` would find them). Most names of
        // a registry are such (cluster and host names, PTR names), and serializing the copy only to find it was a
        // third of compiling names (BENCHMARKS.md).
        var sameForAny: Int32? = nil
        for type in node.types {
            if let orderedRRset = store.ordered(node.name, type) {
                addOrdered(orderedRRset)
                continue
            }
            let rrset = node.rrsets[type] ?? []
            let additional = additionalRecords(for: rrset, store: store)
            let template = emit(type, rrset, additional)
            add(type, template)
            if node.types.count == 1 && additional.isEmpty { sameForAny = template }
        }
        if node.rrsets[.cname] != nil {
            // Chase the chain inside our own data for every type its end holds; other types get the chain alone.
            let (chain, end) = cnameChain(from: node.name, store: store)
            if let endNode = store.node(end) {
                for type in endNode.types where type != .cname && !types.contains(type.rawValue) {
                    let rrset = store.rrset(end, type)
                    add(type, emit(type, chain + rrset, additionalRecords(for: rrset, store: store)))
                }
            }
            compiled.fallbackTemplate = emit(.cname, chain, [])
        }
        compiled.typeCount = UInt16(types.count)
        // A name without data (an empty non-terminal) answers ANY as any other type: NODATA with the SOA.
        if let sameForAny, node.rrsets[.cname] == nil {
            compiled.anyTemplate = sameForAny
        } else if !node.types.isEmpty {
            compiled.anyTemplate = emit(.any, node.types.flatMap { node.rrsets[$0] ?? [] }, [])
        }
        return compiled
    }

    /// The template of an answer to `name` (the response without its question): written directly when its
    /// compression is known without a table, else serialized as a `Message` and its question cut off.
    static func template(
        of name: DNSName, type: RecordType, answers: [ResourceRecord], additional: [ResourceRecord]
    ) -> [UInt8] {
        if let template = Message.simpleAnswersWithoutQuestion(answers, additional: additional, question: name) {
            return template
        }
        return TemplateStore.template(
            ofResponse: Message(
                header: Header(isResponse: true, authoritative: true),
                questions: [Question(name: name, type: type)], answers: answers, additional: additional
            ).serialized())
    }

    private func cnameChain(from name: DNSName, store: some RecordLookup) -> ([ResourceRecord], DNSName) {
        var chain: [ResourceRecord] = []
        var current = name
        for _ in 0..<Self.maxChain {
            guard let record = store.rrset(current, .cname).first, case .cname(let target) = record.data else { break }
            chain.append(record)
            current = target
        }
        return (chain, current)
    }

    /// Addresses of the names an RRset points at (SRV targets, NS hosts, MX exchanges), when we hold them.
    private func additionalRecords(for rrset: [ResourceRecord], store: some RecordLookup) -> [ResourceRecord] {
        var targets: [DNSName] = []
        for record in rrset {
            switch record.data {
            case .srv(let srv): targets.append(srv.target)
            case .ns(let host): targets.append(host)
            case .mx(_, let exchange): targets.append(exchange)
            default: continue
            }
        }
        var seen = Set<DNSName>()
        return targets.filter { seen.insert($0).inserted }
            .flatMap { store.rrset($0, .a) + store.rrset($0, .aaaa) }
    }

    /// The zone's SOA as an authority record, owner left out: type, class, negative TTL, RDLENGTH, RDATA.
    static func negativeSOA(_ zone: AuthoritativeZone) -> [UInt8] {
        var record = zone.soa
        record.name = .root
        record.ttl = zone.negativeTTL
        let bytes = Message(answers: [record]).serialized(compress: false)
        // 12 octets of header, then the root owner's single zero octet.
        return Array(bytes[13...])
    }
}
