import DNSPipeline
import Synchronization

/// One block of query counters: requests by transport, type and zone, responses by RCODE, and the request
/// duration histogram, as flat cells indexed by small slots. The UDP fast path gives each listener thread a
/// block of its own (`concurrent: false`), so counting a query is a plain load and store with no atomic
/// read-modify-write and no shared cache line; a scrape sums every block (`QueryMetrics`). NIO's threads
/// (TCP, forwarded replies) share one block whose cells are incremented atomically.
///
/// Cells are atomics even where one thread writes them, so a scrape on another thread reads whole values:
/// a relaxed load and store compile to ordinary moves.
final class QueryCounters: QueryCounting, @unchecked Sendable {
    /// Transports, in slot order.
    static let transports = ["udp", "tcp"]
    /// Query types given their own label, as CoreDNS's monitored types; everything else is "other".
    static let typeNames = [
        "A", "NS", "CNAME", "SOA", "PTR", "MX", "TXT", "AAAA", "SRV", "NAPTR", "DS", "DNSKEY", "SVCB", "HTTPS",
        "ANY", "other",
    ]
    /// `typeNames.count`, as a literal: the query path reads no lazily initialised global.
    static let typeSlots = 16
    /// RCODEs 0...30 by value; slot 31 for anything above.
    static let rcodeSlots = 32
    /// Duration buckets with a bound, then +Inf.
    static let boundedBuckets = 16
    /// Upper bounds of the duration buckets in seconds: CoreDNS's, 0.25 ms doubling to 8.192 s, then +Inf.
    static let bucketBounds: [Double] = (0..<boundedBuckets).map { 0.00025 * Double(1 << $0) }

    // Every position below is a constant expression, so the query path reads no lazily initialised global.
    private static let requestCells = 2 * typeSlots * ZoneLabels.capacity
    fileprivate static let rcodeBase = requestCells
    fileprivate static let bucketBase = rcodeBase + rcodeSlots
    fileprivate static let sumCell = bucketBase + boundedBuckets + 1
    static let cellCount = sumCell + 1

    private let cells: UnsafeMutablePointer<Atomic<UInt64>>
    /// Whether several threads write this block (NIO's), so increments must be atomic.
    let concurrent: Bool

    init(concurrent: Bool) {
        self.concurrent = concurrent
        cells = .allocate(capacity: Self.cellCount)
        for index in 0..<Self.cellCount { (cells + index).initialize(to: Atomic(0)) }
    }

    deinit {
        cells.deinitialize(count: Self.cellCount)
        cells.deallocate()
    }

    @inline(__always)
    func add(_ index: Int, _ amount: UInt64) {
        let cell = cells + index
        if concurrent {
            cell.pointee.wrappingAdd(amount, ordering: .relaxed)
        } else {
            cell.pointee.store(cell.pointee.load(ordering: .relaxed) &+ amount, ordering: .relaxed)
        }
    }

    /// The owning thread's view of a block only it writes (`concurrent: false`): the cells' address kept in a
    /// register for the whole loop and no check of `concurrent` per count. The UDP loop counts through it.
    var owned: OwnedQueryCounters {
        precondition(!concurrent, "only a block one thread writes can be counted into without atomics")
        return OwnedQueryCounters(cells: cells, block: self)
    }

    /// The type's slot in `typeNames`.
    @inline(__always)
    static func typeSlot(_ type: UInt16) -> Int {
        // A and AAAA are most queries: two compares before the switch's jump table.
        if type == 1 { return 0 }
        if type == 28 { return 7 }
        switch type {
        case 1: return 0
        case 2: return 1
        case 5: return 2
        case 6: return 3
        case 12: return 4
        case 15: return 5
        case 16: return 6
        case 28: return 7
        case 33: return 8
        case 35: return 9
        case 43: return 10
        case 48: return 11
        case 64: return 12
        case 65: return 13
        case 255: return 14
        default: return 15
        }
    }

    /// The bucket of a duration: 0 up to 0.25 ms, one more per doubling, `boundedBuckets` (+Inf) past 8.192 s.
    /// Found from the quotient's bit length, not by scanning the bounds.
    @inline(__always)
    static func bucket(nanoseconds: UInt64) -> Int {
        guard nanoseconds > 250_000 else { return 0 }
        let quarterMilliseconds = (nanoseconds - 1) / 250_000
        return min(UInt64.bitWidth - quarterMilliseconds.leadingZeroBitCount, boundedBuckets)
    }

    /// Adds this block's cells to `totals` (`cellCount` long).
    func accumulate(into totals: inout [UInt64]) {
        for index in 0..<Self.cellCount { totals[index] &+= cells[index].load(ordering: .relaxed) }
    }

    /// Every request this block counted, over all transports, types and zones.
    func requests() -> UInt64 {
        (0..<Self.requestCells).reduce(0) { $0 &+ cells[$1].load(ordering: .relaxed) }
    }

    /// Where things are in a summed array of cells.
    static func requestIndex(transport: Int, typeSlot: Int, zoneSlot: Int) -> Int {
        (transport * typeSlots + typeSlot) * ZoneLabels.capacity + zoneSlot
    }
    static func rcodeIndex(_ rcode: Int) -> Int { rcodeBase + rcode }
    static func bucketIndex(_ bucket: Int) -> Int { bucketBase + bucket }
    static let sumIndex = sumCell
}

/// Where counts go: a block's cells, through the block (`QueryCounters`, which may be shared) or through its owner's
/// view (`OwnedQueryCounters`). The counting itself is written once, here.
protocol QueryCounting {
    func add(_ index: Int, _ amount: UInt64)
}

extension QueryCounting {
    /// One query received over `transport` (0 UDP, 1 TCP).
    @inline(__always)
    func countRequest(transport: Int, facts: QueryFacts) {
        let slot =
            (transport * QueryCounters.typeSlots + QueryCounters.typeSlot(facts.type)) * ZoneLabels.capacity
            + Int(facts.zoneSlot)
        add(slot, 1)
    }

    /// One response sent, its RCODE from the header's four bits and `extended` (the OPT record's upper eight).
    @inline(__always)
    func countResponse(headerRCode: UInt8, extended: UInt8) {
        // Almost every response's RCODE fits the header: no extended bits to add, nothing to clamp.
        guard extended != 0 else {
            add(QueryCounters.rcodeBase + Int(headerRCode & 0x0F), 1)
            return
        }
        let rcode = Int(extended) << 4 | Int(headerRCode & 0x0F)
        add(QueryCounters.rcodeBase + min(rcode, QueryCounters.rcodeSlots - 1), 1)
    }

    /// `count` requests that each took `nanoseconds` from being read to being answered.
    @inline(__always)
    func observe(nanoseconds: UInt64, count: Int) {
        add(QueryCounters.bucketBase + QueryCounters.bucket(nanoseconds: nanoseconds), UInt64(count))
        add(QueryCounters.sumCell, nanoseconds &* UInt64(count))
    }
}

/// `QueryCounters.owned`: plain load-and-store counting into a block that one thread alone writes.
struct OwnedQueryCounters: QueryCounting {
    let cells: UnsafeMutablePointer<Atomic<UInt64>>
    /// Keeps the block, and so the cells, alive as long as this view.
    let block: QueryCounters

    @inline(__always)
    func add(_ index: Int, _ amount: UInt64) {
        let cell = cells + index
        cell.pointee.store(cell.pointee.load(ordering: .relaxed) &+ amount, ordering: .relaxed)
    }
}
