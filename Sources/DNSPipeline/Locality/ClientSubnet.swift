/// An EDNS Client Subnet option (RFC 7871 6) from a query, validated.
struct ClientSubnet: Sendable {
    var isIPv4: Bool
    var sourcePrefixLength: Int
    /// The address, IPv4 in the top 32 bits of `high` (as `LocalityResolver` keeps networks).
    var high: UInt64
    var low: UInt64
    /// Where the option's ADDRESS octets lie in the query, to echo them unchanged.
    var addressStart: Int
    var addressLength: Int

    enum Invalid: Error {
        case malformed
    }

    /// Parses the option's data (`start..<end` of the packet). Every rule RFC 7871 gives a FORMERR for
    /// throws: an unknown family, a source prefix longer than the family allows, a non-zero scope in a query,
    /// an ADDRESS not exactly as long as the source prefix needs, and set bits past the source prefix.
    init(_ packet: UnsafeRawBufferPointer, start: Int, end: Int) throws(Invalid) {
        guard end - start >= 4 else { throw .malformed }
        let family = UInt16(packet[start]) << 8 | UInt16(packet[start + 1])
        let source = Int(packet[start + 2])
        let scope = packet[start + 3]
        let maxPrefix: Int
        switch family {
        case 1: maxPrefix = 32
        case 2: maxPrefix = 128
        default: throw .malformed
        }
        let length = end - start - 4
        guard source <= maxPrefix, scope == 0, length == (source + 7) / 8 else { throw .malformed }
        // Address octets into two words, IPv4 in the top of `high` (as LocalityResolver keeps networks),
        // without building an array: this runs for every query that carries ECS.
        var high: UInt64 = 0
        var low: UInt64 = 0
        for index in 0..<length {
            let octet = UInt64(packet[start + 4 + index])
            if index < 8 {
                high |= octet << UInt64(56 - 8 * index)
            } else {
                low |= octet << UInt64(56 - 8 * (index - 8))
            }
        }
        if source % 8 != 0 {
            let last = packet[start + 4 + source / 8]
            guard last & (0xFF >> UInt8(source % 8)) == 0 else { throw .malformed }
        }
        isIPv4 = family == 1
        sourcePrefixLength = source
        self.high = high
        self.low = low
        addressStart = start + 4
        addressLength = length
    }
}
