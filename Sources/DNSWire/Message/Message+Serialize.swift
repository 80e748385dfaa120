extension Message {
    /// Writes the message in at most `maxSize` octets (never less than the header, question and OPT).
    ///
    /// Truncation drops whole RRsets, never part of one (RFC 2181 9): an answer or authority RRset that does not
    /// fit ends the message and sets TC; an additional RRset that does not fit is left out without TC, since
    /// nothing the client asked for is missing. The OPT record is always kept (RFC 6891 7).
    public func serialized(maxSize: Int = 65535, compress: Bool = true) -> [UInt8] {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(min(maxSize, 512))
        var compression = CompressionTable(enabled: compress)
        var header = self.header
        buffer.appendUInt16(header.id)
        buffer.appendUInt16(0)  // flags, written last (TC may change)
        for _ in 0..<4 { buffer.appendUInt16(0) }  // counts, written last
        for question in questions {
            compression.write(question.name, to: &buffer, compress: true)
            buffer.appendUInt16(question.type.rawValue)
            buffer.appendUInt16(question.qclass.rawValue)
        }
        // A TSIG must stay the last record (RFC 8945 5.1), after the OPT: it is written last, and kept as OPT is.
        var additional = self.additional
        let tsig = additional.last?.type == .tsig ? additional.removeLast() : nil
        var tsigBytes: [UInt8] = []
        if let tsig {
            var uncompressed = CompressionTable(enabled: false)
            Message.write(tsig, to: &tsigBytes, compression: &uncompressed)
        }
        let reserved = (edns?.wireSize ?? 0) + tsigBytes.count
        var counts = [UInt16(questions.count), 0, 0, 0]
        var truncated = false
        for (index, section) in [answers, authority, additional].enumerated() where !truncated {
            for rrset in Message.rrsets(of: section) {
                let mark = buffer.count
                for record in rrset {
                    Message.write(record, to: &buffer, compression: &compression)
                }
                if buffer.count + reserved > maxSize {
                    buffer.removeSubrange(mark...)
                    compression.forget(from: mark)
                    if index < 2 {
                        truncated = true
                        break
                    }
                    continue
                }
                counts[index + 1] += UInt16(rrset.count)
            }
        }
        if let edns {
            edns.write(to: &buffer, extendedRCode: rcode.extendedBits)
            counts[3] += 1
        }
        if tsig != nil {
            buffer.append(contentsOf: tsigBytes)
            counts[3] += 1
        }
        header.truncated = header.truncated || truncated
        buffer.setUInt16(header.flags(rcodeBits: rcode.headerBits), at: 2)
        for (index, count) in counts.enumerated() { buffer.setUInt16(count, at: 4 + 2 * index) }
        return buffer
    }

    static func write(_ record: ResourceRecord, to buffer: inout [UInt8], compression: inout CompressionTable) {
        compression.write(record.name, to: &buffer, compress: true)
        buffer.appendUInt16(record.type.rawValue)
        buffer.appendUInt16(record.rrClass.rawValue)
        buffer.appendUInt32(record.ttl)
        let lengthOffset = buffer.count
        buffer.appendUInt16(0)
        record.data.write(to: &buffer, compression: &compression)
        buffer.setUInt16(UInt16(buffer.count - lengthOffset - 2), at: lengthOffset)
    }

    /// Consecutive records sharing owner, type and class form one RRset for truncation.
    static func rrsets(of records: [ResourceRecord]) -> [ArraySlice<ResourceRecord>] {
        var result: [ArraySlice<ResourceRecord>] = []
        var start = 0
        for index in records.indices.dropFirst() {
            let previous = records[index - 1]
            let record = records[index]
            if record.name != previous.name || record.type != previous.type || record.rrClass != previous.rrClass {
                result.append(records[start..<index])
                start = index
            }
        }
        if !records.isEmpty { result.append(records[start...]) }
        return result
    }
}
