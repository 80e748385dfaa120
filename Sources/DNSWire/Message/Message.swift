/// A whole DNS message: header, the four sections, and EDNS.
public struct Message: Hashable, Sendable {
    public var header: Header
    /// The full response code: the header's four bits plus, with EDNS, the OPT record's eight.
    public var rcode: RCode
    public var questions: [Question]
    public var answers: [ResourceRecord]
    public var authority: [ResourceRecord]
    /// The additional section without the OPT record, which is `edns`.
    public var additional: [ResourceRecord]
    public var edns: EDNS?

    public init(
        header: Header = Header(), rcode: RCode = .noError, questions: [Question] = [],
        answers: [ResourceRecord] = [], authority: [ResourceRecord] = [], additional: [ResourceRecord] = [],
        edns: EDNS? = nil
    ) {
        self.header = header
        self.rcode = rcode
        self.questions = questions
        self.answers = answers
        self.authority = authority
        self.additional = additional
        self.edns = edns
    }

    /// Parses an untrusted message. Any malformation throws; nothing here traps.
    public init(parsing bytes: some Collection<UInt8>) throws(DNSWireError) {
        let array = Array(bytes)
        let result: Result<Message, DNSWireError> = array.withUnsafeBytes { raw in
            var reader = WireReader(raw)
            do throws(DNSWireError) {
                return .success(try Message(reading: &reader))
            } catch {
                return .failure(error)
            }
        }
        self = try result.get()
    }

    /// Parses from a reader positioned at the header; requires the message to end with its last record.
    public init(reading reader: inout WireReader) throws(DNSWireError) {
        let id = try reader.readUInt16()
        let flags = try reader.readUInt16()
        let counts = [
            try reader.readUInt16(), try reader.readUInt16(), try reader.readUInt16(), try reader.readUInt16(),
        ]
        header = Header(id: id, flags: flags)
        var rcode = RCode(flags & 0x000F)
        questions = []
        // Counts are untrusted: reserve by what the remaining bytes could hold, not by the header's claim.
        questions.reserveCapacity(min(Int(counts[0]), reader.remaining / 5))
        for _ in 0..<counts[0] {
            let name = try reader.readName()
            let type = RecordType(try reader.readUInt16())
            let qclass = RecordClass(try reader.readUInt16())
            questions.append(Question(name: name, type: type, qclass: qclass))
        }
        var sections: [[ResourceRecord]] = [[], [], []]
        var edns: EDNS? = nil
        let total = Int(counts[1]) + Int(counts[2]) + Int(counts[3])
        var index = 0
        for section in 0..<3 {
            for _ in 0..<counts[section + 1] {
                defer { index += 1 }
                let start = reader.offset
                let name = try reader.readName()
                let type = RecordType(try reader.readUInt16())
                let rrClass = try reader.readUInt16()
                let ttl = try reader.readUInt32()
                let length = Int(try reader.readUInt16())
                if type == .opt {
                    // RFC 6891 6.1.1: one OPT, in the additional section, owned by the root.
                    guard section == 2, edns == nil, name.isRoot else { throw .badOPT(offset: start) }
                    let options = try reader.readEDNSOptions(length: length)
                    rcode = RCode(UInt16(ttl >> 24) << 4 | rcode.rawValue)
                    edns = EDNS(
                        udpPayloadSize: rrClass, version: UInt8(truncatingIfNeeded: ttl >> 16),
                        dnssecOK: ttl & 0x8000 != 0, otherFlags: UInt16(truncatingIfNeeded: ttl) & 0x7FFF,
                        options: options)
                    continue
                }
                // RFC 8945 5.1: one TSIG, the last record of the additional section.
                if type == .tsig && (section != 2 || index != total - 1) { throw .badTSIG(offset: start) }
                let data = try reader.readRData(type: type, length: length)
                sections[section].append(
                    ResourceRecord(name: name, rrClass: RecordClass(rrClass), ttl: ttl, data: data))
            }
        }
        guard reader.remaining == 0 else { throw .trailingBytes(offset: reader.offset) }
        self.rcode = rcode
        answers = sections[0]
        authority = sections[1]
        additional = sections[2]
        self.edns = edns
    }
}
