import DNSWire

/// The codec under arbitrary bytes (`make fuzz`, target `wire`). Parsing never traps, and whatever parses holds
/// together: it serializes into bytes that parse back to the same message, the allocation-free query scan takes
/// every message the parser takes with the same fields, and the in-place truncation agrees with the serializer.
public enum WireFuzz {
    /// What went wrong for `data`, or nothing.
    public static func check(_ data: [UInt8]) -> [String] {
        var problems: [String] = []
        let scanned = data.withUnsafeBytes { raw in Result { () throws(DNSWireError) in try QueryView.scan(raw) } }
        guard let message = try? Message(parsing: data) else { return problems }
        if message.questions.count == 1 {
            switch scanned {
            case .failure(let error):
                problems.append("the parser takes it, the query scan refuses it: \(error)")
            case .success(let view):
                if view.id != message.header.id || view.type != message.questions[0].type
                    || Array(data[view.nameStart..<view.nameEnd]) != message.questions[0].name.wire
                {
                    problems.append("the query scan reads other fields than the parser")
                }
            }
        }
        let bytes = message.serialized()
        guard let again = try? Message(parsing: bytes) else {
            problems.append("a parsed message serializes into bytes that do not parse")
            return problems
        }
        if again != message {
            problems.append("a message does not survive serialize and parse")
        }
        // Every limit from the header up, derived from the input so runs differ: the in-place cut must give
        // what the serializer gives, or decline and leave the bytes alone.
        let limit =
            12 + (data.count > 2 ? Int(data[data.count - 1]) << 8 | Int(data[data.count - 2]) : 0)
            % max(1, bytes.count)
        var cut = bytes
        let expected = again.serialized(maxSize: limit)
        if Message.truncate(&cut, to: limit) {
            if cut != expected { problems.append("in-place truncation to \(limit) differs from the serializer") }
        } else if cut != bytes {
            problems.append("in-place truncation declined but changed the bytes")
        }
        return problems
    }
}
