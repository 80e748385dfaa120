import Synchronization

/// What `/ready` and `/registry` ask of the running server: whether its registry is loaded, how current the
/// registry source is, and whether shutdown has begun. Set by the services as they start and stop.
final class ServerState: Sendable {
    private struct State {
        var publisher: AnswerPublisher?
        var metrics: ServerMetrics?
        /// Every listen address is bound: until then a query sent to this instance would find no socket.
        var listening = false
        var lameDuck = false
    }

    private let state = Mutex(State())
    /// How long a stale registry (etcd unreachable) may serve before `/ready` fails (`registry.etcd.maxStale`).
    let maxStale: Duration

    init(maxStale: Duration) {
        self.maxStale = maxStale
    }

    /// The publisher of the serving snapshot, once the first registry snapshot has been loaded.
    var publisher: AnswerPublisher? { state.withLock { $0.publisher } }
    /// The server's metrics, made with the publisher (they count its processor's zones and cache).
    var metrics: ServerMetrics? { state.withLock { $0.metrics } }

    func loaded(_ publisher: AnswerPublisher, metrics: ServerMetrics) {
        state.withLock { state in
            state.publisher = publisher
            state.metrics = metrics
        }
    }

    func startedListening() {
        state.withLock { $0.listening = true }
    }

    func enterLameDuck() {
        state.withLock { $0.lameDuck = true }
    }

    var isLameDuck: Bool { state.withLock { $0.lameDuck } }

    /// Ready, or the reason not, as `/ready` says it.
    func readiness(now: ContinuousClock.Instant = .now) -> (ready: Bool, reason: String) {
        let (publisher, listening, lameDuck) = state.withLock { ($0.publisher, $0.listening, $0.lameDuck) }
        if lameDuck { return (false, "shutting down (lame duck)") }
        guard let publisher else { return (false, "no registry snapshot loaded yet") }
        guard listening else { return (false, "registry loaded; the DNS listeners are not bound yet") }
        let status = publisher.sourceStatus()
        if status.stale, let since = status.staleSince, now - since > maxStale {
            let seconds = Int((now - since).components.seconds)
            return (false, "registry stale for \(seconds)s (etcd unreachable; the bound is \(maxStale))")
        }
        return (true, status.stale ? "ready (registry stale, within \(maxStale))" : "ready")
    }
}
