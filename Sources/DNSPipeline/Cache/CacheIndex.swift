/// The cache's index from a question's hash to its slot in the ring: open addressing with linear probing over a
/// power-of-two table kept at most half full, so a lookup is a few array reads and no allocation (a Swift
/// Dictionary cost several times more on the hit path).
///
/// Two questions with the same hash both live here: a lookup walks the probe sequence and the caller compares
/// the full key, so a collision, made on purpose or not, can never replace another question's entry.
struct CacheIndex {
    /// Ring slot + 1 per position; 0 is empty.
    private var table: [Int32]
    /// The hash stored at each position, so deletion can move entries back without rehashing their keys.
    private var hashes: [UInt64]
    private let mask: Int
    private(set) var count = 0

    init(capacity: Int) {
        var size = 8
        while size < 2 * capacity { size <<= 1 }
        table = Array(repeating: 0, count: size)
        hashes = Array(repeating: 0, count: size)
        mask = size - 1
    }

    /// The home position of a hash: its high bits after a multiply, so keys that differ only in low bits spread.
    @inline(__always)
    private func home(_ hash: UInt64) -> Int {
        Int(truncatingIfNeeded: (hash &* 0x9E37_79B9_7F4A_7C15) >> 32) & mask
    }

    /// The slot holding the question with `hash` for which `matches` says yes, or nil.
    @inline(__always)
    func find(_ hash: UInt64, matches: (Int) -> Bool) -> Int? {
        var position = home(hash)
        while true {
            let entry = table[position]
            if entry == 0 { return nil }
            if hashes[position] == hash && matches(Int(entry) - 1) { return Int(entry) - 1 }
            position = (position + 1) & mask
        }
    }

    mutating func insert(_ hash: UInt64, slot: Int) {
        var position = home(hash)
        while table[position] != 0 { position = (position + 1) & mask }
        table[position] = Int32(slot + 1)
        hashes[position] = hash
        count += 1
    }

    /// Removes `slot`, stored under `hash`, and shifts later entries of its run back (no tombstones, so probe
    /// sequences never grow with churn).
    mutating func remove(_ hash: UInt64, slot: Int) {
        var position = home(hash)
        while table[position] != Int32(slot + 1) {
            guard table[position] != 0 else { return }
            position = (position + 1) & mask
        }
        table[position] = 0
        count -= 1
        var hole = position
        var next = (position + 1) & mask
        while table[next] != 0 {
            let wanted = home(hashes[next])
            // Move the entry into the hole unless its home lies cyclically in (hole, next].
            let stays = hole <= next ? (hole < wanted && wanted <= next) : (hole < wanted || wanted <= next)
            if !stays {
                table[hole] = table[next]
                hashes[hole] = hashes[next]
                table[next] = 0
                hole = next
            }
            next = (next + 1) & mask
        }
    }
}
