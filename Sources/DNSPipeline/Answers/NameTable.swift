/// An open-addressing hash table from lower-cased wire names to node indices, built once per snapshot.
///
/// The query path hashes and compares the name straight from the packet, eight octets at a time with the
/// letters lower-cased in the word (SWAR), so a lookup allocates nothing and costs a few instructions per
/// word rather than per octet: a byte-at-a-time version was a third of the whole pipeline in callgrind, and
/// an Array or String key per query tripled user time in the measurements of DESIGN.md section 7.
struct NameTable: Sendable {
    /// Twelve octets: at 100,000 services the slots were a sixth of the snapshot.
    private struct Slot: Sendable {
        /// The hash's upper 24 bits, then the key's length in the low octet (a name is at most 255 octets; 0 marks
        /// an empty slot): one comparison rejects nearly every other name without reading its key.
        var tag: UInt32
        var keyStart: UInt32
        var value: Int32

        var keyLength: Int { Int(tag & 0xFF) }
        static let empty = Slot(tag: 0, keyStart: 0, value: 0)

        @inline(__always)
        static func tag(hash: UInt32, length: Int) -> UInt32 { hash & ~0xFF | UInt32(truncatingIfNeeded: length) }
    }

    private var slots: [Slot]
    private var keys: [UInt8] = []
    private var mask: Int
    /// Names inserted so far.
    private(set) var count = 0

    init(capacity: Int) {
        var size = 16
        while size / 4 * 3 < capacity { size <<= 1 }
        slots = Array(repeating: .empty, count: size)
        mask = size - 1
    }

    /// Bytes held by the slots and by the keys (their arrays' element counts; capacity beyond is malloc's).
    var bytes: (slots: Int, keys: Int) { (slots.count * MemoryLayout<Slot>.stride, keys.count) }

    /// How many names fit: a table keeps at least a quarter of its slots empty. Linear probing then finds a name
    /// it holds in under three slots on average and gives up on one it lacks after about eight, each a 32-bit
    /// comparison in one or two cache lines; half empty cost 16 MiB more at 100,000 services for fewer probes
    /// (`bench/pipeline-callgrind.sh` nxdomain: 1,743 -> 1,785 instructions a query, hit 1,140 -> 1,129).
    var capacity: Int { slots.count / 4 * 3 }

    /// The same table with twice the slots, each entry placed again by its key's hash in the order the names were
    /// inserted (their keys' order): as a table made at that size from the start would have them, so the probes a
    /// name takes do not depend on how often its table grew. The keys are shared, not copied.
    ///
    /// The keys lie one after another in the order inserted, each a wire name padded to whole words: they are
    /// walked in that order, each one's slot found again by its hash (the slot keeps only part of it; the key,
    /// lower-cased already, gives it whole). Sorting the slots by their keys' positions instead was two thirds of
    /// the doubling.
    func doubled() -> NameTable {
        var table = self
        table.slots = Array(repeating: .empty, count: slots.count * 2)
        table.mask = table.slots.count - 1
        keys.withUnsafeBytes { keys in
            slots.withUnsafeBufferPointer { old in
                var start = 0
                while start < keys.count {
                    var length = 0
                    while keys[start + length] != 0 {
                        length += 1 + Int(keys[start + length])
                        precondition(start + length < keys.count, "a name table's keys are wire names")
                    }
                    length += 1
                    let hash = Self.hash(keys.baseAddress! + start, length)
                    var index = Int(hash) & mask
                    while old[index].keyStart != UInt32(start) || old[index].keyLength != length {
                        precondition(old[index].keyLength != 0, "every key of a name table has its slot")
                        index = (index + 1) & mask
                    }
                    var target = Int(hash) & table.mask
                    while table.slots[target].keyLength != 0 { target = (target + 1) & table.mask }
                    table.slots[target] = old[index]
                    start += (length + 7) & ~7
                }
            }
        }
        return table
    }

    /// Inserts a name given in wire form (uncompressed, labels up to its root octet: `doubled()` reads the keys
    /// back by their labels); the caller guarantees each name is inserted once, and no more than `capacity` names
    /// (`doubled()` makes room).
    mutating func insert(_ wire: [UInt8], value: Int) {
        count += 1
        // The key is lower-cased where it is stored (a lower-cased copy first cost an array per name), padded with
        // zeros to whole words, so a lookup compares it a word at a time with full loads.
        let start = keys.count
        keys += wire
        keys += repeatElement(0, count: (8 - wire.count % 8) % 8)
        let hash = keys.withUnsafeMutableBytes { keys in
            // A word at a time, padding included (zeros, no capitals): keys start at whole words.
            var offset = start
            while offset < keys.count {
                let word = keys.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
                keys.storeBytes(of: Self.lowercased(word), toByteOffset: offset, as: UInt64.self)
                offset += 8
            }
            return Self.hash(keys.baseAddress! + start, wire.count)
        }
        precondition(wire.count <= Self.maxNameLength && start <= UInt32.max, "a name table holds names only")
        var index = Int(hash) & mask
        while slots[index].keyLength != 0 { index = (index + 1) & mask }
        slots[index] = Slot(
            tag: Slot.tag(hash: hash, length: wire.count), keyStart: UInt32(start), value: Int32(value))
    }

    /// `insert`, the table doubled first when it is full: how a build fills its table without knowing how many
    /// names it will hold.
    mutating func insertGrowing(_ wire: [UInt8], value: Int) {
        if count >= capacity { self = doubled() }
        insert(wire, value: value)
    }

    /// Every key (lower-cased wire name) by its value, for values `0..<count`: where a later snapshot that
    /// reuses nodes finds their names.
    func keysByValue(count: Int) -> [ArraySlice<UInt8>] {
        var result = [ArraySlice<UInt8>](repeating: [], count: count)
        for slot in slots where slot.keyLength != 0 && Int(slot.value) < count {
            result[Int(slot.value)] = keys[Int(slot.keyStart)..<(Int(slot.keyStart) + slot.keyLength)]
        }
        return result
    }

    /// The slot of each value `0..<count`, -1 for a value no key holds: with `key(atSlot:)`, a node's name from
    /// its index, which an overlay needs for the names of a changed service's old nodes. Kept apart from the
    /// table (in the snapshot), so a lookup's copy of the table carries no third array.
    func slotsByValue(count: Int) -> [Int32] {
        var result = [Int32](repeating: -1, count: count)
        for (index, slot) in slots.enumerated() where slot.keyLength != 0 && Int(slot.value) < count {
            result[Int(slot.value)] = Int32(index)
        }
        return result
    }

    /// The key (lower-cased wire name) in slot `slot` of `slotsByValue`; nil for -1.
    func key(atSlot slot: Int32) -> ArraySlice<UInt8>? {
        guard slot >= 0 else { return nil }
        let found = slots[Int(slot)]
        return keys[Int(found.keyStart)..<(Int(found.keyStart) + found.keyLength)]
    }

    /// Finds a name given as an array (a key of another table, say).
    func lookup(_ name: ArraySlice<UInt8>) -> Int? {
        name.withUnsafeBytes { lookup($0) }
    }

    /// Finds `name` (wire form, any letter case). Nil when absent.
    func lookup(_ name: UnsafeRawBufferPointer) -> Int? {
        guard let base = name.baseAddress, name.count > 0, name.count <= Self.maxNameLength else { return nil }
        let count = name.count
        // The name's words, lower-cased once while hashing and then compared as they are: lower-casing is most
        // of the work per word. 32 words hold the longest name; the buffer is on the stack.
        return withUnsafeTemporaryAllocation(of: UInt64.self, capacity: Self.maxNameLength / 8 + 1) { words in
            let hash = Self.hash(base, count, keeping: words.baseAddress!)
            let tag = Slot.tag(hash: hash, length: count)
            var index = Int(hash) & mask
            return slots.withUnsafeBufferPointer { slots in
                keys.withUnsafeBytes { keys in
                    while true {
                        let slot = slots[index]
                        if slot.tag == tag
                            && Self.equal(words.baseAddress!, keys.baseAddress! + Int(slot.keyStart), count)
                        {
                            return Int(slot.value)
                        }
                        if slot.keyLength == 0 { return nil }
                        index = (index &+ 1) & mask
                    }
                }
            }
        }
    }

    /// A wire name is at most 255 octets (RFC 1035 3.1).
    private static let maxNameLength = 255

    /// Up to eight octets at `offset` as a little-endian word, zero-padded past `count`. A short last word of a
    /// name of eight octets or more is the word ending at `count`, shifted down: one load instead of a loop over
    /// its octets, and never a read outside the name.
    @inline(__always)
    private static func word(_ base: UnsafeRawPointer, _ offset: Int, _ count: Int) -> UInt64 {
        let remaining = count &- offset
        if remaining >= 8 { return UInt64(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) }
        if count >= 8 {
            let last = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: count &- 8, as: UInt64.self))
            return last &>> UInt64(8 &* (8 &- remaining))
        }
        var word: UInt64 = 0
        for index in 0..<remaining {
            word |= UInt64(base.load(fromByteOffset: offset &+ index, as: UInt8.self)) &<< (8 &* UInt64(index))
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
        withUnsafeTemporaryAllocation(of: UInt64.self, capacity: count / 8 + 1) {
            hash(base, count, keeping: $0.baseAddress!)
        }
    }

    /// The hash of a name of `count` octets at `base`, any letter case, leaving its lower-cased words in
    /// `words` (room for `count / 8 + 1`).
    @inline(never)
    private static func hash(
        _ base: UnsafeRawPointer, _ count: Int, keeping words: UnsafeMutablePointer<UInt64>
    )
        -> UInt32
    {
        var hash = UInt64(truncatingIfNeeded: count) &* 0x9E37_79B9_7F4A_7C15
        @inline(__always) func mix(_ word: UInt64, at position: Int) {
            words[position] = word
            hash = (hash ^ word) &* 0xFF51_AFD7_ED55_8CCD
            hash ^= hash &>> 29
        }
        // Whole words, then the short last one: the loop itself has no case for a name's end, and is short.
        let whole = count &>> 3
        for position in 0..<whole {
            mix(
                lowercased(UInt64(littleEndian: base.loadUnaligned(fromByteOffset: position &<< 3, as: UInt64.self))),
                at: position)
        }
        if count & 7 != 0 { mix(lowercased(word(base, whole &<< 3, count)), at: whole) }
        return UInt32(truncatingIfNeeded: hash ^ (hash &>> 32))
    }

    /// Compares a name's lower-cased words with a stored key of the same length, lower-cased and padded with
    /// zeros to whole words (`insert`), as the words are.
    @inline(__always)
    private static func equal(_ words: UnsafePointer<UInt64>, _ key: UnsafeRawPointer, _ count: Int) -> Bool {
        var offset = 0
        var position = words
        while offset < count {
            let stored = UInt64(littleEndian: key.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
            if position.pointee != stored { return false }
            position += 1
            offset &+= 8
        }
        return true
    }
}
