/// An IPv4 or IPv6 address as a 128-bit number (two words and a family), its network-order bytes on request.
///
/// The registry keeps addresses as bytes rather than text so that the DNS layer can copy them straight into A and
/// AAAA records, and so that two spellings of one IPv6 address ("fd00::7", "FD00:0::7") compare equal.
public struct IPAddress: Hashable, Sendable, CustomStringConvertible, Comparable {
    /// The address as a 128-bit number, network order read big-endian: IPv4 in the low 32 bits of `low`. Kept
    /// inline rather than as an array, which cost an allocation of 48 octets each: 300,000 at 100,000 services x 3
    /// clusters.
    private let high: UInt64
    private let low: UInt64

    /// True for a 4-byte address. An IPv4-mapped IPv6 address (`::ffff:10.0.0.1`) stays IPv6: it was written as
    /// IPv6 and belongs in AAAA records, not A records.
    public let isIPv4: Bool

    /// 4 bytes for IPv4, 16 for IPv6, network order (made on each use).
    public var bytes: [UInt8] {
        if isIPv4 { return (0..<4).map { UInt8(truncatingIfNeeded: low >> (24 - 8 * UInt64($0))) } }
        return (0..<8).map { UInt8(truncatingIfNeeded: high >> (56 - 8 * UInt64($0))) }
            + (0..<8).map { UInt8(truncatingIfNeeded: low >> (56 - 8 * UInt64($0))) }
    }

    /// The address as two big-endian words (IPv4 in the low 32 bits of `low`): what DNS records and client
    /// addresses are made of, with no array in between.
    public var words: (high: UInt64, low: UInt64) { (high, low) }
    /// `::ffff:a.b.c.d`, an IPv4 address written as IPv6: the registry refuses it (`YAMLField.ipAddress`).
    public var isIPv4Mapped: Bool { !isIPv4 && high == 0 && low >> 32 == 0xFFFF }

    /// The last octet, which sets apart most addresses of one network.
    public var lastOctet: UInt8 { UInt8(truncatingIfNeeded: low) }

    /// The IPv4 address whose octets `value` holds, the first highest.
    init(ipv4 value: UInt32) {
        (high, low, isIPv4) = (0, UInt64(value), true)
    }

    /// `nil` unless `bytes` holds exactly 4 or 16 bytes.
    public init?(bytes: [UInt8]) {
        func number(_ octets: ArraySlice<UInt8>) -> UInt64 { octets.reduce(0) { $0 << 8 | UInt64($1) } }
        switch bytes.count {
        case 4: (high, low, isIPv4) = (0, number(bytes[...]), true)
        case 16: (high, low, isIPv4) = (number(bytes[..<8]), number(bytes[8...]), false)
        default: return nil
        }
    }

    /// Parses a dotted quad or an IPv6 address (with `::` compression and an optional dotted IPv4 tail).
    ///
    /// Parsing is strict because these addresses end up in answers: an octet with a leading zero ("010") is
    /// rejected, since inet_aton would read it as octal and other tools as decimal; zone ids ("%eth0"),
    /// surrounding blanks, brackets and prefix lengths are rejected too.
    public init?(_ text: String) {
        // A dotted quad, most of what a registry holds, straight from the text; IPv6 through an array.
        if let value = IPAddress.parseIPv4Value(text.utf8) {
            self.init(ipv4: value)
            return
        }
        guard let bytes = IPAddress.parseIPv6(Array(text.utf8)) else { return nil }
        self.init(bytes: bytes)
    }

    /// IPv4 as a dotted quad; IPv6 in the RFC 5952 canonical form, which is what `dig` and the kernel print, so
    /// logs and the admin endpoint can be grepped for the same text an operator sees elsewhere.
    public var description: String {
        if isIPv4 {
            return bytes.map(String.init).joined(separator: ".")
        }
        return IPAddress.canonicalIPv6(bytes)
    }

    /// IPv4 sorts before IPv6, then byte-wise (as numbers, the same order).
    public static func < (lhs: IPAddress, rhs: IPAddress) -> Bool {
        if lhs.isIPv4 != rhs.isIPv4 { return lhs.isIPv4 }
        return (lhs.high, lhs.low) < (rhs.high, rhs.low)
    }
}

extension IPAddress {
    /// RFC 5952: lowercase hex without leading zeros, the longest run of two or more zero groups replaced by
    /// "::" (the first one on a tie), and IPv4-mapped addresses written with a dotted tail (section 5).
    static func canonicalIPv6(_ bytes: [UInt8]) -> String {
        var groups = [UInt16](repeating: 0, count: 8)
        for index in 0..<8 {
            groups[index] = UInt16(bytes[2 * index]) << 8 | UInt16(bytes[2 * index + 1])
        }
        if groups[0..<5].allSatisfy({ $0 == 0 }) && groups[5] == 0xffff {
            let tail = bytes[12..<16].map(String.init).joined(separator: ".")
            return "::ffff:" + tail
        }
        var bestStart = -1
        var bestLength = 0
        var runStart = -1
        for index in 0...8 {
            if index < 8 && groups[index] == 0 {
                if runStart < 0 { runStart = index }
            } else if runStart >= 0 {
                let length = index - runStart
                if length > bestLength {
                    bestStart = runStart
                    bestLength = length
                }
                runStart = -1
            }
        }
        let hex = groups.map { String($0, radix: 16) }
        guard bestLength >= 2 else {
            return hex.joined(separator: ":")
        }
        let head = hex[0..<bestStart].joined(separator: ":")
        let tail = hex[(bestStart + bestLength)...].joined(separator: ":")
        return head + "::" + tail
    }
}
