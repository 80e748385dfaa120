/// `cache:` (DESIGN.md section 4): how forwarded answers are kept.
public struct CacheSettings: Sendable, Equatable {
    /// Entries at most (`capacity`); 0 turns the cache off.
    public var capacity: Int
    /// Octets the cached answers may hold at most (`maxBytes`): one entry can be a 64 KB answer, so a count of
    /// entries alone does not bound memory. An answer larger than this is not cached.
    public var maxBytes: Int
    /// Floor and ceiling on how long an answer is kept, in seconds (`minTTL`, `maxTTL`).
    public var minTTL: UInt32
    public var maxTTL: UInt32
    /// How long after expiry an answer may still be served when every upstream fails, in seconds
    /// (`serveStale`, RFC 8767); 0 never serves stale.
    public var serveStale: UInt32
    /// Refresh an entry in the background when it is asked for in the last tenth of its lifetime
    /// (`prefetch`), so popular names never expire under their clients.
    public var prefetch: Bool

    public init(
        capacity: Int = 100_000, minTTL: UInt32 = 0, maxTTL: UInt32 = 3600, serveStale: UInt32 = 86400,
        prefetch: Bool = true, maxBytes: Int = 64 << 20
    ) {
        self.capacity = capacity
        self.maxBytes = maxBytes
        self.prefetch = prefetch
        self.minTTL = minTTL
        self.maxTTL = maxTTL
        self.serveStale = serveStale
    }

    /// A TTL held within `minTTL...maxTTL`: what a cached answer, and the first answer from upstream, tell
    /// clients, so none keeps an answer longer than the cache does.
    public func held(_ ttl: UInt32) -> UInt32 {
        max(minTTL, min(maxTTL, Self.effectiveTTL(ttl)))
    }

    /// RFC 2181 8: a TTL with the most significant bit set is treated as zero, not as a huge value.
    @inline(__always)
    public static func effectiveTTL(_ ttl: UInt32) -> UInt32 {
        ttl & 0x8000_0000 == 0 ? ttl : 0
    }

    /// RFC 8767 4: the TTL of a stale answer.
    public static let staleTTL: UInt32 = 30
}
