import DNSPipeline
import DNSWire
import Logging
import Synchronization

/// The sampled query log (`queryLog: N`): one query in N at info level, saying who asked, over what, the question,
/// and the answer's RCODE, size and time, as CoreDNS's `log` plugin does for every query. Sampling lets it stay on
/// under load. Listeners hold one only when N > 0; a UDP thread counts its own one-in-N in a local variable, NIO's
/// threads share `sample()`.
final class QueryLog: Sendable {
    let every: Int
    private let logger: Logger
    private let counter = Atomic<Int>(0)

    init(every: Int, logger: Logger) {
        self.every = max(1, every)
        self.logger = logger
    }

    /// Whether this query is the one in `every`, for threads that share the log.
    func sample() -> Bool {
        counter.wrappingAdd(1, ordering: .relaxed).newValue % every == 0
    }

    /// Logs one query and its response (nil when none is sent).
    func log(
        query: UnsafeRawBufferPointer, response: [UInt8]?, client: ClientAddress, transport: String,
        nanoseconds: UInt64
    ) {
        // Below --log-level there is nothing to build, and a UDP thread has better things to do.
        guard logger.logLevel <= .info else { return }
        var metadata: Logger.Metadata = ["client": "\(client.ipAddress)", "proto": "\(transport)"]
        if let message = try? Message(parsing: query), let question = message.questions.first {
            metadata["name"] = "\(question.name)"
            metadata["type"] = "\(question.type)"
            if question.qclass != .in { metadata["class"] = "\(question.qclass)" }
        } else {
            metadata["name"] = "(unparsable)"
        }
        if let response, response.count >= 12 {
            metadata["rcode"] = "\(RCode(UInt16(response[3] & 0x0F)))"
            metadata["size"] = "\(response.count)"
        } else {
            metadata["rcode"] = "(none sent)"
        }
        metadata["duration_us"] = "\(nanoseconds / 1000)"
        logger.info("query", metadata: metadata)
    }
}
