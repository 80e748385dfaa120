import Foundation
import ServiceRegistry

/// What the etcd source knows, as a plain value: every valid export etcd holds, the services they merge into,
/// and the revision of the last change (DESIGN.md section 2).
///
/// What it serves is a function of etcd's contents at one revision, never of the order the changes arrived in, so
/// an instance that listed and one that watched the same history serve the same:
/// - a value that fails validation counts as absent (the key's earlier value is not kept), and is reported with
///   its key, line and field by every instance alike;
/// - when the exports of one service disagree (type, vip, a port's number), they are taken oldest first, by the
///   revision their key was created at (then by key), and each one that does not fit those before it is
///   rejected; an export rejected so is taken again as soon as what it disagreed with is gone.
///
/// A listing replaces everything; a watch event recomputes only the service its key names.
struct EtcdRegistryState {
    /// A value etcd holds that was not taken, with the reason as file (the etcd key), line, field.
    struct Rejection: Error, CustomStringConvertible {
        var key: String
        var error: RegistryError
        var description: String { error.description }
    }

    /// One valid export etcd holds, kept for the next merge of its service.
    ///
    /// Kept in parts that the service's other exports and its merged value can share: 300,000 exports each
    /// kept whole (its key, a `Service` with arrays of its own, a dictionary slot) held 113 MB more than these
    /// parts do, 380 octets an export (malloc's count once listening, BENCHMARKS.md).
    struct Held {
        /// The service's own fields as this export gives them, with no cluster: the same value as each other
        /// export of the service that agrees, and so one copy among them (`resolve`).
        var head: Service
        /// This cluster's part, the merged service's own entry once the export is taken.
        var cluster: ClusterExport
        /// The revision its key was created at: the older export decides a disagreement.
        var createRevision: Int64
        var modRevision: Int64

        init(service: Service, createRevision: Int64, modRevision: Int64) {
            var head = service
            cluster = head.clusters[0]
            head.clusters = []
            self.head = head
            self.createRevision = createRevision
            self.modRevision = modRevision
        }

        /// The export as decoded, for merging.
        var service: Service {
            var service = head
            service.clusters = [cluster]
            return service
        }

        var clusterName: String { cluster.cluster }
    }

    /// The largest value read: an export is a few hundred octets, a Headless one with a thousand endpoints ~50 KiB;
    /// every instance decodes every value, so one writer's oversized value must not cost all of them.
    static let maxValueBytes = 256 * 1024

    let layout: RegistryKeyLayout
    /// The valid exports, by service; a cluster once in each service's list (a handful: an array, not a
    /// dictionary, which cost 100 octets an export).
    private var held: [ServiceID: [Held]] = [:]
    /// The exports left out for disagreeing with older ones, by service then cluster, with the mod revision of the
    /// value left out: each is reported once, not again every time its service changes.
    private var conflicting: [ServiceID: [String: Int64]] = [:]
    /// Each service's taken exports merged.
    private(set) var merged: [ServiceID: Service] = [:]
    /// `merged`'s values sorted by (namespace, name), as a snapshot holds them.
    private(set) var services: [Service] = []
    /// The revision of the last change to a registry key (an export key, well-formed or not: `RegistryKeyLayout.Kind`) that this state
    /// reflects: the same on every instance that has seen the same history, whether it listed or watched it,
    /// once a listing has caught up (`listedAt`). It is the zones' SOA serial.
    private(set) var revision: Int64 = 0
    /// The store revision of the last listing. A listing cannot see deletes, so it starts at its newest key's mod
    /// revision and watches from there: events up to `listedAt` are in the listing already and only move
    /// `revision` on to the last change, deletes included.
    private(set) var listedAt: Int64 = 0

    /// Each publisher claim's key and mod revision. Publishers rewrite their claim at every lease renewal, so the
    /// claims are a heartbeat: the newest one's revision is what a live watch must have delivered.
    private(set) var claims: [String: Int64] = [:]
    /// Each cluster's beacons, from its claim's value (`ClaimValue`); clusters without any are absent.
    private(set) var beacons: [String: [ProbeTarget]] = [:]
    /// Where a watch following this state starts: after the newest event seen (a claim's too), or after the
    /// listing's newest key.
    private(set) var watchFrom: Int64 = 1

    init(layout: RegistryKeyLayout) {
        self.layout = layout
    }

    /// Whether a watch from `watchFrom` that found history compacted up to `compactRevision` can go on from
    /// there without listing again: only while a listing catches up, and only if the compaction left every
    /// change after the listing. Then the state misses nothing it serves, only the revision of deletes that
    /// happened before the compaction: its `revision` may stay below a long-running instance's.
    mutating func skipCompacted(to compactRevision: Int64) -> Bool {
        guard revision < listedAt, compactRevision <= listedAt + 1, compactRevision > watchFrom else { return false }
        watchFrom = compactRevision
        return true
    }

    /// One listed key, read: what `reset` takes from it.
    enum Listed: Sendable {
        case claim(key: String, cluster: String, modRevision: Int64, value: String)
        case export(Result<(ExportKey, Held), Rejection>, modRevision: Int64)
        case other
    }

    /// Replaces everything with a listing read at store revision `listedAt`; returns the values rejected.
    mutating func reset(to keyValues: [KeyValue], revision listedAt: Int64) -> [Rejection] {
        reset(listed: Self.read(keyValues[...], layout: layout), revision: listedAt)
    }

    /// Replaces everything with a listing already read (`read`, page by page as it arrived), in the listing's
    /// order; returns the values rejected.
    mutating func reset(listed: some Sequence<Listed>, revision listedAt: Int64) -> [Rejection] {
        held = [:]
        conflicting = [:]
        merged = [:]
        claims = [:]
        beacons = [:]
        var rejections: [Rejection] = []
        var newest: Int64 = 0
        for listed in listed {
            switch listed {
            case .claim(let key, let cluster, let modRevision, let value):
                claims[key] = modRevision
                setBeacons(of: cluster, from: value)
            case .other:
                continue
            case .export(let result, let modRevision):
                newest = max(newest, modRevision)
                switch result {
                case .success(let (exportKey, held)):
                    // A listing holds each key once: nothing to replace.
                    self.held[exportKey.service, default: []].append(held)
                case .failure(let rejection):
                    rejections.append(rejection)
                }
            }
        }
        // Over a copy of the keys: iterating the dictionary itself would keep its storage shared while `resolve`
        // changes it, so the first change would copy all of it, and the copy would keep every decoded part alive
        // that `share` lets go of.
        for id in Array(held.keys) { rejections += resolve(id) }
        services = merged.values.sorted { ServiceID($0) < ServiceID($1) }
        // A relist (after a compaction) must not take the serial back below a change already served: that
        // change was real, at or below this listing.
        revision = max(newest, revision)
        self.listedAt = listedAt
        watchFrom = newest + 1
        return rejections
    }

    /// Each key of part of a listing read: its text and kind (once: a listing of 300,000 keys spends seconds
    /// on them otherwise) and an export's value decoded. A pure function of the keys, so pages of a listing can
    /// be read on other threads while etcd makes the next (`EtcdRegistrySource`).
    static func read(_ keyValues: ArraySlice<KeyValue>, layout: RegistryKeyLayout) -> [Listed] {
        keyValues.map { keyValue in
            let key = keyValue.keyText
            let kind = layout.classify(key)
            switch kind {
            case .claim(let cluster):
                return .claim(key: key, cluster: cluster, modRevision: keyValue.modRevision, value: keyValue.valueText)
            case .other:
                return .other
            case .export, .malformedExport:
                return .export(
                    decode(keyValue, key: key, kind: kind, layout: layout), modRevision: keyValue.modRevision)
            }
        }
    }

    /// What applying watch events did.
    struct Applied {
        /// Whether any service or the revision changed (the revision is the zones' SOA serial, so a change that
        /// leaves every service as it was still makes a new snapshot).
        var changed: Bool
        var rejections: [Rejection]
        /// The services the events touched: each one that changed, maybe some that did not.
        var touched: Set<ServiceID>
    }

    /// Applies watch events in order.
    mutating func apply(_ events: [WatchEvent]) -> Applied {
        let revisionBefore = revision
        let beaconsBefore = beacons
        var rejections: [Rejection] = []
        var touched: Set<ServiceID> = []
        for event in events {
            watchFrom = max(watchFrom, event.kv.modRevision + 1)
            let key = event.kv.keyText
            let kind = layout.classify(key)
            switch kind {
            case .claim(let cluster):
                claims[key] = event.isDelete ? nil : event.kv.modRevision
                setBeacons(of: cluster, from: event.isDelete ? nil : event.kv.valueText)
                continue
            case .other:
                continue
            case .export, .malformedExport:
                break
            }
            revision = max(revision, event.kv.modRevision)
            guard event.kv.modRevision > listedAt else { continue }
            let exportKey: ExportKey? = if case .export(let exportKey) = kind { exportKey } else { nil }
            if event.isDelete {
                guard let exportKey else { continue }
                hold(nil, as: exportKey)
                touched.insert(exportKey.service)
                continue
            }
            switch Self.decode(event.kv, key: key, kind: kind, layout: layout) {
            case .success(let (exportKey, held)):
                hold(held, as: exportKey)
                touched.insert(exportKey.service)
            case .failure(let rejection):
                rejections.append(rejection)
                if let exportKey {
                    hold(nil, as: exportKey)
                    touched.insert(exportKey.service)
                }
            }
        }
        for id in touched { rejections += resolve(id) }
        let changed = resort(touched)
        // A claim rewritten by its heartbeat with the same beacons changes nothing.
        return Applied(
            changed: changed || revision != revisionBefore || beacons != beaconsBefore, rejections: rejections,
            touched: touched)
    }

    /// Keeps `held` as the export of `key`, replacing the one before, or forgets that export (nil).
    private mutating func hold(_ held: Held?, as key: ExportKey) {
        var exports = self.held.removeValue(forKey: key.service) ?? []
        exports.removeAll { $0.clusterName == key.cluster }
        if let held { exports.append(held) }
        if !exports.isEmpty { self.held[key.service] = exports }
    }

    /// Takes a cluster's beacons from its claim's value (nil: the claim is gone).
    private mutating func setBeacons(of cluster: String, from value: String?) {
        let parsed = value.map { ClaimValue(parsing: $0).beacons } ?? []
        beacons[cluster] = parsed.isEmpty ? nil : parsed
    }

    /// Merges the service's exports oldest first, leaving out each one that disagrees with those before it;
    /// returns the rejections not reported before.
    private mutating func resolve(_ id: ServiceID) -> [Rejection] {
        guard let exports = held[id], !exports.isEmpty else {
            held[id] = nil
            merged[id] = nil
            conflicting[id] = nil
            return []
        }
        // By creation, then by key: keys of one service differ only in the cluster, which ends at a "/", and
        // so compare as the cluster's name with that "/" ("eu-west/" before "eu/").
        let ordered = exports.sorted {
            $0.createRevision != $1.createRevision
                ? $0.createRevision < $1.createRevision : $0.clusterName + "/" < $1.clusterName + "/"
        }
        // Usually the exports agree and one merge does; its error would not be read, so no origins are made.
        if let service = try? RegistryDecoder.merge(ordered.map { (origin: "", service: $0.service) }).first {
            keep(service, as: id)
            conflicting[id] = nil
            return []
        }
        func key(_ held: Held) -> String {
            layout.key(namespace: id.namespace, name: id.name, cluster: held.clusterName)
        }
        let entries = ordered.map { held in (origin: "etcd:" + key(held), service: held.service) }
        var taken: [(origin: String, service: Service)] = []
        var service: Service? = nil
        var left: [String: Int64] = [:]
        var rejections: [Rejection] = []
        for (held, entry) in zip(ordered, entries) {
            do {
                service = try RegistryDecoder.merge(taken + [entry]).first
                taken.append(entry)
            } catch {
                left[held.clusterName] = held.modRevision
                if conflicting[id]?[held.clusterName] != held.modRevision {
                    rejections.append(Rejection(key: key(held), error: error))
                }
            }
        }
        merged[id] = nil
        if let service { keep(service, as: id) }
        conflicting[id] = left
        return rejections
    }

    /// Keeps `service` as `id`'s merged value, copied whole (`Service.compacted`), and its held exports sharing
    /// its parts (`share`). The copy lets the decoded exports go whole: kept as they are, the merged parts would
    /// be the decoder's, among a listing's freed pages. Measured by hand (one zone, three starts each), VmRSS once
    /// listening was 466-488 MB without the copy and 447-472 MB with it: within the spread, so kept as the file
    /// decoder keeps it rather than for a figure (BENCHMARKS.md).
    private mutating func keep(_ service: Service, as id: ServiceID) {
        let service = service.compacted()
        merged[id] = service
        share(id, with: service)
    }

    /// Makes the service's held exports share storage with its merged value and with each other, where they
    /// are equal: a cluster's part becomes the merged service's entry for that cluster, and exports that agree
    /// on the service's own fields keep one head.
    private mutating func share(_ id: ServiceID, with service: Service) {
        guard var exports = held.removeValue(forKey: id) else { return }
        for index in exports.indices {
            let name = exports[index].clusterName
            if let entry = service.clusters.first(where: { $0.cluster == name }), entry == exports[index].cluster {
                exports[index].cluster = entry
            }
            if let first = exports.first, index > 0, first.head == exports[index].head {
                exports[index].head = first.head
            }
        }
        held[id] = exports
    }

    /// Brings `services` in line with `merged` for the touched services: a binary search each when few changed,
    /// a sort when many did. Returns whether anything differs.
    private mutating func resort(_ touched: Set<ServiceID>) -> Bool {
        guard !touched.isEmpty else { return false }
        if touched.count > 64 {
            let sorted = merged.values.sorted { ServiceID($0) < ServiceID($1) }
            defer { services = sorted }
            return sorted != services
        }
        var changed = false
        for id in touched {
            let index = insertionIndex(of: id)
            let present = index < services.count && ServiceID(services[index]) == id
            switch (present, merged[id]) {
            case (true, .some(let service)):
                if services[index] != service {
                    services[index] = service
                    changed = true
                }
            case (true, .none):
                services.remove(at: index)
                changed = true
            case (false, .some(let service)):
                services.insert(service, at: index)
                changed = true
            case (false, .none):
                break
            }
        }
        return changed
    }

    private func insertionIndex(of id: ServiceID) -> Int {
        var low = 0
        var high = services.count
        while low < high {
            let middle = (low + high) / 2
            if ServiceID(services[middle]) < id { low = middle + 1 } else { high = middle }
        }
        return low
    }

    /// Decodes one key's value and checks it against the key (`ExportKey.mismatch`); `key` and `kind` are the
    /// key's text and `layout.classify` of it.
    private static func decode(
        _ keyValue: KeyValue, key: String, kind: RegistryKeyLayout.Kind, layout: RegistryKeyLayout
    ) -> Result<
        (ExportKey, Held), Rejection
    > {
        // Made for errors only: a listing of valid exports makes none.
        var origin: String { "etcd:" + key }
        func rejection(_ error: RegistryError) -> Result<(ExportKey, Held), Rejection> {
            .failure(Rejection(key: key, error: error))
        }
        guard case .export(let exportKey) = kind else {
            return rejection(
                RegistryError(
                    file: origin,
                    message: "not an export key: expected \(layout.clustersPrefix)CLUSTER/services/NAMESPACE/NAME"))
        }
        if let value = keyValue.value, value.count > Self.maxValueBytes {
            return rejection(
                RegistryError(
                    file: origin,
                    message:
                        "the value is larger than \(Self.maxValueBytes >> 10) KiB (\(value.count) octets): not read"))
        }
        let service: Service
        do {
            service = try RegistryDecoder.decodeExport(keyValue.valueText, file: origin)
        } catch {
            return rejection(error)
        }
        if let (field, inValue, inKey) = exportKey.mismatch(with: service) {
            return rejection(
                RegistryError(file: origin, field: field, message: "'\(inValue)' does not match the key's '\(inKey)'"))
        }
        return .success(
            (
                exportKey,
                Held(service: service, createRevision: keyValue.createRevision, modRevision: keyValue.modRevision)
            ))
    }
}
