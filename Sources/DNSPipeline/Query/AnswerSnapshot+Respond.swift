import DNSWire

extension AnswerSnapshot {
    /// The whole answering policy of DESIGN.md section 1 for one query.
    func respond(to query: UnsafeRawBufferPointer, client: ClientContext, into response: inout [UInt8]) -> QueryOutcome
    {
        response.removeAll(keepingCapacity: true)
        // Fewer than 12 octets has no ID to answer to; a response must never be answered (loops).
        guard query.count >= 12, query[2] & 0x80 == 0 else { return .drop }
        let view: QueryView
        do {
            view = try QueryView.scan(query)
        } catch {
            writeError(.formErr, id: query, flags: UInt16(query[2]) << 8, into: &response)
            return .respond
        }
        let edns = view.edns
        guard view.questionCount == 1 else {
            writeError(.formErr, id: query, flags: view.flags, into: &response)
            return .respond
        }
        if view.opcode != .query {
            writeError(.notImp, view: view, query: query, into: &response)
            return .respond
        }
        if let edns, edns.version > 0 {
            writeError(.badVers, view: view, query: query, into: &response)
            return .respond
        }
        guard allow.contains(client.address), view.qclass == .in else {
            writeError(.refused, view: view, query: query, into: &response)
            return .respond
        }
        switch view.type {
        case .opt:
            writeError(.formErr, view: view, query: query, into: &response)
            return .respond
        case .axfr, .ixfr:
            writeError(.refused, view: view, query: query, into: &response)
            return .respond
        case let type where type.isMetaType && type != .any:
            writeError(.notImp, view: view, query: query, into: &response)
            return .respond
        default:
            break
        }

        let name = UnsafeRawBufferPointer(rebasing: query[view.nameStart..<view.nameEnd])
        if let index = table.lookup(name) {
            let node = nodes[index]
            var template = node.fallbackTemplate
            if view.type == .any {
                template = node.anyTemplate
            } else {
                let wanted = view.type.rawValue
                let first = Int(node.firstType)
                for position in first..<(first + Int(node.typeCount)) where typeCodes[position] == wanted {
                    template = typeTemplates[position]
                    break
                }
            }
            if template >= 0 {
                writeTemplate(Int(template), view: view, query: query, client: client, into: &response)
            } else if node.zone >= 0 {
                writeNegative(.noError, zone: Int(node.zone), view: view, query: query, into: &response)
            } else {
                // A registry reverse name outside every zone: it exists, but we hold no SOA to cite.
                writeHeaderAndQuestion(.noError, authoritative: true, view: view, query: query, into: &response)
                appendOPT(view: view, rcode: .noError, into: &response)
            }
            return .respond
        }
        if let zone = coveringZone(of: name) {
            writeNegative(.nxDomain, zone: zone, view: view, query: query, into: &response)
        } else {
            writeError(.refused, view: view, query: query, into: &response)
        }
        return .respond
    }

    /// The zone whose origin is the longest suffix of `name`. Suffixes are tried from the longest, and only
    /// those whose length some origin has are looked up.
    func coveringZone(of name: UnsafeRawBufferPointer) -> Int? {
        var position = 0
        while position < name.count {
            let suffixLength = name.count - position
            if zoneLengths.contains(suffixLength),
                let zone = zoneTable.lookup(UnsafeRawBufferPointer(rebasing: name[position...]))
            {
                return zone
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
