/// The four octets of an A record. Text parsing lives with the registry and zone loaders; the codec only needs
/// the octets and their presentation.
public struct IPv4Address: Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt32

    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// Nil unless exactly four octets. Inlinable, so a caller in another module gets it specialized for its
    /// collection: the generic `reduce` cost 2,900 instructions an address (compiling a registry's answers).
    @inlinable
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 4 else { return nil }
        var value: UInt32 = 0
        for byte in bytes { value = value << 8 | UInt32(byte) }
        rawValue = value
    }

    public var bytes: [UInt8] {
        [
            UInt8(rawValue >> 24), UInt8(truncatingIfNeeded: rawValue >> 16), UInt8(truncatingIfNeeded: rawValue >> 8),
            UInt8(truncatingIfNeeded: rawValue),
        ]
    }

    public var description: String { bytes.map(String.init).joined(separator: ".") }
}

/// The sixteen octets of an AAAA record.
public struct IPv6Address: Hashable, Sendable, CustomStringConvertible {
    public var high: UInt64
    public var low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// Nil unless exactly sixteen octets. Inlinable, as `IPv4Address.init(bytes:)` is.
    @inlinable
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 16 else { return nil }
        var high: UInt64 = 0
        var low: UInt64 = 0
        for (index, byte) in bytes.enumerated() {
            if index < 8 { high = high << 8 | UInt64(byte) } else { low = low << 8 | UInt64(byte) }
        }
        self.high = high
        self.low = low
    }

    public var bytes: [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: high >> (56 - 8 * $0)) }
            + (0..<8).map { UInt8(truncatingIfNeeded: low >> (56 - 8 * $0)) }
    }

    /// RFC 5952 text: lower-case hex, the longest run of two or more zero groups shortened to "::"; an IPv4-mapped
    /// address in the mixed notation RFC 5952 section 5 recommends (`::ffff:192.0.2.1`, as inet_ntop and ldns print).
    public var description: String {
        let octets = bytes
        if high == 0 && low >> 32 == 0xFFFF {
            return "::ffff:" + octets[12...].map(String.init).joined(separator: ".")
        }
        let groups = (0..<8).map { UInt16(octets[2 * $0]) << 8 | UInt16(octets[2 * $0 + 1]) }
        var bestStart = -1
        var bestLength = 0
        var index = 0
        while index < 8 {
            guard groups[index] == 0 else {
                index += 1
                continue
            }
            var end = index
            while end < 8 && groups[end] == 0 { end += 1 }
            if end - index > bestLength {
                bestStart = index
                bestLength = end - index
            }
            index = end
        }
        func hex(_ range: Range<Int>) -> String {
            groups[range].map { String($0, radix: 16) }.joined(separator: ":")
        }
        guard bestLength >= 2 else { return hex(0..<8) }
        return hex(0..<bestStart) + "::" + hex((bestStart + bestLength)..<8)
    }
}
