extension WireReader {
    /// Reads `length` octets of RDATA of `type`. Names inside the well-known types may be compressed
    /// (RFC 3597 4: receivers decompress them, and SRV's too); every layout must fill RDLENGTH exactly.
    mutating func readRData(type: RecordType, length: Int) throws(DNSWireError) -> RData {
        let start = offset
        guard length <= remaining else { throw .truncated(offset: start) }
        let end = start + length
        let bad = DNSWireError.badRData(type: type.rawValue, offset: start)
        // A bounded view: a name or field that runs past RDLENGTH is malformed, not a read into the next record.
        var inner = WireReader(UnsafeRawBufferPointer(rebasing: bytes[0..<end]), offset: start)
        let data: RData
        do throws(DNSWireError) {
            switch type {
            case .a:
                guard length == 4 else { throw bad }
                data = .a(IPv4Address(rawValue: try inner.readUInt32()))
            case .aaaa:
                guard length == 16 else { throw bad }
                let high = UInt64(try inner.readUInt32()) << 32 | UInt64(try inner.readUInt32())
                let low = UInt64(try inner.readUInt32()) << 32 | UInt64(try inner.readUInt32())
                data = .aaaa(IPv6Address(high: high, low: low))
            case .ns: data = .ns(try inner.readName())
            case .cname: data = .cname(try inner.readName())
            case .ptr: data = .ptr(try inner.readName())
            case .mx:
                let preference = try inner.readUInt16()
                data = .mx(preference: preference, exchange: try inner.readName())
            case .soa:
                let primary = try inner.readName()
                let mailbox = try inner.readName()
                data = .soa(
                    SOARecord(
                        primary: primary, mailbox: mailbox, serial: try inner.readUInt32(),
                        refresh: try inner.readUInt32(), retry: try inner.readUInt32(),
                        expire: try inner.readUInt32(), minimum: try inner.readUInt32()))
            case .txt:
                guard length > 0 else { throw bad }
                var strings: [[UInt8]] = []
                while inner.offset < end {
                    let count = Int(try inner.readUInt8())
                    strings.append(try inner.readBytes(count))
                }
                data = .txt(strings)
            case .srv:
                let priority = try inner.readUInt16()
                let weight = try inner.readUInt16()
                let port = try inner.readUInt16()
                data = .srv(SRVRecord(priority: priority, weight: weight, port: port, target: try inner.readName()))
            default:
                data = .unknown(type: type, data: try inner.readBytes(length))
            }
        } catch {
            // A field cut short by RDLENGTH is a malformed record; name errors keep their own precision.
            if case .truncated = error { throw bad }
            throw error
        }
        guard inner.offset == end else { throw bad }
        offset = end
        return data
    }
}

extension RData {
    /// Appends the RDATA (without its length). Names in RFC 1035 types are compressed; SRV's target and
    /// names in newer types are not (RFC 2782, RFC 3597 4).
    func write(to buffer: inout [UInt8], compression: inout CompressionTable) {
        switch self {
        case .a(let address): buffer.appendUInt32(address.rawValue)
        case .aaaa(let address):
            buffer.appendUInt32(UInt32(address.high >> 32))
            buffer.appendUInt32(UInt32(truncatingIfNeeded: address.high))
            buffer.appendUInt32(UInt32(address.low >> 32))
            buffer.appendUInt32(UInt32(truncatingIfNeeded: address.low))
        case .ns(let name), .cname(let name), .ptr(let name):
            compression.write(name, to: &buffer, compress: true)
        case .mx(let preference, let exchange):
            buffer.appendUInt16(preference)
            compression.write(exchange, to: &buffer, compress: true)
        case .soa(let soa):
            compression.write(soa.primary, to: &buffer, compress: true)
            compression.write(soa.mailbox, to: &buffer, compress: true)
            for value in [soa.serial, soa.refresh, soa.retry, soa.expire, soa.minimum] { buffer.appendUInt32(value) }
        case .txt(let strings):
            for string in strings {
                let clipped = string.prefix(255)
                buffer.append(UInt8(clipped.count))
                buffer.append(contentsOf: clipped)
            }
        case .srv(let srv):
            buffer.appendUInt16(srv.priority)
            buffer.appendUInt16(srv.weight)
            buffer.appendUInt16(srv.port)
            compression.write(srv.target, to: &buffer, compress: false)
        case .unknown(_, let data):
            buffer.append(contentsOf: data)
        }
    }
}

extension Array where Element == UInt8 {
    mutating func appendUInt16(_ value: UInt16) {
        append(UInt8(value >> 8))
        append(UInt8(truncatingIfNeeded: value))
    }

    mutating func appendUInt32(_ value: UInt32) {
        append(UInt8(value >> 24))
        append(UInt8(truncatingIfNeeded: value >> 16))
        append(UInt8(truncatingIfNeeded: value >> 8))
        append(UInt8(truncatingIfNeeded: value))
    }

    /// Overwrites two octets at `offset` in network order.
    mutating func setUInt16(_ value: UInt16, at offset: Int) {
        self[offset] = UInt8(value >> 8)
        self[offset + 1] = UInt8(truncatingIfNeeded: value)
    }
}
