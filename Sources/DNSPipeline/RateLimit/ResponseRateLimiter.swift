import Synchronization

/// What happens to one UDP response under response rate limiting.
public enum RateLimitVerdict: Sendable, Equatable {
    /// Within the client network's rate: send it.
    case send
    /// Over the rate, and this one is the slip: send it truncated (TC=1) so a real client retries over TCP.
    case slip
    /// Over the rate: send nothing.
    case drop
}

/// Response rate limiting as Knot and BIND do it (`limits.rrl`): a token bucket per client network (IPv4 /24,
/// IPv6 /56) refilled at `responsesPerSecond` and holding one second's worth, so a reflection flood with a
/// victim's address as source gets at most that many full answers a second, however many queries carry it.
///
/// Each bucket is one number, GCRA's "theoretical arrival time" (`due`): the instant the bucket would be full
/// again. A response is within the rate when, after adding one response's interval, `due` stays within one
/// second of now. A bucket whose `due` has passed is full, so it is the same as no bucket at all: the table keeps
/// nothing for idle clients and can always give their slots away.
///
/// The table is fixed at start (`capacity` buckets, 24 octets each): a set-associative hash on the network with a
/// random seed, so nobody can choose addresses that evict a victim's bucket. A network not in its set takes the
/// slot whose bucket is fullest, which loses nothing unless every slot of the set is in use this second. Sets are
/// locked in shards: listener threads rarely wait on each other, and nothing is allocated per response.
public final class ResponseRateLimiter: @unchecked Sendable {
    // @unchecked: `buckets` is written only under the lock of the shard its set belongs to.

    public let settings: RateLimitSettings
    /// Nanoseconds one response uses of a bucket.
    private let interval: Int64
    /// How far ahead of now `due` may run: one second, so a full bucket holds `responsesPerSecond` responses.
    private static let burst: Int64 = 1_000_000_000
    private static let ways = 4
    private static let shardCount = 16
    private let setMask: Int
    private let buckets: UnsafeMutablePointer<Bucket>
    private let shards: [Shard]
    private let seed: UInt64
    private let clock: @Sendable () -> Int64

    private struct Bucket {
        /// The client network with a family tag, 0 for a slot never used.
        var key: UInt64 = 0
        /// When the bucket is full again, in the clock's nanoseconds.
        var due: Int64 = .min
        /// Responses limited since the slot was taken: every `slip`-th of them is slipped.
        var limited: UInt32 = 0
    }

    /// What one shard's sets have limited, counted under its lock.
    private final class Shard: Sendable {
        let totals = Mutex((dropped: 0, slipped: 0))
    }

    /// `capacity` buckets at most (rounded to a power of two, at least 64); `clock` gives nanoseconds from any
    /// fixed origin (tests pass their own).
    public convenience init(settings: RateLimitSettings, capacity: Int = 65_536, clock: (@Sendable () -> Int64)? = nil)
    {
        self.init(settings: settings, capacity: capacity, clock: clock, seed: UInt64.random(in: .min ... .max))
    }

    init(settings: RateLimitSettings, capacity: Int, clock: (@Sendable () -> Int64)?, seed: UInt64) {
        precondition(settings.isEnabled, "a rate limiter needs a positive responsesPerSecond")
        self.settings = settings
        interval = max(1, Self.burst / Int64(settings.responsesPerSecond))
        var sets = Self.shardCount
        while sets * Self.ways < capacity { sets <<= 1 }
        setMask = sets - 1
        buckets = .allocate(capacity: sets * Self.ways)
        buckets.initialize(repeating: Bucket(), count: sets * Self.ways)
        shards = (0..<Self.shardCount).map { _ in Shard() }
        self.seed = seed
        let origin = ContinuousClock.now
        self.clock = clock ?? { Int64((ContinuousClock.now - origin).nanoseconds) }
    }

    deinit {
        buckets.deinitialize(count: (setMask + 1) * Self.ways)
        buckets.deallocate()
    }

    /// Buckets the table holds.
    public var capacity: Int { (setMask + 1) * Self.ways }

    /// Responses dropped and slipped since start.
    public var totals: (dropped: Int, slipped: Int) {
        shards.reduce(into: (dropped: 0, slipped: 0)) { sum, shard in
            let totals = shard.totals.withLock { $0 }
            sum.dropped += totals.dropped
            sum.slipped += totals.slipped
        }
    }

    /// Takes one response from `address`'s network's bucket, or says how to limit it.
    public func judge(_ address: ClientAddress) -> RateLimitVerdict {
        let key = Self.key(address)
        let set = Int(truncatingIfNeeded: splitMix64(key ^ seed)) & setMask
        let now = clock()
        let slip = UInt32(settings.slip)
        return shards[set & (Self.shardCount - 1)].totals.withLock { totals in
            let slots = buckets + set * Self.ways
            var slot = 0
            var found = false
            for way in 0..<Self.ways {
                if slots[way].key == key {
                    slot = way
                    found = true
                    break
                }
                if slots[way].due < slots[slot].due { slot = way }
            }
            if !found { slots[slot] = Bucket(key: key, due: now, limited: 0) }
            let next = max(slots[slot].due, now) &+ interval
            if next &- now <= Self.burst {
                slots[slot].due = next
                return .send
            }
            slots[slot].limited &+= 1
            if slip > 0 && slots[slot].limited % slip == 0 {
                totals.slipped += 1
                return .slip
            }
            totals.dropped += 1
            return .drop
        }
    }

    /// The network a bucket covers, tagged with its family so no IPv4 network equals an IPv6 one, and never 0.
    @inline(__always)
    static func key(_ address: ClientAddress) -> UInt64 {
        switch address {
        case .v4(let value):
            return 1 << 57 | UInt64(value >> UInt32(32 - RateLimitSettings.ipv4PrefixLength))
        case .v6(let high, _):
            return 1 << 56 | high >> UInt64(64 - RateLimitSettings.ipv6PrefixLength)
        }
    }
}
