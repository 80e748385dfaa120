/// Reads a plain JSON text into the document libyaml's events compose to (the same structure, scalar strings, tags
/// and marks), without libyaml: etcd holds every export as a one-line JSON value, and composing one through Yams
/// cost 211,000 instructions, half of decoding a listing (BENCHMARKS.md, issue 15).
///
/// It takes only what it can read exactly as Yams does: one line of ASCII text (a final newline allowed), spaces
/// between tokens but none before a colon, the escapes `\" \\ \/ \b \f \n \r \t`, numbers in JSON's grammar, no
/// key twice in one object. Anything else (a pretty-printed file, a tab, a `\u` escape, a duplicate key, a syntax
/// error, YAML that is not JSON) gives nil, and the caller lets Yams read the text, so errors keep Yams's wording. `JSONNodeReaderTests` compares both readers' decoding of
/// many exports, valid and not, outcome for outcome.
enum JSONNodeReader {
    /// Deeper than any export or config: a document nested further is left to libyaml.
    static let maxDepth = 32

    /// The document of `text`, or nil when libyaml should read it.
    static func read(_ text: String) -> YAMLNode? {
        var text = text
        return text.withUTF8 { bytes in
            var reader = Reader(bytes: bytes)
            reader.skipSpace()
            guard reader.peek == UInt8(ascii: "{"), let root = reader.value(depth: 0) else { return nil }
            reader.skipSpace()
            if reader.peek == UInt8(ascii: "\n") { reader.position += 1 }
            return reader.atEnd ? reader.builder.finish(root: root) : nil
        }
    }

    private struct Reader {
        let bytes: UnsafeBufferPointer<UInt8>
        var position = 0
        var builder = YAMLDocumentBuilder()

        init(bytes: UnsafeBufferPointer<UInt8>) {
            self.bytes = bytes
        }

        var atEnd: Bool { position == bytes.count }
        var peek: UInt8? { position < bytes.count ? bytes[position] : nil }
        /// Where libyaml's mark puts the token at `position`: 1-based, on the one line.
        var column: Int { position + 1 }

        mutating func skipSpace() {
            while peek == UInt8(ascii: " ") { position += 1 }
        }

        mutating func expect(_ byte: UInt8) -> Bool {
            skipSpace()
            guard peek == byte else { return false }
            position += 1
            return true
        }

        /// A value's node in `builder`. A quoted scalar is tagged a string; a plain one (number, true, false,
        /// null) and every collection carry no tag, as libyaml gives them.
        mutating func value(depth: Int) -> Int32? {
            skipSpace()
            guard depth < JSONNodeReader.maxDepth, let byte = peek else { return nil }
            switch byte {
            case UInt8(ascii: "{"): return object(depth: depth)
            case UInt8(ascii: "["): return array(depth: depth)
            case UInt8(ascii: "\""):
                let start = column
                guard let string = string() else { return nil }
                return builder.scalar(string, tag: YAMLDocument.stringTag, line: 1, column: start)
            default:
                let start = column
                guard let plain = plain() else { return nil }
                return builder.scalar(plain, tag: "", line: 1, column: start)
            }
        }

        mutating func object(depth: Int) -> Int32? {
            let node = builder.open(.mapping, tag: "", line: 1, column: column)
            position += 1
            var children: [Int32] = []
            // Each key once: looked for among the object's keys so far, as there are a handful; past 16 (a value
            // that is not an export) through a set. A set for every object was a fifth of reading an etcd value.
            var keys: [String] = []
            var manyKeys = Set<String>()
            func isNew(_ key: String) -> Bool {
                if keys.count < 16 {
                    if keys.contains(key) { return false }
                    keys.append(key)
                    return true
                }
                if manyKeys.isEmpty { manyKeys = Set(keys) }
                return manyKeys.insert(key).inserted
            }
            skipSpace()
            if peek == UInt8(ascii: "}") {
                position += 1
                builder.close(node, children: children)
                return node
            }
            while true {
                skipSpace()
                guard peek == UInt8(ascii: "\"") else { return nil }
                let keyColumn = column
                guard let key = string(), isNew(key), peek == UInt8(ascii: ":") else { return nil }
                // The key's node comes before its value's, in document order as libyaml's events come.
                children.append(builder.scalar(key, tag: YAMLDocument.stringTag, line: 1, column: keyColumn))
                position += 1
                guard let value = value(depth: depth + 1) else { return nil }
                children.append(value)
                if expect(UInt8(ascii: ",")) { continue }
                guard expect(UInt8(ascii: "}")) else { return nil }
                builder.close(node, children: children)
                return node
            }
        }

        mutating func array(depth: Int) -> Int32? {
            let node = builder.open(.sequence, tag: "", line: 1, column: column)
            position += 1
            var children: [Int32] = []
            skipSpace()
            if peek == UInt8(ascii: "]") {
                position += 1
                builder.close(node, children: children)
                return node
            }
            while true {
                guard let value = value(depth: depth + 1) else { return nil }
                children.append(value)
                if expect(UInt8(ascii: ",")) { continue }
                guard expect(UInt8(ascii: "]")) else { return nil }
                builder.close(node, children: children)
                return node
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
