import Yams

/// Reads a plain JSON text into the node tree Yams composes from it (the same structure, scalar strings, tags and
/// marks), without libyaml: etcd holds every export as a one-line JSON value, and Yams spent 211,000 instructions
/// on each, half of decoding a listing (BENCHMARKS.md, issue 15).
///
/// It takes only what it can read exactly as Yams does: one line of ASCII text (a final newline allowed), spaces
/// between tokens but none before a colon, the escapes `\" \\ \/ \b \f \n \r \t`, numbers in JSON's grammar, no
/// key twice in one object. Anything else (a pretty-printed file, a tab, a `\u` escape, a duplicate key, a syntax
/// error, YAML that is not JSON) gives nil, and the caller lets Yams read the text, so errors keep Yams's wording. `JSONNodeReaderTests` compares both readers' decoding of
/// many exports, valid and not, outcome for outcome.
enum JSONNodeReader {
    /// What each node's tag refers to, made once: `Constructor.default` builds a new one, thousands of instructions.
    nonisolated(unsafe) private static let constructor = Constructor.default

    /// A new tag for each node, as Yams makes: resolving an implicit tag rewrites it in place. A quoted scalar is a
    /// string; a plain one (number, true, false, null) and every collection are left to the resolver.
    static func tag(_ name: Tag.Name) -> Tag { Tag(name, YAMLField.composingResolver, constructor) }

    /// Deeper than any export or config: a document nested further is left to Yams.
    static let maxDepth = 32

    /// Yams gives `Mark` no public initializer: one is made from its two stored integers, line then column, once
    /// a probe showed that layout holds (a Yams that changed it leaves every text to Yams, never a wrong mark).
    static let canMakeMarks: Bool = {
        guard MemoryLayout<Mark>.size == MemoryLayout<(Int, Int)>.size else { return false }
        let probe = unsafeBitCast((7, 9), to: Mark.self)
        return probe.line == 7 && probe.column == 9
    }()

    /// The node tree of `text`, or nil when Yams should read it.
    static func read(_ text: String) -> Node? {
        guard canMakeMarks else { return nil }
        var text = text
        return text.withUTF8 { bytes in
            var reader = Reader(bytes: bytes)
            reader.skipSpace()
            guard reader.peek == UInt8(ascii: "{"), let root = reader.value(depth: 0) else { return nil }
            reader.skipSpace()
            if reader.peek == UInt8(ascii: "\n") { reader.position += 1 }
            return reader.atEnd ? root : nil
        }
    }

    private struct Reader {
        let bytes: UnsafeBufferPointer<UInt8>
        var position = 0

        init(bytes: UnsafeBufferPointer<UInt8>) {
            self.bytes = bytes
        }

        var atEnd: Bool { position == bytes.count }
        var peek: UInt8? { position < bytes.count ? bytes[position] : nil }
        /// Where Yams' mark puts the token at `position`: 1-based, on the one line.
        var mark: Mark { unsafeBitCast((1, position + 1), to: Mark.self) }

        mutating func skipSpace() {
            while peek == UInt8(ascii: " ") { position += 1 }
        }

        mutating func expect(_ byte: UInt8) -> Bool {
            skipSpace()
            guard peek == byte else { return false }
            position += 1
            return true
        }

        mutating func value(depth: Int) -> Node? {
            skipSpace()
            guard depth < JSONNodeReader.maxDepth, let byte = peek else { return nil }
            switch byte {
            case UInt8(ascii: "{"): return object(depth: depth)
            case UInt8(ascii: "["): return array(depth: depth)
            case UInt8(ascii: "\""):
                let start = mark
                guard let string = string() else { return nil }
                return .scalar(Node.Scalar(string, JSONNodeReader.tag(.str), .doubleQuoted, start))
            default:
                let start = mark
                guard let plain = plain() else { return nil }
                return .scalar(Node.Scalar(plain, JSONNodeReader.tag(.implicit), .plain, start))
            }
        }

        // A collection's style is `.any` as Yams gives it (it reads the style from the collection's end event).
        mutating func object(depth: Int) -> Node? {
            let start = mark
            position += 1
            var pairs: [(Node, Node)] = []
            var keys = Set<String>()
            skipSpace()
            if peek == UInt8(ascii: "}") {
                position += 1
                return .mapping(Node.Mapping(pairs, JSONNodeReader.tag(.implicit), .any, start))
            }
            while true {
                skipSpace()
                guard peek == UInt8(ascii: "\"") else { return nil }
                let keyMark = mark
                guard let key = string(), keys.insert(key).inserted, peek == UInt8(ascii: ":") else { return nil }
                position += 1
                guard let value = value(depth: depth + 1) else { return nil }
                pairs.append((.scalar(Node.Scalar(key, JSONNodeReader.tag(.str), .doubleQuoted, keyMark)), value))
                if expect(UInt8(ascii: ",")) { continue }
                guard expect(UInt8(ascii: "}")) else { return nil }
                return .mapping(Node.Mapping(pairs, JSONNodeReader.tag(.implicit), .any, start))
            }
        }

        mutating func array(depth: Int) -> Node? {
            let start = mark
            position += 1
            var nodes: [Node] = []
            skipSpace()
            if peek == UInt8(ascii: "]") {
                position += 1
                return .sequence(Node.Sequence(nodes, JSONNodeReader.tag(.implicit), .any, start))
            }
            while true {
                guard let value = value(depth: depth + 1) else { return nil }
                nodes.append(value)
                if expect(UInt8(ascii: ",")) { continue }
                guard expect(UInt8(ascii: "]")) else { return nil }
                return .sequence(Node.Sequence(nodes, JSONNodeReader.tag(.implicit), .any, start))
            }
        }

        /// A quoted string, the opening quote at `position`.
        mutating func string() -> String? {
            position += 1
            var octets: [UInt8] = []
            while let byte = peek {
                position += 1
                switch byte {
                case UInt8(ascii: "\""):
                    return String(decoding: octets, as: UTF8.self)
                case UInt8(ascii: "\\"):
                    guard let escaped = peek else { return nil }
                    position += 1
                    switch escaped {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): octets.append(escaped)
                    case UInt8(ascii: "b"): octets.append(0x08)
                    case UInt8(ascii: "f"): octets.append(0x0C)
                    case UInt8(ascii: "n"): octets.append(0x0A)
                    case UInt8(ascii: "r"): octets.append(0x0D)
                    case UInt8(ascii: "t"): octets.append(0x09)
                    default: return nil
                    }
                case 0x20..<0x7F:
                    octets.append(byte)
                default:
                    return nil
                }
            }
            return nil
        }

        /// `true`, `false`, `null` or a number in JSON's grammar, as written.
        mutating func plain() -> String? {
            for word in ["true", "false", "null"] where matches(word) {
                position += word.utf8.count
                return word
            }
            let start = position
            func digits() -> Int {
                let first = position
                while let byte = peek, byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") { position += 1 }
                return position - first
            }
            if peek == UInt8(ascii: "-") { position += 1 }
            let leadingZero = peek == UInt8(ascii: "0")
            let integer = digits()
            guard integer > 0, !(leadingZero && integer > 1) else { return nil }
            if peek == UInt8(ascii: ".") {
                position += 1
                guard digits() > 0 else { return nil }
            }
            if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
                position += 1
                if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { position += 1 }
                guard digits() > 0 else { return nil }
            }
            // A plain scalar runs on to the next separator in YAML: `12abc` is one scalar there, not a number.
            if let next = peek, !Self.separators.contains(next) { return nil }
            return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
        }

        func matches(_ word: String) -> Bool {
            let utf8 = word.utf8
            guard position + utf8.count <= bytes.count else { return false }
            for (offset, byte) in utf8.enumerated() where bytes[position + offset] != byte { return false }
            let after = position + utf8.count
            return after == bytes.count || Self.separators.contains(bytes[after])
        }

        /// What may follow a plain scalar in a flow collection.
        static let separators: [UInt8] = [
            UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "]"), UInt8(ascii: " "), UInt8(ascii: "\n"),
        ]
    }
}
