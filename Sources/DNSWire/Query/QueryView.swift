/// What the answering fast path needs from a query, found without allocating: the header fields, where the
/// question's name lies in the packet, its type and class, and the OPT record's fields.
///
/// It checks the framing of the whole message (every record's owner name, fixed fields and RDLENGTH, OPT and
/// TSIG placement, no trailing octets) and the OPT record's options, but skips the RDATA of every other record
/// by its length: decoding names inside RDATA is work an attacker could multiply by packing a query with
/// records, before `allow` is even checked, and nothing answers from them. So what `Message(parsing:)`
/// accepts the scan accepts, and the scan also accepts records whose RDATA the parser would reject.
public struct QueryView: Sendable {
    public var id: UInt16
    public var flags: UInt16
    public var questionCount: UInt16
    /// Where the question's name starts (always 12) and ends (the offset after its root label).
    public var nameStart: Int
    public var nameEnd: Int
    public var type: RecordType
    public var qclass: RecordClass
    /// The offset just after the question, where a response's answer section begins.
    public var questionEnd: Int
    public var edns: EDNSView?
    /// Where the TSIG record (RFC 8945) starts, when the query is signed; it is always the last record.
    public var tsigStart: Int?

    public var opcode: Opcode { Opcode(UInt8((flags >> 11) & 0x0F)) }
    public var isResponse: Bool { flags & 0x8000 != 0 }
    public var recursionDesired: Bool { flags & 0x0100 != 0 }
    public var checkingDisabled: Bool { flags & 0x0010 != 0 }
    public var nameLength: Int { nameEnd - nameStart }
}

/// The OPT record of a query, by field.
public struct EDNSView: Sendable {
    public var udpPayloadSize: UInt16
    public var extendedRCode: UInt8
    public var version: UInt8
    public var dnssecOK: Bool
    /// The options' octets lie in `optionsStart..<optionsEnd` of the packet.
    public var optionsStart: Int
    public var optionsEnd: Int
}

extension QueryView {
    /// Scans a query. Throws for malformed input; a message without exactly one question gets a view whose
    /// name is empty (`nameStart == nameEnd`) so the caller can answer FORMERR with what it has.
    public static func scan(_ bytes: UnsafeRawBufferPointer) throws(DNSWireError) -> QueryView {
        var reader = WireReader(bytes)
        let id = try reader.readUInt16()
        let flags = try reader.readUInt16()
        let questionCount = try reader.readUInt16()
        let answerCount = try reader.readUInt16()
        let authorityCount = try reader.readUInt16()
        let additionalCount = try reader.readUInt16()
        var view = QueryView(
            id: id, flags: flags, questionCount: questionCount, nameStart: 12, nameEnd: 12, type: RecordType(0),
            qclass: RecordClass(0), questionEnd: 12, edns: nil, tsigStart: nil)
        guard questionCount == 1 else { return view }
        // The first name of a message has nothing before it to point at, so it is never compressed; a pointer
        // here fails as a backward-only pointer would.
        try reader.skipQuestionName()
        view.nameEnd = reader.offset
        view.type = RecordType(try reader.readUInt16())
        view.qclass = RecordClass(try reader.readUInt16())
        view.questionEnd = reader.offset
        let total = Int(answerCount) + Int(authorityCount) + Int(additionalCount)
        let firstAdditional = Int(answerCount) + Int(authorityCount)
        for index in 0..<total {
            let start = reader.offset
            try reader.skipName()
            let ownerIsRoot = Self.isRoot(bytes, at: start)
            let type = try reader.readUInt16()
            let rrClass = try reader.readUInt16()
            let ttl = try reader.readUInt32()
            let length = Int(try reader.readUInt16())
            if type == RecordType.opt.rawValue {
                guard index >= firstAdditional, view.edns == nil, ownerIsRoot else {
                    throw .badOPT(offset: start)
                }
                guard length <= reader.remaining else { throw .truncated(offset: reader.offset) }
                let optionsStart = reader.offset
                var optionReader = WireReader(
                    UnsafeRawBufferPointer(rebasing: bytes[0..<(optionsStart + length)]), offset: optionsStart)
                while optionReader.remaining > 0 {
                    guard optionReader.remaining >= 4 else { throw .badEDNSOption(offset: optionReader.offset) }
                    _ = try optionReader.readUInt16()
                    let size = Int(try optionReader.readUInt16())
                    guard size <= optionReader.remaining else { throw .badEDNSOption(offset: optionReader.offset - 4) }
                    try optionReader.skip(size)
                }
                view.edns = EDNSView(
                    udpPayloadSize: rrClass, extendedRCode: UInt8(ttl >> 24),
                    version: UInt8(truncatingIfNeeded: ttl >> 16), dnssecOK: ttl & 0x8000 != 0,
                    optionsStart: optionsStart, optionsEnd: optionsStart + length)
                try reader.skip(length)
            } else {
                // RFC 8945 5.1: one TSIG, the last record of the additional section.
                if type == RecordType.tsig.rawValue {
                    guard index == total - 1, index >= firstAdditional else { throw .badTSIG(offset: start) }
                    view.tsigStart = start
                }
                try reader.skip(length)
            }
        }
        guard reader.remaining == 0 else { throw .trailingBytes(offset: reader.offset) }
        return view
    }
}

extension QueryView {
    /// Whether the name at `offset`, already validated by `skipName`, is the root: a zero octet, or pointers
    /// that end at one (`Message(parsing:)` accepts both as an OPT owner, so the scan must too).
    static func isRoot(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> Bool {
        var position = offset
        while bytes[position] & 0xC0 == 0xC0 {
            position = Int(bytes[position] & 0x3F) << 8 | Int(bytes[position + 1])
        }
        return bytes[position] == 0
    }
}

extension WireReader {
    /// Moves past the question's name: plain labels, walked with one check per label, which is every query
    /// worth answering. Anything else (a pointer, a bad label type, a name cut short or too long) is left to
    /// `skipName` from the start, which rejects it with the error it always gave.
    @inline(__always)
    mutating func skipQuestionName() throws(DNSWireError) {
        let count = bytes.count
        var position = offset
        while position < count {
            let length = Int(bytes[position])
            if length == 0 {
                guard position &+ 1 &- offset <= DNSName.maxLength else { break }
                offset = position &+ 1
                return
            }
            if length > 63 { break }
            position &+= 1 &+ length
        }
        try skipName()
    }

    /// Validates a possibly compressed name and moves past it, with the same rules as `readName` but
    /// without building it.
    public mutating func skipName() throws(DNSWireError) {
        var position = offset
        var pointerLimit = offset
        var hops = 0
        var length = 1
        var endOfName: Int? = nil
        while true {
            guard position < bytes.count else { throw .truncated(offset: position) }
            let byte = bytes[position]
            switch byte & 0xC0 {
            case 0x00:
                if byte == 0 {
                    offset = endOfName ?? position + 1
                    return
                }
                length += 1 + Int(byte)
                guard length <= DNSName.maxLength else { throw .nameTooLong(offset: offset) }
                guard position + 1 + Int(byte) <= bytes.count else { throw .truncated(offset: position) }
                position += 1 + Int(byte)
            case 0xC0:
                guard position + 1 < bytes.count else { throw .truncated(offset: position) }
                let target = Int(byte & 0x3F) << 8 | Int(bytes[position + 1])
                guard target < pointerLimit, target >= Self.firstNameOffset, hops < Self.maxPointerHops else {
                    throw .badPointer(offset: position)
                }
                hops += 1
                if endOfName == nil { endOfName = position + 2 }
                pointerLimit = target
                position = target
            default:
                throw .badLabelType(offset: position)
            }
        }
    }
}
