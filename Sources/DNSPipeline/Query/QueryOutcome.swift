/// What the socket layer does with a query after the pipeline has seen it.
public enum QueryOutcome: Equatable, Sendable {
    /// Send the bytes the pipeline wrote into the response buffer.
    case respond
    /// Send nothing: not even a header could be read, or the message is itself a response.
    case drop
    /// The name lies under a `forward:` rule and in none of our own zones: the server's upstream client
    /// resolves it. The response buffer is left empty.
    case forward(ForwardPlan)
}

/// Which `forward:` rule a query goes to (its index in `PipelineSettings.forwardZones`, the config's order).
public struct ForwardPlan: Equatable, Sendable {
    public var rule: Int

    public init(rule: Int) {
        self.rule = rule
    }
}
