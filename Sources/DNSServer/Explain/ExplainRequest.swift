import DNSPipeline
import DNSWire
import Foundation
import ServiceRegistry

/// What `/explain?name=N&type=T&client=ADDR&ecs=PREFIX` and `scdns explain NAME [TYPE] --client ADDR --ecs PREFIX`
/// ask, checked: both take the same four texts and give the same errors.
public struct ExplainRequest: Sendable {
    public var name: DNSName
    public var type: RecordType
    public var client: IPAddress
    public var ecs: IPNetwork?

    public struct Invalid: Error, CustomStringConvertible {
        public var description: String
    }

    public init(name: String?, type: String?, client: String?, ecs: String?) throws(Invalid) {
        guard let name, !name.isEmpty, let parsed = try? DNSName(name) else {
            throw Invalid(description: "name: '\(name ?? "")' is not a domain name")
        }
        let typeText = type ?? "A"
        guard let recordType = RecordType(mnemonic: typeText) else {
            throw Invalid(description: "type: '\(typeText)' is not a record type such as A, AAAA or SRV")
        }
        guard let client, let address = IPAddress(client) else {
            throw Invalid(description: "client: '\(client ?? "")' is not an IPv4 or IPv6 address (the asker's)")
        }
        self.name = parsed
        self.type = recordType
        self.client = address
        if let ecs {
            guard let network = IPNetwork(ecs) else {
                throw Invalid(description: "ecs: '\(ecs)' is not a prefix such as 10.245.7.0/24")
            }
            self.ecs = network
        }
    }

    /// Explains the query against what `publisher` serves.
    func explain(with publisher: AnswerPublisher) -> QueryExplanation {
        let formatter = ISO8601DateFormatter()
        let since = (publisher.unreachable ?? [:]).mapValues { formatter.string(from: $0) }
        return publisher.processor.explain(
            name: name, type: type, client: client, ecs: ecs, registry: publisher.answeredRegistry,
            unreachableSince: since)
    }
}

extension QueryExplanation {
    /// Pretty-printed JSON, as `/explain` serves it, keys sorted so the same explanation always reads the same.
    public var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(self) else { return "{}\n" }
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}
