import Histogram
import Synchronization

/// What one worker shares with the thread that reports: its counters and the latencies recorded since the
/// report last took them, behind one lock the worker takes once per round (not per query).
final class WorkerStats: Sendable {
    /// A worker's running totals. Plain values (no heap), so publishing them is a copy.
    struct Counters: Sendable {
        var sent: UInt64 = 0
        var answered: UInt64 = 0
        var lost: UInt64 = 0
        /// Messages that matched no query in flight (wrong ID, wrong question, late, or not a response).
        var unmatched: UInt64 = 0
        /// Answers by the header's 4-bit RCODE (queries carry no EDNS, so no extended RCODE comes back).
        var rcodes = InlineArray<16, UInt64>(repeating: 0)
        /// CLOCK_MONOTONIC nanoseconds of the last send or answer.
        var lastActivity: UInt64 = 0
        /// Times a TCP connection was opened again after the server closed it.
        var reconnects: UInt64 = 0

        mutating func add(_ other: Counters) {
            sent += other.sent
            answered += other.answered
            lost += other.lost
            unmatched += other.unmatched
            for index in 0..<16 { rcodes[index] += other.rcodes[index] }
            lastActivity = max(lastActivity, other.lastActivity)
            reconnects += other.reconnects
        }
    }

    struct State: Sendable {
        var counters = Counters()
        var latencies: Histogram<UInt64>
        var error: LoadGenError?
        var finished = false
    }

    let state: Mutex<State>

    init(latencies: Histogram<UInt64>) {
        state = Mutex(State(latencies: latencies))
    }

    /// A histogram of latencies in nanoseconds up to `highest`, three significant digits; every histogram of
    /// a run has this layout so they can be added.
    static func makeHistogram(highest: UInt64) -> Histogram<UInt64> {
        Histogram<UInt64>(
            lowestDiscernibleValue: 1, highestTrackableValue: max(highest, 2), numberOfSignificantValueDigits: .three)
    }
}
