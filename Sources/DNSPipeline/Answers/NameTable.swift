/// An open-addressing hash table from lower-cased wire names to node indices, built once per snapshot.
///
/// The query path hashes and compares the name straight from the packet, lower-casing on the fly, so a lookup
/// allocates nothing (an Array or String key per query tripled user time in the measurements of DESIGN.md 7).
struct NameTable: Sendable {
    private struct Slot {
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

    @inline(__always)
    private static func lower(_ byte: UInt8) -> UInt8 { byte &- 0x41 < 26 ? byte | 0x20 : byte }

    /// FNV-1a over the lower-cased octets.
    @inline(__always)
    private static func hash(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var hash: UInt32 = 2_166_136_261
        for byte in bytes {
            hash = (hash ^ UInt32(lower(byte))) &* 16_777_619
        }
        return hash
    }

    /// Inserts a name given in wire form; the caller guarantees each name is inserted once.
    mutating func insert(_ wire: [UInt8], value: Int) {
        let lowered = wire.map(Self.lower)
        let hash = lowered.withUnsafeBytes(Self.hash)
        var index = Int(hash) & mask
        while slots[index].keyLength != 0 { index = (index + 1) & mask }
        slots[index] = Slot(
            hash: hash, keyStart: Int32(keys.count), keyLength: Int32(lowered.count), value: Int32(value))
        keys += lowered
    }

    /// Finds the name occupying `name` (wire form, any case). Nil when absent.
    func lookup(_ name: UnsafeRawBufferPointer) -> Int? {
        let hash = Self.hash(name)
        var index = Int(hash) & mask
        return slots.withUnsafeBufferPointer { slots in
            keys.withUnsafeBufferPointer { keys in
                while true {
                    let slot = slots[index]
                    if slot.keyLength == 0 { return nil }
                    if slot.hash == hash && Int(slot.keyLength) == name.count {
                        var equal = true
                        let start = Int(slot.keyStart)
                        for offset in 0..<name.count where keys[start + offset] != Self.lower(name[offset]) {
                            equal = false
                            break
                        }
                        if equal { return Int(slot.value) }
                    }
                    index = (index + 1) & mask
                }
            }
        }
    }
}
