import DNSWire
import ServiceRegistry

/// Everything the query path needs, compiled once per registry or zone change and then only read: a name
/// table, each name's precompiled responses by type, and each zone's negative-answer SOA.
///
/// Queries read one snapshot reference and use nothing else, so each sees one consistent registry while a new
/// snapshot is built beside it (Knot's RCU idea, DESIGN.md section 7).
public final class AnswerSnapshot: Sendable {
    struct Node: Sendable {
        var zone: Int
        /// Precompiled responses by query type, side by side for a cache-friendly linear scan.
        var types: [UInt16]
        var templates: [Int32]
        /// The response for QTYPE ANY: every RRset at the name (RFC 8482 allows less; this is simplest).
        var anyTemplate: Int32
        /// For a CNAME node, the response to any type not in `types`: the CNAME chain alone.
        var fallbackTemplate: Int32
    }

    struct Zone: Sendable {
        var origin: DNSName
        /// The SOA record for negative answers without its owner name, which points into the question.
        var negativeSOA: [UInt8]
    }

    let table: NameTable
    let nodes: [Node]
    let templates: [[UInt8]]
    let zones: [Zone]
    /// Zone indices by decreasing origin length, so the first suffix match is the longest.
    let zoneSearchOrder: [Int]
    let allow: NetworkMatcher
    public let registryVersion: UInt64
    public let settings: PipelineSettings

    public var nameCount: Int { nodes.count }
    public var zoneOrigins: [DNSName] { zones.map(\.origin) }

    init(
        table: NameTable, nodes: [Node], templates: [[UInt8]], zones: [Zone], registryVersion: UInt64,
        settings: PipelineSettings
    ) {
        self.table = table
        self.nodes = nodes
        self.templates = templates
        self.zones = zones
        self.zoneSearchOrder = zones.indices.sorted { zones[$0].origin.wire.count > zones[$1].origin.wire.count }
        self.allow = NetworkMatcher(settings.allow)
        self.registryVersion = registryVersion
        self.settings = settings
    }

    /// Compiles the registry and the zones into a snapshot.
    public static func build(
        registry: RegistrySnapshot, zones: [AuthoritativeZone], settings: PipelineSettings
    ) -> AnswerSnapshot {
        AnswerCompiler(registry: registry, zoneFiles: zones, settings: settings).compile()
    }
}
