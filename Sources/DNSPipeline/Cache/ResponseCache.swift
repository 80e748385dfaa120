import DNSWire
import Synchronization

/// The cache of forwarded answers (DESIGN.md section 4), shared by every listener thread and kept across
/// snapshot swaps.
///
/// Eviction is CLOCK (second chance): entries sit in a fixed ring; a hit sets an entry's reference bit; to make
/// room the hand clears set bits and evicts the first entry whose bit is already clear. A hot entry is hit
/// again before the hand comes round and survives, while a scan of one-off names only ever replaces itself:
/// LRU's recency without reordering a list on every hit, which matters when hits take the lock.
///
/// Expired entries stay until evicted, so they can be served stale (RFC 8767) when every upstream fails. Only
/// successful answers are stored: a failure never replaces or shadows a cached answer.
public final class ResponseCache: Sendable {
    private struct Ring {
        var entries: [CachedResponse?]
        var referenced: [Bool]
        var index: CacheIndex
        var hand = 0
        /// What the entries hold, as `CachedResponse.footprint` counts it, kept within `settings.maxBytes`.
        var bytes = 0
    }

    public let settings: CacheSettings
    private let ring: Mutex<Ring>
    /// Called with a query and its forward rule when a hit falls in the last tenth of its entry's lifetime.
    private let prefetcher = Mutex<(@Sendable ([UInt8], Int) -> Void)?>(nil)
    /// Counters for the metrics endpoint: answered fresh, not answered (absent or expired), answered stale,
    /// refreshed early, and entries pushed out to make room (`scdns_cache_*_total`).
    public let hits = Atomic<Int>(0)
    public let misses = Atomic<Int>(0)
    public let evictions = Atomic<Int>(0)
    public let staleAnswers = Atomic<Int>(0)
    public let prefetches = Atomic<Int>(0)
    private let clock: @Sendable () -> UInt64
    /// The question hash's secret starting point, random per cache: which questions share a probe run cannot
    /// be worked out from outside, so nobody can build a flood of names that all land on one run.
    private let seed: UInt64
    /// Bits of the hash kept; all but tests keep every bit (a test clears them to make every question collide).
    private let hashMask: UInt64

    /// `clock` gives nanoseconds from any fixed origin; tests pass their own.
    public convenience init(settings: CacheSettings, clock: (@Sendable () -> UInt64)? = nil) {
        self.init(settings: settings, clock: clock, seed: UInt64.random(in: .min ... .max), hashMask: ~0)
    }

    init(settings: CacheSettings, clock: (@Sendable () -> UInt64)?, seed: UInt64, hashMask: UInt64) {
        self.settings = settings
        let capacity = max(1, settings.capacity)
        ring = Mutex(
            Ring(
                entries: Array(repeating: nil, count: capacity), referenced: Array(repeating: false, count: capacity),
                index: CacheIndex(capacity: capacity)))
        let origin = ContinuousClock.now
        self.clock = clock ?? { (ContinuousClock.now - origin).nanoseconds }
        self.seed = seed
        self.hashMask = hashMask
    }

    public var count: Int { ring.withLock { $0.index.count } }

    /// What the cached answers take, as the byte budget (`maxBytes`) counts it.
    public var bytes: Int { ring.withLock { $0.bytes } }

    /// Writes a fresh cached answer for the query into `response`; false on a miss or an expired entry.
    /// Sets what refreshes an entry early (the server's upstream client); nil turns prefetching off.
    public func setPrefetcher(_ prefetcher: (@Sendable ([UInt8], Int) -> Void)?) {
        self.prefetcher.withLock { $0 = prefetcher }
    }

    func answer(_ query: UnsafeRawBufferPointer, view: QueryView, rule: Int, into response: inout [UInt8]) -> Bool {
        let hash = hash(query, view: view)
        let now = clock()
        let (hit, refresh) = ring.withLock { ring -> (Bool, Bool) in
            guard let slot = Self.find(hash, query, view: view, in: ring), var entry = ring.entries[slot] else {
                return (false, false)
            }
            let age = now &- entry.storedAt
            let lifetime = UInt64(entry.lifetime) * 1_000_000_000
            guard age < lifetime else { return (false, false) }
            ring.referenced[slot] = true
            entry.write(query: query, view: view, now: now, fixedTTL: nil, settings: settings, into: &response)
            // In the last tenth of its life, once: the refresh stores a new entry, which starts over.
            guard settings.prefetch, !entry.prefetching, age >= lifetime - lifetime / 10 else { return (true, false) }
            entry.prefetching = true
            ring.entries[slot] = entry
            return (true, true)
        }
        if hit {
            hits.wrappingAdd(1, ordering: .relaxed)
        } else {
            misses.wrappingAdd(1, ordering: .relaxed)
        }
        if refresh, let prefetcher = prefetcher.withLock({ $0 }) {
            prefetches.wrappingAdd(1, ordering: .relaxed)
            prefetcher(Array(query), rule)
        }
        return hit
    }

    /// Writes an expired answer no older than `serveStale` past its expiry, every TTL set to 30 s; false when
    /// there is none.
    func stale(_ query: UnsafeRawBufferPointer, view: QueryView, into response: inout [UInt8]) -> Bool {
        guard settings.serveStale > 0 else { return false }
        let hash = hash(query, view: view)
        let now = clock()
        return ring.withLock { ring in
            guard let slot = Self.find(hash, query, view: view, in: ring), let entry = ring.entries[slot] else {
                return false
            }
            let age = now &- entry.storedAt
            let expiry = UInt64(entry.lifetime) * 1_000_000_000
            guard age >= expiry, age - expiry < UInt64(settings.serveStale) * 1_000_000_000 else { return false }
            entry.write(
                query: query, view: view, now: now, fixedTTL: CacheSettings.staleTTL, settings: settings,
                into: &response)
            staleAnswers.wrappingAdd(1, ordering: .relaxed)
            return true
        }
    }

    /// Stores the upstream's `response` to `query` (the client's query bytes), if it may be cached; true when
    /// it was.
    @discardableResult
    public func store(_ response: Message, for query: [UInt8]) -> Bool {
        query.withUnsafeBytes { raw in
            guard let view = try? QueryView.scan(raw), view.questionCount == 1 else { return false }
            let key = Self.key(raw, view: view)
            let hash = hash(raw, view: view)
            guard var entry = CachedResponse.make(response, key: key, settings: settings, now: clock()),
                entry.footprint <= settings.maxBytes
            else { return false }
            entry.hash = hash
            ring.withLock { ring in
                if let slot = Self.find(hash, raw, view: view, in: ring) {
                    // The same question again (a refresh): the new answer takes its place.
                    ring.bytes += entry.footprint - (ring.entries[slot]?.footprint ?? 0)
                    ring.entries[slot] = entry
                    makeRoom(&ring, keeping: slot)
                    return
                }
                let slot = Self.victim(&ring)
                evict(slot, from: &ring)
                ring.bytes += entry.footprint
                ring.entries[slot] = entry
                ring.referenced[slot] = false
                ring.index.insert(hash, slot: slot)
                makeRoom(&ring, keeping: slot)
            }
            return true
        }
    }

    /// Evicts entries in CLOCK order, never `kept`, until the answers fit the byte budget again.
    private func makeRoom(_ ring: inout Ring, keeping kept: Int) {
        while ring.bytes > settings.maxBytes {
            let slot = Self.victim(&ring)
            if slot != kept { evict(slot, from: &ring) }
        }
    }

    private func evict(_ slot: Int, from ring: inout Ring) {
        guard let old = ring.entries[slot] else { return }
        ring.index.remove(old.hash, slot: slot)
        ring.bytes -= old.footprint
        ring.entries[slot] = nil
        evictions.wrappingAdd(1, ordering: .relaxed)
    }

    /// The slot holding the query's question, compared octet by octet: a hash is only where to start looking.
    @inline(__always)
    private static func find(_ hash: UInt64, _ query: UnsafeRawBufferPointer, view: QueryView, in ring: Ring) -> Int? {
        ring.index.find(hash) { slot in
            guard let entry = ring.entries[slot] else { return false }
            return matches(entry.key, query, view: view)
        }
    }

    /// Advances the hand to the first slot that is empty or not referenced since the hand last passed.
    private static func victim(_ ring: inout Ring) -> Int {
        while true {
            let slot = ring.hand
            ring.hand = (ring.hand + 1) % ring.entries.count
            if ring.entries[slot] == nil || !ring.referenced[slot] { return slot }
            ring.referenced[slot] = false
        }
    }

    /// The question as a key: the name lower-cased, then type, class, and the DO and CD bits, which change
    /// what an upstream answers.
    static func key(_ query: UnsafeRawBufferPointer, view: QueryView) -> [UInt8] {
        var key = query[view.nameStart..<view.nameEnd].map { $0 &- 0x41 < 26 ? $0 | 0x20 : $0 }
        key += query[view.nameEnd..<view.questionEnd]
        key.append(flags(query, view: view))
        return key
    }

    private static func flags(_ query: UnsafeRawBufferPointer, view: QueryView) -> UInt8 {
        (view.edns?.dnssecOK == true ? 1 : 0) | (view.checkingDisabled ? 2 : 0)
    }

    /// FNV-1a over the key's octets from a secret starting point, computed from the packet without building the
    /// key. The result only chooses where to look: entries are told apart by their whole key.
    func hash(_ query: UnsafeRawBufferPointer, view: QueryView) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325 ^ seed
        for index in view.nameStart..<view.questionEnd {
            let byte = query[index]
            // Letters fold in the name only: type and class octets are numbers (TYPE65 is not TYPE97).
            let folded = index < view.nameEnd && byte &- 0x41 < 26 ? byte | 0x20 : byte
            hash = (hash ^ UInt64(folded)) &* 0x100_0000_01B3
        }
        return ((hash ^ UInt64(Self.flags(query, view: view))) &* 0x100_0000_01B3) & hashMask
    }

    private static func matches(_ key: [UInt8], _ query: UnsafeRawBufferPointer, view: QueryView) -> Bool {
        let length = view.questionEnd - view.nameStart
        guard key.count == length + 1, key[length] == flags(query, view: view) else { return false }
        let nameLength = view.nameLength
        for offset in 0..<length {
            let byte = query[view.nameStart + offset]
            if key[offset] != (offset < nameLength && byte &- 0x41 < 26 ? byte | 0x20 : byte) { return false }
        }
        return true
    }
}

extension Duration {
    var nanoseconds: UInt64 {
        UInt64(max(0, components.seconds)) * 1_000_000_000 + UInt64(max(0, components.attoseconds)) / 1_000_000_000
    }
}
