/// Every precompiled response of a snapshot in one contiguous array, addressed by index.
///
/// One array instead of an array per response keeps the query path free of reference counting: copying a
/// template touches no object header, only bytes (per-query retain/release showed up in callgrind).
struct TemplateStore: Sendable {
    private struct Span: Sendable {
        var start: Int32
        var count: Int32
    }

    private var bytes: [UInt8] = []
    private var spans: [Span] = []

    var count: Int { spans.count }
    /// Bytes of the responses, and of their spans.
    var byteCounts: (responses: Int, spans: Int) { (bytes.count, spans.count * MemoryLayout<Span>.stride) }

    /// Stores a response and returns its index.
    mutating func append(_ template: [UInt8]) -> Int32 {
        spans.append(Span(start: Int32(bytes.count), count: Int32(template.count)))
        bytes += template
        return Int32(spans.count - 1)
    }

    /// Stores the bytes of template `index` of `other` (a previous snapshot's) and returns the new index; -1 stays
    /// -1 (no template).
    mutating func copy(_ index: Int32, from other: TemplateStore) -> Int32 {
        guard index >= 0 else { return -1 }
        let span = other.spans[Int(index)]
        spans.append(Span(start: Int32(bytes.count), count: span.count))
        bytes += other.bytes[Int(span.start)..<Int(span.start + span.count)]
        return Int32(spans.count - 1)
    }

    /// Calls `body` with the bytes of template `index`.
    @inline(__always)
    func withTemplate<Result>(_ index: Int, _ body: (UnsafeRawBufferPointer) -> Result) -> Result {
        let span = spans[index]
        return bytes.withUnsafeBytes { all in
            body(UnsafeRawBufferPointer(rebasing: all[Int(span.start)..<Int(span.start + span.count)]))
        }
    }

}
