// libyaml as Yams builds and links it: the parser Yams composed documents with, so the same bytes give the same
// events, the same errors and the same marks (`YAMLComposerTests` compares the two on many documents).
import CYaml

/// Composes a single YAML document from libyaml's events into a `YAMLDocument`, as `Yams.compose` with a
/// resolver of no rules did: the same tags, marks, alias resolution and errors (two documents in one text, an
/// undefined alias, a key written twice in one mapping), without a node tree of objects.
///
/// No recursion: a document nested a million levels deep is read with a heap stack, not the thread's.
enum YAMLComposer {
    /// The document of `text`; nil when it has none (empty, or only comments).
    /// `linesBefore`: the lines of the file before `text` (a piece of it, `ServiceListChunks`), added to every
    /// node's line. (Errors are reported from the whole file, whose lines need nothing added.)
    static func compose(_ text: String, file: String, linesBefore: Int = 0) throws(RegistryError) -> YAMLNode? {
        var utf8 = text
        let result = utf8.withUTF8 { bytes in
            Result { () throws(RegistryError) in
                try compose(bytes, text: text, file: file, linesBefore: linesBefore)
            }
        }
        return try result.get()
    }

    private static func compose(
        _ bytes: UnsafeBufferPointer<UInt8>, text: String, file: String, linesBefore: Int
    ) throws(RegistryError) -> YAMLNode? {
        // libyaml's parser stays where it was initialized: it is only ever handled through this pointer.
        let parser = UnsafeMutablePointer<yaml_parser_t>.allocate(capacity: 1)
        parser.initialize(to: yaml_parser_t())
        defer { parser.deallocate() }
        guard yaml_parser_initialize(parser) == 1 else {
            throw RegistryError(file: file, message: "cannot parse: out of memory")
        }
        defer { yaml_parser_delete(parser) }
        yaml_parser_set_encoding(parser, YAML_UTF8_ENCODING)
        // libyaml asserts its input is not null, which an empty string's buffer may be.
        let empty: StaticString = ""
        yaml_parser_set_input_string(parser, bytes.baseAddress ?? empty.utf8Start, bytes.count)
        let events = EventReader(parser: parser, text: text, file: file)

        var event = try events.next()  // the stream's start
        event.delete()
        event = try events.next()
        if event.type == YAML_STREAM_END_EVENT {
            event.delete()
            return nil
        }
        event.delete()  // the document's start
        let root = try composeNode(events, linesBefore: linesBefore)
        event = try events.next()  // the document's end
        event.delete()
        event = try events.next()
        defer { event.delete() }
        guard event.type == YAML_STREAM_END_EVENT else {
            throw YAMLSyntaxError.syntaxError(
                file: file, line: event.startLine, column: event.startColumn, problem: "but found another document",
                context: ("expected a single document in the stream", 1, 1))
        }
        return root
    }

    /// One open collection: its node, whether it is a mapping, where its children start in `pending`, and its
    /// anchor, which names it only once it is whole (as in Yams: an alias inside it cannot refer to it).
    private struct Frame {
        var node: Int32
        var isMapping: Bool
        var firstPending: Int
        var anchor: String?
    }

    /// Reads the node whose first event comes next, with everything under it.
    private static func composeNode(_ events: EventReader, linesBefore: Int) throws(RegistryError) -> YAMLNode {
        var builder = YAMLDocumentBuilder()
        var anchors: [String: Int32] = [:]
        var stack: [Frame] = []
        var pending: [Int32] = []
        while true {
            var event = try events.next()
            defer { event.delete() }
            var complete: Int32
            switch event.type {
            case YAML_SCALAR_EVENT:
                let scalar = event.raw.data.scalar
                let value = UnsafeBufferPointer(start: scalar.value, count: scalar.length)
                let text = String(decoding: value, as: UTF8.self)
                let tag = scalar.quoted_implicit == 1 ? YAMLDocument.stringTag : string(scalar.tag) ?? ""
                complete = builder.scalar(
                    text, tag: tag, line: linesBefore + event.startLine, column: event.startColumn)
                if let anchor = string(scalar.anchor) { anchors[anchor] = complete }
            case YAML_ALIAS_EVENT:
                guard let anchor = string(event.raw.data.alias.anchor), let node = anchors[anchor] else {
                    throw YAMLSyntaxError.syntaxError(
                        file: events.file, line: event.startLine, column: event.startColumn,
                        problem: "found undefined alias", context: nil)
                }
                complete = node
            case YAML_SEQUENCE_START_EVENT, YAML_MAPPING_START_EVENT:
                let isMapping = event.type == YAML_MAPPING_START_EVENT
                let implicit: Int32
                let tag: UnsafeMutablePointer<yaml_char_t>?
                let anchor: UnsafeMutablePointer<yaml_char_t>?
                if isMapping {
                    let start = event.raw.data.mapping_start
                    (implicit, tag, anchor) = (start.implicit, start.tag, start.anchor)
                } else {
                    let start = event.raw.data.sequence_start
                    (implicit, tag, anchor) = (start.implicit, start.tag, start.anchor)
                }
                let node = builder.open(
                    isMapping ? .mapping : .sequence, tag: implicit != 0 ? "" : string(tag) ?? "",
                    line: linesBefore + event.startLine, column: event.startColumn)
                stack.append(
                    Frame(node: node, isMapping: isMapping, firstPending: pending.count, anchor: string(anchor)))
                continue
            case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                let frame = stack.removeLast()
                do {
                    let nodes = pending[frame.firstPending...]
                    if frame.isMapping { try checkDuplicateKeys(nodes, builder: builder, file: events.file) }
                    builder.close(frame.node, children: nodes)
                }
                // Once the slice is gone: while it lives, `pending` is shared and would be copied.
                pending.removeLast(pending.count - frame.firstPending)
                if let anchor = frame.anchor { anchors[anchor] = frame.node }
                complete = frame.node
            default:
                // libyaml gives no other event inside a document.
                throw RegistryError(file: events.file, message: "cannot parse: unexpected YAML event \(event.type)")
            }
            guard !stack.isEmpty else { return builder.finish(root: complete) }
            pending.append(complete)
        }
    }

    /// A mapping's keys, every other node from its first: Yams refused the mapping when two keys were equal
    /// scalars (the same text and, with no resolver rules, every untagged or `!` key a string), naming the
    /// duplicated keys in order and pointing at the first one's first occurrence.
    private static func checkDuplicateKeys(
        _ nodes: ArraySlice<Int32>, builder: YAMLDocumentBuilder, file: String
    ) throws(RegistryError) {
        guard nodes.count >= 4 else { return }
        struct Key: Hashable {
            var text: String
            var tag: String
        }
        func keyAt(_ position: Int) -> Key? {
            let entry = builder.entry(nodes[position])
            guard entry.kind == .scalar else { return nil }
            return Key(
                text: entry.text, tag: entry.tag.isEmpty || entry.tag == "!" ? YAMLDocument.stringTag : entry.tag)
        }
        let positions = stride(from: nodes.startIndex, to: nodes.endIndex, by: 2)
        // A mapping of ours has a handful of keys: compared pairwise, without hashing or allocating. A long one
        // (a document that is not ours) is checked through a set.
        // Compared where the builder holds them: a copy of each key's entry (two strings) for each comparison was
        // most of the check's cost.
        if nodes.count <= 32 {
            var clash = false
            outer: for position in positions {
                for later in stride(from: position + 2, to: nodes.endIndex, by: 2)
                where builder.sameKey(nodes[position], nodes[later]) {
                    clash = true
                    break outer
                }
            }
            guard clash else { return }
        }
        var first: [Key: Int32] = [:]
        var duplicated: [Key: Int32] = [:]
        for position in positions {
            guard let key = keyAt(position) else { continue }
            if let earlier = first[key] {
                if duplicated[key] == nil { duplicated[key] = earlier }
            } else {
                first[key] = nodes[position]
            }
        }
        guard !duplicated.isEmpty else { return }
        let sorted = duplicated.sorted { $0.key.text < $1.key.text }
        let mark = builder.entry(sorted[0].value)
        throw YAMLSyntaxError.duplicateKeys(
            sorted.map(\.key.text), file: file, line: Int(mark.line), column: Int(mark.column))
    }

    private static func string(_ pointer: UnsafeMutablePointer<yaml_char_t>?) -> String? {
        pointer.map { String(cString: $0) }
    }

    /// The parser, read one event at a time; a failure becomes the `RegistryError` Yams' error became.
    private struct EventReader {
        let parser: UnsafeMutablePointer<yaml_parser_t>
        let text: String
        let file: String

        func next() throws(RegistryError) -> Event {
            var event = Event()
            guard yaml_parser_parse(parser, &event.raw) == 1 else { throw error() }
            return event
        }

        private func error() -> RegistryError {
            let parser = self.parser.pointee
            let problem = parser.problem.map { String(cString: $0) } ?? "unknown problem"
            switch parser.error {
            case YAML_READER_ERROR:
                return YAMLSyntaxError.readerError(
                    file: file, problem: problem, offset: parser.problem_offset, in: text)
            case YAML_SCANNER_ERROR, YAML_PARSER_ERROR, YAML_COMPOSER_ERROR:
                let context = parser.context.map {
                    (String(cString: $0), parser.context_mark.line + 1, parser.context_mark.column + 1)
                }
                return YAMLSyntaxError.syntaxError(
                    file: file, line: parser.problem_mark.line + 1, column: parser.problem_mark.column + 1,
                    problem: problem, context: context)
            default:
                return RegistryError(file: file, message: "cannot parse: \(problem)")
            }
        }
    }

    /// One libyaml event; `delete` frees what libyaml allocated for it.
    private struct Event {
        var raw = yaml_event_t()

        var type: yaml_event_type_t { raw.type }
        var startLine: Int { raw.start_mark.line + 1 }
        var startColumn: Int { raw.start_mark.column + 1 }

        mutating func delete() { yaml_event_delete(&raw) }
    }
}
