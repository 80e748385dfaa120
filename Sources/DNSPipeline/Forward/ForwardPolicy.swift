import DNSWire

/// What came back from a forwarded query's upstreams.
public enum UpstreamResult: Sendable {
    /// A reply that matched our query (any RCODE).
    case answer(Message)
    /// Only a truncated UDP reply: its TCP retry failed on every upstream that sent one.
    case truncated(Message)
    /// Nothing usable: every upstream timed out or failed, or the query was shed before it was sent.
    case none
}

/// The client's response to a forwarded query, and what it was made from.
public struct ForwardedResponse: Sendable {
    public enum Kind: Sendable, Equatable {
        /// The upstream's reply, as the client's.
        case answer
        /// The upstream's truncated reply, TC set, for a client to retry over TCP.
        case truncated
        /// An expired cached answer (RFC 8767), served because no upstream answered.
        case stale
        /// SERVFAIL: no upstream answered and nothing stale was cached.
        case servFail
    }

    public var bytes: [UInt8]
    public var kind: Kind
}

/// How a forwarded query's outcome becomes the client's response (DESIGN.md sections 4 and 7): socket-free, so
/// every rule here is tested without an upstream. The upstream client only reports what came back.
public struct ForwardPolicy: Sendable {
    /// Our EDNS payload size (`limits.udpPayload`), written in our OPT.
    public var udpPayloadLimit: Int
    /// Our NSID when a client asks (`identity`); nil when hidden.
    public var identity: String?
    /// The cache's TTL floor and ceiling, applied to a forwarded answer as to a cache hit; nil without a cache.
    public var cacheSettings: CacheSettings?

    public init(udpPayloadLimit: Int = 1232, identity: String? = nil, cacheSettings: CacheSettings? = nil) {
        self.udpPayloadLimit = udpPayloadLimit
        self.identity = identity
        self.cacheSettings = cacheSettings
    }

    /// The client's response. A SERVFAIL from upstream is a failure as a timeout is: a stale answer beats both
    /// (`stale` is asked only then). A truncated reply whose TCP retry failed is still an answer, TC set.
    public func response(
        to query: ForwardedQuery, result: UpstreamResult, stale: () -> [UInt8]?
    ) -> ForwardedResponse {
        switch result {
        case .answer(let answer) where answer.rcode == .servFail:
            if let bytes = stale() { return ForwardedResponse(bytes: bytes, kind: .stale) }
            return ForwardedResponse(bytes: clientResponse(answer, to: query, truncated: false), kind: .answer)
        case .answer(let answer):
            return ForwardedResponse(bytes: clientResponse(answer, to: query, truncated: false), kind: .answer)
        case .truncated(let answer):
            return ForwardedResponse(bytes: clientResponse(answer, to: query, truncated: true), kind: .truncated)
        case .none:
            if let bytes = stale() { return ForwardedResponse(bytes: bytes, kind: .stale) }
            return ForwardedResponse(bytes: failure(to: query), kind: .servFail)
        }
    }

    /// The upstream's answer as the client's: its ID, its question exactly as asked, TTLs held within the cache's
    /// bounds (a TTL with the top bit set counting as 0, RFC 2181 8), our OPT when it sent one, cut to its size.
    func clientResponse(_ answer: Message, to query: ForwardedQuery, truncated: Bool) -> [UInt8] {
        var response = answer
        let settings = cacheSettings
        let held = { (record: ResourceRecord) in
            var record = record
            record.ttl = settings?.held(record.ttl) ?? CacheSettings.effectiveTTL(record.ttl)
            return record
        }
        response.answers = response.answers.map(held)
        response.authority = response.authority.map(held)
        response.additional = response.additional.map(held)
        response.header.id = query.id
        response.header.truncated = truncated
        response.header.recursionDesired = query.recursionDesired
        response.header.checkingDisabled = query.checkingDisabled
        response.questions = [query.question]
        response.edns = replyEDNS(to: query, nsid: true)
        // An extended RCODE means nothing to a client without EDNS.
        if response.edns == nil && response.rcode.rawValue > 15 { response.rcode = .servFail }
        let bytes = response.serialized(maxSize: query.limit)
        // NSID is for the operator and must never be why an answer is cut (as on the pipeline's own answers).
        guard query.edns?.wantsNSID == true, identity != nil, bytes[2] & 0x02 != 0, !truncated else { return bytes }
        response.edns = replyEDNS(to: query, nsid: false)
        return response.serialized(maxSize: query.limit)
    }

    /// SERVFAIL with the question, RA, and our OPT when the client sent one.
    func failure(to query: ForwardedQuery) -> [UInt8] {
        Message(
            header: Header(
                id: query.id, isResponse: true, recursionDesired: query.recursionDesired, recursionAvailable: true,
                checkingDisabled: query.checkingDisabled),
            rcode: .servFail, questions: [query.question], edns: replyEDNS(to: query, nsid: true)
        ).serialized(maxSize: query.limit)
    }

    /// Our OPT for a client that sent one: our payload size, DO echoed, the client's ECS with scope 0, and our
    /// identity as NSID when asked (RFC 5001), as the pipeline gives on its own answers and cache hits.
    private func replyEDNS(to query: ForwardedQuery, nsid: Bool) -> EDNS? {
        guard let edns = query.edns else { return nil }
        var reply = EDNS(udpPayloadSize: UInt16(clamping: udpPayloadLimit), dnssecOK: edns.dnssecOK)
        if nsid, edns.wantsNSID, let identity {
            reply.options.append(EDNSOption(code: EDNSOption.nsidCode, data: Array(identity.utf8)))
        }
        if let subnet = query.subnetEcho { reply.options.append(subnet) }
        return reply
    }
}

extension QueryProcessor {
    /// The forwarding policy of the snapshot being served (its identity and payload limit) and the cache.
    public var forwardPolicy: ForwardPolicy {
        let settings = snapshot.settings
        return ForwardPolicy(
            udpPayloadLimit: settings.udpPayloadLimit, identity: settings.identity, cacheSettings: cache?.settings)
    }
}
