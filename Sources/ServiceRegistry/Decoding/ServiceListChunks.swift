/// A registry file cut between the items of its `services:` list, so each piece is parsed by libyaml on a thread
/// of its own: at 100,000 services the parse is a third of a start, and one parser cannot be shared.
///
/// Only a file whose block structure is its indentation alone is cut: the list as the document's only key, and
/// nothing that lets a line at the items' indentation be anything but the start of an item (quotes, block
/// scalars, anchors and aliases, tags, directives and document markers, complex keys, tabs, a flow collection
/// left open at the end of a line). Anything else, and any piece that does not parse as a list, is read whole as
/// before (`RegistryDecoder.decode`), which also says what is wrong with it exactly as before.
struct ServiceListChunks {
    /// A run of consecutive items: its text, the lines before it in the file, and the index of its first item.
    struct Chunk: Sendable {
        var text: String
        var linesBefore: Int
        var firstItem: Int
        var itemCount: Int
    }

    /// The pieces of `text`, about `count` of them; nil when the file is not cut (see above) or has fewer than
    /// `minimumItems` items.
    static func split(_ text: String, into count: Int, minimumItems: Int) -> [Chunk]? {
        var text = text
        return text.withUTF8 { bytes in split(bytes, into: count, minimumItems: minimumItems) }
    }

    private static func split(_ bytes: UnsafeBufferPointer<UInt8>, into count: Int, minimumItems: Int) -> [Chunk]? {
        // Item starts: byte offset and line number (0-based) of each line that begins an item.
        // A byte-order mark is left to libyaml's reading of the whole, and so are the line breaks libyaml knows
        // besides LF (NEL U+0085, LS U+2028, PS U+2029): they would end a line, a comment's included, that this
        // cut reads on.
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { return nil }
        for index in bytes.indices.dropLast() where bytes[index] == 0xC2 || bytes[index] == 0xE2 {
            if bytes[index] == 0xC2 && bytes[index + 1] == 0x85 { return nil }
            if bytes[index] == 0xE2 && bytes[index + 1] == 0x80 && index + 2 < bytes.count
                && (bytes[index + 2] == 0xA8 || bytes[index + 2] == 0xA9)
            {
                return nil
            }
        }
        var itemStarts: [(offset: Int, line: Int)] = []
        var sawServices = false
        var indent = -1
        var line = 0
        var start = 0
        while start < bytes.count {
            var end = start
            while end < bytes.count && bytes[end] != UInt8(ascii: "\n") { end += 1 }
            defer {
                start = end + 1
                line += 1
            }
            var spaces = 0
            while start + spaces < end && bytes[start + spaces] == UInt8(ascii: " ") { spaces += 1 }
            let content = start + spaces
            // Blank and comment lines say nothing of the structure (a comment may hold anything at all).
            if content == end || bytes[content] == UInt8(ascii: "#") { continue }
            var depth = 0
            for position in content..<end {
                switch bytes[position] {
                case UInt8(ascii: "&"), UInt8(ascii: "*"), UInt8(ascii: "!"), UInt8(ascii: "|"), UInt8(ascii: ">"),
                    UInt8(ascii: "%"), UInt8(ascii: "\""), UInt8(ascii: "'"), UInt8(ascii: "?"), UInt8(ascii: "\t"),
                    UInt8(ascii: "\r"), UInt8(ascii: "@"), UInt8(ascii: "`"):
                    return nil
                case UInt8(ascii: "["), UInt8(ascii: "{"): depth += 1
                case UInt8(ascii: "]"), UInt8(ascii: "}"): depth -= 1
                default: break
                }
            }
            guard depth == 0 else { return nil }
            if !sawServices {
                // The document's one key, its value the block list that follows.
                guard spaces == 0, isServicesKey(bytes[content..<end]) else { return nil }
                sawServices = true
                continue
            }
            let dash =
                bytes[content] == UInt8(ascii: "-")
                && (content + 1 == end || bytes[content + 1] == UInt8(ascii: " "))
            if indent < 0 {
                guard dash else { return nil }
                indent = spaces
            }
            if spaces == indent && dash {
                itemStarts.append((start, line))
            } else if spaces <= indent {
                // Another key of the document, or a line the list's items cannot hold.
                return nil
            }
        }
        guard itemStarts.count >= max(1, minimumItems), count > 0 else { return nil }
        let perChunk = (itemStarts.count + count - 1) / count
        var chunks: [Chunk] = []
        for first in stride(from: 0, to: itemStarts.count, by: perChunk) {
            let last = min(first + perChunk, itemStarts.count)
            let from = itemStarts[first].offset
            let to = last < itemStarts.count ? itemStarts[last].offset : bytes.count
            chunks.append(
                Chunk(
                    text: String(decoding: UnsafeBufferPointer(rebasing: bytes[from..<to]), as: UTF8.self),
                    linesBefore: itemStarts[first].line, firstItem: first, itemCount: last - first))
        }
        return chunks
    }

    /// `services:`, then nothing but blanks or a comment.
    private static func isServicesKey(_ line: Slice<UnsafeBufferPointer<UInt8>>) -> Bool {
        let key = Array("services:".utf8)
        guard line.count >= key.count, line.prefix(key.count).elementsEqual(key) else { return false }
        let rest = line.dropFirst(key.count).drop { $0 == UInt8(ascii: " ") }
        return rest.isEmpty
            || (rest.first == UInt8(ascii: "#") && line[line.startIndex + key.count] == UInt8(ascii: " "))
    }
}
