import Foundation

/// etcd's `RangeRequest` and `RangeResponse` in protobuf's binary encoding, for a listing over gRPC
/// (`EtcdGRPCConnection`). Only the fields scdns sends or reads; any other field of a response is skipped by its wire
/// type, as protobuf readers do, so a newer etcd that adds fields reads the same.
///
/// The field numbers are etcd's (api/etcdserverpb/rpc.proto, api/mvccpb/kv.proto), stable since etcd 3.0:
/// - RangeRequest: key 1, range_end 2, limit 3, revision 4, keys_only 8, count_only 9;
/// - RangeResponse: header 1, kvs 2 (repeated), more 3, count 4; ResponseHeader: revision 3;
/// - KeyValue: key 1, create_revision 2, mod_revision 3, version 4, value 5, lease 6.
enum RangeProtobuf {
    /// The request's octets.
    static func encode(_ request: RangeRequest) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(request.key.count + (request.range_end?.count ?? 0) + 32)
        appendBytes(field: 1, request.key, to: &out)
        if let end = request.range_end { appendBytes(field: 2, end, to: &out) }
        if let limit = request.limit?.value, limit != 0 { appendVarint(field: 3, UInt64(bitPattern: limit), to: &out) }
        if let revision = request.revision?.value, revision != 0 {
            appendVarint(field: 4, UInt64(bitPattern: revision), to: &out)
        }
        if request.keys_only == true { appendVarint(field: 8, 1, to: &out) }
        if request.count_only == true { appendVarint(field: 9, 1, to: &out) }
        return out
    }

    /// The response read from `bytes`, or nil when they are not a well-formed `RangeResponse` (a truncated field,
    /// a length past the end, a wire type protobuf does not have).
    static func decodeResponse(_ bytes: UnsafeRawBufferPointer) -> RangeResponse? {
        var reader = Reader(bytes: bytes, position: 0, end: bytes.count)
        var response = RangeResponse()
        var keyValues: [KeyValue] = []
        while !reader.atEnd {
            guard let (field, wireType) = reader.tag() else { return nil }
            switch (field, wireType) {
            case (1, .lengthDelimited):
                guard var header = reader.message() else { return nil }
                var revision: Int64? = nil
                while !header.atEnd {
                    guard let (field, wireType) = header.tag() else { return nil }
                    if field == 3, wireType == .varint {
                        guard let value = header.varint() else { return nil }
                        revision = Int64(bitPattern: value)
                    } else {
                        guard header.skip(wireType) else { return nil }
                    }
                }
                response.header = ResponseHeader(revision: revision.map(EtcdInt64.init))
            case (2, .lengthDelimited):
                guard var message = reader.message(), let keyValue = Self.keyValue(&message) else { return nil }
                keyValues.append(keyValue)
            case (3, .varint):
                guard let value = reader.varint() else { return nil }
                response.more = value != 0
            case (4, .varint):
                guard let value = reader.varint() else { return nil }
                response.count = EtcdInt64(Int64(bitPattern: value))
            default:
                guard reader.skip(wireType) else { return nil }
            }
        }
        response.kvs = keyValues.isEmpty ? nil : keyValues
        return response
    }

    private static func keyValue(_ reader: inout Reader) -> KeyValue? {
        var key = Data()
        var value: Data? = nil
        var createRevision: Int64 = 0
        var modRevision: Int64 = 0
        var lease: Int64 = 0
        while !reader.atEnd {
            guard let (field, wireType) = reader.tag() else { return nil }
            switch (field, wireType) {
            case (1, .lengthDelimited):
                guard let bytes = reader.data() else { return nil }
                key = bytes
            case (5, .lengthDelimited):
                guard let bytes = reader.data() else { return nil }
                value = bytes
            case (2, .varint):
                guard let raw = reader.varint() else { return nil }
                createRevision = Int64(bitPattern: raw)
            case (3, .varint):
                guard let raw = reader.varint() else { return nil }
                modRevision = Int64(bitPattern: raw)
            case (6, .varint):
                guard let raw = reader.varint() else { return nil }
                lease = Int64(bitPattern: raw)
            default:
                guard reader.skip(wireType) else { return nil }
            }
        }
        // As the gateway's JSON leaves fields at their default out, so 0 is nil here too.
        return KeyValue(
            key: key, value: value, create_revision: createRevision == 0 ? nil : EtcdInt64(createRevision),
            mod_revision: modRevision == 0 ? nil : EtcdInt64(modRevision), lease: lease == 0 ? nil : EtcdInt64(lease))
    }

    enum WireType: UInt8 {
        case varint = 0
        case fixed64 = 1
        case lengthDelimited = 2
        case fixed32 = 5
    }

    /// A cursor over part of a message's octets.
    struct Reader {
        let bytes: UnsafeRawBufferPointer
        var position: Int
        let end: Int

        var atEnd: Bool { position >= end }

        mutating func varint() -> UInt64? {
            var value: UInt64 = 0
            var shift: UInt64 = 0
            while position < end, shift < 64 {
                let byte = bytes[position]
                position += 1
                value |= UInt64(byte & 0x7f) << shift
                if byte < 0x80 { return value }
                shift += 7
            }
            return nil
        }

        /// A field's number and wire type; nil for a wire type protobuf does not have (3 and 4, the deprecated
        /// groups, included) or a field number of 0.
        mutating func tag() -> (Int, WireType)? {
            guard let raw = varint(), raw >> 3 != 0, raw >> 3 <= UInt64(Int32.max),
                let wireType = WireType(rawValue: UInt8(raw & 7))
            else { return nil }
            return (Int(raw >> 3), wireType)
        }

        /// The bounds of a length-delimited field's contents, moving past them.
        private mutating func lengthDelimited() -> Range<Int>? {
            guard let length = varint(), length <= UInt64(end - position) else { return nil }
            let start = position
            position += Int(length)
            return start..<position
        }

        mutating func message() -> Reader? {
            lengthDelimited().map { Reader(bytes: bytes, position: $0.lowerBound, end: $0.upperBound) }
        }

        mutating func data() -> Data? {
            lengthDelimited().map { Data(bytes[$0]) }
        }

        mutating func skip(_ wireType: WireType) -> Bool {
            switch wireType {
            case .varint: return varint() != nil
            case .lengthDelimited: return lengthDelimited() != nil
            case .fixed64, .fixed32:
                let size = wireType == .fixed64 ? 8 : 4
                guard end - position >= size else { return false }
                position += size
                return true
            }
        }
    }

    private static func appendVarint(_ value: UInt64, to out: inout [UInt8]) {
        var value = value
        while value >= 0x80 {
            out.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        out.append(UInt8(value))
    }

    private static func appendVarint(field: Int, _ value: UInt64, to out: inout [UInt8]) {
        appendVarint(UInt64(field << 3) | UInt64(WireType.varint.rawValue), to: &out)
        appendVarint(value, to: &out)
    }

    private static func appendBytes(field: Int, _ bytes: Data, to out: inout [UInt8]) {
        appendVarint(UInt64(field << 3) | UInt64(WireType.lengthDelimited.rawValue), to: &out)
        appendVarint(UInt64(bytes.count), to: &out)
        out.append(contentsOf: bytes)
    }
}
