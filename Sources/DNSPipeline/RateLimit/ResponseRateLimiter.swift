import Synchronization

#if canImport(Glibc)
import Glibc
#endif

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
/// locked in shards, each lock a spin on one atomic word held for a few dozen instructions: listener threads
/// rarely meet, and a judgement allocates nothing, retains nothing and makes no system call.
public final class ResponseRateLimiter: @unchecked Sendable {
    // @unchecked: a set's buckets, and its shard's counts, are written only while its shard's lock is held.

    public let settings: RateLimitSettings
    /// Nanoseconds one response uses of a bucket.
    private let interval: Int64
    /// `settings.slip`, as the counter it divides.
    private let slip: UInt32
    /// How far ahead of now `due` may run: one second, so a full bucket holds `responsesPerSecond` responses.
    private static let burst: Int64 = 1_000_000_000
    private static let ways = 4
    private static let shardCount = 16
    /// Cells per shard: the lock, dropped, slipped, and padding to a 64-octet cache line of its own.
    private static let shardCells = 8
    private let setMask: Int
    private let buckets: UnsafeMutablePointer<Bucket>
    private let shards: UnsafeMutablePointer<Atomic<UInt64>>
    private let seed: UInt64
    /// A test's clock; nil reads the kernel's coarse monotonic clock.
    private let clock: (@Sendable () -> Int64)?

    private struct Bucket {
        /// The client network with a family tag, 0 for a slot never used.
        var key: UInt64 = 0
        /// When the bucket is full again, in the clock's nanoseconds.
        var due: Int64 = .min
        /// Responses limited since the slot was taken: every `slip`-th of them is slipped.
        var limited: UInt32 = 0
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
        slip = UInt32(settings.slip)
        var sets = Self.shardCount
        while sets * Self.ways < capacity { sets <<= 1 }
        setMask = sets - 1
        buckets = .allocate(capacity: sets * Self.ways)
        buckets.initialize(repeating: Bucket(), count: sets * Self.ways)
        let cells = Self.shardCount * Self.shardCells
        shards = UnsafeMutableRawPointer.allocate(byteCount: cells * 8, alignment: 64)
            .bindMemory(to: Atomic<UInt64>.self, capacity: cells)
        for index in 0..<cells { (shards + index).initialize(to: Atomic(0)) }
        self.seed = seed
        self.clock = clock
    }

    deinit {
        buckets.deinitialize(count: (setMask + 1) * Self.ways)
        buckets.deallocate()
        shards.deinitialize(count: Self.shardCount * Self.shardCells)
        shards.deallocate()
    }

    /// Buckets the table holds.
    public var capacity: Int { (setMask + 1) * Self.ways }

    /// Responses dropped and slipped since start.
    public var totals: (dropped: Int, slipped: Int) {
        var totals = (dropped: 0, slipped: 0)
        for shard in 0..<Self.shardCount {
            let cells = shards + shard * Self.shardCells
            totals.dropped += Int(cells[1].load(ordering: .relaxed))
            totals.slipped += Int(cells[2].load(ordering: .relaxed))
        }
        return totals
    }

    /// Takes one response from `address`'s network's bucket, or says how to limit it.
    public func judge(_ address: ClientAddress) -> RateLimitVerdict {
        let key = Self.key(address)
        let set = Int(truncatingIfNeeded: splitMix64(key ^ seed)) & setMask
        let now = if let clock { clock() } else { Self.coarseNanoseconds() }
        let shard = shards + (set & (Self.shardCount - 1)) * Self.shardCells
        while !shard[0].compareExchange(expected: 0, desired: 1, ordering: .acquiring).exchanged {
            // Another listener thread holds it for a few dozen instructions; if that thread was preempted, spinning
            // would burn its time slice, so give the core away instead.
            sched_yield()
        }
        defer { shard[0].store(0, ordering: .releasing) }
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
        // Counts are written under the lock; the atomic cells let a scrape read them whole without it.
        if slip > 0 && slots[slot].limited % slip == 0 {
            shard[2].store(shard[2].load(ordering: .relaxed) &+ 1, ordering: .relaxed)
            return .slip
        }
        shard[1].store(shard[1].load(ordering: .relaxed) &+ 1, ordering: .relaxed)
        return .drop
    }

    /// CLOCK_MONOTONIC_COARSE: read from the vDSO without a system call, and without the arithmetic of
    /// `ContinuousClock`'s attoseconds (that cost more than the rest of a judgement together). Its tick (1-4 ms)
    /// is far below the one-second burst a bucket holds; Knot's RRL counts whole seconds.
    @inline(__always)
    private static func coarseNanoseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC_COARSE, &now)
        return Int64(now.tv_sec) &* 1_000_000_000 &+ Int64(now.tv_nsec)
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
