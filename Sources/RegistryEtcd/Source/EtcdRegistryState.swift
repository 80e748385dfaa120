import Foundation
import ServiceRegistry

/// What the etcd source knows, as a plain value: the last good export of every key, the merged services, and
/// the revision they are current at. Listing replaces it; each watch event touches only the service its key names.
///
/// "Last good" is per key: a value that fails validation, or that cannot merge with the service's other exports
/// (a type or vip disagreement), is rejected and the key keeps its previous value, so one cluster's bad write
/// never takes a service, let alone the registry, out of the answers. That holds across a relist too: a key whose
/// listed value is rejected keeps the value it had. A value rejected only for disagreeing with the others is
/// kept aside and taken as soon as the service changes so that it fits (the export it disagreed with deleted),
/// so an instance that watched the change and one that starts afterwards answer alike.
struct EtcdRegistryState {
    /// A value etcd holds that was not taken, with the reason as file (the etcd key), line, field.
    struct Rejection: Error, CustomStringConvertible {
        var key: String
        var error: RegistryError
        var description: String { error.description }
    }

    /// The largest value read: an export is a few hundred octets, a Headless one with a thousand endpoints ~50 KiB;
    /// every instance decodes every value, so one writer's oversized value must not cost all of them.
    static let maxValueBytes = 256 * 1024

    let layout: RegistryKeyLayout
    /// The accepted export of each key, by service then cluster.
    private(set) var exports: [ServiceID: [String: Service]] = [:]
    /// Valid exports that disagreed with the rest of their service, by service then cluster, retried whenever
    /// that service changes.
    private(set) var pending: [ServiceID: [String: Service]] = [:]
    /// Each service's exports merged.
    private(set) var merged: [ServiceID: Service] = [:]
    /// `merged`'s values sorted by (namespace, name), as a snapshot holds them.
    private(set) var services: [Service] = []
    /// The etcd revision everything above is current at: the listing's, then the last event's.
    private(set) var revision: Int64 = 0

    init(layout: RegistryKeyLayout) {
        self.layout = layout
    }

    /// Replaces everything with a listing. Keys are taken oldest first, so when two exports of a service
    /// disagree, the later write is the one rejected, as it would have been had it arrived by watch. A key whose
    /// listed value is rejected keeps the export it had before the listing, if it had one.
    mutating func reset(to keyValues: [KeyValue], revision: Int64) -> [Rejection] {
        let previous = exports
        exports = [:]
        pending = [:]
        merged = [:]
        var rejections: [Rejection] = []
        var byService: [ServiceID: [(key: String, service: Service)]] = [:]
        for keyValue in keyValues.sorted(by: { $0.modRevision < $1.modRevision }) {
            switch decode(key: keyValue.keyText, value: keyValue.value) {
            case .success(let (exportKey, service)):
                byService[exportKey.service, default: []].append((keyValue.keyText, service))
            case .failure(let rejection):
                rejections.append(rejection)
                if let exportKey = layout.parse(keyValue.keyText),
                    let kept = previous[exportKey.service]?[exportKey.cluster]
                {
                    byService[exportKey.service, default: []].append((keyValue.keyText, kept))
                }
            }
        }
        for (id, exportsOfService) in byService {
            // Usually the exports agree and one merge does; otherwise add them one at a time and reject the
            // ones that do not fit.
            if let service = try? RegistryDecoder.merge(exportsOfService.map { ($0.key, $0.service) }).first {
                merged[id] = service
                exports[id] = Dictionary(
                    exportsOfService.map { ($0.service.clusters[0].cluster, $0.service) },
                    uniquingKeysWith: { _, last in last })
                continue
            }
            for export in exportsOfService {
                let cluster = export.service.clusters[0].cluster
                if let rejection = accept(export.service, key: export.key, id: id) {
                    rejections.append(rejection)
                    // The key's export from before the listing, if it still fits, rather than none.
                    if let kept = previous[id]?[cluster], kept != export.service, exports[id]?[cluster] == nil {
                        _ = accept(kept, key: export.key, id: id, keepPending: true)
                    }
                }
            }
        }
        services = merged.values.sorted { ServiceID($0) < ServiceID($1) }
        self.revision = revision
        return rejections
    }

    /// Applies watch events in order; returns whether any service changed, and the values rejected. The
    /// revision becomes the last event's: a message's header may be ahead of its events while etcd sends a
    /// long catch-up in parts, and resuming from the header would skip the rest.
    mutating func apply(_ events: [WatchEvent]) -> (changed: Bool, rejections: [Rejection]) {
        var rejections: [Rejection] = []
        var touched: Set<ServiceID> = []
        for event in events {
            revision = max(revision, event.kv.modRevision)
            let key = event.kv.keyText
            if event.isDelete {
                guard let exportKey = layout.parse(key) else { continue }
                let id = exportKey.service
                pending[id]?[exportKey.cluster] = nil
                guard exports[id]?[exportKey.cluster] != nil else { continue }
                exports[id]?[exportKey.cluster] = nil
                remerge(id)
                retryPending(id)
                touched.insert(id)
                continue
            }
            switch decode(key: key, value: event.kv.value) {
            case .success(let (exportKey, service)):
                if let rejection = accept(service, key: key, id: exportKey.service) {
                    rejections.append(rejection)
                } else {
                    touched.insert(exportKey.service)
                }
            case .failure(let rejection):
                rejections.append(rejection)
                // The key's newest value is unusable: an older one waiting aside is no longer what etcd holds.
                if let exportKey = layout.parse(key) { pending[exportKey.service]?[exportKey.cluster] = nil }
            }
        }
        let changed = resort(touched)
        return (changed, rejections)
    }

    /// Takes `service` (one cluster's export) as the new value of its key if the service still merges with it;
    /// otherwise leaves the key's previous value in place, keeps the value aside for a later retry (unless
    /// `keepPending`, for a fallback), and says why.
    private mutating func accept(
        _ service: Service, key: String, id: ServiceID, keepPending: Bool = false
    )
        -> Rejection?
    {
        let cluster = service.clusters[0].cluster
        do throws(RegistryError) {
            try take(service, cluster: cluster, id: id)
            if !keepPending { pending[id]?[cluster] = nil }
            retryPending(id)
            return nil
        } catch {
            if !keepPending { pending[id, default: [:]][cluster] = service }
            return Rejection(key: key, error: error)
        }
    }

    /// Makes `service` the export of `cluster` if the service still merges with it; otherwise leaves everything
    /// as it was and throws why.
    private mutating func take(_ service: Service, cluster: String, id: ServiceID) throws(RegistryError) {
        let previous = exports[id]?[cluster]
        exports[id, default: [:]][cluster] = service
        do throws(RegistryError) {
            merged[id] = try mergeExports(of: id)
        } catch {
            exports[id]?[cluster] = previous
            if exports[id]?.isEmpty == true { exports[id] = nil }
            throw error
        }
    }

    /// Takes whichever exports kept aside for `id` now fit, until none does.
    private mutating func retryPending(_ id: ServiceID) {
        var progress = true
        while progress, let waiting = pending[id], !waiting.isEmpty {
            progress = false
            for (cluster, service) in waiting.sorted(by: { $0.key < $1.key }) {
                guard (try? take(service, cluster: cluster, id: id)) != nil else { continue }
                pending[id]?[cluster] = nil
                progress = true
            }
            if pending[id]?.isEmpty == true { pending[id] = nil }
        }
    }

    /// Re-merges a service after an export left; a service with no export left is gone.
    private mutating func remerge(_ id: ServiceID) {
        guard let remaining = exports[id], !remaining.isEmpty else {
            exports[id] = nil
            merged[id] = nil
            return
        }
        // Exports that merged together still merge after one leaves.
        merged[id] = try? mergeExports(of: id)
    }

    private func mergeExports(of id: ServiceID) throws(RegistryError) -> Service? {
        let list = (exports[id] ?? [:]).sorted { $0.key < $1.key }.map { entry in
            (origin: layout.key(namespace: id.namespace, name: id.name, cluster: entry.key), service: entry.value)
        }
        return try RegistryDecoder.merge(list).first
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

    /// Decodes one key's value and checks it against the key (`ExportKey.mismatch`).
    private func decode(key: String, value: Data?) -> Result<(ExportKey, Service), Rejection> {
        let origin = "etcd:" + key
        guard let exportKey = layout.parse(key) else {
            return .failure(
                Rejection(
                    key: key,
                    error: RegistryError(
                        file: origin,
                        message: "not an export key: expected \(layout.servicesPrefix)NAMESPACE/NAME/CLUSTER")
                ))
        }
        if let value, value.count > Self.maxValueBytes {
            return .failure(
                Rejection(
                    key: key,
                    error: RegistryError(
                        file: origin,
                        message:
                            "the value is larger than \(Self.maxValueBytes >> 10) KiB (\(value.count) octets): not read"
                    )))
        }
        let text = String(decoding: value ?? Data(), as: UTF8.self)
        let service: Service
        do {
            service = try RegistryDecoder.decodeExport(text, file: origin)
        } catch {
            return .failure(Rejection(key: key, error: error))
        }
        if let (field, inValue, inKey) = exportKey.mismatch(with: service) {
            return .failure(
                Rejection(
                    key: key,
                    error: RegistryError(
                        file: origin, field: field, message: "'\(inValue)' does not match the key's '\(inKey)'")))
        }
        return .success((exportKey, service))
    }
}

extension ServiceID {
    init(_ service: Service) {
        self.init(namespace: service.namespace, name: service.name)
    }
}
