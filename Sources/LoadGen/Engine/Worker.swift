import Glibc

/// The loop one thread runs over one socket or connection: send what the mode allows, expire what timed out,
/// wait for answers (or the next tick of the open loop), match them, publish the totals once per round.
///
/// Nothing here allocates after `init`: the slot table, the transport's buffers and the latency buffer are
/// made once, the queries are templates copied into place with the ID patched.
struct Worker<Transport: QueryTransport & ~Copyable>: ~Copyable {
    private static var latencyCapacity: Int { 4096 }

    private var transport: Transport
    private var slots = SlotTable()
    private let templates: QueryTemplates
    private let plan: WorkerPlan
    private let sequence: RunSequence
    private let stats: WorkerStats
    private var counters = WorkerStats.Counters()
    /// Latencies measured since the last publish, in nanoseconds.
    private let latencies: UnsafeMutablePointer<UInt64>
    private var latencyCount = 0
    private var ticker: MonotonicClock.Ticker?
    private var ticked = false
    /// The open loop's next query, counted within this worker.
    private var nextPosition = 0
    private var sendingDone = false

    init(
        transport: consuming Transport, templates: QueryTemplates, plan: WorkerPlan, sequence: RunSequence,
        stats: WorkerStats
    ) {
        self.transport = transport
        self.templates = templates
        self.plan = plan
        self.sequence = sequence
        self.stats = stats
        latencies = .allocate(capacity: Self.latencyCapacity)
    }

    deinit { latencies.deallocate() }

    /// Runs until everything is sent and every query is answered or lost, then marks the worker finished.
    mutating func run() {
        do {
            try loop()
        } catch {
            stats.state.withLock { $0.error = error }
            // The worker stops here: what it still has in flight will never be answered.
            while let id = slots.oldestID {
                slots.release(id)
                counters.lost += 1
            }
        }
        publish()
        stats.state.withLock { $0.finished = true }
    }

    private mutating func loop() throws(LoadGenError) {
        if let rate = plan.rate, plan.openLoopCount > 0 {
            let first = plan.burstDueTime(0, rate: rate)
            ticker = try MonotonicClock.Ticker(first: first, interval: plan.tickInterval(rate: rate))
        }
        while true {
            let now = MonotonicClock.now()
            expire(now)
            if !sendingDone {
                if let rate = plan.rate { try sendDue(now, rate: rate) } else { try sendClosedLoop(now) }
            }
            if transport.hasPendingOutput { try transport.flush() }
            publish()
            if sendingDone && slots.count == 0 && !transport.hasPendingOutput { return }
            try waitAndReceive()
        }
    }

    /// The closed loop: top the queries in flight up to the concurrency.
    private mutating func sendClosedLoop(_ now: UInt64) throws(LoadGenError) {
        if let end = plan.end, now >= end {
            sendingDone = true
            return
        }
        var budget = plan.concurrency - slots.count
        while budget > 0 {
            if transport.room == 0 {
                try transport.flush()
                if transport.room == 0 { return }
            }
            let claimed = sequence.claim(min(budget, transport.room))
            if claimed.isEmpty {
                sendingDone = true
                return
            }
            for number in claimed { enqueue(number, sendTime: now) }
            counters.lastActivity = now
            budget -= claimed.count
        }
    }

    /// The open loop: send every query whose time has come, whether or not answers came; each one's latency
    /// counts from its due time (its burst's, at high rates), so a stall, ours or the server's, shows in the
    /// latencies instead of hiding.
    private mutating func sendDue(_ now: UInt64, rate: Int) throws(LoadGenError) {
        let count = plan.openLoopCount
        var sentNow = 0
        var early = false
        while nextPosition < count {
            let number = plan.sequenceNumber(nextPosition)
            let due = plan.burstDueTime(nextPosition, rate: rate)
            if due > now {
                early = ticked && sentNow == 0
                break
            }
            if transport.room == 0 {
                try transport.flush()
                if transport.room == 0 { break }
            }
            enqueue(number, sendTime: due)
            nextPosition += 1
            sentNow += 1
        }
        if sentNow > 0 { counters.lastActivity = now }
        if nextPosition == count {
            sendingDone = true
        } else if early, let ticker {
            // The periodic timer drifted ahead of the exact schedule: restart it at the next due time.
            let next = plan.burstDueTime(nextPosition, rate: rate)
            ticker.arm(first: next, interval: plan.tickInterval(rate: rate))
        }
        ticked = false
    }

    @inline(__always)
    private mutating func enqueue(_ number: Int, sendTime: UInt64) {
        let query = number % templates.count
        if slots.isFull, let oldest = slots.oldestID {
            // 65,536 queries in flight on this socket: the oldest gives up its ID and counts as lost.
            slots.release(oldest)
            counters.lost += 1
        }
        let id = slots.allocate(query: query, sendTime: sendTime)!
        transport.append(templates.query(query), id: id)
        counters.sent += 1
    }

    /// Queries without an answer after the timeout are lost; in-flight queries are in send order.
    @inline(__always)
    private mutating func expire(_ now: UInt64) {
        while let sent = slots.oldestSendTime, now >= sent &+ plan.timeout, let id = slots.oldestID {
            slots.release(id)
            counters.lost += 1
        }
    }

    private mutating func waitAndReceive() throws(LoadGenError) {
        if plan.rate == nil && Transport.blocksInReceive && slots.count > 0 && !transport.hasPendingOutput {
            // The closed loop over UDP: block in recvmmsg itself (its receive timeout bounds the wait).
            let count = try transport.receive(wait: true)
            if count > 0 { handleMessages(count) }
            return
        }
        var events = Int16(POLLIN)
        if transport.hasPendingOutput { events |= Int16(POLLOUT) }
        let timerDescriptor = sendingDone ? -1 : ticker?.descriptor ?? -1
        var descriptors = (
            pollfd(fd: transport.descriptor, events: events, revents: 0),
            pollfd(fd: timerDescriptor, events: Int16(POLLIN), revents: 0)
        )
        // While the ticker runs it wakes the loop anyway (and the expiry check with it): no poll timer to arm.
        let timeout = timerDescriptor >= 0 ? -1 : pollTimeout()
        let ready = withUnsafeMutablePointer(to: &descriptors) {
            $0.withMemoryRebound(to: pollfd.self, capacity: 2) { poll($0, 2, timeout) }
        }
        guard ready > 0 else { return }
        if descriptors.1.revents != 0, let ticker {
            ticker.acknowledge()
            ticked = true
        }
        if descriptors.0.revents & Int16(POLLIN | POLLERR | POLLHUP) != 0 {
            let count = try transport.receive(wait: false)
            if count > 0 { handleMessages(count) }
        }
    }

    /// Milliseconds until the oldest query in flight expires, at most 100.
    private func pollTimeout() -> Int32 {
        guard let sent = slots.oldestSendTime else { return 100 }
        let deadline = sent &+ plan.timeout
        let now = MonotonicClock.now()
        guard deadline > now else { return 0 }
        return Int32(min((deadline - now + 999_999) / 1_000_000, 100))
    }

    private mutating func handleMessages(_ count: Int) {
        let now = MonotonicClock.now()
        for index in 0..<count {
            let message = transport.message(index)
            handle(message, now: now)
        }
        transport.consume()
    }

    /// An answer counts when its ID is in flight and its question is the query's; otherwise it is unmatched.
    @inline(__always)
    private mutating func handle(_ message: UnsafeRawBufferPointer, now: UInt64) {
        guard message.count >= 12, message[2] & 0x80 != 0 else {
            counters.unmatched += 1
            return
        }
        let id = UInt16(message[0]) << 8 | UInt16(message[1])
        guard slots.isInFlight(id), templates.questionMatches(slots.queryIndex(id), response: message) else {
            counters.unmatched += 1
            return
        }
        let sent = slots.sendTime(id)
        slots.release(id)
        let latency = now > sent ? now - sent : 0
        guard latency <= plan.timeout else {
            counters.lost += 1
            return
        }
        counters.answered += 1
        counters.rcodes[Int(message[3] & 0x0F)] += 1
        counters.lastActivity = now
        if latencyCount == Self.latencyCapacity { publish() }
        latencies[latencyCount] = latency
        latencyCount += 1
    }

    /// Hands the totals and the new latencies to the reporting thread: one lock per round.
    private mutating func publish() {
        counters.reconnects = UInt64(transport.reconnects)
        let counters = self.counters
        let latencies = self.latencies
        let count = latencyCount
        stats.state.withLock { state in
            state.counters = counters
            for index in 0..<count { state.latencies.record(latencies[index]) }
        }
        latencyCount = 0
    }
}

/// What a worker needs from a socket: a queue of queries to send in batches, and the answers that came back.
///
/// A transport owns its buffers (made once) and its descriptor. Queries are copied into the pending output by
/// `append`, which patches the ID, and go out with `flush`; `receive` reads what arrived and exposes it as
/// messages until `consume`.
protocol QueryTransport: ~Copyable {
    /// The descriptor to poll.
    var descriptor: Int32 { get }
    /// Whether the closed loop may block in `receive(wait: true)` (bounded by the socket's receive timeout)
    /// instead of polling first: one system call fewer per round.
    static var blocksInReceive: Bool { get }
    /// How many more queries `append` accepts before a `flush`.
    var room: Int { get }
    var hasPendingOutput: Bool { get }
    /// How often the connection had to be opened again (TCP); 0 for UDP.
    var reconnects: Int { get }
    /// Queues a copy of `query` with its ID set to `id`.
    mutating func append(_ query: UnsafeRawBufferPointer, id: UInt16)
    /// Hands the pending output to the kernel, as much as it takes without blocking.
    mutating func flush() throws(LoadGenError)
    /// Reads what has arrived, waiting first (up to the receive timeout) when `wait`; returns how many messages
    /// `message(_:)` now gives.
    mutating func receive(wait: Bool) throws(LoadGenError) -> Int
    /// A message of the last `receive`, valid until `consume()`.
    func message(_ index: Int) -> UnsafeRawBufferPointer
    /// Releases the messages of the last `receive`.
    mutating func consume()
}
