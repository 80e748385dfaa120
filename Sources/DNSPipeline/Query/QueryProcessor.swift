import DNSWire
import Synchronization

/// The pipeline's entry point: bytes of a query and who sent it in, bytes of a response out. Synchronous and
/// socket-free, so any listener (a NIO channel, a batched recvmmsg loop, a test) calls it the same way.
public final class QueryProcessor: Sendable {
    private let current: Mutex<AnswerSnapshot>
    /// Bumped after every `replace`, so a thread that keeps its own reference (`SnapshotHold`) learns of a new
    /// snapshot with one atomic load instead of taking `current`'s lock per query.
    private let generation = Atomic<UInt64>(0)
    /// The `zone` label of every slot `QueryFacts.zoneSlot` can name.
    public var zoneLabels: ZoneLabels { .shared }
    /// Drives the weighted rotation: a counter mixed by SplitMix64, so a fixed seed gives a repeatable
    /// sequence (tests depend on it) and threads share one relaxed atomic increment, taken only when an
    /// answer has something to rotate.
    let entropy: RotationEntropy

    /// Forwarded answers, kept across snapshots; nil without `cache:` (or with capacity 0).
    public let cache: ResponseCache?
    /// Response rate limiting of UDP responses (`limits.rrl`); nil when off.
    public let rateLimiter: ResponseRateLimiter?
    /// `rateLimiter` again, borrowed on the query path without a retain and release per query (40 instructions
    /// of the ~200 rate limiting cost); `rateLimiter` keeps it alive.
    private let borrowedRateLimiter: Unmanaged<ResponseRateLimiter>?

    public init(
        snapshot: AnswerSnapshot, seed: UInt64 = UInt64.random(in: .min ... .max), cache: ResponseCache? = nil,
        rateLimiter: ResponseRateLimiter? = nil
    ) {
        current = Mutex(snapshot)
        self.cache = cache
        self.rateLimiter = rateLimiter
        borrowedRateLimiter = rateLimiter.map { Unmanaged.passUnretained($0) }
        entropy = RotationEntropy(seed: seed)
    }

    /// The snapshot queries are answered from now.
    public var snapshot: AnswerSnapshot { current.withLock { $0 } }

    /// Swaps in a new snapshot; queries already running finish on the old one.
    public func replace(with snapshot: AnswerSnapshot) {
        current.withLock { $0 = snapshot }
        // After the store: a thread that sees the new number and then takes the lock finds this snapshot or a
        // later one.
        generation.wrappingAdd(1, ordering: .releasing)
    }

    /// A reference to the serving snapshot for one thread to keep (a UDP worker's), brought up to date by
    /// `refresh` between batches. The query path then reads no shared state but one counter per batch: the
    /// reference is the thread's own, and the old snapshot is freed once every thread has let go of it, so no
    /// reader can ever see a freed one (RCU's grace period, kept by reference counting).
    public func hold() -> SnapshotHold {
        let seen = generation.load(ordering: .acquiring)
        return SnapshotHold(snapshot: current.withLock { $0 }, generation: seen)
    }

    /// Brings `hold` up to date: one atomic load when nothing changed, the lock only when something did.
    @inline(__always)
    public func refresh(_ hold: inout SnapshotHold) {
        let seen = generation.load(ordering: .acquiring)
        guard seen != hold.generation else { return }
        hold = SnapshotHold(snapshot: current.withLock { $0 }, generation: seen)
    }

    /// Answers one query. `response` is cleared and reused, so a caller that keeps one buffer per thread
    /// allocates nothing per query on the answering path. `facts` receives what the server counts.
    public func process(
        _ query: UnsafeRawBufferPointer, client: ClientContext, into response: inout [UInt8],
        facts: inout QueryFacts
    ) -> QueryOutcome {
        process(query, client: client, snapshot: current.withLock { $0 }, into: &response, facts: &facts)
    }

    /// Answers one query from a thread's own `hold` (kept current with `refresh`), taking no lock.
    @inline(__always)
    public func process(
        _ query: UnsafeRawBufferPointer, client: ClientContext, hold: borrowing SnapshotHold,
        into response: inout [UInt8], facts: inout QueryFacts
    ) -> QueryOutcome {
        process(query, client: client, snapshot: hold.snapshot, into: &response, facts: &facts)
    }

    @inline(__always)
    private func process(
        _ query: UnsafeRawBufferPointer, client: ClientContext, snapshot: AnswerSnapshot,
        into response: inout [UInt8], facts: inout QueryFacts
    ) -> QueryOutcome {
        let outcome = snapshot.respond(
            to: query, client: client, into: &response, entropy: entropy, cache: cache, facts: &facts)
        // Off, rate limiting costs this one test. TCP needs none: its handshake proves the source address.
        guard let borrowedRateLimiter, client.transport == .udp else { return outcome }
        return borrowedRateLimiter._withUnsafeGuaranteedRef {
            limit(outcome, query: query, client: client, limiter: $0, snapshot: snapshot, into: &response)
        }
    }

    /// Applies `limits.rrl` to what the pipeline decided. A query it would forward is judged too, before anything
    /// is sent upstream, so a flood of forwarded names costs the upstream no more than the clients may receive.
    @inline(never)
    private func limit(
        _ outcome: QueryOutcome, query: UnsafeRawBufferPointer, client: ClientContext,
        limiter: ResponseRateLimiter, snapshot: AnswerSnapshot, into response: inout [UInt8]
    ) -> QueryOutcome {
        if case .drop = outcome { return .drop }
        switch limiter.judge(client.address) {
        case .send:
            return outcome
        case .drop:
            response.removeAll(keepingCapacity: true)
            return .drop
        case .slip:
            let written: Bool
            if case .forward = outcome {
                let payload = snapshot.settings.udpPayloadLimit
                written = SlipResponse.write(forwarded: query, payload: payload, into: &response)
            } else {
                written = SlipResponse.cut(&response)
            }
            return written ? .respond : .drop
        }
    }

    /// Answers one query, for callers that count nothing.
    public func process(
        _ query: UnsafeRawBufferPointer, client: ClientContext, into response: inout [UInt8]
    ) -> QueryOutcome {
        var facts = QueryFacts()
        return process(query, client: client, into: &response, facts: &facts)
    }

    /// A stale cached answer (RFC 8767) for a query no upstream could answer, or nil.
    public func staleResponse(_ query: [UInt8], client: ClientContext) -> [UInt8]? {
        guard let cache else { return nil }
        var response: [UInt8] = []
        let found = query.withUnsafeBytes {
            snapshot.respondStale(to: $0, client: client, cache: cache, into: &response)
        }
        return found ? response : nil
    }

    /// Convenience for tests and slow paths: a response as a new array, or nil for a drop.
    public func process(_ query: [UInt8], client: ClientContext) -> [UInt8]? {
        var response: [UInt8] = []
        let outcome = query.withUnsafeBytes { process($0, client: client, into: &response) }
        return outcome == .respond ? response : nil
    }
}

/// One thread's reference to the serving snapshot and the `replace` count it was taken at
/// (`QueryProcessor.hold()`).
public struct SnapshotHold: Sendable {
    let snapshot: AnswerSnapshot
    let generation: UInt64
}

/// The bits behind the weighted rotation: a counter mixed by SplitMix64, so a fixed seed gives a repeatable
/// sequence (tests depend on it) and threads share one relaxed atomic increment, taken only when an answer
/// has a tier to rotate.
final class RotationEntropy: Sendable {
    private let counter: Atomic<UInt64>

    init(seed: UInt64) {
        counter = Atomic(seed)
    }

    @inline(__always)
    func next() -> UInt64 {
        splitMix64(counter.wrappingAdd(1, ordering: .relaxed).newValue)
    }
}
