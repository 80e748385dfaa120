import DNSPipeline
import Foundation
import ServiceRegistry

/// `/registry`: the serving snapshot as JSON, in the registry file's own field names (DESIGN.md section 2),
/// with where it came from and how current it is. `healthy` is what the publisher says; with reachability
/// probes on, each probed export also has `reachableFromHere` (and `unreachableSince` when false): this
/// instance answers an export only if both hold (fail open aside).
enum RegistryDocument {
    struct Document: Encodable {
        var source: String
        var version: UInt64
        var revision: Int64?
        var ageSeconds: Double
        var stale: Bool
        var services: [ServiceEntry]
    }

    struct ServiceEntry: Encodable {
        var name: String
        var namespace: String
        var type: String
        var vip: String?
        var ports: [PortEntry]
        var clusters: [ClusterEntry]
    }

    struct PortEntry: Encodable {
        var name: String?
        var port: UInt16
        var `protocol`: String
    }

    struct ClusterEntry: Encodable {
        var cluster: String
        var region: String
        var zone: String
        var addresses: [String]
        var weight: UInt32
        var healthy: Bool
        var reachableFromHere: Bool?
        var unreachableSince: String?
        var endpoints: [EndpointEntry]?
    }

    struct EndpointEntry: Encodable {
        var hostname: String
        var addresses: [String]
        var ready: Bool
    }

    static func json(publisher: AnswerPublisher, now: ContinuousClock.Instant = .now) -> String {
        let published = publisher.current
        let status = publisher.sourceStatus()
        let registry = published.registry
        let unreachable = publisher.unreachable
        let formatter = ISO8601DateFormatter()
        /// Whether this instance reaches `export` of `service`, and since when not; nil when it is not probed.
        func probed(_ export: ClusterExport, of service: Service) -> (reachable: Bool, since: String?)? {
            // Not probed: probes off, or an export its publisher marks unhealthy (a probe only demotes).
            guard let unreachable, export.healthy else { return nil }
            switch ReachabilityPlan.reachability(of: export, in: service, down: unreachable) {
            case .notProbed: return nil
            case .reachable: return (true, nil)
            case .unreachable(let since): return (false, formatter.string(from: since))
            }
        }
        let document = Document(
            source: registry.origin, version: registry.version, revision: registry.revision,
            ageSeconds: ((now - published.at).secondsValue * 1000).rounded() / 1000, stale: status.stale,
            services: registry.services.map { service in
                ServiceEntry(
                    name: service.name, namespace: service.namespace, type: service.type.rawValue,
                    vip: service.vip?.description,
                    ports: service.ports.map {
                        PortEntry(name: $0.name, port: $0.port, protocol: $0.portProtocol.rawValue)
                    },
                    clusters: service.clusters.map { export in
                        let reach = probed(export, of: service)
                        return ClusterEntry(
                            cluster: export.cluster, region: export.locality.region, zone: export.locality.zone,
                            addresses: export.addresses.map(\.description), weight: export.weight,
                            healthy: export.healthy, reachableFromHere: reach?.reachable,
                            unreachableSince: reach?.since,
                            endpoints: service.type == .headless
                                ? export.endpoints.map {
                                    EndpointEntry(
                                        hostname: $0.hostname, addresses: $0.addresses.map(\.description),
                                        ready: $0.ready)
                                } : nil)
                    })
            })
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(document) else { return "{}\n" }
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}
