/// An address prefix such as "10.244.0.0/16" or "fd00::/8", used to map clients to localities (`clients:`) and
/// for access control (`allow:`).
public struct IPNetwork: Hashable, Sendable, CustomStringConvertible {
    /// The network address, host bits cleared.
    public let address: IPAddress
    /// 0...32 for IPv4, 0...128 for IPv6.
    public let prefixLength: Int

    /// `nil` when the prefix length does not fit the address family. Host bits are cleared rather than
    /// refused: "10.244.3.7/16" is a common way of writing "the /16 around this pod", and what is meant is clear.
    public init?(address: IPAddress, prefixLength: Int) {
        let bits = address.bytes.count * 8
        guard (0...bits).contains(prefixLength) else { return nil }
        self.address = IPAddress(bytes: IPNetwork.mask(address.bytes, prefixLength: prefixLength))!
        self.prefixLength = prefixLength
    }

    /// "ADDRESS/LENGTH", or a bare address meaning a single host (/32 or /128).
    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = IPAddress(String(parts[0])) else { return nil }
        var length = address.bytes.count * 8
        if parts.count == 2 {
            let digits = parts[1]
            // Decimal only, no sign or leading zero, so "/+8" or "/08" cannot sneak through Int's parser.
            guard !digits.isEmpty, digits.count <= 3, digits.allSatisfy({ $0.isASCII && $0.isNumber }),
                digits == "0" || digits.first != "0", let value = Int(digits)
            else { return nil }
            length = value
        }
        self.init(address: address, prefixLength: length)
    }

    /// True when `address` is of the same family and shares the first `prefixLength` bits. An IPv4 address is
    /// never inside an IPv6 network, not even one holding IPv4-mapped addresses: sockets hand us plain IPv4.
    public func contains(_ address: IPAddress) -> Bool {
        guard address.bytes.count == self.address.bytes.count else { return false }
        return IPNetwork.mask(address.bytes, prefixLength: prefixLength) == self.address.bytes
    }

    public var description: String { "\(address)/\(prefixLength)" }

    private static func mask(_ bytes: [UInt8], prefixLength: Int) -> [UInt8] {
        var masked = bytes
        for index in masked.indices {
            let bitsBefore = index * 8
            if prefixLength >= bitsBefore + 8 { continue }
            let keep = max(0, prefixLength - bitsBefore)
            masked[index] &= keep == 0 ? 0 : UInt8(truncatingIfNeeded: 0xff << (8 - keep))
        }
        return masked
    }
}
