import Logging
import ServiceRegistry
import Synchronization

/// What `scdns registry list|get|put|delete|watch` do against etcd, as text for the operator. Paths are
/// `NAMESPACE/NAME/CLUSTER` (or `NAMESPACE/NAME` for every cluster of a service), never raw keys, so an operator
/// cannot write outside the layout the servers read.
public struct RegistryTool: Sendable {
    public let client: EtcdClient
    public let layout: RegistryKeyLayout

    public init(client: EtcdClient, layout: RegistryKeyLayout) {
        self.client = client
        self.layout = layout
    }

    /// A usage error: the path or value the operator gave, and what is wrong with it.
    public struct UsageError: Error, CustomStringConvertible {
        public let description: String
    }

    /// One line per export under the prefix (or in `namespace`), and one per cluster's publisher claim, after a
    /// header with the revision, so two instances' views can be compared with etcd's.
    public func list(namespace: String? = nil) async throws -> [String] {
        let listing = try await client.list(prefix: layout.clustersPrefix)
        var lines: [String] = []
        var services: Set<ServiceID> = []
        var exports = 0
        for keyValue in listing.keyValues {
            let key = keyValue.keyText
            let lease = keyValue.leaseID == 0 ? "none" : hex(keyValue.leaseID)
            switch layout.classify(key) {
            case .export(let exportKey):
                guard namespace == nil || exportKey.namespace == namespace else { continue }
                services.insert(exportKey.service)
                exports += 1
                do {
                    let service = try RegistryDecoder.decodeExport(keyValue.valueText, file: "etcd:" + key)
                    lines.append("\(exportKey)  \(Self.summary(service))  lease=\(lease) rev=\(keyValue.modRevision)")
                } catch {
                    lines.append("\(exportKey)  INVALID: \(error)")
                }
            case .malformedExport:
                guard namespace == nil else { continue }
                exports += 1
                lines.append(
                    "\(key)  INVALID: not \(layout.clustersPrefix)CLUSTER/services/NAMESPACE/NAME")
            case .claim(let cluster):
                guard namespace == nil else { continue }
                lines.append("\(cluster) publisher: \(keyValue.valueText)  lease=\(lease) rev=\(keyValue.modRevision)")
            case .other:
                continue
            }
        }
        let scope = namespace.map { "namespace \($0) under \(layout.clustersPrefix)" } ?? layout.clustersPrefix
        let header = "revision \(listing.revision): \(exports) export(s) of \(services.count) service(s) in \(scope)"
        return [header] + lines
    }

    /// The flat JSON of one export, or of every cluster's export of a service, one per line after its path.
    public func get(_ path: String) async throws -> [String] {
        let parts = try split(path, allowService: true)
        if parts.count == 3 {
            let key = layout.key(namespace: parts[0], name: parts[1], cluster: parts[2])
            guard let keyValue = try await client.get(key) else {
                throw UsageError(description: "\(path): no such export")
            }
            return [keyValue.valueText]
        }
        let found = try await exportsOfService(namespace: parts[0], name: parts[1], keysOnly: false)
        guard !found.isEmpty else { throw UsageError(description: "\(path): no such service") }
        return found.map { exportKey, keyValue in "\(exportKey) \(keyValue.valueText)" }
    }

    /// Every cluster's export of one service. Exports are filed by cluster first, so this reads the whole
    /// registry (keys only when `keysOnly`): fine for an operator's command, not for a server.
    private func exportsOfService(
        namespace: String, name: String, keysOnly: Bool
    ) async throws -> [(
        ExportKey, KeyValue
    )] {
        try await client.list(prefix: layout.clustersPrefix, keysOnly: keysOnly).keyValues.compactMap { keyValue in
            guard let exportKey = layout.parse(keyValue.keyText), exportKey.namespace == namespace,
                exportKey.name == name
            else { return nil }
            return (exportKey, keyValue)
        }
    }

    /// Writes one export after validating it as the servers will (schema, and that it names the path's namespace,
    /// service and cluster); returns the revision. Without a lease the key stays until deleted.
    public func put(_ path: String, value: String) async throws -> Int64 {
        let parts = try split(path, allowService: false)
        let key = layout.key(namespace: parts[0], name: parts[1], cluster: parts[2])
        let service = try RegistryDecoder.decodeExport(value, file: path)
        let exportKey = ExportKey(namespace: parts[0], name: parts[1], cluster: parts[2])
        if let (field, inValue, inPath) = exportKey.mismatch(with: service) {
            throw UsageError(description: "\(path): \(field) '\(inValue)' in the value does not match '\(inPath)'")
        }
        return try await client.put(key, value: ExportEncoder.flatJSON(service, cluster: service.clusters[0]))
    }

    /// Deletes one export, or every cluster's export of a service; returns how many keys went.
    public func delete(_ path: String) async throws -> Int64 {
        let parts = try split(path, allowService: true)
        if parts.count == 3 {
            return try await client.delete(layout.key(namespace: parts[0], name: parts[1], cluster: parts[2]))
        }
        let keys = try await exportsOfService(namespace: parts[0], name: parts[1], keysOnly: true).map { $0.1.keyText }
        guard !keys.isEmpty else { return 0 }
        try await client.transaction(keys.map { .delete(key: $0) })
        return Int64(keys.count)
    }

    /// Prints each change under the prefix as it happens, from `revision` on (the next one by default), as
    /// `REVISION PUT NS/NAME/CLUSTER VALUE` or `REVISION DELETE NS/NAME/CLUSTER` (a publisher claim or any other
    /// key by its full name; a claim's heartbeat rewrites are left out). Runs until cancelled; reconnects
    /// from the last revision printed when the stream breaks.
    public func watch(from revision: Int64? = nil, output: @escaping @Sendable (String) -> Void) async throws {
        var next: Int64
        if let revision {
            next = revision
        } else {
            next = try await client.currentRevision(reading: layout.clustersPrefix) + 1
        }
        while true {
            let progress = RevisionHolder(next)
            do {
                try await client.watch(prefix: layout.clustersPrefix, from: next) { messages in
                    for message in messages {
                        for event in message.watchEvents {
                            let key = event.kv.keyText
                            let path = layout.parse(key)?.description ?? key
                            let revision = event.kv.modRevision
                            progress.advance(past: revision)
                            // A publisher rewrites its claim at every lease renewal (the servers' heartbeat);
                            // only a new claim, made by a create, is a change worth a line.
                            if case .claim = layout.classify(key), !event.isDelete,
                                event.kv.createRevision != event.kv.modRevision
                            {
                                continue
                            }
                            if event.isDelete {
                                output("\(revision) DELETE \(path)")
                            } else {
                                output("\(revision) PUT \(path) \(event.kv.valueText)")
                            }
                        }
                    }
                }
            } catch let error as EtcdError where error.isEndpointFailure {
                next = progress.value
                try await Task.sleep(for: .milliseconds(500))
            } catch EtcdError.compacted(let compactRevision) {
                // The changes between are gone from etcd's history; say so, and go on from what is left.
                output(
                    "# revisions \(progress.value) to \(compactRevision - 1) were compacted; watching from \(compactRevision)"
                )
                next = compactRevision
            }
        }
    }

    static func summary(_ service: Service) -> String {
        let export = service.clusters[0]
        var parts = [service.type.rawValue]
        if let vip = service.vip { parts.append("vip=\(vip)") }
        if !export.addresses.isEmpty { parts.append(export.addresses.map(\.description).joined(separator: ",")) }
        if !export.endpoints.isEmpty {
            let ready = export.endpoints.filter(\.ready).count
            parts.append("endpoints=\(export.endpoints.count) ready=\(ready)")
        }
        let locality = [export.locality.region, export.locality.zone].filter { !$0.isEmpty }.joined(separator: "/")
        if !locality.isEmpty { parts.append(locality) }
        parts.append("weight=\(export.weight)")
        parts.append(export.healthy ? "healthy" : "UNHEALTHY")
        return parts.joined(separator: "  ")
    }

    private func split(_ path: String, allowService: Bool) throws(UsageError) -> [String] {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.allSatisfy({ !$0.isEmpty }), parts.count == 3 || (allowService && parts.count == 2) else {
            throw UsageError(
                description: "'\(path)' is not NAMESPACE/NAME/CLUSTER" + (allowService ? " or NAMESPACE/NAME" : ""))
        }
        return parts
    }
}

/// The revision to resume a watch from, advanced from the watch's callback.
private final class RevisionHolder: Sendable {
    private let next: Mutex<Int64>
    init(_ value: Int64) { next = Mutex(value) }
    var value: Int64 { next.withLock { $0 } }
    func advance(past revision: Int64) { next.withLock { $0 = max($0, revision + 1) } }
}
