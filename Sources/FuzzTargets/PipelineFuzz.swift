import DNSPipeline
import DNSWire
import ServiceRegistry

/// The whole answering pipeline under arbitrary queries (`make fuzz`, target `pipeline`): every outcome is a
/// well-formed answer to the query that was asked, within the client's size, or a drop only where one is due.
public enum PipelineFuzz {
    /// A registry and zone like the example's: locality tiers, a headless service, a big answer for truncation,
    /// a forwarded zone with a cache.
    static let processor: QueryProcessor = {
        let addresses = (1...60).map { "10.9.0.\($0)" }.joined(separator: ", ")
        let text = """
            services:
              - name: backend
                namespace: app
                ports: [{ name: http, port: 80, protocol: TCP }]
                clusters:
                  - { cluster: cluster-a, region: r1, zone: z1, addresses: [10.100.0.1, "fd00::1"] }
                  - { cluster: cluster-b, region: r1, zone: z2, addresses: [10.101.0.1], weight: 200 }
                  - { cluster: cluster-c, region: r2, zone: z3, addresses: [10.102.0.1], healthy: false }
              - name: db
                namespace: app
                type: Headless
                ports: [{ name: pg, port: 5432, protocol: TCP }]
                clusters:
                  - cluster: cluster-a
                    endpoints:
                      - { hostname: db-0, addresses: [10.100.1.1] }
                      - { hostname: db-1, addresses: [10.100.1.2], ready: false }
              - name: big
                namespace: app
                clusters:
                  - { cluster: cluster-a, addresses: [\(addresses)] }
            """
        let services = (try? RegistryDecoder.decode(text, file: "fuzz.yaml")) ?? []
        let origin = try! DNSName("supercluster.local.")
        let ns = try! DNSName("ns1.supercluster.local.")
        let zone = AuthoritativeZone(
            origin: origin,
            soa: ResourceRecord(
                name: origin, ttl: 60,
                data: .soa(
                    SOARecord(
                        primary: ns, mailbox: try! DNSName("hostmaster.supercluster.local."), serial: 1, refresh: 2,
                        retry: 3, expire: 4, minimum: 30))),
            nameServers: [ResourceRecord(name: origin, ttl: 60, data: .ns(ns))])
        var settings = PipelineSettings(
            locality: Locality(cluster: "cluster-a", region: "r1", zone: "z1"),
            clients: [ClientNetwork(network: IPNetwork("10.2.0.0/16")!, locality: Locality(cluster: "cluster-c"))],
            allow: [IPNetwork("10.0.0.0/8")!, IPNetwork("127.0.0.0/8")!, IPNetwork("::1/128")!])
        settings.forwardZones = [try! DNSName("cluster.local.")]
        settings.identity = "fuzz-1"
        settings.version = "scdns fuzz"
        let cache = ResponseCache(settings: CacheSettings(capacity: 64))
        let processor = QueryProcessor(
            snapshot: AnswerSnapshot.build(
                registry: RegistrySnapshot(services: services, version: 1, origin: "fuzz.yaml"), zones: [zone],
                settings: settings),
            seed: 7, cache: cache)
        // One cached forwarded answer, so cache hits (and their truncation and ECS echo) are reached too.
        let name = try! DNSName("kubernetes.default.svc.cluster.local.")
        let question = Message(header: Header(id: 1), questions: [Question(name: name, type: .a)])
        cache.store(
            Message(
                header: Header(id: 9, isResponse: true), questions: question.questions,
                answers: (1...40).map {
                    ResourceRecord(name: name, ttl: 300, data: .a(IPv4Address(rawValue: 0x0A60_0000 + UInt32($0))))
                }),
            for: question.serialized())
        return processor
    }()

    /// The same answers behind response rate limiting at one response a second, slip 1: after the first, nearly
    /// every response is a slip, so every kind of response the pipeline writes is cut down to one.
    static let limited = QueryProcessor(
        snapshot: processor.snapshot, seed: 7,
        rateLimiter: ResponseRateLimiter(settings: RateLimitSettings(responsesPerSecond: 1, slip: 1)))

    static let clients: [ClientContext] = [
        ClientContext(address: .v4(0x7F00_0001), transport: .udp),
        ClientContext(address: .v4(0x0A02_0305), transport: .udp),
        ClientContext(address: .v4(0xC000_0201), transport: .udp),
        ClientContext(address: .v4(0x7F00_0001), transport: .tcp),
    ]

    public static func check(_ data: [UInt8]) -> [String] {
        var problems: [String] = []
        for client in clients {
            var response: [UInt8] = []
            let outcome = data.withUnsafeBytes { processor.process($0, client: client, into: &response) }
            problems += check(query: data, outcome: outcome, response: response, client: client)
        }
        // A slip must be all a response is (the checks above) and no more than the question: no records, and
        // never larger than the query, so rate limiting amplifies nothing.
        let client = clients[0]
        let slippedBefore = limited.rateLimiter?.totals.slipped ?? 0
        var response: [UInt8] = []
        let outcome = data.withUnsafeBytes { limited.process($0, client: client, into: &response) }
        problems += check(query: data, outcome: outcome, response: response, client: client).map { "limited \($0)" }
        if limited.rateLimiter?.totals.slipped ?? 0 > slippedBefore {
            if outcome != .respond { problems.append("limited: a slip that is not a response") }
            if response.count > data.count { problems.append("limited: a slip larger than the query") }
            if response.count >= 12,
                response[6..<10].contains(where: { $0 != 0 }) || response[10] != 0
                    || response[11] > 1
            {
                problems.append("limited: a slip with records")
            }
            if response.count >= 12, response[2] & 0x02 == 0 { problems.append("limited: a slip without TC") }
        }
        return problems
    }

    static func check(query: [UInt8], outcome: QueryOutcome, response: [UInt8], client: ClientContext) -> [String] {
        let label = client.transport == .tcp ? "tcp" : "udp \(client.address)"
        switch outcome {
        case .drop:
            // Only what has no ID to answer to, or is itself a response (no reflection loops).
            return query.count < 12 || query[2] & 0x80 != 0 ? [] : ["\(label): a query with a header was dropped"]
        case .forward:
            let forwarded = ForwardedQuery(query, overTCP: client.transport == .tcp, udpPayloadLimit: 1232)
            return forwarded == nil ? ["\(label): forwarded a query the forwarder cannot read"] : []
        case .respond:
            break
        }
        guard let reply = try? Message(parsing: response) else { return ["\(label): a response that does not parse"] }
        var problems: [String] = []
        if reply.header.id != UInt16(query[0]) << 8 | UInt16(query[1]) { problems.append("\(label): another ID") }
        if !reply.header.isResponse { problems.append("\(label): QR not set") }
        let scanned = query.withUnsafeBytes { try? QueryView.scan($0) }
        let limit: Int
        if client.transport == .tcp {
            limit = 65535
        } else if let edns = scanned?.edns {
            limit = max(512, min(Int(edns.udpPayloadSize), 1232))
        } else {
            limit = 512
        }
        if response.count > limit { problems.append("\(label): \(response.count) octets over the limit \(limit)") }
        if let view = scanned, view.questionCount == 1, view.opcode == .query {
            // The question comes back exactly as asked, letter case included.
            let asked = Array(query[view.nameStart..<view.questionEnd])
            guard response.count >= 12 + asked.count, reply.questions.count == 1,
                Array(response[12..<(12 + asked.count)]) == asked
            else { return problems + ["\(label): the question does not come back as asked"] }
            if reply.edns == nil && view.edns != nil && reply.rcode != .formErr {
                problems.append("\(label): an EDNS query answered without OPT")
            }
            if reply.header.truncated && client.transport == .tcp { problems.append("\(label): TC over TCP") }
            for record in reply.answers where record.rrClass != view.qclass && view.qclass != .any {
                problems.append("\(label): an answer of class \(record.rrClass) to a \(view.qclass) question")
            }
        }
        return problems
    }
}
