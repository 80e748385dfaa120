import Foundation

/// A range response read by hand from the gateway's JSON: one pass over its octets, keys and values decoded from
/// base64 where they lie. Foundation's `JSONDecoder` (a tree of every value, then the `Decodable` walk over it)
/// was a third of scdns's own CPU in listing 300,000 exports when listings came through the gateway; other
/// range answers still do.
///
/// It reads what `RangeResponse` holds and skips anything else, whatever its shape, as `JSONDecoder` does. Nil
/// for anything it does not expect (a syntax error, an escape in a key's base64, a field of the wrong type): the
/// caller then decodes with `JSONDecoder`, whose answer or error stands (`RangeResponseReaderTests` holds the two
/// to each other).
struct RangeResponseReader {
    private let bytes: UnsafeRawBufferPointer
    private var position = 0

    static func read(_ data: Data) -> RangeResponse? {
        data.withUnsafeBytes { bytes in
            var reader = RangeResponseReader(bytes: bytes)
            guard let response = reader.response() else { return nil }
            reader.skipSpace()
            return reader.position == bytes.count ? response : nil
        }
    }

    private init(bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    private mutating func response() -> RangeResponse? {
        var response = RangeResponse()
        let complete = object { reader, key in
            switch key {
            case "header":
                var header = ResponseHeader()
                guard
                    reader.object({ reader, key in
                        guard key == "revision" else { return reader.skipValue() }
                        return Self.stored(reader.int64(), in: &header.revision)
                    })
                else { return false }
                response.header = header
                return true
            case "kvs":
                var keyValues: [KeyValue] = []
                guard
                    reader.array({ reader in
                        guard let keyValue = reader.keyValue() else { return false }
                        keyValues.append(keyValue)
                        return true
                    })
                else { return false }
                response.kvs = keyValues
                return true
            case "more":
                return Self.stored(reader.bool(), in: &response.more)
            case "count":
                return Self.stored(reader.int64(), in: &response.count)
            default:
                return reader.skipValue()
            }
        }
        return complete ? response : nil
    }

    private mutating func keyValue() -> KeyValue? {
        var key: Data? = nil
        var keyValue = KeyValue(key: Data())
        let complete = object { reader, field in
            switch field {
            case "key":
                return Self.stored(reader.base64(), in: &key)
            case "value":
                return Self.stored(reader.base64(), in: &keyValue.value)
            case "create_revision":
                return Self.stored(reader.int64(), in: &keyValue.create_revision)
            case "mod_revision":
                return Self.stored(reader.int64(), in: &keyValue.mod_revision)
            case "lease":
                return Self.stored(reader.int64(), in: &keyValue.lease)
            default:
                return reader.skipValue()
            }
        }
        // A key is required, as `KeyValue`'s `Decodable` requires it.
        guard complete, let key else { return nil }
        keyValue.key = key
        return keyValue
    }

    /// Stores a field's value; false when there was none to read (the reader gives up).
    private static func stored<Value>(_ value: Value?, in field: inout Value?) -> Bool {
        field = value
        return value != nil
    }

    // MARK: - JSON

    private var current: UInt8? { position < bytes.count ? bytes[position] : nil }

    private mutating func skipSpace() {
        while let byte = current, byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { position += 1 }
    }

    private mutating func consume(_ byte: UInt8) -> Bool {
        skipSpace()
        guard current == byte else { return false }
        position += 1
        return true
    }

    /// An object, each member's value read by `member` (which returns false to give up); a key seen twice is
    /// given up on (`JSONDecoder` takes one of the two).
    private mutating func object(_ member: (inout RangeResponseReader, String) -> Bool) -> Bool {
        guard consume(0x7B) else { return false }
        if consume(0x7D) { return true }
        var seen: [String] = []
        repeat {
            skipSpace()
            guard let range = plainString() else { return false }
            let key = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[range]), as: UTF8.self)
            guard !seen.contains(key), consume(0x3A) else { return false }
            seen.append(key)
            skipSpace()
            guard member(&self, key) else { return false }
        } while consume(0x2C)
        return consume(0x7D)
    }

    /// An array, each element read by `element`.
    private mutating func array(_ element: (inout RangeResponseReader) -> Bool) -> Bool {
        guard consume(0x5B) else { return false }
        if consume(0x5D) { return true }
        repeat {
            skipSpace()
            guard element(&self) else { return false }
        } while consume(0x2C)
        return consume(0x5D)
    }

    /// A string without escapes (keys, base64, digits): the range of its octets; nil for one with an escape.
    private mutating func plainString() -> Range<Int>? {
        guard current == 0x22 else { return nil }
        let start = position + 1
        var end = start
        while end < bytes.count {
            let byte = bytes[end]
            if byte == 0x22 { break }
            if byte == 0x5C || byte < 0x20 { return nil }
            end += 1
        }
        guard end < bytes.count else { return nil }
        position = end + 1
        return start..<end
    }

    private mutating func base64() -> Data? {
        guard let range = plainString() else { return nil }
        return Data(base64Encoded: Data(UnsafeRawBufferPointer(rebasing: bytes[range])))
    }

    /// A 64-bit integer as proto3 JSON writes it, a string of digits, or as a number.
    private mutating func int64() -> EtcdInt64? {
        let range: Range<Int>
        if current == 0x22 {
            guard let quoted = plainString() else { return nil }
            range = quoted
        } else {
            let start = position
            while let byte = current, byte == 0x2D || (byte >= 0x30 && byte <= 0x39) { position += 1 }
            range = start..<position
        }
        guard !range.isEmpty, range.count <= 20 else { return nil }
        return Int64(String(decoding: UnsafeRawBufferPointer(rebasing: bytes[range]), as: UTF8.self))
            .map(EtcdInt64.init)
    }

    private mutating func bool() -> Bool? {
        if literal("true") { return true }
        if literal("false") { return false }
        return nil
    }

    private mutating func literal(_ word: StaticString) -> Bool {
        let count = word.utf8CodeUnitCount
        guard position + count <= bytes.count else { return false }
        for offset in 0..<count where bytes[position + offset] != word.utf8Start[offset] { return false }
        position += count
        return true
    }

    /// Any value, unread: objects and arrays by their brackets, strings with their escapes, anything else (a
    /// number, true, false, null) up to the next delimiter.
    private mutating func skipValue() -> Bool {
        switch current {
        case 0x7B:
            return object { reader, _ in reader.skipValue() }
        case 0x5B:
            return array { reader in reader.skipValue() }
        case 0x22:
            position += 1
            while let byte = current {
                position += 1
                if byte == 0x5C {
                    position += 1
                } else if byte == 0x22 {
                    return true
                }
            }
            return false
        default:
            let start = position
            while let byte = current, byte != 0x2C, byte != 0x7D, byte != 0x5D, byte != 0x20, byte != 0x0A,
                byte != 0x0D, byte != 0x09
            {
                position += 1
            }
            guard position > start else { return false }
            let word = UnsafeRawBufferPointer(rebasing: bytes[start..<position])
            return word.elementsEqual("true".utf8) || word.elementsEqual("false".utf8)
                || word.elementsEqual("null".utf8) || Self.isNumber(word)
        }
    }

    /// JSON's number: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    static func isNumber(_ word: UnsafeRawBufferPointer) -> Bool {
        var index = 0
        func digits() -> Int {
            let start = index
            while index < word.count, word[index] >= 0x30, word[index] <= 0x39 { index += 1 }
            return index - start
        }
        if index < word.count, word[index] == 0x2D { index += 1 }
        let integer = index
        guard digits() > 0, word[integer] != 0x30 || index == integer + 1 else { return false }
        if index < word.count, word[index] == 0x2E {
            index += 1
            guard digits() > 0 else { return false }
        }
        if index < word.count, word[index] == 0x65 || word[index] == 0x45 {
            index += 1
            if index < word.count, word[index] == 0x2B || word[index] == 0x2D { index += 1 }
            guard digits() > 0 else { return false }
        }
        return index == word.count
    }
}
