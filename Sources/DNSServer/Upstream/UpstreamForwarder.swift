import DNSPipeline
import DNSWire
import Logging
import NIOCore
import Synchronization

/// Resolves forwarded queries (DESIGN.md section 4): our own query upstream (random ID, random source port,
/// our OPT with payload 1232, the client's ECS not passed on), the reply checked against ID and question,
/// TCP when the reply is truncated or the client came over TCP, failover through the rule's upstreams
/// within its timeouts. What the client gets from that (the answer, a truncated one, stale, SERVFAIL) is the
/// pipeline's `ForwardPolicy`.
///
/// This is the server's one asynchronous edge: the answering pipeline only says which rule applies. What it
/// holds is bounded: at most `maxInFlight` distinct questions are being resolved at once (identical ones share
/// an exchange), and a query over that is answered at once, stale or SERVFAIL, rather than given a task and a
/// socket (a random-subdomain flood against a slow upstream would otherwise exhaust file descriptors).
final class UpstreamForwarder: Sendable {
    let targets: [ForwardTarget]
    private let addresses: [[SocketAddress]]
    /// One reused, pipelined TCP connection per upstream, for TCP clients and truncated UDP replies.
    private let connections: [[UpstreamTCPConnection]]
    private let group: EventLoopGroup
    private let udpPayloadLimit: Int
    /// Its cache stores answers and serves them stale; its snapshot gives the forwarding policy (identity).
    private let processor: QueryProcessor?
    /// Counts each exchange and failed health check, when the server has metrics.
    private let metrics: ServerMetrics?
    private let logger: Logger
    private let turn = Atomic<Int>(0)
    private let inFlight = Mutex<[InFlightKey: Task<UpstreamResult, Never>]>([:])
    /// Questions being resolved at once, at most (`limits.forwardInFlight`).
    let maxInFlight: Int
    /// Queries answered without being sent because `maxInFlight` were being resolved (`/metrics`).
    let shed = Atomic<Int>(0)
    /// Loop detection: probe names sent upstream at start-up, by rule, and the rules found to loop.
    private let probes = Mutex<[DNSName: Int]>([:])
    private let looping = Mutex<Set<Int>>([])
    private let unhealthy = Mutex<Set<UpstreamID>>([])
    /// Failures are logged at most once a second with how many were not, so a flood cannot flood the log.
    private let failureLog = LogLimiter(interval: .seconds(1))

    init(
        targets: [ForwardTarget], group: EventLoopGroup, udpPayloadLimit: Int, processor: QueryProcessor? = nil,
        metrics: ServerMetrics? = nil, maxInFlight: Int = 1024, maxPendingPerConnection: Int = 256,
        logger: Logger
    ) throws {
        self.processor = processor
        self.metrics = metrics
        self.targets = targets
        let addresses = try targets.map { target in
            try target.upstreams.map { try SocketAddress(ipAddress: $0.host, port: $0.port) }
        }
        self.addresses = addresses
        self.connections = addresses.map {
            $0.map { UpstreamTCPConnection(upstream: $0, group: group, maxPending: maxPendingPerConnection) }
        }
        self.group = group
        self.udpPayloadLimit = udpPayloadLimit
        self.maxInFlight = maxInFlight
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
        guard let query = ForwardedQuery(bytes, overTCP: overTCP, udpPayloadLimit: udpPayloadLimit) else {
            return nil
        }
        if let probed = probes.withLock({ $0[query.question.name] }) {
            // Our own probe came back: this rule's upstream forwards to us. Answer nothing, or it goes round.
            markLooping(probed)
            return nil
        }
        let result: UpstreamResult
        if looping.withLock({ $0.contains(rule) }) {
            result = .none
        } else {
            result = await coalescedExchange(query, rule: rule, overTCP: overTCP)
        }
        let policy = processor?.forwardPolicy ?? ForwardPolicy(udpPayloadLimit: udpPayloadLimit)
        let response = policy.response(to: query, result: result) {
            let client = ClientContext(address: .v4(0), transport: overTCP ? .tcp : .udp)
            return processor?.staleResponse(bytes, client: client)
        }
        switch response.kind {
        case .stale:
            failureLog.log(logger, "every upstream failed: serving stale", ["question": "\(query.question)"])
        case .servFail:
            failureLog.log(
                logger, "every upstream failed: SERVFAIL",
                ["zone": "\(targets[rule].zone)", "question": "\(query.question)"])
        case .truncated:
            failureLog.log(
                logger, "TCP retry of a truncated reply failed: the truncated reply is sent",
                ["question": "\(query.question)"])
        case .answer:
            break
        }
        return response.bytes
    }

    /// Identical questions in flight at once (name without case, type, class, DO, CD) share one upstream
    /// exchange: a burst of clients asking for the same expired name sends one query upstream, not one each.
    /// A new question while `maxInFlight` are being resolved is shed: nothing is sent for it.
    private func coalescedExchange(_ query: ForwardedQuery, rule: Int, overTCP: Bool) async -> UpstreamResult {
        let question = query.question
        let key = InFlightKey(
            rule: rule, name: question.name, type: question.type, qclass: question.qclass,
            dnssecOK: query.edns?.dnssecOK ?? false, checkingDisabled: query.checkingDisabled)
        let joined = inFlight.withLock { inFlight -> (Task<UpstreamResult, Never>, Bool)? in
            if let running = inFlight[key] { return (running, false) }
            guard inFlight.count < maxInFlight else { return nil }
            let task = Task { await self.exchange(query, rule: rule, overTCP: overTCP) }
            inFlight[key] = task
            metrics?.forwardInFlight(inFlight.count)
            return (task, true)
        }
        guard let (task, leader) = joined else {
            shed.wrappingAdd(1, ordering: .relaxed)
            metrics?.forwardShed()
            return .none
        }
        let result = await task.value
        if leader {
            inFlight.withLock { inFlight in
                inFlight[key] = nil
                metrics?.forwardInFlight(inFlight.count)
            }
            if case .answer(let answer) = result { processor?.cache?.store(answer, for: query.bytes) }
        }
        return result
    }

    /// Whether an upstream is marked down (failed, and no health check answered since).
    func isDown(rule: Int, index: Int) -> Bool {
        unhealthy.withLock { $0.contains(UpstreamID(rule: rule, index: index)) }
    }

    /// Queries waiting on an upstream's TCP connection.
    func pendingOverTCP(rule: Int, index: Int) -> Int {
        connections[rule][index].pendingCount
    }

    /// Questions being resolved now.
    var inFlightCount: Int { inFlight.withLock { $0.count } }

    private struct InFlightKey: Hashable {
        var rule: Int
        var name: DNSName
        var type: RecordType
        var qclass: RecordClass
        var dnssecOK: Bool
        var checkingDisabled: Bool
    }

    /// Our query to the rule's upstreams in policy order until one answers, within the rule's timeouts. A
    /// truncated UDP reply is retried over TCP; if that fails, the next upstream is tried, and the truncated
    /// reply is the result when none does better. A local failure (no socket to be had, a connection's queue
    /// full) is ours, not the upstream's: it never marks an upstream down.
    private func exchange(_ query: ForwardedQuery, rule: Int, overTCP: Bool) async -> UpstreamResult {
        let target = targets[rule]
        let deadline = ContinuousClock.now + target.timeout
        var truncated: Message? = nil
        for index in order(rule) {
            let left = deadline - ContinuousClock.now
            guard left > .zero else { break }
            let upstream = addresses[rule][index]
            let outgoing = query.upstreamQuery(id: UInt16.random(in: .min ... .max))
            let timeout = min(target.tryTimeout, left)
            let started = ContinuousClock.now
            let connection = connections[rule][index]
            var answeredOverUDP = false
            do {
                var answer: Message
                if overTCP {
                    answer = try await connection.exchange(outgoing, timeout: timeout)
                } else {
                    answer = try await UpstreamExchange.udp(outgoing, to: upstream, timeout: timeout, group: group)
                    if answer.header.truncated {
                        truncated = answer
                        answeredOverUDP = true
                        answer = try await connection.exchange(
                            outgoing, timeout: min(target.tryTimeout, deadline - ContinuousClock.now))
                    }
                }
                metrics?.forwarded(
                    upstream: "\(target.upstreams[index])", rcode: answer.rcode.description,
                    duration: ContinuousClock.now - started)
                return .answer(answer)
            } catch let error as UpstreamExchange.LocalFailure {
                logger.debug(
                    "forwarding failed here, not at the upstream",
                    metadata: ["upstream": "\(target.upstreams[index])", "error": "\(error)"])
            } catch {
                metrics?.forwarded(
                    upstream: "\(target.upstreams[index])",
                    rcode: error is UpstreamExchange.Timeout ? "timeout" : "error",
                    duration: ContinuousClock.now - started)
                logger.debug(
                    "upstream failed", metadata: ["upstream": "\(target.upstreams[index])", "error": "\(error)"])
                // An upstream that answered over UDP is alive even when its TCP retry failed.
                if !answeredOverUDP { markDown(rule: rule, index: index) }
            }
        }
        return truncated.map { .truncated($0) } ?? .none
    }

    /// Refreshes a cached answer in the background (prefetch): the same exchange as a miss, coalesced with any
    /// in flight, stored in the cache when it succeeds; nothing is sent to a client.
    func refresh(_ bytes: [UInt8], rule: Int) {
        guard let query = ForwardedQuery(bytes, overTCP: false, udpPayloadLimit: udpPayloadLimit) else { return }
        Task { _ = await coalescedExchange(query, rule: rule, overTCP: false) }
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
                    let bytes = Message(
                        header: Header(id: 0, recursionDesired: true), questions: [Question(name: probe, type: .hinfo)]
                    ).serialized()
                    guard let query = ForwardedQuery(bytes, overTCP: false, udpPayloadLimit: self.udpPayloadLimit)
                    else { return }
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
}
