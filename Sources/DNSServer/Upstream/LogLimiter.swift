import Logging
import Synchronization

/// Lets a message through at most once per `interval`, with how many were held back since the last one: a line
/// per failed query would let a flood fill the disk and hide everything else.
final class LogLimiter: Sendable {
    private struct State {
        var next: ContinuousClock.Instant
        var suppressed = 0
    }

    private let interval: Duration
    private let state: Mutex<State>

    init(interval: Duration) {
        self.interval = interval
        state = Mutex(State(next: .now))
    }

    /// Logs at notice level, or counts the message as suppressed.
    func log(_ logger: Logger, _ message: Logger.Message, _ metadata: Logger.Metadata) {
        let now = ContinuousClock.now
        let suppressed = state.withLock { state -> Int? in
            guard now >= state.next else {
                state.suppressed += 1
                return nil
            }
            state.next = now + interval
            defer { state.suppressed = 0 }
            return state.suppressed
        }
        guard let suppressed else { return }
        var metadata = metadata
        if suppressed > 0 { metadata["suppressed"] = "\(suppressed)" }
        logger.notice(message, metadata: metadata)
    }
}
