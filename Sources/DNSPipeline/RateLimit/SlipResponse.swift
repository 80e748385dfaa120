/// The truncated response rate limiting sends in place of a full one (a "slip", as Knot and BIND call it): the
/// header and the question with TC=1 and no records. It is smaller than most queries, so it amplifies nothing,
/// and a real client whose address was not spoofed retries over TCP and gets its answer there.
enum SlipResponse {
    /// Cuts a response the pipeline wrote down to its header and question, with TC set and no records. False when
    /// its question cannot be walked (never for the pipeline's own responses: their question is copied from a
    /// query's first name, which is never compressed).
    static func cut(_ response: inout [UInt8]) -> Bool {
        guard response.count >= 12 else { return false }
        var end = 12
        if response[4] != 0 || response[5] != 0 {
            guard let nameEnd = response.withUnsafeBytes({ questionNameEnd($0) }) else { return false }
            end = nameEnd + 4
        }
        guard end <= response.count else { return false }
        response.removeSubrange(end...)
        response[2] |= 0x02
        for index in 6..<12 { response[index] = 0 }
        return true
    }

    /// Writes a slip for a query the pipeline would have forwarded (a response it never wrote): the query's header
    /// and question as a response, RD and CD echoed, RA set as the forwarded answer would have it, TC set.
    static func write(forwarded query: UnsafeRawBufferPointer, into response: inout [UInt8]) -> Bool {
        guard query.count >= 12, let nameEnd = questionNameEnd(query), nameEnd + 4 <= query.count else {
            return false
        }
        response.removeAll(keepingCapacity: true)
        response.append(contentsOf: UnsafeRawBufferPointer(rebasing: query[0..<(nameEnd + 4)]))
        // QR, opcode QUERY (only a QUERY is forwarded), TC, RD as asked; RA, CD as asked, RCODE 0.
        response[2] = 0x80 | 0x02 | query[2] & 0x01
        response[3] = 0x80 | query[3] & 0x10
        response[4] = 0
        response[5] = 1
        for index in 6..<12 { response[index] = 0 }
        return true
    }

    /// Where the uncompressed name at offset 12 ends, or nil if it runs past the message or is compressed.
    private static func questionNameEnd(_ message: UnsafeRawBufferPointer) -> Int? {
        var offset = 12
        while offset < message.count {
            let length = Int(message[offset])
            if length == 0 { return offset + 1 }
            guard length < 0x40 else { return nil }
            offset += 1 + length
        }
        return nil
    }
}
