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

extension Message {
    /// The octets `serialized()` writes of an authoritative response (ID 0, NOERROR) to one question for `name`
    /// with `answers` and `additional`, less its question: the 12-octet header, then the records. Only for records
    /// whose compression is known without a table: every answer owned by `name` (letter case aside), so each owner
    /// is a pointer to the question's name at offset 12; and either
    /// - all of them A or AAAA records, or a single PTR, CNAME or NS record whose target ends in another label
    ///   than the question (no suffix of it was written before, so it is written whole), and no additional data;
    /// - or all of them SRV records whose targets are the question's name or a name it ends in (a ClusterSetIP
    ///   service's `_PORT._PROTO.SVC.NS.BASE` and its target `SVC.NS.BASE`): a target is written whole (RFC 2782
    ///   leaves it uncompressed) and adds no suffix the question has not, so the additional data, A and AAAA
    ///   records owned by such a name too, point into the question.
    ///
    /// Nil otherwise, for the root (one octet, never a pointer), and when the response would not fit in one
    /// message (then `serialized()` truncates it): the caller serializes.
    ///
    /// Compiling a registry writes most of its precompiled answers through here: a `Message`, its arrays and its
    /// compression table for each of them were a fifth of compiling (BENCHMARKS.md).
    public static func simpleAnswersWithoutQuestion(
        _ answers: [ResourceRecord], additional: [ResourceRecord] = [], question name: DNSName
    ) -> [UInt8]? {
        guard !name.isRoot else { return nil }
        var size = 12
        var srvCount = 0
        for record in answers {
            guard record.name == name else { return nil }
            switch record.data {
            case .a: size += 16
            case .aaaa: size += 28
            case .ptr(let target), .cname(let target), .ns(let target):
                guard answers.count == 1,
                    !DNSName.equalIgnoringCase(lastLabel(of: target.wire), lastLabel(of: name.wire))
                else { return nil }
                size += 12 + target.wire.count
            case .srv(let srv):
                guard suffixOffset(of: srv.target.wire, in: name.wire) != nil else { return nil }
                size += 18 + srv.target.wire.count
                srvCount += 1
            default: return nil
            }
        }
        guard srvCount == 0 || srvCount == answers.count else { return nil }
        // Where each additional record's owner is in the question.
        var owners: [Int] = []
        if !additional.isEmpty {
            guard srvCount > 0 else { return nil }
            owners.reserveCapacity(additional.count)
            for record in additional {
                guard let offset = suffixOffset(of: record.name.wire, in: name.wire) else { return nil }
                switch record.data {
                case .a: size += 16
                case .aaaa: size += 28
                default: return nil
                }
                owners.append(offset)
            }
        }
        guard size + name.wire.count + 4 <= 65535 else { return nil }
        let flags = Header(isResponse: true, authoritative: true).flags(rcodeBits: RCode.noError.headerBits)
        // Stored straight into the array's memory: appending octet by octet was most of this function's cost.
        return [UInt8].written(count: size) { buffer in
            var cursor = buffer.baseAddress!
            func store16(_ value: UInt16) {
                cursor.storeBytes(of: value.bigEndian, as: UInt16.self)
                cursor += 2
            }
            func store32(_ value: UInt32) {
                cursor.storeBytes(of: value.bigEndian, as: UInt32.self)
                cursor += 4
            }
            // ID 0, the flags, one question, the answers, no authority, the additional records.
            store16(0)
            store16(flags)
            store16(1)
            store16(UInt16(answers.count))
            store16(0)
            store16(UInt16(additional.count))
            // The owner a pointer: the question's name is at 12, an additional record's where it ends the question's.
            func write(_ record: ResourceRecord, ownerAt owner: Int) {
                store16(0xC000 | UInt16(owner))
                store16(record.type.rawValue)
                store16(record.rrClass.rawValue)
                store32(record.ttl)
                switch record.data {
                case .a(let address):
                    store16(4)
                    store32(address.rawValue)
                case .aaaa(let address):
                    store16(16)
                    cursor.storeBytes(of: address.high.bigEndian, as: UInt64.self)
                    cursor.storeBytes(of: address.low.bigEndian, toByteOffset: 8, as: UInt64.self)
                    cursor += 16
                case .ptr(let target), .cname(let target), .ns(let target):
                    store16(UInt16(target.wire.count))
                    target.wire.withUnsafeBytes { cursor.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
                    cursor += target.wire.count
                case .srv(let srv):
                    store16(UInt16(6 + srv.target.wire.count))
                    store16(srv.priority)
                    store16(srv.weight)
                    store16(srv.port)
                    srv.target.wire.withUnsafeBytes {
                        cursor.copyMemory(from: $0.baseAddress!, byteCount: $0.count)
                    }
                    cursor += srv.target.wire.count
                default:
                    preconditionFailure("only the records measured above")
                }
            }
            for record in answers { write(record, ownerAt: 12) }
            for (record, offset) in zip(additional, owners) { write(record, ownerAt: 12 + offset) }
            precondition(cursor == buffer.baseAddress! + size)
        }
    }

    /// Where `suffix` (not the root) starts in `wire` at a label's start, letter case aside; nil when `wire` does
    /// not end in it.
    private static func suffixOffset(of suffix: [UInt8], in wire: [UInt8]) -> Int? {
        var position = 0
        while wire[position] != 0 {
            if wire.count - position == suffix.count {
                return DNSName.equalIgnoringCase(wire[position...], suffix[...]) ? position : nil
            }
            position += 1 + Int(wire[position])
        }
        return nil
    }

    /// The last label of a name in wire form, its length octet included; empty for the root.
    private static func lastLabel(of wire: [UInt8]) -> ArraySlice<UInt8> {
        var position = 0
        var last = 0..<0
        while wire[position] != 0 {
            last = position..<(position + 1 + Int(wire[position]))
            position = last.upperBound
        }
        return wire[last]
    }
}
