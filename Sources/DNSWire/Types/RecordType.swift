/// A record TYPE (RFC 1035 3.2.2, RFC 3597 for the ones without a name here).
public struct RecordType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt16
    @inlinable public init(rawValue: UInt16) { self.rawValue = rawValue }
    @inlinable public init(_ rawValue: UInt16) { self.rawValue = rawValue }

    @inlinable public static var a: RecordType { RecordType(1) }
    @inlinable public static var ns: RecordType { RecordType(2) }
    @inlinable public static var cname: RecordType { RecordType(5) }
    @inlinable public static var soa: RecordType { RecordType(6) }
    @inlinable public static var ptr: RecordType { RecordType(12) }
    @inlinable public static var hinfo: RecordType { RecordType(13) }
    @inlinable public static var mx: RecordType { RecordType(15) }
    @inlinable public static var txt: RecordType { RecordType(16) }
    @inlinable public static var aaaa: RecordType { RecordType(28) }
    @inlinable public static var srv: RecordType { RecordType(33) }
    @inlinable public static var opt: RecordType { RecordType(41) }
    @inlinable public static var ds: RecordType { RecordType(43) }
    @inlinable public static var rrsig: RecordType { RecordType(46) }
    @inlinable public static var nsec: RecordType { RecordType(47) }
    @inlinable public static var dnskey: RecordType { RecordType(48) }
    @inlinable public static var tsig: RecordType { RecordType(250) }
    @inlinable public static var ixfr: RecordType { RecordType(251) }
    @inlinable public static var axfr: RecordType { RecordType(252) }
    @inlinable public static var any: RecordType { RecordType(255) }

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
    @inlinable public init(rawValue: UInt16) { self.rawValue = rawValue }
    @inlinable public init(_ rawValue: UInt16) { self.rawValue = rawValue }

    @inlinable public static var `in`: RecordClass { RecordClass(1) }
    @inlinable public static var ch: RecordClass { RecordClass(3) }
    @inlinable public static var hs: RecordClass { RecordClass(4) }
    @inlinable public static var none: RecordClass { RecordClass(254) }
    @inlinable public static var any: RecordClass { RecordClass(255) }

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
