/// The truncated response rate limiting sends in place of a full one (a "slip", as Knot and BIND call it): the
/// header and the question with TC=1, no records but an OPT without options when the query had EDNS. It is no
/// larger than the query, so it amplifies nothing, and a real client whose address was not spoofed retries over
/// TCP and gets its answer there. The OPT stays so that a resolver does not take the slip for a server without
/// EDNS (and stop sending EDNS to it); the extended RCODE bits stay with it.
enum SlipResponse {
    /// Cuts a response the pipeline wrote down to its header, question and bare OPT, with TC set. False when it
    /// cannot be walked (never for the pipeline's own responses: their question is copied from a query's first
    /// name, which is never compressed, and their records are well formed).
    static func cut(_ response: inout [UInt8]) -> Bool {
        guard response.count >= 12 else { return false }
        let found = response.withUnsafeBytes { message -> (questionEnd: Int, opt: Int?)? in
            guard let questionEnd = MessageLayout.questionEnd(message) else { return nil }
            return (questionEnd, optRecord(in: message, after: questionEnd))
        }
        guard let (questionEnd, opt) = found else { return false }
        var end = questionEnd
        if let opt {
            // The OPT lies after the question: moving its fixed part down, first octet first, is safe in place.
            for index in 0..<optFixedLength { response[end + index] = response[opt + index] }
            response[end + optFixedLength] = 0
            response[end + optFixedLength + 1] = 0
            end += optFixedLength + 2
        }
        response.removeSubrange(end...)
        response[2] |= 0x02
        setCounts(&response, questions: questionEnd > 12 ? 1 : 0, additional: opt == nil ? 0 : 1)
        return true
    }

    /// Writes a slip for a query the pipeline would have forwarded (a response it never wrote): the query's header
    /// and question as a response, RD and CD echoed, RA set as the forwarded answer would have it, TC set, and our
    /// OPT (`payload`, DO echoed) when the query had one.
    static func write(forwarded query: UnsafeRawBufferPointer, payload: Int, into response: inout [UInt8]) -> Bool {
        guard query.count >= 12, let questionEnd = MessageLayout.questionEnd(query) else { return false }
        let opt = optRecord(in: query, after: questionEnd)
        response.removeAll(keepingCapacity: true)
        response.append(contentsOf: UnsafeRawBufferPointer(rebasing: query[0..<questionEnd]))
        // QR, opcode QUERY (only a QUERY is forwarded), TC, RD as asked; RA, CD as asked, RCODE 0.
        response[2] = 0x80 | 0x02 | query[2] & 0x01
        response[3] = 0x80 | query[3] & 0x10
        if let opt {
            let doBit = query[opt + 7] & 0x80
            response.append(contentsOf: [0, 0, 41, UInt8(payload >> 8), UInt8(payload & 0xFF), 0, 0, doBit, 0, 0, 0])
        }
        setCounts(&response, questions: 1, additional: opt == nil ? 0 : 1)
        return true
    }

    /// An OPT record's owner (the root), TYPE, CLASS (the payload size) and TTL (extended RCODE, version, flags).
    private static let optFixedLength = 9

    private static func setCounts(_ message: inout [UInt8], questions: UInt8, additional: UInt8) {
        message[4] = 0
        message[5] = questions
        for index in 6..<11 { message[index] = 0 }
        message[11] = additional
    }

    /// The offset of the OPT record among the records after `start` (answer, authority and additional), or nil.
    private static func optRecord(in message: UnsafeRawBufferPointer, after start: Int) -> Int? {
        let records = stride(from: 6, to: 12, by: 2).reduce(0) { $0 + (Int(message[$1]) << 8 | Int(message[$1 + 1])) }
        var offset = start
        for _ in 0..<records {
            let owner = offset
            while true {
                guard offset < message.count else { return nil }
                let length = Int(message[offset])
                if length == 0 {
                    offset += 1
                    break
                }
                if length >= 0xC0 {
                    offset += 2
                    break
                }
                guard length < 0x40 else { return nil }
                offset += 1 + length
            }
            guard offset + 10 <= message.count else { return nil }
            if offset == owner + 1 && message[offset] == 0 && message[offset + 1] == 41 { return owner }
            offset += 10 + (Int(message[offset + 8]) << 8 | Int(message[offset + 9]))
        }
        return nil
    }
}
