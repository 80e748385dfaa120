/// A domain name in uncompressed wire form (length-prefixed labels ending in the root's zero octet).
///
/// The letters keep the case they arrived with (DNS 0x20 echoes depend on it), while equality and hashing
/// ignore ASCII case as RFC 4343 requires.
public struct DNSName: Hashable, Sendable, CustomStringConvertible, Comparable {
    /// The name in wire form, always valid: labels of 1...63 octets, 255 octets at most, root label last.
    public private(set) var wire: [UInt8]

    public static let maxLength = 255
    public static let maxLabelLength = 63
    public static let root = DNSName(uncheckedWire: [0])

    /// Wraps wire bytes that the caller has already validated.
    init(uncheckedWire: [UInt8]) { self.wire = uncheckedWire }

    /// Builds a name from labels, each 1...63 octets.
    public init(labels: [[UInt8]]) throws(DNSWireError) {
        var wire: [UInt8] = []
        wire.reserveCapacity(labels.reduce(1) { $0 + $1.count + 1 })
        for label in labels {
            guard !label.isEmpty, label.count <= Self.maxLabelLength else { throw .labelTooLong(offset: wire.count) }
            wire.append(UInt8(label.count))
            wire.append(contentsOf: label)
        }
        wire.append(0)
        guard wire.count <= Self.maxLength else { throw .nameTooLong(offset: 0) }
        self.wire = wire
    }

    /// Validates uncompressed wire bytes (no pointers allowed).
    public init(wire: [UInt8]) throws(DNSWireError) {
        var offset = 0
        while true {
            guard offset < wire.count else { throw .truncated(offset: offset) }
            let length = Int(wire[offset])
            if length == 0 { break }
            guard length <= Self.maxLabelLength else { throw .labelTooLong(offset: offset) }
            offset += 1 + length
        }
        guard offset + 1 == wire.count else { throw .trailingBytes(offset: offset + 1) }
        guard wire.count <= Self.maxLength else { throw .nameTooLong(offset: 0) }
        self.wire = wire
    }

    public var isRoot: Bool { wire.count == 1 }

    /// The labels, most specific first, root excluded.
    public var labels: [[UInt8]] {
        var result: [[UInt8]] = []
        var offset = 0
        while wire[offset] != 0 {
            let length = Int(wire[offset])
            result.append(Array(wire[offset + 1...offset + length]))
            offset += 1 + length
        }
        return result
    }

    public var labelCount: Int {
        var count = 0
        var offset = 0
        while wire[offset] != 0 {
            count += 1
            offset += 1 + Int(wire[offset])
        }
        return count
    }

    /// The same name with ASCII letters lower-cased: the canonical key for lookups. A name without capitals (a
    /// registry's, almost always) is itself, sharing its octets rather than copying them.
    public func lowercased() -> DNSName {
        guard Self.hasCapital(wire) else { return self }
        return DNSName(uncheckedWire: wire.map(DNSName.lowercaseASCII))
    }

    /// Bit 7 set in each octet of `word` that is an ASCII capital, the others clear. Per octet below 0x80 (no
    /// carry leaves one), bit 7 of +0x3F is set from 'A' on and of +0x25 from past 'Z' on; octets from 0x80 on are
    /// no capitals. (The name table's `lowercased(_:)` on the query path is the same test, kept in its own module
    /// so that it inlines there.)
    @inline(__always)
    private static func capitals(in word: UInt64) -> UInt64 {
        let low = word & 0x7F7F_7F7F_7F7F_7F7F
        let fromA = low &+ 0x3F3F_3F3F_3F3F_3F3F
        let pastZ = low &+ 0x2525_2525_2525_2525
        return fromA & ~pastZ & ~word & 0x8080_8080_8080_8080
    }

    /// Whether `octets` hold an ASCII capital, eight octets at a time: a build asks it of every name it stores,
    /// and asked octet by octet it cost about 300 instructions a name.
    static func hasCapital(_ octets: [UInt8]) -> Bool {
        octets.withUnsafeBytes { raw in
            var offset = 0
            while offset &+ 8 <= raw.count {
                if capitals(in: raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) != 0 { return true }
                offset &+= 8
            }
            while offset < raw.count {
                if raw[offset] &- 0x41 < 26 { return true }
                offset &+= 1
            }
            return false
        }
    }

    /// The name without its first label; the root's parent is nil.
    public var parent: DNSName? {
        guard !isRoot else { return nil }
        return DNSName(uncheckedWire: Array(wire[(1 + Int(wire[0]))...]))
    }

    /// A child: `label` prepended to this name.
    public func prepending(_ label: [UInt8]) throws(DNSWireError) -> DNSName {
        try label.withUnsafeBufferPointer { label throws(DNSWireError) in try prepending(label) }
    }

    /// A child: `label`, in UTF-8, prepended to this name.
    public func prepending(_ label: String) throws(DNSWireError) -> DNSName {
        var label = label
        // withUTF8 rethrows untyped errors: the typed one is carried out in a Result.
        return try label.withUTF8 { label in Result { () throws(DNSWireError) in try prepending(label) } }.get()
    }

    /// One array, written once: concatenating the length, the label and the name made three (compiling a
    /// registry's answers builds a few names per service).
    private func prepending(_ label: UnsafeBufferPointer<UInt8>) throws(DNSWireError) -> DNSName {
        guard !label.isEmpty, label.count <= Self.maxLabelLength else { throw .labelTooLong(offset: 0) }
        let count = wire.count + label.count + 1
        guard count <= Self.maxLength else { throw .nameTooLong(offset: 0) }
        let child = [UInt8].written(count: count) { buffer in
            buffer[0] = UInt8(label.count)
            UnsafeMutableRawBufferPointer(rebasing: buffer[1...]).copyMemory(from: UnsafeRawBufferPointer(label))
            wire.withUnsafeBytes {
                UnsafeMutableRawBufferPointer(rebasing: buffer[(1 + label.count)...]).copyMemory(from: $0)
            }
        }
        return DNSName(uncheckedWire: child)
    }

    /// The same labels below `ancestor` (which this name must equal or lie below) placed under `replacement`
    /// instead: nil when the name is not below `ancestor` or would be over 255 octets. One array written once, the
    /// labels kept as they are.
    public func replacingAncestor(_ ancestor: DNSName, with replacement: DNSName) -> DNSName? {
        guard isSubdomain(of: ancestor) else { return nil }
        let below = wire.count - ancestor.wire.count
        let count = below + replacement.wire.count
        guard count <= Self.maxLength else { return nil }
        let name = [UInt8].written(count: count) { buffer in
            wire.withUnsafeBytes {
                UnsafeMutableRawBufferPointer(rebasing: buffer[..<below]).copyMemory(
                    from: UnsafeRawBufferPointer(rebasing: $0[..<below]))
            }
            replacement.wire.withUnsafeBytes {
                UnsafeMutableRawBufferPointer(rebasing: buffer[below...]).copyMemory(from: $0)
            }
        }
        return DNSName(uncheckedWire: name)
    }

    /// True when this name equals `ancestor` or lies below it.
    public func isSubdomain(of ancestor: DNSName) -> Bool {
        guard wire.count >= ancestor.wire.count else { return false }
        var offset = 0
        // Walk label boundaries until the remaining suffix is as long as the ancestor, then compare.
        while wire.count - offset > ancestor.wire.count {
            offset += 1 + Int(wire[offset])
        }
        guard wire.count - offset == ancestor.wire.count else { return false }
        return DNSName.equalIgnoringCase(wire[offset...], ancestor.wire[...])
    }

    @inlinable
    static func lowercaseASCII(_ byte: UInt8) -> UInt8 {
        byte &- 0x41 < 26 ? byte | 0x20 : byte
    }

    /// Names compared are mostly one name in one letter case (a registry's names built twice, a dictionary's
    /// key and its probe), so the octets are compared eight at a time first, and only from the first word that
    /// differs one at a time, case-insensitively: comparing names was 6% of compiling a registry's answers.
    public static func equalIgnoringCase(_ lhs: ArraySlice<UInt8>, _ rhs: ArraySlice<UInt8>) -> Bool {
        guard lhs.count == rhs.count else { return false }
        return lhs.withUnsafeBytes { left in
            rhs.withUnsafeBytes { right in
                let count = left.count
                var offset = 0
                while offset &+ 8 <= count
                    && left.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
                        == right.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
                {
                    offset &+= 8
                }
                while offset < count {
                    if lowercaseASCII(left[offset]) != lowercaseASCII(right[offset]) { return false }
                    offset &+= 1
                }
                return true
            }
        }
    }

    public static func == (lhs: DNSName, rhs: DNSName) -> Bool {
        equalIgnoringCase(lhs.wire[...], rhs.wire[...])
    }

    /// True only when the octets match exactly, case included.
    public func isIdentical(to other: DNSName) -> Bool { wire == other.wire }

    /// The lower-cased octets hashed in one call: byte-at-a-time `combine` was the largest cost of compiling
    /// answers for a big registry (names are dictionary keys there).
    public func hash(into hasher: inout Hasher) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: wire.count) { lowered in
            for (index, byte) in wire.enumerated() { lowered[index] = DNSName.lowercaseASCII(byte) }
            hasher.combine(bytes: UnsafeRawBufferPointer(lowered))
        }
    }

    /// RFC 4034 6.1 canonical order: compare label by label from the root, case-insensitively.
    public static func < (lhs: DNSName, rhs: DNSName) -> Bool {
        let left = lhs.labels.reversed().map { $0.map(lowercaseASCII) }
        let right = rhs.labels.reversed().map { $0.map(lowercaseASCII) }
        for (a, b) in zip(left, right) where a != b {
            return a.lexicographicallyPrecedes(b)
        }
        return left.count < right.count
    }
}
