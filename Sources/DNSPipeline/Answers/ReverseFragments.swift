import DNSWire

/// The PTR names a snapshot compiled from the registry: for each, by its node, what its records were, so the
/// next build copies the node when they are the same and an overlay finds the services behind an address.
///
/// Kept as bytes in one array, not as records: a PTR name's records are one to a few PTRs, and as
/// `ResourceRecord` values (each name its own array) they cost about 250 octets a name in three allocations:
/// 82 MiB of the resident memory at 100,000 services x 3 clusters (300,000 PTR names), against about 20 here.
struct ReverseFragments: Sendable {
    private struct Span: Sendable {
        var start: Int32
        var count: Int32
    }

    /// Each PTR name's records, by the name's node: for every record, its TTL (four octets) and then its PTR
    /// target in uncompressed wire form.
    private var spans: [Int32: Span] = [:]
    private var bytes: [UInt8] = []

    var count: Int { spans.count }

    /// Bytes of the records, and an estimate of the index's (a dictionary entry is a key and a value).
    var byteCounts: (records: Int, index: Int) {
        (bytes.count, spans.capacity * (MemoryLayout<Int32>.stride + MemoryLayout<Span>.stride))
    }

    init(capacity: Int = 0) { spans.reserveCapacity(capacity) }

    /// Keeps `records` (PTR records of one name, as `ReverseRecords` makes them) for `node`. Records of any other
    /// type are not kept: the name is then compiled afresh by the next build, and an overlay cannot tell who
    /// holds its address.
    mutating func add(_ records: [ResourceRecord], node: Int32) {
        guard let encoded = Self.encode(records) else { return }
        spans[node] = Span(start: Int32(bytes.count), count: Int32(encoded.count))
        bytes += encoded
    }

    /// Whether `node` was compiled from exactly `records` (same TTLs and targets, in order, octet for octet).
    func matches(node: Int32, _ records: [ResourceRecord]) -> Bool {
        guard let span = spans[node], let encoded = Self.encode(records) else { return false }
        return bytes[Int(span.start)..<Int(span.start + span.count)].elementsEqual(encoded)
    }

    /// The PTR targets of `node`'s records, in order; nil when the node's records were not kept.
    func targets(ofNode node: Int32) -> [DNSName]? {
        guard let span = spans[node] else { return nil }
        var targets: [DNSName] = []
        var position = Int(span.start) + 4
        let end = Int(span.start + span.count)
        while position < end {
            var next = position
            while bytes[next] != 0 { next += 1 + Int(bytes[next]) }
            next += 1
            // Written by `encode` from a valid name.
            guard let target = try? DNSName(wire: Array(bytes[position..<next])) else { return nil }
            targets.append(target)
            position = next + 4
        }
        return targets
    }

    private static func encode(_ records: [ResourceRecord]) -> [UInt8]? {
        var encoded: [UInt8] = []
        for record in records {
            guard case .ptr(let target) = record.data, record.rrClass == .in else { return nil }
            encoded += [
                UInt8(record.ttl >> 24), UInt8(truncatingIfNeeded: record.ttl >> 16),
                UInt8(truncatingIfNeeded: record.ttl >> 8), UInt8(truncatingIfNeeded: record.ttl),
            ]
            encoded += target.wire
        }
        return encoded
    }
}
