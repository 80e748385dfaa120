import DNSWire

extension AnswerSnapshot {
    /// The whole answering policy of DESIGN.md sections 1 and 3 for one query. `entropy` is asked for bits
    /// only when an answer has a tier to rotate.
    func respond(
        to query: UnsafeRawBufferPointer, client: ClientContext, into response: inout [UInt8],
        entropy: RotationEntropy, cache: ResponseCache? = nil, facts: inout QueryFacts
    ) -> QueryOutcome {
        response.removeAll(keepingCapacity: true)
        facts.type = 0
        facts.zoneSlot = 0
        facts.extendedRCode = 0
        // Fewer than 12 octets has no ID to answer to; a response must never be answered (loops).
        guard query.count >= 12, query[2] & 0x80 == 0 else { return .drop }
        // Any opcode but QUERY is NOTIMP from the header alone (DESIGN.md section 1, RFC 8906 3.1.3): an
        // UPDATE's records or a NOTIFY without a question must not turn it into a FORMERR.
        if query[2] & 0x78 != 0 {
            writeNotImplemented(query, into: &response)
            return .respond
        }
        let view: QueryView
        do {
            view = try QueryView.scan(query)
        } catch {
            writeError(.formErr, id: query, flags: UInt16(query[2]) << 8, into: &response)
            return .respond
        }
        guard view.questionCount == 1 else {
            writeError(.formErr, id: query, flags: view.flags, into: &response)
            return .respond
        }
        facts.type = view.type.rawValue
        var reply = ReplyOptions()
        if let tsigStart = view.tsigStart {
            writeBadKey(view: view, query: query, tsigStart: tsigStart, into: &response)
            return .respond
        }
        if let edns = view.edns {
            if edns.version > 0 {
                facts.extendedRCode = UInt8(truncatingIfNeeded: RCode.badVers.rawValue >> 4)
                writeError(.badVers, view: view, query: query, reply: reply, into: &response)
                return .respond
            }
            do {
                reply = try ReplyOptions(query: query, options: edns.optionsStart..<edns.optionsEnd)
            } catch {
                // RFC 7871 7.1.1: a malformed ECS option is a FORMERR.
                writeError(.formErr, view: view, query: query, reply: reply, into: &response)
                return .respond
            }
        }
        guard allow.contains(client.address), view.qclass == .in else {
            if view.qclass == .ch && allow.contains(client.address) {
                writeChaos(view: view, query: query, reply: reply, into: &response)
            } else {
                writeError(.refused, view: view, query: query, reply: reply, into: &response)
            }
            return .respond
        }
        switch view.type {
        case .opt:
            writeError(.formErr, view: view, query: query, reply: reply, into: &response)
            return .respond
        case .axfr, .ixfr:
            writeError(.refused, view: view, query: query, reply: reply, into: &response)
            return .respond
        case let type where type.isMetaType && type != .any:
            writeError(.notImp, view: view, query: query, reply: reply, into: &response)
            return .respond
        default:
            break
        }

        let name = UnsafeRawBufferPointer(rebasing: query[view.nameStart..<view.nameEnd])
        guard let index = table.lookup(name) else {
            // An overlay answers the names it lacks from its base, unless they are gone; negative answers cite
            // the overlay's zones, whose SOA carries the new serial.
            if let base, removed.lookup(name) == nil, let found = base.table.lookup(name) {
                return base.answerForOverlay(
                    found, view: view, query: query, client: client, reply: &reply, into: &response,
                    entropy: entropy, facts: &facts, overlay: self)
            }
            if let zone = coveringZone(of: name) {
                facts.zoneSlot = zoneSlots[zone]
                writeNegative(.nxDomain, zone: zone, view: view, query: query, reply: reply, into: &response)
            } else if let rule = longestSuffix(of: name, in: forwardTable, lengths: forwardLengths) {
                // Only names outside every zone of ours get here, so CoreDNS -> scdns -> CoreDNS cannot loop
                // on a name scdns is authoritative for. A cache hit is answered here, on the fast path.
                facts.zoneSlot = zoneSlots[zones.count + rule]
                if let cache, cache.answer(query, view: view, rule: rule, into: &response) {
                    finishCached(view: view, query: query, client: client, reply: reply, into: &response)
                    return .respond
                }
                return .forward(ForwardPlan(rule: rule))
            } else {
                writeError(.refused, view: view, query: query, reply: reply, into: &response)
            }
            return .respond
        }
        return answer(
            index, view: view, query: query, client: client, reply: &reply, into: &response, entropy: entropy,
            facts: &facts, negatives: self)
    }

    /// `answer` for a name an overlay leaves to this, its base: out of line, so the answering path of a snapshot
    /// without an overlay inlines `answer` once.
    @inline(never)
    private func answerForOverlay(
        _ index: Int, view: QueryView, query: UnsafeRawBufferPointer, client: ClientContext,
        reply: inout ReplyOptions, into response: inout [UInt8], entropy: RotationEntropy,
        facts: inout QueryFacts, overlay: AnswerSnapshot
    ) -> QueryOutcome {
        answer(
            index, view: view, query: query, client: client, reply: &reply, into: &response, entropy: entropy,
            facts: &facts, negatives: overlay)
    }

    /// The answer of node `index` of this snapshot. `negatives` writes NODATA (its zones' SOA): the snapshot
    /// itself, or the overlay whose base this is. Transparent: `@inline(__always)` left it out of line (+30
    /// instructions a query, `bench/pipeline-callgrind.sh hit`); inlined, the split costs nothing.
    @_transparent
    private func answer(
        _ index: Int, view: QueryView, query: UnsafeRawBufferPointer, client: ClientContext,
        reply: inout ReplyOptions, into response: inout [UInt8], entropy: RotationEntropy, facts: inout QueryFacts,
        negatives: AnswerSnapshot
    ) -> QueryOutcome {
        let node = nodes[index]
        facts.zoneSlot = node.zoneSlot
        var template = node.fallbackTemplate
        var plan: Int32 = -1
        if view.type == .any {
            template = node.anyTemplate
        } else {
            let wanted = view.type.rawValue
            let first = Int(node.firstType)
            for position in first..<(first + Int(node.typeCount)) where types.codes[position] == wanted {
                template = types.templates[position]
                let variant = types.variants[position]
                if variant >= 0 {
                    let (locality, scope) = clientLocality(client: client, subnet: reply.subnet)
                    template = types.variantTemplates[Int(variant) + locality]
                    plan = types.variantPlans[Int(variant) + locality]
                    let choice = types.variantChoices[Int(variant) + locality]
                    if choice >= 0 { template = types.choices.pick(Int(choice), bits: entropy.next()) }
                    reply.scope = scope
                }
                break
            }
        }
        if template >= 0 {
            writeTemplate(
                Int(template), plan: Int(plan), view: view, query: query, client: client, reply: reply,
                into: &response, entropy: entropy)
        } else if node.zone >= 0 {
            negatives.writeNegative(
                .noError, zone: Int(node.zone), view: view, query: query, reply: reply, into: &response)
        } else {
            // A registry reverse name outside every zone: it exists, but we hold no SOA to cite.
            writeHeaderAndQuestion(.noError, authoritative: true, view: view, query: query, into: &response)
            appendOPT(view: view, rcode: .noError, query: query, reply: reply, into: &response)
        }
        return .respond
    }

    /// Serves an expired cached answer for `query` (RFC 8767) when every upstream failed; false when there is
    /// none. The upstream client calls this, off the fast path.
    func respondStale(
        to query: UnsafeRawBufferPointer, client: ClientContext, cache: ResponseCache, into response: inout [UInt8]
    ) -> Bool {
        response.removeAll(keepingCapacity: true)
        guard let view = try? QueryView.scan(query), view.questionCount == 1,
            cache.stale(query, view: view, into: &response)
        else { return false }
        var reply = ReplyOptions()
        if let edns = view.edns {
            reply = (try? ReplyOptions(query: query, options: edns.optionsStart..<edns.optionsEnd)) ?? ReplyOptions()
        }
        finishCached(view: view, query: query, client: client, reply: reply, into: &response)
        return true
    }

    /// Our OPT on a cached answer, and the client's size limit.
    private func finishCached(
        view: QueryView, query: UnsafeRawBufferPointer, client: ClientContext, reply: ReplyOptions,
        into response: inout [UInt8]
    ) {
        appendOPT(view: view, rcode: .noError, query: query, reply: reply, into: &response)
        let limit = responseLimit(view: view, client: client)
        if response.count > limit { truncate(limit: limit, into: &response) }
    }

    /// The client's locality index (DESIGN.md section 3) and the ECS scope it was found with: the ECS subnet
    /// matched against `clients:`, else the source address, else this instance's own locality (index 0).
    @inline(__always)
    func clientLocality(client: ClientContext, subnet: ClientSubnet?) -> (Int, UInt8) {
        guard !localities.isEmpty else { return (0, 0) }
        // A source prefix of 0 is the client opting out of ECS (RFC 7871 7.1.2): use the source address.
        if let subnet, subnet.sourcePrefixLength > 0 {
            let (found, scope) = localities.locate(subnet)
            // A subnet in no network gets the source address's locality, as does every subnet its scope covers.
            return (found ?? localities.locate(client.address)?.locality ?? 0, UInt8(scope))
        }
        if let found = localities.locate(client.address) { return (found.locality, 0) }
        return (0, 0)
    }

    /// The zone whose origin is the longest suffix of `name`. Suffixes are tried from the longest, and only
    /// those whose length some origin has are looked up.
    func coveringZone(of name: UnsafeRawBufferPointer) -> Int? {
        longestSuffix(of: name, in: zoneTable, lengths: zoneLengths)
    }

    /// The value of the longest suffix of `name` (label boundaries only) found in `table`.
    func longestSuffix(of name: UnsafeRawBufferPointer, in table: NameTable, lengths: LengthSet) -> Int? {
        var position = 0
        while position < name.count {
            let suffixLength = name.count - position
            if lengths.contains(suffixLength),
                let value = table.lookup(UnsafeRawBufferPointer(rebasing: name[position...]))
            {
                return value
            }
            if name[position] == 0 { break }
            position += 1 + Int(name[position])
        }
        return nil
    }

    /// The largest response this client may receive (RFC 1035 4.2.1, RFC 6891 6.2.5, capped by our limit).
    func responseLimit(view: QueryView, client: ClientContext) -> Int {
        guard client.transport == .udp else { return 65535 }
        guard let edns = view.edns else { return 512 }
        return max(512, min(Int(edns.udpPayloadSize), settings.udpPayloadLimit))
    }
}

/// What a response's OPT record carries besides the basics: the query's ECS option, with the scope the answer
/// actually depended on (0 when it is the same for every client, RFC 7871 7.2.1), and our NSID when asked.
struct ReplyOptions {
    var subnet: ClientSubnet? = nil
    var scope: UInt8 = 0
    /// The query carried an NSID option (RFC 5001 2.1): the reply names this instance.
    var nsid = false

    init() {}

    /// The options of a query's OPT record (`options` of `packet`, framing already checked by the scan) that
    /// shape the reply: ECS, of which more than one is malformed (RFC 7871 7.1.2), and NSID.
    init(query packet: UnsafeRawBufferPointer, options: Range<Int>) throws(ClientSubnet.Invalid) {
        var position = options.lowerBound
        while position + 4 <= options.upperBound {
            let code = UInt16(packet[position]) << 8 | UInt16(packet[position + 1])
            let length = Int(packet[position + 2]) << 8 | Int(packet[position + 3])
            let dataStart = position + 4
            if code == EDNSOption.clientSubnetCode {
                guard subnet == nil else { throw .malformed }
                subnet = try ClientSubnet(packet, start: dataStart, end: dataStart + length)
            } else if code == EDNSOption.nsidCode {
                nsid = true
            }
            position = dataStart + length
        }
    }
}
