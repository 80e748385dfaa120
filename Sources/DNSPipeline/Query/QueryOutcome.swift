/// What the socket layer does with a query after the pipeline has seen it.
public enum QueryOutcome: Equatable, Sendable {
    /// Send the bytes the pipeline wrote into the response buffer.
    case respond
    /// Send nothing: not even a header could be read, or the message is itself a response.
    case drop
}
