extension Message {
    /// Cuts a whole response to at most `limit` octets in place, with exactly what `serialized(maxSize:)` would
    /// give for the parsed message: whole RRsets only (RFC 2181 9), an answer or authority RRset that does not fit
    /// ends the message and sets TC, an additional RRset that does not fit is left out without TC, and the OPT
    /// record (the last record) is kept. Nothing is allocated: records are only moved within the array.
    ///
    /// Returns false, leaving `response` as it was, where the in-place cut cannot match `serialized(maxSize:)`
    /// (an OPT that is not the last record, a TSIG, a record kept after one left out that refers into what
    /// moved) or the bytes are not a well-formed message. The caller then takes the slow path: parse and serialize.
    public static func truncate(_ response: inout [UInt8], to limit: Int) -> Bool {
        guard response.count > limit else { return true }
        let length = response.withUnsafeMutableBytes { buffer -> Int? in
            var cutter = TruncationCutter(buffer, limit: limit)
            do {
                return try cutter.cut()
            } catch {
                // A record that cannot move can come after records that moved: put back what they overwrote.
                if let (start, saved) = cutter.saved {
                    saved.withUnsafeBytes {
                        UnsafeMutableRawBufferPointer(rebasing: buffer[start..<(start + $0.count)]).copyMemory(from: $0)
                    }
                }
                return nil
            }
        }
        guard let length else { return false }
        response.removeSubrange(length...)
        return true
    }
}

/// The in-place cut of `Message.truncate(_:to:)`: RRsets found as `Message.rrsets` finds them (consecutive
/// records of one owner, type and class in one section), kept ones moved down over left-out ones.
private struct TruncationCutter {
    struct CannotCut: Error {}

    let buffer: UnsafeMutableRawBufferPointer
    let bytes: UnsafeRawBufferPointer
    let limit: Int
    /// The OPT record's octets, kept at the end whatever else goes.
    var reserved = 0
    /// Where the next kept octet goes.
    var write = 0
    var truncated = false
    var stopped = false
    /// Where the first left-out additional RRset began: nothing kept after it may point at or past it.
    var firstGap = Int.max
    /// The octets from the first one overwritten to the end, copied before the first move (a left-out additional
    /// RRset, rare), so a cut that declines later can leave the response as it was.
    var saved: (start: Int, octets: [UInt8])? = nil
    var keptAnswers = 0
    var keptAuthority = 0
    var keptAdditional = 0

    init(_ buffer: UnsafeMutableRawBufferPointer, limit: Int) {
        self.buffer = buffer
        bytes = UnsafeRawBufferPointer(buffer)
        self.limit = limit
    }

    private func uint16(_ offset: Int) -> Int { Int(bytes[offset]) << 8 | Int(bytes[offset + 1]) }

    private func setUInt16(_ value: Int, _ offset: Int) {
        buffer[offset] = UInt8(truncatingIfNeeded: value >> 8)
        buffer[offset + 1] = UInt8(truncatingIfNeeded: value)
    }

    /// A record's fields, read with one bounds check after its owner: where its owner, type and class are, and
    /// where it ends.
    private struct RecordFrame {
        var type: Int
        var rrClass: Int
        var end: Int
    }

    @inline(__always)
    private func frame(at start: Int) throws(DNSWireError) -> RecordFrame {
        let fixed = try skipOwner(at: start)
        guard fixed + 10 <= bytes.count else { throw .truncated(offset: fixed) }
        let end = fixed + 10 + uint16(fixed + 8)
        guard end <= bytes.count else { throw .truncated(offset: fixed + 8) }
        return RecordFrame(type: uint16(fixed), rrClass: uint16(fixed + 2), end: end)
    }

    /// Cuts and returns the new length.
    mutating func cut() throws(DNSWireError) -> Int {
        guard bytes.count >= 12 else { throw .truncated(offset: 0) }
        let answers = uint16(6)
        let authority = uint16(8)
        let records = answers + authority + uint16(10)
        var offset = 12
        for _ in 0..<uint16(4) {
            offset = try skipOwner(at: offset) + 4
        }
        guard offset <= bytes.count else { throw .truncated(offset: offset) }
        let firstRecord = offset
        // First pass: framing, and where the OPT is (it must be the last record).
        var optStart = -1
        for index in 0..<records {
            let record = try frame(at: offset)
            if record.type == 41 {
                guard index == records - 1, index >= answers + authority else { throw .badOPT(offset: offset) }
                optStart = offset
            }
            // A TSIG is kept last, after the OPT, by the serializer: not a cut this walk makes.
            if record.type == 250 { throw .badTSIG(offset: offset) }
            offset = record.end
        }
        guard offset == bytes.count else { throw .trailingBytes(offset: offset) }
        let recordsEnd = optStart >= 0 ? optStart : bytes.count
        reserved = bytes.count - recordsEnd
        write = firstRecord
        // Second pass: RRset by RRset.
        offset = firstRecord
        var setStart = firstRecord
        var setType = -1
        var setClass = -1
        var setSection = 0
        var setRecords = 0
        var index = 0
        while offset < recordsEnd {
            let record = try frame(at: offset)
            let section = index < answers ? 0 : index < answers + authority ? 1 : 2
            let sameSet =
                setRecords > 0 && section == setSection && record.type == setType && record.rrClass == setClass
                && namesEqual(setStart, offset)
            if !sameSet {
                try close(start: setStart, end: offset, section: setSection, records: setRecords)
                setStart = offset
                setType = record.type
                setClass = record.rrClass
                setSection = section
                setRecords = 0
            }
            setRecords += 1
            index += 1
            offset = record.end
        }
        try close(start: setStart, end: recordsEnd, section: setSection, records: setRecords)
        if reserved > 0 && write != recordsEnd {
            UnsafeMutableRawBufferPointer(rebasing: buffer[write..<(write + reserved)])
                .copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[recordsEnd..<bytes.count]))
        }
        setUInt16(keptAnswers, 6)
        setUInt16(keptAuthority, 8)
        setUInt16(keptAdditional + (reserved > 0 ? 1 : 0), 10)
        if truncated { buffer[2] |= 0x02 }
        return write + reserved
    }

    /// Keeps the RRset [start, end) of `records` records, moving it down over anything left out before it, or
    /// leaves it out: an answer or authority RRset that does not fit stops everything after it, with TC.
    private mutating func close(start: Int, end: Int, section: Int, records: Int) throws(DNSWireError) {
        guard records > 0, !stopped else { return }
        let size = end - start
        if write + size + reserved > limit {
            if section < 2 {
                truncated = true
                stopped = true
            } else if firstGap == .max {
                firstGap = start
            }
            return
        }
        if write != start {
            try checkMovable(from: start, to: end)
            if saved == nil { saved = (write, Array(bytes[write...])) }
            UnsafeMutableRawBufferPointer(rebasing: buffer[write..<(write + size)])
                .copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[start..<end]))
        }
        write += size
        switch section {
        case 0: keptAnswers += records
        case 1: keptAuthority += records
        default: keptAdditional += records
        }
    }

    /// A record moved down over a left-out RRset must not point at or past the gap (its target would be gone or
    /// moved). Names inside RDATA are not followed, so only types that hold none may move: A, AAAA, TXT, and
    /// types unknown to RFC 1035 (never compressed, RFC 3597 4).
    private func checkMovable(from start: Int, to end: Int) throws(DNSWireError) {
        var offset = start
        while offset < end {
            var position = offset
            while bytes[position] != 0 && bytes[position] & 0xC0 == 0 { position += 1 + Int(bytes[position]) }
            if bytes[position] & 0xC0 == 0xC0 && uint16(position) & 0x3FFF >= firstGap {
                throw .badPointer(offset: position)
            }
            let record = try frame(at: offset)
            switch record.type {
            case 1, 16, 28, 256...: break
            default: throw .badRData(type: UInt16(record.type), offset: offset)
            }
            offset = record.end
        }
    }

    /// Steps over a name to the octet after it, following no pointer: where a pointer leads is only read when
    /// two owners are compared. (Validating every pointer's target, as `skipName` does for untrusted input,
    /// cost most of the cut.)
    @inline(__always)
    private func skipOwner(at start: Int) throws(DNSWireError) -> Int {
        var position = start
        while true {
            guard position < bytes.count else { throw .truncated(offset: position) }
            let octet = bytes[position]
            if octet == 0 { return position + 1 }
            if octet & 0xC0 == 0xC0 { return position + 2 }
            guard octet & 0xC0 == 0 else { throw .badLabelType(offset: position) }
            position += 1 + Int(octet)
        }
    }

    /// Whether the (possibly compressed) owner names at two offsets are equal, ASCII case ignored, as `DNSName`
    /// compares them; false for anything malformed (the cut then keeps the records apart, or declines).
    private func namesEqual(_ first: Int, _ second: Int) -> Bool {
        var a = first
        var b = second
        var hops = 0
        while hops < 128 {
            while a + 1 < bytes.count && bytes[a] & 0xC0 == 0xC0 && hops < 128 {
                a = uint16(a) & 0x3FFF
                hops += 1
            }
            while b + 1 < bytes.count && bytes[b] & 0xC0 == 0xC0 && hops < 128 {
                b = uint16(b) & 0x3FFF
                hops += 1
            }
            guard a < bytes.count, b < bytes.count else { return false }
            // The same octets: the usual case, every owner of an RRset pointing at the question's name.
            if a == b { return true }
            let length = Int(bytes[a])
            guard length == Int(bytes[b]), length < 64, a + length < bytes.count, b + length < bytes.count else {
                return false
            }
            if length == 0 { return true }
            for offset in 1...length {
                let x = bytes[a + offset]
                let y = bytes[b + offset]
                if x != y && !(x | 0x20 == y | 0x20 && (0x61...0x7A).contains(x | 0x20)) { return false }
            }
            a += 1 + length
            b += 1 + length
            hops += 1
        }
        return false
    }
}
