import DNSWire
import Synchronization

/// The pipeline's entry point: bytes of a query and who sent it in, bytes of a response out. Synchronous and
/// socket-free, so any listener (a NIO channel, a batched recvmmsg loop, a test) calls it the same way.
public final class QueryProcessor: Sendable {
    private let current: Mutex<AnswerSnapshot>

    public init(snapshot: AnswerSnapshot) {
        current = Mutex(snapshot)
    }

    /// The snapshot queries are answered from now.
    public var snapshot: AnswerSnapshot { current.withLock { $0 } }

    /// Swaps in a new snapshot; queries already running finish on the old one.
    public func replace(with snapshot: AnswerSnapshot) {
        current.withLock { $0 = snapshot }
    }

    /// Answers one query. `response` is cleared and reused, so a caller that keeps one buffer per thread
    /// allocates nothing per query on the answering path.
    public func process(
        _ query: UnsafeRawBufferPointer, client: ClientContext, into response: inout [UInt8]
    ) -> QueryOutcome {
        snapshot.respond(to: query, client: client, into: &response)
    }

    /// Convenience for tests and slow paths: a response as a new array, or nil for a drop.
    public func process(_ query: [UInt8], client: ClientContext) -> [UInt8]? {
        var response: [UInt8] = []
        let outcome = query.withUnsafeBytes { process($0, client: client, into: &response) }
        return outcome == .respond ? response : nil
    }
}
