/// The fields of a query's TSIG record (RFC 8945 4.2) that an unsigned error reply repeats. scdns holds no
/// keys, so it never checks a MAC: a signed query gets NOTAUTH with TSIG error BADKEY (RFC 8945 5.2.2).
public struct TSIGRecord: Hashable, Sendable {
    public var keyName: DNSName
    public var algorithm: DNSName
    /// Seconds since the epoch, 48 bits on the wire.
    public var timeSigned: UInt64
    public var fudge: UInt16
    public var originalID: UInt16

    /// TSIG error values of RFC 8945 section 3.
    public static let badKey: UInt16 = 17

    /// Reads the record that starts at `offset` of `message` (owner, type TSIG, class ANY, TTL 0, RDATA),
    /// checking that its RDATA fills RDLENGTH exactly.
    public init(_ message: UnsafeRawBufferPointer, at offset: Int) throws(DNSWireError) {
        var reader = WireReader(message, offset: offset)
        let bad = DNSWireError.badTSIG(offset: offset)
        keyName = try reader.readName()
        guard try reader.readUInt16() == RecordType.tsig.rawValue else { throw bad }
        // RFC 8945 4.2: CLASS ANY and TTL 0; anything else is not a TSIG a signer would send.
        guard try reader.readUInt16() == RecordClass.any.rawValue, try reader.readUInt32() == 0 else { throw bad }
        let length = Int(try reader.readUInt16())
        guard length <= reader.remaining else { throw .truncated(offset: reader.offset) }
        let end = reader.offset + length
        var inner = WireReader(UnsafeRawBufferPointer(rebasing: message[0..<end]), offset: reader.offset)
        do throws(DNSWireError) {
            algorithm = try inner.readName()
            timeSigned = UInt64(try inner.readUInt16()) << 32 | UInt64(try inner.readUInt32())
            fudge = try inner.readUInt16()
            try inner.skip(Int(try inner.readUInt16()))  // MAC
            originalID = try inner.readUInt16()
            _ = try inner.readUInt16()  // error
            try inner.skip(Int(try inner.readUInt16()))  // other data
        } catch {
            throw bad
        }
        guard inner.offset == end else { throw bad }
    }

    /// The unsigned TSIG record of an error reply (RFC 8945 5.3.2): the same key and algorithm, the request's
    /// time and fudge, no MAC, `error`, no other data. Names are written uncompressed.
    public func errorRecord(error: UInt16) -> [UInt8] {
        var record = keyName.wire
        record.append(contentsOf: [0, UInt8(RecordType.tsig.rawValue), 0, UInt8(RecordClass.any.rawValue), 0, 0, 0, 0])
        var data = algorithm.wire
        for shift in stride(from: 40, through: 0, by: -8) {
            data.append(UInt8(truncatingIfNeeded: timeSigned >> shift))
        }
        data.append(contentsOf: [UInt8(fudge >> 8), UInt8(truncatingIfNeeded: fudge), 0, 0])
        data.append(contentsOf: [UInt8(originalID >> 8), UInt8(truncatingIfNeeded: originalID)])
        data.append(contentsOf: [UInt8(error >> 8), UInt8(truncatingIfNeeded: error), 0, 0])
        record.append(contentsOf: [UInt8(data.count >> 8), UInt8(truncatingIfNeeded: data.count)])
        record.append(contentsOf: data)
        return record
    }
}
