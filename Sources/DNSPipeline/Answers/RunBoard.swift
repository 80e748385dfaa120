import Dispatch
import Synchronization

/// Runs of work handed to threads and taken back in order: each thread `claim`s the next run and `finish`es it
/// with its result; the caller `take`s the results in run order, each as soon as it is ready, and the board lets
/// go of it then (a run taken is freed while later ones are still being made).
final class RunBoard<Result: Sendable>: Sendable {
    let count: Int
    private let next = Atomic<Int>(0)
    private let results: Mutex<[Result?]>
    private let finished: [DispatchSemaphore]

    init(count: Int) {
        self.count = count
        results = Mutex(Array(repeating: nil, count: count))
        finished = (0..<count).map { _ in DispatchSemaphore(value: 0) }
    }

    /// The next run no thread has claimed, or nil when every run is claimed.
    func claim() -> Int? {
        let run = next.wrappingAdd(1, ordering: .relaxed).oldValue
        return run < count ? run : nil
    }

    /// Posts the result of run `run`.
    func finish(_ run: Int, _ result: Result) {
        results.withLock { $0[run] = result }
        finished[run].signal()
    }

    /// Waits for run `run`'s result and takes it off the board.
    func take(_ run: Int) -> Result {
        finished[run].wait()
        return results.withLock { results in
            defer { results[run] = nil }
            return results[run]!
        }
    }
}
