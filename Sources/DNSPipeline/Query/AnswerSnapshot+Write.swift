import DNSWire

/// Writing responses: precompiled templates patched in place, negative answers and errors assembled from the
/// query's own question bytes. None of these allocate once `response` has grown to its working size.
extension AnswerSnapshot {
    /// Header flags of a response: QR, the query's opcode (0x7800) and RD (0x0100), CD (0x0010) echoed (RFC 1035 4.1.1, RFC 4035 3.1.6).
    @inline(__always)
    func responseFlags(queryFlags: UInt16, authoritative: Bool, rcode: RCode) -> UInt16 {
        0x8000 | (queryFlags & 0x7900) | (queryFlags & 0x0010) | (authoritative ? 0x0400 : 0)
            | UInt16(rcode.headerBits)
    }

    func writeTemplate(
        _ index: Int, plan: Int, view: QueryView, query: UnsafeRawBufferPointer, client: ClientContext,
        reply: ReplyOptions, into response: inout [UInt8], entropy: RotationEntropy
    ) {
        templates.withTemplate(index) { template in
            // The query up to its question's end (its ID, and its question: the letter case echoed, DNS 0x20,
            // and the type, as a CNAME node's fallback template serves every type it lacks; the class is IN, or
            // the query was refused before it got here), then the template's answer, in one append; then the
            // template's header over the query's, but for the ID.
            let header = TemplateStore.headerLength
            let rest = UnsafeRawBufferPointer(rebasing: template[header...])
            response.append(
                contentsOf: JoinedBytes(UnsafeRawBufferPointer(rebasing: query[..<view.questionEnd]), rest))
            response.withUnsafeMutableBytes { out in
                (out.baseAddress! + 2).copyMemory(from: template.baseAddress! + 2, byteCount: header - 2)
                out[2] |= query[2] & 0x01  // RD
                out[3] |= query[3] & 0x10  // CD
                if plan >= 0 {
                    rotations.rotate(
                        plan, answers: rest.baseAddress!, into: out.baseAddress! + view.questionEnd,
                        entropy: entropy)
                }
            }
        }
        if plan >= 0 { rotations.limit(plan, response: &response) }
        appendOPT(view: view, rcode: .noError, query: query, reply: reply, into: &response)
        let limit = responseLimit(view: view, client: client)
        if response.count > limit {
            truncate(limit: limit, into: &response)
        }
    }

    /// An answer larger than the client accepts: the finished response (ID, case, rotation and OPT in place)
    /// cut in place to whole RRsets, TC set, without allocating. Rebuilt through the parser only where the
    /// in-place cut declines (a record kept after a left-out one that points into it).
    func truncate(limit: Int, into response: inout [UInt8]) {
        if Message.truncate(&response, to: limit) { return }
        guard let message = try? Message(parsing: response) else { return }
        response = message.serialized(maxSize: limit)
    }

    /// NXDOMAIN or NODATA with the zone's SOA in the authority section (RFC 2308 3), its owner a pointer to
    /// where the zone's origin begins inside the question's name.
    func writeNegative(
        _ rcode: RCode, zone: Int, view: QueryView, query: UnsafeRawBufferPointer, reply: ReplyOptions,
        into response: inout [UInt8]
    ) {
        writeHeaderAndQuestion(rcode, authoritative: true, view: view, query: query, into: &response)
        let originLength = zones[zone].origin.wire.count
        var position = view.nameStart
        while view.nameEnd - position > originLength && query[position] != 0 {
            position += 1 + Int(query[position])
        }
        response.append(0xC0 | UInt8(position >> 8))
        response.append(UInt8(truncatingIfNeeded: position))
        zones[zone].negativeSOA.withUnsafeBufferPointer { response.append(contentsOf: $0) }
        response[9] = 1  // NSCOUNT
        appendOPT(view: view, rcode: rcode, query: query, reply: reply, into: &response)
    }

    /// An error carrying the question (and OPT when the query had one): REFUSED, NOTIMP, BADVERS, FORMERR.
    func writeError(
        _ rcode: RCode, view: QueryView, query: UnsafeRawBufferPointer, reply: ReplyOptions,
        into response: inout [UInt8]
    ) {
        writeHeaderAndQuestion(rcode, authoritative: false, view: view, query: query, into: &response)
        appendOPT(view: view, rcode: rcode, query: query, reply: reply, into: &response)
    }

    /// A bare header for a query whose question could not be read.
    func writeError(_ rcode: RCode, id query: UnsafeRawBufferPointer, flags: UInt16, into response: inout [UInt8]) {
        let flags = responseFlags(queryFlags: flags, authoritative: false, rcode: rcode)
        response.append(query[0])
        response.append(query[1])
        response.append(UInt8(flags >> 8))
        response.append(UInt8(truncatingIfNeeded: flags))
        response.append(contentsOf: repeatElement(0, count: 8))
    }

    /// NOTIMP for an opcode other than QUERY: the header only (ID, opcode and RD echoed, no counts), as nothing
    /// after it was read. CD has a meaning only in a QUERY, so it is not echoed.
    func writeNotImplemented(_ query: UnsafeRawBufferPointer, into response: inout [UInt8]) {
        response.append(query[0])
        response.append(query[1])
        response.append(0x80 | (query[2] & 0x79))
        response.append(RCode.notImp.headerBits)
        response.append(contentsOf: repeatElement(0, count: 8))
    }

    /// A TSIG-signed query (RFC 8945 5.2.2): scdns holds no keys, so every key is unknown. NOTAUTH with the
    /// question, our OPT when the query had one, and an unsigned TSIG carrying BADKEY; FORMERR when the TSIG
    /// record does not have TSIG's layout.
    @inline(never)
    func writeBadKey(view: QueryView, query: UnsafeRawBufferPointer, tsigStart: Int, into response: inout [UInt8]) {
        guard let tsig = try? TSIGRecord(query, at: tsigStart) else {
            writeError(.formErr, view: view, query: query, reply: ReplyOptions(), into: &response)
            return
        }
        writeError(.notAuth, view: view, query: query, reply: ReplyOptions(), into: &response)
        response.append(contentsOf: tsig.errorRecord(error: TSIGRecord.badKey))
        let count = (UInt16(response[10]) << 8 | UInt16(response[11])) + 1
        response[10] = UInt8(count >> 8)
        response[11] = UInt8(truncatingIfNeeded: count)
    }

    func writeHeaderAndQuestion(
        _ rcode: RCode, authoritative: Bool, view: QueryView, query: UnsafeRawBufferPointer,
        into response: inout [UInt8]
    ) {
        let flags = responseFlags(queryFlags: view.flags, authoritative: authoritative, rcode: rcode)
        response.append(query[0])
        response.append(query[1])
        response.append(UInt8(flags >> 8))
        response.append(UInt8(truncatingIfNeeded: flags))
        response.append(contentsOf: [0, 1, 0, 0, 0, 0, 0, 0])
        response.append(contentsOf: UnsafeRawBufferPointer(rebasing: query[view.nameStart..<view.questionEnd]))
    }

    /// Our OPT record when the query had one (RFC 6891 7): our payload size, the extended RCODE bits, version 0,
    /// DO echoed (RFC 3225 3), the query's ECS option echoed with our scope (RFC 7871 7.2.1), and our identity
    /// as NSID when the query asked for it (RFC 5001 2.2), it is not hidden, and it fits the client's EDNS size:
    /// NSID is for the operator, and must never be why an answer is truncated.
    func appendOPT(
        view: QueryView, rcode: RCode, query: UnsafeRawBufferPointer, reply: ReplyOptions,
        into response: inout [UInt8]
    ) {
        guard let edns = view.edns else { return }
        let payload = UInt16(clamping: settings.udpPayloadLimit)
        let subnetLength = reply.subnet.map { 8 + $0.addressLength } ?? 0
        var nsidLength = reply.nsid ? nsidOption.count : 0
        if nsidLength > 0
            && response.count + 11 + subnetLength + nsidLength
                > max(512, min(Int(edns.udpPayloadSize), settings.udpPayloadLimit))
        {
            nsidLength = 0
        }
        let optionLength = subnetLength + nsidLength
        // Root owner, TYPE 41, CLASS = payload size, TTL = extended RCODE, version 0, DO; RDLENGTH.
        let record: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (
            0, 0, UInt8(RecordType.opt.rawValue), UInt8(payload >> 8), UInt8(truncatingIfNeeded: payload),
            rcode.extendedBits, 0, edns.dnssecOK ? 0x80 : 0, 0, UInt8(optionLength >> 8),
            UInt8(truncatingIfNeeded: optionLength)
        )
        withUnsafeBytes(of: record) { response.append(contentsOf: $0) }
        if nsidLength > 0 { response.append(contentsOf: nsidOption) }
        if let subnet = reply.subnet {
            let source = UInt8(subnet.sourcePrefixLength)
            let header: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (
                0, UInt8(EDNSOption.clientSubnetCode), 0, UInt8(4 + subnet.addressLength), 0,
                subnet.isIPv4 ? 1 : 2, source, reply.scope
            )
            withUnsafeBytes(of: header) { response.append(contentsOf: $0) }
            response.append(
                contentsOf: UnsafeRawBufferPointer(
                    rebasing: query[subnet.addressStart..<(subnet.addressStart + subnet.addressLength)]))
        }
        response.withUnsafeMutableBytes { out in
            let count = (UInt16(out[10]) << 8 | UInt16(out[11])) + 1
            out[10] = UInt8(count >> 8)
            out[11] = UInt8(truncatingIfNeeded: count)
        }
    }

    /// A CHAOS-class query (DESIGN.md section 1), answered as NSD and Knot answer it: `id.server` and
    /// `hostname.bind` TXT give the identity, `version.server` and `version.bind` TXT the version, authoritative
    /// and with TTL 0; another type at those names is NODATA. A hidden value and every other CHAOS name: REFUSED.
    @inline(never)
    func writeChaos(view: QueryView, query: UnsafeRawBufferPointer, reply: ReplyOptions, into response: inout [UInt8]) {
        let name = UnsafeRawBufferPointer(rebasing: query[view.nameStart..<view.nameEnd])
        let text: String?
        if Self.chaosIdentityNames.contains(where: { Self.equalIgnoringCase($0, name) }) {
            text = settings.identity
        } else if Self.chaosVersionNames.contains(where: { Self.equalIgnoringCase($0, name) }) {
            text = settings.version
        } else {
            text = nil
        }
        guard let text else {
            writeError(.refused, view: view, query: query, reply: reply, into: &response)
            return
        }
        writeHeaderAndQuestion(.noError, authoritative: true, view: view, query: query, into: &response)
        if view.type == .txt || view.type == .any {
            // One character-string (RFC 1035 3.3.14): the config keeps both values to 255 octets.
            let string = text.utf8.prefix(255)
            // Owner: a pointer to the question's name; TXT, CH, TTL 0; RDLENGTH.
            let length = 1 + string.count
            response.append(contentsOf: [0xC0, 12, 0, UInt8(RecordType.txt.rawValue), 0, 3, 0, 0, 0, 0])
            response.append(contentsOf: [UInt8(length >> 8), UInt8(length & 0xFF), UInt8(string.count)])
            response.append(contentsOf: string)
            response[7] = 1  // ANCOUNT
        }
        appendOPT(view: view, rcode: .noError, query: query, reply: reply, into: &response)
    }

    static let chaosIdentityNames: [[UInt8]] = [
        Array("\u{2}id\u{6}server\u{0}".utf8), Array("\u{8}hostname\u{4}bind\u{0}".utf8),
    ]
    static let chaosVersionNames: [[UInt8]] = [
        Array("\u{7}version\u{6}server\u{0}".utf8), Array("\u{7}version\u{4}bind\u{0}".utf8),
    ]

    /// Whether a wire name equals `lowercase` (a lower-case wire name) ignoring ASCII case; length octets are
    /// below 64, so folding them as letters changes nothing.
    static func equalIgnoringCase(_ lowercase: [UInt8], _ name: UnsafeRawBufferPointer) -> Bool {
        guard lowercase.count == name.count else { return false }
        for index in 0..<name.count {
            let octet = name[index]
            let folded = octet >= 0x41 && octet <= 0x5A ? octet | 0x20 : octet
            if folded != lowercase[index] { return false }
        }
        return true
    }
}

/// Two byte ranges as one sequence, so an array appends them with one reservation and two block copies: an
/// `append(contentsOf:)` costs several times more than the copy of a question's 40 octets (callgrind).
struct JoinedBytes: Sequence {
    let first: UnsafeRawBufferPointer
    let second: UnsafeRawBufferPointer

    init(_ first: UnsafeRawBufferPointer, _ second: UnsafeRawBufferPointer) {
        self.first = first
        self.second = second
    }

    var underestimatedCount: Int {
        @inline(__always) get { first.count + second.count }
    }

    struct Iterator: IteratorProtocol {
        let joined: JoinedBytes
        var position: Int

        mutating func next() -> UInt8? {
            defer { position += 1 }
            if position < joined.first.count { return joined.first[position] }
            let inSecond = position - joined.first.count
            return inSecond < joined.second.count ? joined.second[inSecond] : nil
        }
    }

    func makeIterator() -> Iterator { Iterator(joined: self, position: 0) }

    /// What `Array.append(contentsOf:)` calls to fill the room it reserved: two block copies instead of an
    /// octet at a time through the iterator.
    @inline(__always)
    func _copyContents(initializing buffer: UnsafeMutableBufferPointer<UInt8>) -> (Iterator, Int) {
        let count = Swift.min(buffer.count, underestimatedCount)
        guard count > 0, let destination = buffer.baseAddress else { return (makeIterator(), 0) }
        let fromFirst = Swift.min(first.count, count)
        if fromFirst > 0 {
            UnsafeMutableRawPointer(destination).copyMemory(from: first.baseAddress!, byteCount: fromFirst)
        }
        if count > fromFirst {
            UnsafeMutableRawPointer(destination + fromFirst).copyMemory(
                from: second.baseAddress!, byteCount: count - fromFirst)
        }
        return (Iterator(joined: self, position: count), count)
    }
}
