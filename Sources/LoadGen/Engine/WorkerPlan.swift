import Synchronization

/// One worker's share of a run, fixed before its thread starts.
struct WorkerPlan: Sendable {
    /// This worker's number, 0..<workers.
    var index: Int
    var workers: Int
    /// CLOCK_MONOTONIC nanoseconds when the run began; the open loop's schedule counts from here.
    var start: UInt64
    var timeout: UInt64
    /// Closed loop: the queries this worker keeps outstanding. Open loop: unused.
    var concurrency: Int
    /// Closed loop with --duration: stop sending at this time.
    var end: UInt64?
    /// Open loop: the run's queries per second and how many queries the whole run sends. Query `k` of the run
    /// is due at `start + k / rate` seconds and belongs to worker `k % workers`.
    var rate: Int?
    var plannedCount: Int

    /// The open loop sends in bursts at least this far apart (when the rate allows more than one query per
    /// burst): each wake-up costs far more than a query, so waking once per query at high rates would make the
    /// generator the bottleneck.
    static let minimumTick: UInt64 = 200_000

    /// The number of queries this worker sends in the open loop.
    var openLoopCount: Int {
        plannedCount > index ? (plannedCount - index + workers - 1) / workers : 0
    }

    /// The run-wide number of this worker's `position`-th open-loop query.
    @inline(__always)
    func sequenceNumber(_ position: Int) -> Int { position * workers + index }

    /// When the run's query `sequence` is due, exactly, in CLOCK_MONOTONIC nanoseconds.
    @inline(__always)
    func dueTime(_ sequence: Int, rate: Int) -> UInt64 {
        let whole = UInt64(sequence / rate)
        let part = UInt64(sequence % rate)
        return start + whole * 1_000_000_000 + part * 1_000_000_000 / UInt64(rate)
    }

    /// How many of this worker's queries go out together in the open loop: one, or as many as are due within
    /// `minimumTick`.
    @inline(__always)
    func burstSize(rate: Int) -> Int {
        let perTick = (Self.minimumTick * UInt64(rate) + UInt64(workers) * 1_000_000_000 - 1)
        return max(1, Int(perTick / (UInt64(workers) * 1_000_000_000)))
    }

    /// When the burst holding this worker's `position`-th query is due: the exact due time of its last query,
    /// so nothing is sent before its time. Latency counts from here.
    @inline(__always)
    func burstDueTime(_ position: Int, rate: Int) -> UInt64 {
        let burst = burstSize(rate: rate)
        let last = min((position / burst + 1) * burst, openLoopCount) - 1
        return dueTime(sequenceNumber(last), rate: rate)
    }

    /// The ticker's period: one burst's worth of this worker's queries.
    func tickInterval(rate: Int) -> UInt64 {
        UInt64(burstSize(rate: rate)) * UInt64(workers) * 1_000_000_000 / UInt64(rate)
    }
}

/// What all workers of a run share: the closed loop's next query number, claimed in batches, so the queries go
/// out in file order across workers and a `--count` is met exactly.
final class RunSequence: Sendable {
    private let next = Atomic<Int>(0)
    let limit: Int

    init(limit: Int) {
        self.limit = limit
    }

    /// Claims up to `count` consecutive query numbers below the limit.
    @inline(__always)
    func claim(_ count: Int) -> Range<Int> {
        let first = next.wrappingAdd(count, ordering: .relaxed).oldValue
        guard first < limit else { return 0..<0 }
        return first..<min(first + count, limit)
    }
}
