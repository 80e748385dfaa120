/// An open-addressing hash table from lower-cased wire names to node indices, built once per snapshot.
///
/// The query path hashes and compares the name straight from the packet, eight octets at a time with the
/// letters lower-cased in the word (SWAR), so a lookup allocates nothing and costs a few instructions per
/// word rather than per octet: a byte-at-a-time version was a third of the whole pipeline in callgrind, and
/// an Array or String key per query tripled user time in the measurements of DESIGN.md section 7.
struct NameTable: Sendable {
    private struct Slot: Sendable {
        var hash: UInt32
        var keyStart: Int32
        var keyLength: Int32  // 0 marks an empty slot
        var value: Int32
    }

    private var slots: [Slot]
    private var keys: [UInt8] = []
    private let mask: Int

    init(capacity: Int) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        slots = Array(repeating: Slot(hash: 0, keyStart: 0, keyLength: 0, value: 0), count: size)
        mask = size - 1
    }

    /// Inserts a name given in wire form; the caller guarantees each name is inserted once.
    mutating func insert(_ wire: [UInt8], value: Int) {
        let lowered = wire.map { $0 &- 0x41 < 26 ? $0 | 0x20 : $0 }
        let hash = lowered.withUnsafeBytes { Self.hash($0.baseAddress!, $0.count) }
        var index = Int(hash) & mask
        while slots[index].keyLength != 0 { index = (index + 1) & mask }
        slots[index] = Slot(
            hash: hash, keyStart: Int32(keys.count), keyLength: Int32(lowered.count), value: Int32(value))
        keys += lowered
    }

    /// Finds `name` (wire form, any letter case). Nil when absent.
    /// Every key (lower-cased wire name) by its value, for values `0..<count`: where a later snapshot that
    /// reuses nodes finds their names.
    func keysByValue(count: Int) -> [ArraySlice<UInt8>] {
        var result = [ArraySlice<UInt8>](repeating: [], count: count)
        for slot in slots where slot.keyLength != 0 && Int(slot.value) < count {
            result[Int(slot.value)] = keys[Int(slot.keyStart)..<Int(slot.keyStart + slot.keyLength)]
        }
        return result
    }

    func lookup(_ name: UnsafeRawBufferPointer) -> Int? {
        guard let base = name.baseAddress, name.count > 0 else { return nil }
        let count = name.count
        let hash = Self.hash(base, count)
        var index = Int(hash) & mask
        return slots.withUnsafeBufferPointer { slots in
            keys.withUnsafeBytes { keys in
                while true {
                    let slot = slots[index]
                    if slot.keyLength == 0 { return nil }
                    if slot.hash == hash && Int(slot.keyLength) == count
                        && Self.equal(base, keys.baseAddress! + Int(slot.keyStart), count)
                    {
                        return Int(slot.value)
                    }
                    index = (index + 1) & mask
                }
            }
        }
    }

    /// Up to eight octets at `offset` as a little-endian word, zero-padded past `count`.
    @inline(__always)
    private static func word(_ base: UnsafeRawPointer, _ offset: Int, _ count: Int) -> UInt64 {
        let remaining = count - offset
        if remaining >= 8 { return UInt64(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) }
        var word: UInt64 = 0
        for index in 0..<remaining {
            word |= UInt64(base.load(fromByteOffset: offset + index, as: UInt8.self)) << (8 * UInt64(index))
        }
        return word
    }

    /// ASCII A–Z to a–z in every octet of a word at once. For each octet below 0x80, adding 0x3F sets its top
    /// bit when it is at least 'A', adding 0x25 when it is above 'Z'; octets with the top bit already set are
    /// not ASCII and stay as they are. The carry never crosses an octet because the top bits are masked off.
    @inline(__always)
    static func lowercased(_ word: UInt64) -> UInt64 {
        let low = word & 0x7F7F_7F7F_7F7F_7F7F
        let atLeastA = low &+ 0x3F3F_3F3F_3F3F_3F3F
        let aboveZ = low &+ 0x2525_2525_2525_2525
        let upper = atLeastA & ~aboveZ & ~word & 0x8080_8080_8080_8080
        return word | (upper >> 2)
    }

    @inline(__always)
    private static func hash(_ base: UnsafeRawPointer, _ count: Int) -> UInt32 {
        var hash = UInt64(count) &* 0x9E37_79B9_7F4A_7C15
        var offset = 0
        while offset < count {
            hash = (hash ^ lowercased(word(base, offset, count))) &* 0xFF51_AFD7_ED55_8CCD
            hash ^= hash >> 29
            offset += 8
        }
        return UInt32(truncatingIfNeeded: hash ^ (hash >> 32))
    }

    /// Compares a packet's name with a stored, already lower-cased key of the same length.
    @inline(__always)
    private static func equal(_ name: UnsafeRawPointer, _ key: UnsafeRawPointer, _ count: Int) -> Bool {
        var offset = 0
        while offset < count {
            if lowercased(word(name, offset, count)) != word(key, offset, count) { return false }
            offset += 8
        }
        return true
    }
}
