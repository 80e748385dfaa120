import DNSWire
import ServiceRegistry

extension AnswerSnapshot {
    /// A registry change answered at the cost of the services it touches, not of the registry: a small snapshot
    /// compiled from the changed services alone, lying over `base` (the full snapshot built from `baseRegistry`).
    /// The overlay answers the names it holds (the changed services' names, the reverse names of their old and
    /// new addresses, the zones' apex with the new SOA serial), says which of the base's names are gone, and
    /// leaves every other name to the base. Its answers equal a build of `registry` from scratch
    /// (`IncrementalBuildTests`); a full build later replaces it (`AnswerPublisher`).
    ///
    /// Nil when an overlay cannot be exact, and the caller builds in full: naming trees that overlap, a changed
    /// service whose names a zone file refers to, or (when the registries are compared, without `changed`)
    /// registries not sorted by (namespace, name) as both sources deliver them. `base` may itself be an overlay:
    /// the new one lies over that overlay's base, and `baseRegistry` must be the registry that base was built from. Nil too when more than `maxServices` services changed: a
    /// full build reusing the base then costs about as much.
    ///
    /// `changed`, when the caller knows it (`RegistryDelta`s since `baseRegistry`), lists every service that may
    /// differ between the two registries: the overlay then costs the changed services alone, with no pass over
    /// the registry. Without it, one merge walk over both registries finds them.
    public static func overlay(
        registry: RegistrySnapshot, baseRegistry: RegistrySnapshot, over base: AnswerSnapshot,
        zones: [AuthoritativeZone], settings: PipelineSettings, maxServices: Int = .max, changed: [ServiceID]? = nil
    ) -> AnswerSnapshot? {
        let base = base.base ?? base
        guard AnswerCompiler.namingTreesAreDisjoint(settings) else { return nil }
        let found =
            if let changed {
                ServiceChanges(old: baseRegistry, new: registry, listed: changed)
            } else {
                ServiceChanges(old: baseRegistry.services, new: registry.services)
            }
        guard let changes = found, changes.keys.count <= maxServices else { return nil }
        let compiler = AnswerCompiler(registry: registry, zoneFiles: zones, settings: settings)
        let unsafeRoots = AnswerCompiler.namesReferencedByZones(compiler.allZones())
        let bases = AnswerCompiler.namingTrees(settings)
        for key in changes.keys {
            for tree in bases {
                guard let root = try? tree.prepending(key.namespace).prepending(key.name) else { continue }
                if unsafeRoots.contains(root) { return nil }
            }
        }

        // Reverse names: every address a changed service held or holds, and every service holding one of them,
        // so each such name is compiled with all its targets. Other reverse names of those services stay the
        // base's (another service may share them).
        let reverseBase = AnswerCompiler.reverseTree(settings)
        var affected = Set<IPAddress>()
        for service in changes.old + changes.new {
            // Never true: the walk visits every address.
            _ = Self.anyAddress(of: service) {
                affected.insert($0)
                return false
            }
        }
        let changedKeys = Set(changes.keys)
        var compiled = changes.new
        // Services a zone refers to (an NS host, a CNAME target) are compiled too, changed or not: the zone's
        // answers, which the overlay compiles afresh for the new serial, carry their addresses.
        for root in unsafeRoots where root.labelCount >= 2 {
            for tree in bases where root.labelCount == tree.labelCount + 2 && root.isSubdomain(of: tree) {
                let labels = root.labels
                let key = ServiceID(
                    namespace: String(decoding: labels[1], as: UTF8.self).lowercased(),
                    name: String(decoding: labels[0], as: UTF8.self).lowercased())
                if !changedKeys.contains(key), let service = registry.service(key) {
                    compiled.append(service)
                }
            }
        }
        if let reverseBase, !affected.isEmpty {
            if let holders = Self.holders(of: affected, in: base, under: reverseBase) {
                // Unchanged services are in the new registry as in the base: the base's PTR records name them.
                for id in holders where !changedKeys.contains(id) {
                    if let service = registry.service(id) { compiled.append(service) }
                }
            } else {
                // A pass over the whole registry. Hashing every address would be most of its cost: an address is
                // looked up only when its last octet is one of the affected ones'.
                var lastOctets = LengthSet()
                for address in affected { lastOctets.insert(Int(address.lastOctet)) }
                for service in registry.services where Self.holdsAny(of: affected, lastOctets: lastOctets, service) {
                    if !changedKeys.contains(ServiceID(service)) { compiled.append(service) }
                }
            }
        }
        var reverseNames = Set<DNSName>()
        var leaveOut = Set<DNSName>()
        if let reverseBase {
            let reverse = ReverseRecords(settings: settings)
            reverseNames = Set(affected.map(ReverseRecords.reverseName))
            for service in compiled {
                for record in reverse.records(for: service, base: reverseBase) where !reverseNames.contains(record.name)
                {
                    leaveOut.insert(record.name)
                }
            }
        }
        compiled.sort { ($0.namespace, $0.name) < ($1.namespace, $1.name) }
        compiled = compiled.enumerated().filter {
            $0.offset == 0 || ServiceID(compiled[$0.offset - 1]) != ServiceID($0.element)
        }
        .map(\.element)
        var overlayCompiler = AnswerCompiler(
            registry: registry.with(services: compiled), zoneFiles: zones, settings: settings)
        overlayCompiler.leaveOut = leaveOut
        let top = overlayCompiler.compile()

        // What the base holds that no longer exists: the old names of changed services that the overlay lacks,
        // reverse names nobody holds now, and a namespace's empty non-terminal once its last service is gone.
        var gone: [ArraySlice<UInt8>] = []
        func goneIfAbsent(_ key: ArraySlice<UInt8>) {
            if top.table.lookup(key) == nil { gone.append(key) }
        }
        for service in changes.old {
            for tree in bases {
                let fragment = base.fragments.entry(ofTree: tree, ServiceID(service))
                for node in fragment?.nodes ?? 0..<0 {
                    if let key = base.name(ofNode: Int(node)) { goneIfAbsent(key) }
                }
            }
        }
        for name in reverseNames {
            let key = ArraySlice(name.lowercased().wire)
            if base.table.lookup(key) != nil { goneIfAbsent(key) }
        }
        let oldNamespaces = Set(changes.old.map(\.namespace)).subtracting(changes.new.map(\.namespace))
        for namespace in oldNamespaces where !registry.hasServices(inNamespace: namespace) {
            for tree in bases {
                guard let name = try? tree.prepending(namespace) else { continue }
                let key = ArraySlice(name.lowercased().wire)
                if base.table.lookup(key) != nil { goneIfAbsent(key) }
            }
        }
        var removed = NameTable(capacity: gone.count)
        for key in gone { removed.insert(Array(key), value: 0) }
        // Names: the base's, less those gone, plus the overlay's that are new.
        var added = 0
        for value in 0..<top.nodes.count {
            if let key = top.name(ofNode: value), base.table.lookup(key) == nil { added += 1 }
        }

        // Per-service facts: the base's for services left alone, the overlay's for the changed ones.
        let changedNames = Set(changes.keys.map { "\($0.namespace)/\($0.name)" })
        let failingOpen =
            base.failingOpen.subtracting(changedNames).union(top.failingOpen.intersection(changedNames))
        let namesTooLong =
            base.namesTooLong.filter { !changedNames.contains(Self.serviceOf($0)) }
            + top.namesTooLong.filter { changedNames.contains(Self.serviceOf($0)) }
        return AnswerSnapshot(
            table: top.table, nodes: top.nodes, types: top.types, templates: top.templates, rotations: top.rotations,
            localities: top.localities, zones: top.zones, zoneSlots: top.zoneSlots, failingOpen: Array(failingOpen),
            registryVersion: registry.version, settings: settings, namesTooLong: namesTooLong,
            overlay: (base, removed, base.nameCount - gone.count + added, compiled.count))
    }

    /// The services whose records make up the base's PTR names of `addresses`, read from those records' targets
    /// (every target is under its service's `NAME.NS.svc.ZONE`, `reverseBase` being `svc.ZONE`): no pass over
    /// the registry. Nil when a PTR name the base answers is not one of the registry's PTR names (one inside a zone of
    /// ours, compiled with the zone's data).
    private static func holders(
        of addresses: Set<IPAddress>, in base: AnswerSnapshot, under reverseBase: DNSName
    ) -> Set<ServiceID>? {
        let depth = reverseBase.labelCount
        var holders = Set<ServiceID>()
        for address in addresses {
            let name = ReverseRecords.reverseName(address)
            // No PTR name: no service of the base held the address where a PTR record comes from.
            guard let node = base.table.lookup(ArraySlice(name.wire)) else { continue }
            guard let targets = base.registryPTRTargets(ofNode: Int32(node)) else { return nil }
            for target in targets {
                guard target.isSubdomain(of: reverseBase) else { return nil }
                let labels = target.labels
                guard labels.count >= depth + 2 else { return nil }
                let top = labels.count - depth
                holders.insert(
                    ServiceID(
                        namespace: String(decoding: labels[top - 1], as: UTF8.self),
                        name: String(decoding: labels[top - 2], as: UTF8.self)))
            }
        }
        return holders
    }

    /// Whether `service` holds one of `addresses` (whose last octets are `lastOctets`).
    private static func holdsAny(of addresses: Set<IPAddress>, lastOctets: LengthSet, _ service: Service) -> Bool {
        anyAddress(of: service) { lastOctets.contains(Int($0.lastOctet)) && addresses.contains($0) }
    }

    /// Whether `test` holds for an address a service's reverse names can come from (its vip, its exports' and
    /// their endpoints'), trying them in turn and stopping at the first: the one walk both the collection of
    /// affected addresses and the search for services holding one use.
    @inline(__always)
    private static func anyAddress(of service: Service, _ test: (IPAddress) -> Bool) -> Bool {
        if let vip = service.vip, test(vip) { return true }
        for export in service.clusters {
            for address in export.addresses where test(address) { return true }
            for endpoint in export.endpoints {
                for address in endpoint.addresses where test(address) { return true }
            }
        }
        return false
    }

    /// "NS/NAME" of a `namesTooLong` entry ("NS/NAME: TEXT (N octets)").
    private static func serviceOf(_ entry: String) -> String {
        String(entry.prefix { $0 != ":" })
    }
}

/// The services that differ between two registries, each sorted by (namespace, name): found by one merge walk,
/// in which unchanged services compare cheaply (copies of one `Service` share its box and compare by identity).
struct ServiceChanges {
    /// The old versions of services changed or removed.
    var old: [Service] = []
    /// The new versions of services changed or added.
    var new: [Service] = []
    /// Every changed, added or removed service.
    var keys: [ServiceID] = []

    /// The services of `listed` that differ between the two registries, each found by binary search: every
    /// service that may have changed must be listed.
    init(old: RegistrySnapshot, new: RegistrySnapshot, listed: [ServiceID]) {
        for id in Set(listed).sorted() {
            let before = old.service(id)
            let after = new.service(id)
            guard before != after else { continue }
            if let before { self.old.append(before) }
            if let after { self.new.append(after) }
            keys.append(id)
        }
    }

    /// Nil when either list is not sorted by (namespace, name) without repeats. A copy of a `Service` is one
    /// reference to its box, and an unchanged one from the etcd source is the old registry's own, so comparing
    /// it stops at the box's identity.
    init?(old: [Service], new: [Service]) {
        var left = 0
        var right = 0
        while left < old.count || right < new.count {
            let step =
                right == new.count ? -1 : left == old.count ? 1 : Self.order(old[left], new[right])
            if step <= 0 && left + 1 < old.count && Self.order(old[left], old[left + 1]) >= 0 { return nil }
            if step >= 0 && right + 1 < new.count && Self.order(new[right], new[right + 1]) >= 0 { return nil }
            if step < 0 {
                self.old.append(old[left])
                keys.append(ServiceID(old[left]))
                left += 1
            } else if step > 0 {
                self.new.append(new[right])
                keys.append(ServiceID(new[right]))
                right += 1
            } else {
                if old[left] != new[right] {
                    self.old.append(old[left])
                    self.new.append(new[right])
                    keys.append(ServiceID(new[right]))
                }
                left += 1
                right += 1
            }
        }
    }

    /// -1, 0 or 1 as `a` sorts before, with or after `b` by (namespace, name).
    private static func order(_ a: Service, _ b: Service) -> Int {
        if a.namespace != b.namespace { return a.namespace < b.namespace ? -1 : 1 }
        if a.name != b.name { return a.name < b.name ? -1 : 1 }
        return 0
    }
}
