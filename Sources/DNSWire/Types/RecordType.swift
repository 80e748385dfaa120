/// A record TYPE (RFC 1035 3.2.2, RFC 3597 for the ones without a name here).
public struct RecordType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public init(_ rawValue: UInt16) { self.rawValue = rawValue }

    public static let a = RecordType(1)
    public static let ns = RecordType(2)
    public static let cname = RecordType(5)
    public static let soa = RecordType(6)
    public static let ptr = RecordType(12)
    public static let hinfo = RecordType(13)
    public static let mx = RecordType(15)
    public static let txt = RecordType(16)
    public static let aaaa = RecordType(28)
    public static let srv = RecordType(33)
    public static let opt = RecordType(41)
    public static let ds = RecordType(43)
    public static let rrsig = RecordType(46)
    public static let nsec = RecordType(47)
    public static let dnskey = RecordType(48)
    public static let tsig = RecordType(250)
    public static let ixfr = RecordType(251)
    public static let axfr = RecordType(252)
    public static let any = RecordType(255)

    private static let mnemonics: [UInt16: String] = [
        1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 12: "PTR", 13: "HINFO", 15: "MX", 16: "TXT", 28: "AAAA", 33: "SRV",
        41: "OPT", 43: "DS", 46: "RRSIG", 47: "NSEC", 48: "DNSKEY", 250: "TSIG", 251: "IXFR", 252: "AXFR", 255: "ANY",
    ]

    /// Parses a mnemonic ("AAAA") or the RFC 3597 generic form ("TYPE65").
    public init?(mnemonic: String) {
        let upper = mnemonic.uppercased()
        if let found = Self.mnemonics.first(where: { $0.value == upper }) {
            self.init(found.key)
        } else if upper.hasPrefix("TYPE"), let value = UInt16(upper.dropFirst(4)) {
            self.init(value)
        } else {
            return nil
        }
    }

    /// Meta and question-only types (RFC 6895 3.1): never stored as data.
    public var isMetaType: Bool { rawValue == 41 || (128...255).contains(rawValue) }

    public var description: String { Self.mnemonics[rawValue] ?? "TYPE\(rawValue)" }
}

/// A record CLASS. Only IN carries data here; CH, HS, NONE and ANY are recognised for their names.
public struct RecordClass: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public init(_ rawValue: UInt16) { self.rawValue = rawValue }

    public static let `in` = RecordClass(1)
    public static let ch = RecordClass(3)
    public static let hs = RecordClass(4)
    public static let none = RecordClass(254)
    public static let any = RecordClass(255)

    public var description: String {
        switch rawValue {
        case 1: return "IN"
        case 3: return "CH"
        case 4: return "HS"
        case 254: return "NONE"
        case 255: return "ANY"
        default: return "CLASS\(rawValue)"
        }
    }
}
