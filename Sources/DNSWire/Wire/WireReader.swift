/// A bounds-checked cursor over an untrusted message. Every read checks the remaining length first and
/// throws `DNSWireError.truncated` instead of trapping.
/// It borrows the bytes: use it only inside the `withUnsafeBytes` scope that produced them.
public struct WireReader {
    public let bytes: UnsafeRawBufferPointer
    public var offset: Int

    public init(_ bytes: UnsafeRawBufferPointer, offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
    }

    @inlinable
    public var remaining: Int { bytes.count - offset }

    @inlinable @inline(__always)
    public mutating func readUInt8() throws(DNSWireError) -> UInt8 {
        guard offset < bytes.count else { throw .truncated(offset: offset) }
        defer { offset += 1 }
        return bytes[offset]
    }

    @inlinable @inline(__always)
    public mutating func readUInt16() throws(DNSWireError) -> UInt16 {
        guard bytes.count - offset >= 2 else { throw .truncated(offset: offset) }
        defer { offset += 2 }
        return UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
    }

    @inlinable @inline(__always)
    public mutating func readUInt32() throws(DNSWireError) -> UInt32 {
        guard bytes.count - offset >= 4 else { throw .truncated(offset: offset) }
        defer { offset += 4 }
        return UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16 | UInt32(bytes[offset + 2]) << 8
            | UInt32(bytes[offset + 3])
    }

    public mutating func readBytes(_ count: Int) throws(DNSWireError) -> [UInt8] {
        guard count >= 0, bytes.count - offset >= count else { throw .truncated(offset: offset) }
        defer { offset += count }
        return Array(bytes[offset..<offset + count])
    }

    public mutating func skip(_ count: Int) throws(DNSWireError) {
        guard count >= 0, bytes.count - offset >= count else { throw .truncated(offset: offset) }
        offset += count
    }
}
