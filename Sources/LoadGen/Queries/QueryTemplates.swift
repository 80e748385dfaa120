import DNSWire

/// The queries encoded once, back to back in one buffer, so a send copies bytes and patches the ID.
///
/// Each template is a header (ID 0, RD set, one question) and the question, without EDNS, as dnsperf sends by
/// default. Immutable after `init`, so threads share it.
final class QueryTemplates: @unchecked Sendable {
    /// The longest template: header, a 255-octet name, type and class.
    static let maxLength = 12 + DNSName.maxLength + 4

    let count: Int
    private let bytes: UnsafeMutableRawPointer
    /// Where each template starts in `bytes`; `count + 1` entries, the last the total length.
    private let offsets: UnsafeMutablePointer<Int>
    private let nameLengths: UnsafeMutablePointer<Int>

    init(_ queries: [QuerySpec]) {
        precondition(!queries.isEmpty)
        let encoded = queries.map { query in
            Message(header: Header(recursionDesired: true), questions: [Question(name: query.name, type: query.type)])
                .serialized()
        }
        count = encoded.count
        let total = encoded.reduce(0) { $0 + $1.count }
        bytes = UnsafeMutableRawPointer.allocate(byteCount: max(total, 1), alignment: 16)
        offsets = UnsafeMutablePointer<Int>.allocate(capacity: count + 1)
        nameLengths = UnsafeMutablePointer<Int>.allocate(capacity: count)
        var offset = 0
        for (index, message) in encoded.enumerated() {
            offsets[index] = offset
            nameLengths[index] = queries[index].name.wire.count
            message.withUnsafeBytes { (bytes + offset).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            offset += message.count
        }
        offsets[count] = offset
    }

    deinit {
        bytes.deallocate()
        offsets.deallocate()
        nameLengths.deallocate()
    }

    /// The encoded query at `index` (0..<count), ID zero.
    @inline(__always)
    func query(_ index: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: bytes + offsets[index], count: offsets[index + 1] - offsets[index])
    }

    /// Whether `response` carries the question of query `index`: one question, the same name (ASCII case
    /// aside, which a server may change), type and class. The caller has checked the ID.
    @inline(__always)
    func questionMatches(_ index: Int, response: UnsafeRawBufferPointer) -> Bool {
        let start = offsets[index]
        let length = offsets[index + 1] - start
        guard response.count >= length, response[4] == 0, response[5] == 1 else { return false }
        let template = UnsafeRawBufferPointer(start: bytes + start, count: length)
        let nameEnd = 12 + nameLengths[index]
        var position = 12
        while position < nameEnd {
            let expected = template[position]
            let actual = response[position]
            if expected != actual && Self.lowercased(expected) != Self.lowercased(actual) { return false }
            position += 1
        }
        while position < length {
            if template[position] != response[position] { return false }
            position += 1
        }
        return true
    }

    @inline(__always)
    private static func lowercased(_ byte: UInt8) -> UInt8 {
        byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte
    }
}
