/// Response rate limiting (`limits.rrl`, DESIGN.md section 5): how many UDP responses a second one client network
/// (an IPv4 /24, an IPv6 /56) gets, and what happens to the rest.
public struct RateLimitSettings: Sendable, Equatable {
    /// Responses a second per client network, with a burst of one second's worth; 0 turns rate limiting off.
    public var responsesPerSecond: Int
    /// Every `slip`-th limited response is sent truncated (TC=1, the question alone), so a real client behind a
    /// spoofed address still gets its answer over TCP; the others are dropped. 0 drops every limited response,
    /// 1 truncates every one. Knot's and BIND's `slip` mean the same.
    public var slip: Int

    public init(responsesPerSecond: Int = 0, slip: Int = 2) {
        self.responsesPerSecond = responsesPerSecond
        self.slip = slip
    }

    public var isEnabled: Bool { responsesPerSecond > 0 }

    /// The networks one bucket covers, as Knot and BIND default them: a spoofed flood spread over a victim's
    /// /24 is still one victim.
    public static let ipv4PrefixLength = 24
    public static let ipv6PrefixLength = 56
}
