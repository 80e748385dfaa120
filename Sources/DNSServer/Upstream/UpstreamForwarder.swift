import DNSPipeline
import DNSWire
import Logging
import NIOCore
import Synchronization

/// Resolves forwarded queries (DESIGN.md section 4): our own query upstream (random ID, random source port,
/// our OPT with payload 1232, the client's ECS not passed on), the reply checked against ID and question,
/// TCP when the reply is truncated or the client came over TCP, failover through the rule's upstreams
/// within its timeouts, and SERVFAIL when every upstream fails.
///
/// This is the server's one asynchronous edge: the answering pipeline only says which rule applies.
final class UpstreamForwarder: Sendable {
    let targets: [ForwardTarget]
    private let addresses: [[SocketAddress]]
    /// One reused, pipelined TCP connection per upstream, for TCP clients and truncated UDP replies.
    private let connections: [[UpstreamTCPConnection]]
    private let group: EventLoopGroup
    private let udpPayloadLimit: Int
    /// For its cache: answers are stored there, and served stale from it when every upstream fails.
    private let processor: QueryProcessor?
    /// Counts each exchange and failed health check, when the server has metrics.
    private let metrics: ServerMetrics?
    private let logger: Logger
    private let turn = Atomic<Int>(0)
    private let inFlight = Mutex<[InFlightKey: Task<Message?, Never>]>([:])
    /// Loop detection: probe names sent upstream at start-up, by rule, and the rules found to loop.
    private let probes = Mutex<[DNSName: Int]>([:])
    private let looping = Mutex<Set<Int>>([])
    private let unhealthy = Mutex<Set<UpstreamID>>([])

    init(
        targets: [ForwardTarget], group: EventLoopGroup, udpPayloadLimit: Int, processor: QueryProcessor? = nil,
        metrics: ServerMetrics? = nil, logger: Logger
    ) throws {
        self.processor = processor
        self.metrics = metrics
        self.targets = targets
        let addresses = try targets.map { target in
            try target.upstreams.map { try SocketAddress(ipAddress: $0.host, port: $0.port) }
        }
        self.addresses = addresses
        self.connections = addresses.map { $0.map { UpstreamTCPConnection(upstream: $0, group: group) } }
        self.group = group
        self.udpPayloadLimit = udpPayloadLimit
        self.logger = logger
    }

    /// Resolves `query` by rule `rule` and hands the client's response (or nothing, for a query that cannot
    /// be parsed) to `reply`, on some other thread.
    func forward(
        _ query: [UInt8], rule: Int, overTCP: Bool, reply: @escaping @Sendable ([UInt8]) -> Void
    ) {
        Task {
            if let response = await resolve(query, rule: rule, overTCP: overTCP) { reply(response) }
        }
    }

    func resolve(_ bytes: [UInt8], rule: Int, overTCP: Bool) async -> [UInt8]? {
        guard let query = try? Message(parsing: bytes), query.questions.count == 1 else { return nil }
        let limit =
            overTCP ? 65535 : query.edns.map { max(512, min(Int($0.udpPayloadSize), udpPayloadLimit)) } ?? 512
        if let probed = probes.withLock({ $0[query.questions[0].name] }) {
            // Our own probe came back: this rule's upstream forwards to us. Answer nothing, or it goes round.
            markLooping(probed)
            return nil
        }
        if looping.withLock({ $0.contains(rule) }) { return failure(to: query, limit: limit) }
        if let answer = await coalescedExchange(query, bytes: bytes, rule: rule, overTCP: overTCP) {
            // An upstream's SERVFAIL is a failure as a timeout is: it must not shadow an answer we can serve stale.
            if answer.rcode == .servFail, let stale = staleResponse(bytes, to: query, overTCP: overTCP) {
                return stale
            }
            return clientResponse(answer, to: query, limit: limit)
        }
        if let stale = staleResponse(bytes, to: query, overTCP: overTCP) { return stale }
        logger.notice(
            "every upstream failed: SERVFAIL",
            metadata: ["zone": "\(targets[rule].zone)", "question": "\(query.questions[0])"])
        return failure(to: query, limit: limit)
    }

    /// RFC 8767: an expired answer beats SERVFAIL. Only the transport matters to its size limit.
    private func staleResponse(_ bytes: [UInt8], to query: Message, overTCP: Bool) -> [UInt8]? {
        let client = ClientContext(address: .v4(0), transport: overTCP ? .tcp : .udp)
        guard let stale = processor?.staleResponse(bytes, client: client) else { return nil }
        logger.notice("every upstream failed: serving stale", metadata: ["question": "\(query.questions[0])"])
        return stale
    }

    /// Identical questions in flight at once (name without case, type, class, DO, CD) share one upstream
    /// exchange: a burst of clients asking for the same expired name sends one query upstream, not one each.
    private func coalescedExchange(_ query: Message, bytes: [UInt8], rule: Int, overTCP: Bool) async -> Message? {
        let question = query.questions[0]
        let key = InFlightKey(
            rule: rule, name: question.name, type: question.type, qclass: question.qclass,
            dnssecOK: query.edns?.dnssecOK ?? false, checkingDisabled: query.header.checkingDisabled)
        let (task, leader) = inFlight.withLock { inFlight -> (Task<Message?, Never>, Bool) in
            if let running = inFlight[key] { return (running, false) }
            let task = Task { await self.exchange(query, rule: rule, overTCP: overTCP) }
            inFlight[key] = task
            return (task, true)
        }
        let answer = await task.value
        if leader {
            inFlight.withLock { $0[key] = nil }
            if let answer { processor?.cache?.store(answer, for: bytes) }
        }
        return answer
    }

    private struct InFlightKey: Hashable {
        var rule: Int
        var name: DNSName
        var type: RecordType
        var qclass: RecordClass
        var dnssecOK: Bool
        var checkingDisabled: Bool
    }

    /// Our query to the rule's upstreams in policy order until one answers, within the rule's timeouts.
    private func exchange(_ query: Message, rule: Int, overTCP: Bool) async -> Message? {
        let target = targets[rule]
        let deadline = ContinuousClock.now + target.timeout
        for index in order(rule) {
            let left = deadline - ContinuousClock.now
            guard left > .zero else { break }
            let upstream = addresses[rule][index]
            let outgoing = Message(
                header: Header(
                    id: UInt16.random(in: .min ... .max), recursionDesired: query.header.recursionDesired,
                    checkingDisabled: query.header.checkingDisabled),
                questions: query.questions,
                edns: EDNS(udpPayloadSize: 1232, dnssecOK: query.edns?.dnssecOK ?? false))
            let timeout = min(target.tryTimeout, left)
            let started = ContinuousClock.now
            do {
                var answer: Message
                let connection = connections[rule][index]
                if overTCP {
                    answer = try await connection.exchange(outgoing, timeout: timeout)
                } else {
                    answer = try await UpstreamExchange.udp(outgoing, to: upstream, timeout: timeout, group: group)
                    if answer.header.truncated {
                        answer = try await connection.exchange(
                            outgoing, timeout: min(target.tryTimeout, deadline - ContinuousClock.now))
                    }
                }
                metrics?.forwarded(
                    upstream: "\(target.upstreams[index])", rcode: answer.rcode.description,
                    duration: ContinuousClock.now - started)
                return answer
            } catch {
                metrics?.forwarded(
                    upstream: "\(target.upstreams[index])",
                    rcode: error is UpstreamExchange.Timeout ? "timeout" : "error",
                    duration: ContinuousClock.now - started)
                logger.debug(
                    "upstream failed", metadata: ["upstream": "\(target.upstreams[index])", "error": "\(error)"])
                markDown(rule: rule, index: index)
            }
        }
        return nil
    }

    /// Refreshes a cached answer in the background (prefetch): the same exchange as a miss, coalesced with any
    /// in flight, stored in the cache when it succeeds; nothing is sent to a client.
    func refresh(_ bytes: [UInt8], rule: Int) {
        guard let query = try? Message(parsing: bytes), query.questions.count == 1 else { return }
        Task { _ = await coalescedExchange(query, bytes: bytes, rule: rule, overTCP: false) }
    }

    /// At start-up, once listening, each rule sends a random name under its zone upstream (as CoreDNS's loop
    /// plugin does): if the probe arrives back here, the rule's upstream forwards to scdns and the rule would
    /// loop; it is logged and disabled (its queries get SERVFAIL at once). Names of our own zones can never
    /// loop: they are never forwarded.
    func probeForLoops() async {
        await withTaskGroup(of: Void.self) { group in
            for (rule, target) in targets.enumerated() {
                let label = (0..<16).map { _ in String(UInt8.random(in: 0...15), radix: 16) }.joined()
                guard let probe = try? target.zone.prepending("scdns-loop-probe").prepending(label) else { continue }
                probes.withLock { $0[probe] = rule }
                group.addTask {
                    let query = Message(
                        header: Header(id: 0, recursionDesired: true), questions: [Question(name: probe, type: .hinfo)])
                    _ = await self.exchange(query, rule: rule, overTCP: false)
                    self.probes.withLock { $0[probe] = nil }
                }
            }
        }
    }

    private func markLooping(_ rule: Int) {
        let first = looping.withLock { $0.insert(rule).inserted }
        if first {
            logger.error(
                "forward rule loops back to scdns: disabled (its queries get SERVFAIL)",
                metadata: ["zone": "\(targets[rule].zone)", "upstreams": "\(targets[rule].upstreams)"])
        }
    }

    /// The upstreams to try, in the rule's policy order.
    private func order(_ rule: Int) -> [Int] {
        let count = addresses[rule].count
        let order: [Int]
        switch targets[rule].policy {
        case .sequential:
            order = Array(0..<count)
        case .roundRobin:
            let start = turn.wrappingAdd(1, ordering: .relaxed).oldValue % count
            order = (0..<count).map { (start + $0) % count }
        case .random:
            order = Array(0..<count).shuffled()
        }
        // Upstreams that failed and have not answered a health check since go last: tried only when every
        // healthy one has failed too, so a dead upstream costs no timeout while another works.
        let down = unhealthy.withLock { $0 }
        return order.filter { !down.contains(UpstreamID(rule: rule, index: $0)) }
            + order.filter { down.contains(UpstreamID(rule: rule, index: $0)) }
    }

    private struct UpstreamID: Hashable {
        var rule: Int
        var index: Int
    }

    /// Marks an upstream down and, the first time, checks it every `healthCheckInterval` with `. IN NS` (as
    /// CoreDNS's forward plugin does) until it answers anything at all; then it is back in the rotation.
    private func markDown(rule: Int, index: Int) {
        let id = UpstreamID(rule: rule, index: index)
        guard unhealthy.withLock({ $0.insert(id).inserted }) else { return }
        logger.warning("upstream down", metadata: ["upstream": "\(targets[rule].upstreams[index])"])
        let upstream = addresses[rule][index]
        Task {
            let check = Message(header: Header(id: 0), questions: [Question(name: .root, type: .ns)])
            while !Task.isCancelled {
                try? await Task.sleep(for: Self.healthCheckInterval)
                var probe = check
                probe.header.id = UInt16.random(in: .min ... .max)
                if (try? await UpstreamExchange.udp(probe, to: upstream, timeout: .seconds(1), group: group)) != nil {
                    break
                }
                metrics?.healthCheckFailed(upstream: "\(targets[rule].upstreams[index])")
            }
            unhealthy.withLock { _ = $0.remove(id) }
            logger.notice("upstream answers again", metadata: ["upstream": "\(targets[rule].upstreams[index])"])
        }
    }

    static let healthCheckInterval: Duration = .milliseconds(500)

    /// The upstream's answer as the client's: its ID, its question exactly as asked (0x20 case included), our
    /// OPT when it sent one, cut to its size with TC when too large.
    private func clientResponse(_ answer: Message, to query: Message, limit: Int) -> [UInt8] {
        var response = answer
        if let settings = processor?.cache?.settings {
            // TTLs held within minTTL...maxTTL as a cache hit serves them: no client keeps it longer than we do.
            let capped = { (record: ResourceRecord) in
                var record = record
                record.ttl = settings.held(record.ttl)
                return record
            }
            response.answers = response.answers.map(capped)
            response.authority = response.authority.map(capped)
            response.additional = response.additional.map(capped)
        }
        response.header.id = query.header.id
        response.header.truncated = false
        response.questions = query.questions
        response.edns = replyEDNS(to: query)
        // An extended RCODE means nothing to a client without EDNS.
        if response.edns == nil && response.rcode.rawValue > 15 { response.rcode = .servFail }
        return response.serialized(maxSize: limit)
    }

    private func failure(to query: Message, limit: Int) -> [UInt8] {
        Message(
            header: Header(
                id: query.header.id, isResponse: true, recursionDesired: query.header.recursionDesired,
                recursionAvailable: true, checkingDisabled: query.header.checkingDisabled),
            rcode: .servFail, questions: query.questions, edns: replyEDNS(to: query)
        ).serialized(maxSize: limit)
    }

    /// Our OPT for a client that sent one: our payload size, DO echoed, and our identity as NSID when asked
    /// (RFC 5001), as the pipeline gives on its own answers.
    private func replyEDNS(to query: Message) -> EDNS? {
        guard let edns = query.edns else { return nil }
        var reply = EDNS(udpPayloadSize: UInt16(udpPayloadLimit), dnssecOK: edns.dnssecOK)
        if edns.options.contains(where: { $0.code == EDNSOption.nsidCode }),
            let identity = processor?.snapshot.settings.identity
        {
            reply.options.append(EDNSOption(code: EDNSOption.nsidCode, data: Array(identity.utf8)))
        }
        return reply
    }
}
