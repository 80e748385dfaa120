/// Why a query is answered as it is (`/explain`, `scdns explain`): the client's locality and where it came from,
/// the answer the pipeline gives, and for a registry name every candidate address with whether it was answered,
/// where, and why. Field names are the JSON's.
public struct QueryExplanation: Encodable, Sendable {
    public struct Query: Encodable, Sendable {
        public var name: String
        public var type: String
        public var client: String
        public var ecs: String?
    }

    /// The locality answers were ordered for, and how it was found (DESIGN.md section 3).
    public struct ClientLocality: Encodable, Sendable {
        public var cluster: String
        public var region: String
        public var zone: String
        /// `ecs` (the EDNS Client Subnet matched a `clients:` network), `address` (the source address did), or
        /// `instance` (neither: this instance's own `locality`).
        public var source: String
        /// The `clients:` network that matched, if one did.
        public var network: String?
        /// The ECS scope the answer carries (RFC 7871 7.2.1), when the query had ECS.
        public var scope: Int?
        public var reason: String
    }

    /// What the pipeline answered, decoded: every record of the answer section in order.
    public struct Answer: Encodable, Sendable {
        public var rcode: String
        public var authoritative: Bool
        public var truncated: Bool
        public var records: [String]
    }

    /// The registry service a name belongs to.
    public struct ServiceName: Encodable, Sendable {
        public var namespace: String
        public var name: String
        public var type: String
        public var vip: String?
        /// `service` (SVC.NS), `cluster` (CLUSTER.SVC.NS), `endpoint` (HOST.CLUSTER.SVC.NS) or `srv`
        /// (_PORT._PROTO.SVC.NS).
        public var form: String
        /// The zone it was asked under (a service zone or the global zone).
        public var zone: String
    }

    /// One locality tier of the answer, nearest first (0 same cluster ... 3 elsewhere).
    public struct Tier: Encodable, Sendable {
        public var tier: Int
        public var name: String
        public var clusters: [String]
    }

    /// One address the name could be answered with.
    public struct Candidate: Encodable, Sendable {
        public var address: String
        public var cluster: String
        public var region: String
        public var zone: String
        /// A headless endpoint's hostname.
        public var endpoint: String?
        public var tier: Int?
        public var weight: UInt32
        public var healthy: Bool
        public var answered: Bool
        /// 1-based, among the answer's records of the asked type.
        public var position: Int?
        public var reason: String
    }

    public var query: Query
    public var locality: ClientLocality
    /// `answered`, `forwarded` (a `forward:` rule's upstreams resolve it; nothing is sent for an explanation) or
    /// `dropped`.
    public var outcome: String
    /// The `forward:` zone whose rule resolves the name, when forwarded.
    public var forwardZone: String?
    public var answer: Answer?
    public var service: ServiceName?
    /// True when no candidate is healthy, so all are answered (fail open).
    public var failOpen: Bool?
    /// `maxAnswers`: addresses kept after ordering; 0 keeps all.
    public var maxAnswers: Int
    public var tiers: [Tier]
    public var candidates: [Candidate]
    public var notes: [String]
}
