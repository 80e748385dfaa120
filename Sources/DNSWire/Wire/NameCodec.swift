/// Reading names with compression (RFC 1035 4.1.4) from untrusted bytes.
extension WireReader {
    /// The most pointers one name may follow. Each pointer must also point strictly before the label that
    /// holds it, so loops are impossible; the bound only caps work on hostile input.
    static let maxPointerHops = 127

    /// No name starts inside the 12-octet header, so a pointer below it is malformed (a question name of
    /// `C0 04` would otherwise read the header's counts as labels).
    static let firstNameOffset = 12

    /// Reads a possibly compressed name and leaves `offset` just after it (after the first pointer, if any).
    public mutating func readName() throws(DNSWireError) -> DNSName {
        var wire: [UInt8] = []
        wire.reserveCapacity(32)
        var position = offset
        // Pointers must point below this bound, which only ever decreases: no loops, no self-reference.
        var pointerLimit = offset
        var hops = 0
        var endOfName: Int? = nil
        while true {
            guard position < bytes.count else { throw .truncated(offset: position) }
            let length = bytes[position]
            switch length & 0xC0 {
            case 0x00:
                if length == 0 {
                    wire.append(0)
                    guard wire.count <= DNSName.maxLength else { throw .nameTooLong(offset: offset) }
                    offset = endOfName ?? position + 1
                    return DNSName(uncheckedWire: wire)
                }
                let labelEnd = position + 1 + Int(length)
                guard labelEnd <= bytes.count else { throw .truncated(offset: position) }
                guard wire.count + 1 + Int(length) + 1 <= DNSName.maxLength else {
                    throw .nameTooLong(offset: offset)
                }
                wire.append(length)
                wire.append(contentsOf: bytes[(position + 1)..<labelEnd])
                position = labelEnd
            case 0xC0:
                guard position + 1 < bytes.count else { throw .truncated(offset: position) }
                let target = Int(length & 0x3F) << 8 | Int(bytes[position + 1])
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

/// Writing names with compression. The table maps a lower-cased suffix to the offset where it was first
/// written; only offsets a 14-bit pointer can reach are remembered.
struct CompressionTable {
    /// A lower-cased name suffix, hashed in one call rather than octet by octet.
    private struct Suffix: Hashable {
        let octets: [UInt8]

        func hash(into hasher: inout Hasher) {
            octets.withUnsafeBytes { hasher.combine(bytes: $0) }
        }
    }

    private var offsets: [Suffix: Int] = [:]
    /// When false nothing is remembered or reused: every name is written in full.
    let enabled: Bool

    init(enabled: Bool = true) {
        self.enabled = enabled
    }

    mutating func forget(from mark: Int) {
        offsets = offsets.filter { $0.value < mark }
    }

    /// Appends `name` to `buffer`, reusing an earlier suffix when `compress` allows.
    mutating func write(_ name: DNSName, to buffer: inout [UInt8], compress: Bool) {
        let wire = name.wire
        var position = 0
        while wire[position] != 0 {
            guard enabled else {
                buffer.append(contentsOf: wire[position...])
                return
            }
            let suffix = Suffix(octets: wire[position...].map(DNSName.lowercaseASCII))
            let known = offsets[suffix]
            if compress, let target = known {
                buffer.append(0xC0 | UInt8(target >> 8))
                buffer.append(UInt8(target & 0xFF))
                return
            }
            let here = buffer.count
            if here <= 0x3FFF && known == nil { offsets[suffix] = here }
            let length = Int(wire[position])
            buffer.append(contentsOf: wire[position...(position + length)])
            position += 1 + length
        }
        buffer.append(0)
    }
}
