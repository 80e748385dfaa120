#if canImport(Glibc)
import Glibc
#endif

/// Every precompiled response of a snapshot in one contiguous array, addressed by index.
///
/// One array instead of an array per response keeps the query path free of reference counting: copying a
/// template touches no object header, only bytes (per-query retain/release showed up in callgrind).
///
/// A template is a response without its question: the 12-octet header, then everything after the question.
/// The writer puts the query's own question between the two (it echoes the query's letter case and, for a
/// CNAME's fallback, its type anyway), so the name, which the name table already holds, is not stored again
/// with each of the name's templates: about half of their bytes at 100,000 services.
struct TemplateStore: Sendable {
    private struct Span: Sendable {
        var start: Int32
        var count: Int32
    }

    private var bytes: [UInt8] = []
    private var spans: [Span] = []
    /// While a snapshot is built (`init(sharingBytes:)`): where each distinct template's bytes are, so that an
    /// equal template stored again gets a span of its own over the same bytes. A service's own name answers with
    /// the same bytes under every naming tree, as do its cluster names: half of the template bytes at 100,000
    /// services under the default zones, 28% under bench/gen.py's settings (BENCHMARKS.md). Nil in a finished
    /// snapshot (`finished`).
    private var sharing: SharedBytes? = nil

    init() {}

    /// A store for a snapshot being built: equal templates share their bytes.
    init(sharingBytes: Bool) {
        if sharingBytes { sharing = SharedBytes() }
    }

    /// The store as a snapshot keeps it: without the index of its bytes, which only a build needs.
    func finished() -> TemplateStore {
        var store = self
        store.sharing = nil
        return store
    }

    var count: Int { spans.count }
    /// Bytes of the responses, and of their spans.
    var byteCounts: (responses: Int, spans: Int) { (bytes.count, spans.count * MemoryLayout<Span>.stride) }

    /// The octets of a template before the question's place: the header.
    static let headerLength = 12

    /// Stores `template`, a response already without its question (`template(ofResponse:)`,
    /// `Message.simpleAnswersWithoutQuestion`), and returns its index.
    mutating func append(template: [UInt8]) -> Int32 {
        precondition(template.count >= Self.headerLength && template[4] == 0 && template[5] == 1)
        spans.append(template.withUnsafeBytes { store($0) })
        return Int32(spans.count - 1)
    }

    /// Where `template`'s bytes are: equal bytes already stored when the store shares them, else appended.
    private mutating func store(_ template: UnsafeRawBufferPointer) -> Span {
        guard sharing != nil else {
            let span = Span(start: Int32(bytes.count), count: Int32(template.count))
            bytes.append(contentsOf: template.assumingMemoryBound(to: UInt8.self))
            return span
        }
        let hash = SharedBytes.hash(template)
        let found = bytes.withUnsafeBytes { stored in
            sharing!.find(hash) { candidate in
                candidate.count == Int32(template.count)
                    && memcmp(stored.baseAddress! + Int(candidate.start), template.baseAddress!, template.count) == 0
            }
        }
        if let found { return found }
        let span = Span(start: Int32(bytes.count), count: Int32(template.count))
        bytes.append(contentsOf: template.assumingMemoryBound(to: UInt8.self))
        sharing!.insert(span, hash: hash)
        return span
    }

    /// A response of exactly one question as a template: without that question.
    static func template(ofResponse response: [UInt8]) -> [UInt8] {
        let end = response.withUnsafeBytes { MessageLayout.questionEnd($0) }
        precondition(response[4] == 0 && response[5] == 1, "a template is a response with one question")
        guard let questionEnd = end else { preconditionFailure("a template's question runs past its end") }
        return Array(response[..<Self.headerLength]) + response[questionEnd...]
    }

    /// Whether template `index` is `template`, octet for octet.
    func template(_ index: Int32, equals template: [UInt8]) -> Bool {
        let span = spans[Int(index)]
        guard Int(span.count) == template.count else { return false }
        return bytes.withUnsafeBytes { all in
            template.withUnsafeBytes { memcmp(all.baseAddress! + Int(span.start), $0.baseAddress!, $0.count) == 0 }
        }
    }

    /// Stores the bytes of template `index` of `other` (a previous snapshot's) and returns the new index; -1 stays
    /// -1 (no template).
    mutating func copy(_ index: Int32, from other: TemplateStore) -> Int32 {
        guard index >= 0 else { return -1 }
        let span = other.spans[Int(index)]
        spans.append(
            other.bytes.withUnsafeBytes {
                store(UnsafeRawBufferPointer(rebasing: $0[Int(span.start)..<Int(span.start + span.count)]))
            })
        return Int32(spans.count - 1)
    }

    /// Appends every template of `other` (compiled on another thread), template `i` of it becoming template
    /// `count + i` of this, as `count` was before.
    mutating func append(contentsOf other: TemplateStore) {
        guard sharing != nil else {
            let start = Int32(bytes.count)
            spans += other.spans.map { Span(start: $0.start + start, count: $0.count) }
            bytes += other.bytes
            return
        }
        other.bytes.withUnsafeBytes { otherBytes in
            for span in other.spans {
                spans.append(
                    store(UnsafeRawBufferPointer(rebasing: otherBytes[Int(span.start)..<Int(span.start + span.count)])))
            }
        }
    }

    /// Calls `body` with the bytes of template `index`: its header, then the sections after the question.
    @inline(__always)
    func withTemplate<Result>(_ index: Int, _ body: (UnsafeRawBufferPointer) -> Result) -> Result {
        let span = spans[index]
        return bytes.withUnsafeBytes { all in
            body(UnsafeRawBufferPointer(rebasing: all[Int(span.start)..<Int(span.start + span.count)]))
        }
    }

    /// An open-addressing table of the distinct templates' spans by a hash of their bytes: a slot holds 31 bits
    /// of the hash and the span, so growing rehashes nothing and a probe compares bytes only on a hash match.
    private struct SharedBytes {
        private struct Slot {
            /// 0 for an empty slot; else the hash with its top bit set.
            var tag: UInt32 = 0
            var span = Span(start: 0, count: 0)
        }

        private var slots = [Slot](repeating: Slot(), count: 1024)
        private var count = 0

        /// 31 bits of a hash of `bytes`, eight octets at a time, with the top bit set (0 is an empty slot).
        static func hash(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
            var hash: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(bytes.count)
            var offset = 0
            while offset + 8 <= bytes.count {
                hash = (hash ^ bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) &* 0xFF51_AFD7_ED55_8CCD
                hash ^= hash >> 32
                offset += 8
            }
            // The last eight octets, overlapping those hashed already: a template is at least its 12-octet header.
            var tail: UInt64 = 0
            if offset < bytes.count {
                if bytes.count >= 8 {
                    tail = bytes.loadUnaligned(fromByteOffset: bytes.count - 8, as: UInt64.self)
                } else {
                    for byte in bytes { tail = tail << 8 | UInt64(byte) }
                }
            }
            // MurmurHash3's finalizer: every octet moves the low bits, which pick the slot. Without it the last
            // octets (an address) reached only the high ones, and a big registry's templates piled up in a few
            // runs of slots.
            hash ^= tail
            hash ^= hash >> 33
            hash &*= 0xFF51_AFD7_ED55_8CCD
            hash ^= hash >> 33
            hash &*= 0xC4CE_B9FE_1A85_EC53
            hash ^= hash >> 33
            return UInt32(truncatingIfNeeded: hash) | 0x8000_0000
        }

        /// The span of a template with this hash for which `matches` holds, if one is stored.
        func find(_ hash: UInt32, matches: (Span) -> Bool) -> Span? {
            let mask = slots.count - 1
            var position = Int(hash) & mask
            while slots[position].tag != 0 {
                if slots[position].tag == hash && matches(slots[position].span) { return slots[position].span }
                position = (position + 1) & mask
            }
            return nil
        }

        /// Records a template's span under its hash (not found before).
        mutating func insert(_ span: Span, hash: UInt32) {
            if (count + 1) * 4 > slots.count * 3 {
                let old = slots
                slots = [Slot](repeating: Slot(), count: old.count * 2)
                for slot in old where slot.tag != 0 { place(slot) }
            }
            place(Slot(tag: hash, span: span))
            count += 1
        }

        private mutating func place(_ slot: Slot) {
            let mask = slots.count - 1
            var position = Int(slot.tag) & mask
            while slots[position].tag != 0 { position = (position + 1) & mask }
            slots[position] = slot
        }
    }
}
