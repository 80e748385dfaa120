/// The fixed twelve-octet header (RFC 1035 4.1.1) without its section counts, which are derived from the
/// sections when a message is written.
public struct Header: Hashable, Sendable {
    public var id: UInt16
    public var isResponse: Bool
    public var opcode: Opcode
    public var authoritative: Bool
    public var truncated: Bool
    public var recursionDesired: Bool
    public var recursionAvailable: Bool
    /// The reserved Z bit, which must be zero but is preserved as read.
    public var zero: Bool
    public var authenticData: Bool
    public var checkingDisabled: Bool

    public init(
        id: UInt16 = 0, isResponse: Bool = false, opcode: Opcode = .query, authoritative: Bool = false,
        truncated: Bool = false, recursionDesired: Bool = false, recursionAvailable: Bool = false, zero: Bool = false,
        authenticData: Bool = false, checkingDisabled: Bool = false
    ) {
        self.id = id
        self.isResponse = isResponse
        self.opcode = opcode
        self.authoritative = authoritative
        self.truncated = truncated
        self.recursionDesired = recursionDesired
        self.recursionAvailable = recursionAvailable
        self.zero = zero
        self.authenticData = authenticData
        self.checkingDisabled = checkingDisabled
    }

    /// The flags word with `rcodeBits` in its low nibble.
    public func flags(rcodeBits: UInt8) -> UInt16 {
        var word = UInt16(opcode.rawValue) << 11 | UInt16(rcodeBits & 0x0F)
        if isResponse { word |= 0x8000 }
        if authoritative { word |= 0x0400 }
        if truncated { word |= 0x0200 }
        if recursionDesired { word |= 0x0100 }
        if recursionAvailable { word |= 0x0080 }
        if zero { word |= 0x0040 }
        if authenticData { word |= 0x0020 }
        if checkingDisabled { word |= 0x0010 }
        return word
    }

    /// Decodes a flags word; the RCODE nibble is returned separately because it may be extended by OPT.
    public init(id: UInt16, flags word: UInt16) {
        self.init(
            id: id, isResponse: word & 0x8000 != 0, opcode: Opcode(UInt8((word >> 11) & 0x0F)),
            authoritative: word & 0x0400 != 0, truncated: word & 0x0200 != 0, recursionDesired: word & 0x0100 != 0,
            recursionAvailable: word & 0x0080 != 0, zero: word & 0x0040 != 0, authenticData: word & 0x0020 != 0,
            checkingDisabled: word & 0x0010 != 0)
    }
}

/// One entry of the question section.
public struct Question: Hashable, Sendable, CustomStringConvertible {
    public var name: DNSName
    public var type: RecordType
    public var qclass: RecordClass

    public init(name: DNSName, type: RecordType, qclass: RecordClass = .in) {
        self.name = name
        self.type = type
        self.qclass = qclass
    }

    public var description: String { "\(name) \(qclass) \(type)" }
}
