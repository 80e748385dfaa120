import DNSWire

/// One cached answer in the form it is served from: the upstream's response with ID 0, no OPT and the question
/// in lower case, plus where each record's TTL lies so serving can count it down without parsing.
struct CachedResponse: Sendable {
    var key: [UInt8]
    var bytes: [UInt8]
    var ttlOffsets: [Int32]
    /// When it was stored, in the cache clock's nanoseconds, and how long it is fresh, in seconds.
    var storedAt: UInt64
    var lifetime: UInt32
    /// Set once a refresh has been asked for, so a popular entry is prefetched once, not on every hit.
    var prefetching = false
    /// The cache's hash of `key`, kept so the index can move or remove the entry without rehashing.
    var hash: UInt64 = 0

    /// The memory the entry holds, as the byte budget counts it: its three arrays' contents plus a fixed
    /// allowance for their headers and the entry itself.
    var footprint: Int { key.count + bytes.count + 4 * ttlOffsets.count + Self.overhead }
    static let overhead = 160

    /// The canonical form of `response` for caching, or nil when it must not be cached: only NOERROR and
    /// NXDOMAIN, never truncated, and a negative answer only with the SOA that bounds it (RFC 2308 5).
    static func make(
        _ response: Message, key: [UInt8], settings: CacheSettings, now: UInt64
    ) -> CachedResponse? {
        guard response.rcode == .noError || response.rcode == .nxDomain, !response.header.truncated,
            response.questions.count == 1
        else { return nil }
        var canonical = response
        var lifetime: UInt32
        if response.rcode == .noError && !response.answers.isEmpty {
            // Positive: the smallest TTL of the answer section, a TTL with its top bit set counting as 0.
            lifetime = response.answers.map { CacheSettings.effectiveTTL($0.ttl) }.min() ?? 0
        } else {
            guard let index = response.authority.firstIndex(where: { $0.type == .soa }),
                case .soa(let fields) = response.authority[index].data
            else { return nil }
            lifetime = min(
                CacheSettings.effectiveTTL(response.authority[index].ttl), CacheSettings.effectiveTTL(fields.minimum))
            // RFC 2308 5: the SOA's TTL is the negative answer's, counted down as we serve it; left above
            // MINIMUM, a client would keep the answer longer than we do.
            canonical.authority[index].ttl = lifetime
        }
        lifetime = settings.held(lifetime)
        guard lifetime > 0 else { return nil }
        canonical.header.id = 0
        canonical.edns = nil
        canonical.questions[0].name = canonical.questions[0].name.lowercased()
        // Served, the entry gets the query's question bytes in place of its own: it must answer that very
        // question (the key's name, type and class), or a hit would be another name's answer, or malformed.
        let question = canonical.questions[0]
        let asked =
            question.name.wire
            + [question.type.rawValue, question.qclass.rawValue].flatMap {
                [UInt8($0 >> 8), UInt8(truncatingIfNeeded: $0)]
            }
        guard key.dropLast().elementsEqual(asked) else { return nil }
        let bytes = canonical.serialized()
        guard let offsets = ttlOffsets(bytes) else { return nil }
        return CachedResponse(key: key, bytes: bytes, ttlOffsets: offsets, storedAt: now, lifetime: lifetime)
    }

    /// The offset of every record's TTL field in a message we serialized ourselves.
    private static func ttlOffsets(_ bytes: [UInt8]) -> [Int32]? {
        bytes.withUnsafeBytes { raw -> [Int32]? in
            var reader = WireReader(raw, offset: 12)
            let counts = (4..<6).map { Int(raw[2 * $0]) << 8 | Int(raw[2 * $0 + 1]) }
            let records = Int(raw[6]) << 8 | Int(raw[7])
            do throws(DNSWireError) {
                try reader.skipName()
                try reader.skip(4)
                var offsets: [Int32] = []
                for _ in 0..<(records + counts[0] + counts[1]) {
                    try reader.skipName()
                    try reader.skip(4)
                    offsets.append(Int32(reader.offset))
                    try reader.skip(4)
                    try reader.skip(Int(try reader.readUInt16()))
                }
                return offsets
            } catch {
                return nil
            }
        }
    }

    /// Writes this answer for a query into `response`: the query's ID and question bytes (its exact case),
    /// RD and CD from the query, and each TTL held within `minTTL...maxTTL` and counted down by the time spent
    /// in the cache (or set to `fixedTTL`, for stale answers), so a client never keeps it longer than we do.
    func write(
        query: UnsafeRawBufferPointer, view: QueryView, now: UInt64, fixedTTL: UInt32?, settings: CacheSettings,
        into response: inout [UInt8]
    ) {
        response.append(contentsOf: bytes)
        let elapsed = UInt32(clamping: (now &- storedAt) / 1_000_000_000)
        response.withUnsafeMutableBytes { out in
            out[0] = query[0]
            out[1] = query[1]
            out[2] = (out[2] & ~0x01) | (query[2] & 0x01)
            out[3] = (out[3] & ~0x10) | (query[3] & 0x10)
            UnsafeMutableRawBufferPointer(rebasing: out[view.nameStart..<view.questionEnd])
                .copyMemory(from: UnsafeRawBufferPointer(rebasing: query[view.nameStart..<view.questionEnd]))
            for offset in ttlOffsets {
                let position = Int(offset)
                let original =
                    UInt32(out[position]) << 24 | UInt32(out[position + 1]) << 16 | UInt32(out[position + 2]) << 8
                    | UInt32(out[position + 3])
                let held = settings.held(original)
                let ttl = fixedTTL ?? (held > elapsed ? held - elapsed : 0)
                out[position] = UInt8(ttl >> 24)
                out[position + 1] = UInt8(truncatingIfNeeded: ttl >> 16)
                out[position + 2] = UInt8(truncatingIfNeeded: ttl >> 8)
                out[position + 3] = UInt8(truncatingIfNeeded: ttl)
            }
        }
    }
}
