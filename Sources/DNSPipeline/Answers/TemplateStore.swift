#if canImport(Glibc)
import Glibc
#endif

/// Every precompiled response of a snapshot in one contiguous array, addressed by index.
///
/// One array instead of an array per response keeps the query path free of reference counting: copying a
/// template touches no object header, only bytes (per-query retain/release showed up in callgrind).
///
/// A template is a response without its question: the 12-octet header, then everything after the question.
/// The writer puts the query's own question between the two (it echoes the query's letter case and, for a
/// CNAME's fallback, its type anyway), so the name, which the name table already holds, is not stored again
/// with each of the name's templates: about half of their bytes at 100,000 services.
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

    /// The octets of a template before the question's place: the header.
    static let headerLength = 12

    /// Stores `template`, a response already without its question (`template(ofResponse:)`,
    /// `Message.simpleAnswersWithoutQuestion`), and returns its index.
    mutating func append(template: [UInt8]) -> Int32 {
        precondition(template.count >= Self.headerLength && template[4] == 0 && template[5] == 1)
        spans.append(Span(start: Int32(bytes.count), count: Int32(template.count)))
        bytes += template
        return Int32(spans.count - 1)
    }

    /// A response of exactly one question as a template: without that question.
    static func template(ofResponse response: [UInt8]) -> [UInt8] {
        let end = response.withUnsafeBytes { MessageLayout.questionEnd($0) }
        precondition(response[4] == 0 && response[5] == 1, "a template is a response with one question")
        guard let questionEnd = end else { preconditionFailure("a template's question runs past its end") }
        return Array(response[..<Self.headerLength]) + response[questionEnd...]
    }

    /// Whether template `index` is `template`, octet for octet.
    func template(_ index: Int32, equals template: [UInt8]) -> Bool {
        let span = spans[Int(index)]
        guard Int(span.count) == template.count else { return false }
        return bytes.withUnsafeBytes { all in
            template.withUnsafeBytes { memcmp(all.baseAddress! + Int(span.start), $0.baseAddress!, $0.count) == 0 }
        }
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

    /// Appends every template of `other` (compiled on another thread), template `i` of it becoming template
    /// `count + i` of this, as `count` was before.
    mutating func append(contentsOf other: TemplateStore) {
        let start = Int32(bytes.count)
        spans += other.spans.map { Span(start: $0.start + start, count: $0.count) }
        bytes += other.bytes
    }

    /// Calls `body` with the bytes of template `index`: its header, then the sections after the question.
    @inline(__always)
    func withTemplate<Result>(_ index: Int, _ body: (UnsafeRawBufferPointer) -> Result) -> Result {
        let span = spans[index]
        return bytes.withUnsafeBytes { all in
            body(UnsafeRawBufferPointer(rebasing: all[Int(span.start)..<Int(span.start + span.count)]))
        }
    }

}
