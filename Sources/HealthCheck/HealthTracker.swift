/// Each target's state from the checks so far, damped: `fall` failures in a row take an up target down, `rise`
/// successes in a row bring a down one back, so one lost SYN never moves traffic. A target starts up (a check
/// can only demote). A plain value: the checker owns it and feeds it verdicts. The server's reachability probes
/// (targets are address and port) and the publisher's local checks (targets are checks) share it.
public struct HealthTracker<Target: Hashable & Sendable>: Sendable {
    public struct State: Equatable, Sendable {
        public var up = true
        /// Verdicts in a row against the current state.
        public var streak = 0
        /// When the state last changed (the caller's time: the server passes seconds since 1970, which `/registry`
        /// and `/explain` print), nil while the target has never gone down.
        public var since: Double? = nil
    }

    /// A target whose state changed.
    public struct Transition: Equatable, Sendable {
        public var target: Target
        public var up: Bool
    }

    public let fall: Int
    public let rise: Int
    public private(set) var states: [Target: State] = [:]

    public init(fall: Int, rise: Int) {
        precondition(fall >= 1 && rise >= 1)
        self.fall = fall
        self.rise = rise
    }

    /// The targets down now, each with when it went down.
    public var down: [Target: Double] {
        states.compactMapValues { state in state.up ? nil : state.since }
    }

    /// Records one check of `target` at `time`; returns the transition it caused, if any.
    public mutating func record(_ target: Target, up: Bool, at time: Double) -> Transition? {
        var state = states[target] ?? State()
        defer { states[target] = state }
        guard up != state.up else {
            state.streak = 0
            return nil
        }
        state.streak += 1
        guard state.streak >= (state.up ? fall : rise) else { return nil }
        state.up = up
        state.streak = 0
        state.since = time
        return Transition(target: target, up: up)
    }

    /// Forgets targets no longer checked (their services or exports are gone); returns whether a down one went.
    @discardableResult
    public mutating func retain(only targets: Set<Target>) -> Bool {
        let gone = states.keys.filter { !targets.contains($0) }
        var changed = false
        for target in gone {
            if states[target]?.up == false { changed = true }
            states[target] = nil
        }
        return changed
    }
}
