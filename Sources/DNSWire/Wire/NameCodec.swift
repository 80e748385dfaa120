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

/// Writing names with compression. The table remembers where each name suffix was first written (only offsets a
/// 14-bit pointer can reach), by a hash of the suffix with its letters lower-cased: a candidate is checked
/// against the bytes already written, so nothing but the hash and the offset is kept per suffix.
///
/// Compiling a registry's answers writes millions of names: a table keyed by an array of each suffix's octets
/// (an allocation and a SipHash per suffix) was a fifth of `scdns check`'s instructions.
struct CompressionTable {
    /// Open addressing: each slot is `hash << 32 | offset`, 0 when empty (no name starts below offset 12).
    private var slots: [UInt64] = []
    private var count = 0
    /// When false nothing is remembered or reused: every name is written in full.
    let enabled: Bool
    /// Every suffix hashed alike, for tests: the check against the written bytes must then do all the work.
    let everyHashCollides: Bool
    /// The last name written with compression, as given, and where that whole name is (-1: nowhere a pointer
    /// reaches). The next name is most often the same one (every record of an answer is owned by the question's
    /// name), and is then a pointer there: each whole suffix is remembered at one offset only, so the full walk
    /// would find the same. Compiling answers wrote names for a quarter of `scdns check`'s instructions.
    private var lastWire: [UInt8] = []
    private var lastOffset = -1

    init(enabled: Bool = true, everyHashCollides: Bool = false) {
        self.enabled = enabled
        self.everyHashCollides = everyHashCollides
    }

    /// Forgets the suffixes written at or after `mark` (the bytes there were cut).
    mutating func forget(from mark: Int) {
        lastOffset = -1
        let kept = slots.filter { $0 != 0 && Int($0 & 0xFFFF_FFFF) < mark }
        slots = Array(repeating: 0, count: slots.count)
        count = 0
        for entry in kept { insert(entry) }
    }

    /// Appends `name` to `buffer`, reusing an earlier suffix when `compress` allows.
    mutating func write(_ name: DNSName, to buffer: inout [UInt8], compress: Bool) {
        guard enabled else {
            buffer.append(contentsOf: name.wire)
            return
        }
        if compress && lastOffset >= 0 && name.wire == lastWire {
            buffer.append(0xC0 | UInt8(lastOffset >> 8))
            buffer.append(UInt8(lastOffset & 0xFF))
            return
        }
        let whole = name.wire.withUnsafeBufferPointer { wire -> Int in
            // Each label's start, the hash of the suffix from there, and the offset to remember it at (-1: none).
            withUnsafeTemporaryAllocation(of: (start: Int, hash: UInt32, remember: Int).self, capacity: 128) {
                labels in
                var labelCount = 0
                var position = 0
                while wire[position] != 0 {
                    labels[labelCount] = (position, 0, -1)
                    labelCount += 1
                    position += 1 + Int(wire[position])
                }
                // The hashes, from the root up.
                var hash: UInt32 = 0x811C_9DC5
                for index in stride(from: labelCount - 1, through: 0, by: -1) {
                    let start = labels[index].start
                    for offset in start...(start + Int(wire[start])) {
                        hash = (hash ^ UInt32(DNSName.lowercaseASCII(wire[offset]))) &* 0x0100_0193
                    }
                    labels[index].hash = everyHashCollides ? 0 : hash
                }
                // The suffixes written in full are remembered once the whole name is written: a half-written one
                // must never be checked against (its bytes run on past the end of the buffer).
                var written = 0
                var pointer: Int? = nil
                for index in 0..<labelCount {
                    let start = labels[index].start
                    let known = find(labels[index].hash, wire, from: start, in: buffer)
                    if compress, let target = known {
                        pointer = target
                        break
                    }
                    // Already known (its earlier copy was not used): the first offset stays the one remembered.
                    if known == nil && buffer.count <= 0x3FFF { labels[index].remember = buffer.count }
                    buffer.append(contentsOf: wire[start...(start + Int(wire[start]))])
                    written += 1
                }
                if let pointer {
                    buffer.append(0xC0 | UInt8(pointer >> 8))
                    buffer.append(UInt8(pointer & 0xFF))
                } else {
                    buffer.append(0)
                }
                for index in 0..<written where labels[index].remember >= 0 {
                    insert(UInt64(labels[index].hash) << 32 | UInt64(labels[index].remember))
                }
                // Where the whole name now is: pointed at, or just remembered (the root has no labels).
                if written == 0 { return pointer ?? -1 }
                return labelCount > 0 ? labels[0].remember : -1
            }
        }
        if compress {
            lastWire = name.wire
            lastOffset = whole
        }
    }

    private mutating func insert(_ entry: UInt64) {
        if (count + 1) * 2 > slots.count {
            let old = slots
            slots = Array(repeating: 0, count: max(32, slots.count * 2))
            count = 0
            for kept in old where kept != 0 { insert(kept) }
        }
        let mask = slots.count - 1
        var index = Int(truncatingIfNeeded: entry >> 32) & mask
        while slots[index] != 0 { index = (index + 1) & mask }
        slots[index] = entry
        count += 1
    }

    /// The offset where the suffix of `wire` from `start` (hash `hash`) was written, if it was.
    private func find(_ hash: UInt32, _ wire: UnsafeBufferPointer<UInt8>, from start: Int, in buffer: [UInt8]) -> Int? {
        guard !slots.isEmpty else { return nil }
        let mask = slots.count - 1
        var index = Int(hash) & mask
        while slots[index] != 0 {
            let entry = slots[index]
            if UInt32(truncatingIfNeeded: entry >> 32) == hash {
                let offset = Int(entry & 0xFFFF_FFFF)
                if Self.suffix(wire, from: start, isWrittenAt: offset, in: buffer) { return offset }
            }
            index = (index + 1) & mask
        }
        return nil
    }

    /// Whether the name written at `offset` of `buffer` (following its pointers, all ours) is the suffix of
    /// `wire` from `start`, letter case aside.
    private static func suffix(
        _ wire: UnsafeBufferPointer<UInt8>, from start: Int, isWrittenAt offset: Int, in buffer: [UInt8]
    ) -> Bool {
        var here = offset
        var there = start
        while true {
            // Every remembered name was written whole, so the bounds hold; checked anyway, as a collision of
            // hashes is cheap to make on purpose.
            guard here < buffer.count else { return false }
            var length = buffer[here]
            while length & 0xC0 == 0xC0 {
                guard here + 1 < buffer.count else { return false }
                let target = Int(length & 0x3F) << 8 | Int(buffer[here + 1])
                guard target < here else { return false }
                here = target
                length = buffer[here]
            }
            guard length == wire[there], here + Int(length) < buffer.count else { return false }
            if length == 0 { return true }
            for octet in 1...Int(length)
            where DNSName.lowercaseASCII(buffer[here + octet]) != DNSName.lowercaseASCII(wire[there + octet]) {
                return false
            }
            here += 1 + Int(length)
            there += 1 + Int(length)
        }
    }
}
