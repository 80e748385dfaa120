import DNSWire

/// What a test responder does with each query: by its arrival number (1-based, per responder) and its name.
struct ResponderBehavior: Sendable {
    enum Action: Sendable, Equatable {
        case answer(RCode)
        case drop
        /// Answers NOERROR with another name in the question: must not count as an answer.
        case wrongQuestion
        /// Answers NOERROR with the name upper-cased, as a 0x20-randomising server might: must count.
        case upperCaseQuestion
    }

    let decide: @Sendable (_ arrival: Int, _ name: String) -> Action
    /// Sleeps this many milliseconds before handling arrival `after` (queries queue meanwhile).
    var stall: (after: Int, milliseconds: Int)? = nil

    /// The common rule of these tests: names starting "nx" get NXDOMAIN, "drop" none, the rest NOERROR.
    static let byName = ResponderBehavior { _, name in
        if name.hasPrefix("nx") { return .answer(.nxDomain) }
        if name.hasPrefix("drop") { return .drop }
        if name.hasPrefix("wrong") { return .wrongQuestion }
        if name.hasPrefix("upper") { return .upperCaseQuestion }
        return .answer(.noError)
    }

    static let silent = ResponderBehavior { _, _ in .drop }

    /// The response to `query` (a whole message), or nil to send none.
    func respond(to query: [UInt8], arrival: Int) -> [UInt8]? {
        guard let message = try? Message(parsing: query), let question = message.questions.first else { return nil }
        let action = decide(arrival, question.name.description)
        var response = query
        response[2] |= 0x80
        response[3] &= 0xF0
        switch action {
        case .drop:
            return nil
        case .answer(let rcode):
            response[3] |= rcode.headerBits
        case .wrongQuestion:
            // The first letter of the name, changed to another letter (not just its case).
            response[13] = response[13] == UInt8(ascii: "x") ? UInt8(ascii: "y") : UInt8(ascii: "x")
        case .upperCaseQuestion:
            let nameEnd = 12 + question.name.wire.count
            for index in 13..<nameEnd where response[index] >= 0x61 && response[index] <= 0x7A {
                response[index] -= 0x20
            }
        }
        return response
    }
}
