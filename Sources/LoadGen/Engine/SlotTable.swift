/// One worker's queries in flight, indexed by DNS ID: when each was sent and which query it was, the IDs free
/// for reuse, and the in-flight IDs in send order for the timeout check.
///
/// Everything is allocated once. Free IDs are reused first-in first-out, so an ID comes back as late as
/// possible and a late answer to an expired query rarely meets a new query with the same ID. The in-flight
/// IDs form a doubly linked list in send order (send times never go backwards within a worker), so the
/// timeout check looks only at the oldest.
struct SlotTable: ~Copyable {
    static let capacity = 65_536
    private static let none: Int32 = -1

    private let sendTimes: UnsafeMutablePointer<UInt64>
    private let queryIndexes: UnsafeMutablePointer<Int>
    private let previous: UnsafeMutablePointer<Int32>
    private let next: UnsafeMutablePointer<Int32>
    private let inFlight: UnsafeMutablePointer<Bool>
    private let freeIDs: UnsafeMutablePointer<UInt16>
    private var freeStart = 0
    private var freeCount = SlotTable.capacity
    private var oldest = SlotTable.none
    private var newest = SlotTable.none
    /// Queries in flight.
    private(set) var count = 0

    init() {
        let capacity = Self.capacity
        sendTimes = .allocate(capacity: capacity)
        queryIndexes = .allocate(capacity: capacity)
        previous = .allocate(capacity: capacity)
        next = .allocate(capacity: capacity)
        inFlight = .allocate(capacity: capacity)
        freeIDs = .allocate(capacity: capacity)
        inFlight.initialize(repeating: false, count: capacity)
        for id in 0..<capacity { freeIDs[id] = UInt16(id) }
    }

    deinit {
        sendTimes.deallocate()
        queryIndexes.deallocate()
        previous.deallocate()
        next.deallocate()
        inFlight.deallocate()
        freeIDs.deallocate()
    }

    var isFull: Bool { freeCount == 0 }

    /// Takes a free ID for query `index` sent at `sendTime`; nil when all 65,536 are in flight.
    @inline(__always)
    mutating func allocate(query index: Int, sendTime: UInt64) -> UInt16? {
        guard freeCount > 0 else { return nil }
        let id = freeIDs[freeStart]
        freeStart = (freeStart + 1) & (Self.capacity - 1)
        freeCount -= 1
        let slot = Int(id)
        sendTimes[slot] = sendTime
        queryIndexes[slot] = index
        inFlight[slot] = true
        previous[slot] = newest
        next[slot] = Self.none
        if newest != Self.none { next[Int(newest)] = Int32(slot) } else { oldest = Int32(slot) }
        newest = Int32(slot)
        count += 1
        return id
    }

    @inline(__always)
    func isInFlight(_ id: UInt16) -> Bool { inFlight[Int(id)] }

    @inline(__always)
    func sendTime(_ id: UInt16) -> UInt64 { sendTimes[Int(id)] }

    @inline(__always)
    func queryIndex(_ id: UInt16) -> Int { queryIndexes[Int(id)] }

    /// The send time of the oldest query in flight.
    var oldestSendTime: UInt64? { oldest == Self.none ? nil : sendTimes[Int(oldest)] }

    /// The oldest ID in flight.
    var oldestID: UInt16? { oldest == Self.none ? nil : UInt16(oldest) }

    /// Ends an in-flight query (answered or lost) and frees its ID.
    @inline(__always)
    mutating func release(_ id: UInt16) {
        let slot = Int(id)
        precondition(inFlight[slot])
        inFlight[slot] = false
        let before = previous[slot]
        let after = next[slot]
        if before != Self.none { next[Int(before)] = after } else { oldest = after }
        if after != Self.none { previous[Int(after)] = before } else { newest = before }
        freeIDs[(freeStart + freeCount) & (Self.capacity - 1)] = id
        freeCount += 1
        count -= 1
    }
}
