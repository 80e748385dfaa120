#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The bytes of one master file, read once. Every ldns pass reads this snapshot through `fmemopen`, so an operator
/// saving the file while it loads cannot make the passes disagree, and line numbers can be mapped back to the text.
struct SourceText {
    let bytes: [UInt8]
    /// For each line (index 0 is line 1): whether it holds anything besides blanks and a comment.
    private let hasContent: [Bool]
    private let newlineCount: Int

    init(bytes: [UInt8]) {
        self.bytes = bytes
        var hasContent: [Bool] = []
        var current = false
        var inComment = false
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "\n"):
                hasContent.append(current)
                current = false
                inComment = false
            case UInt8(ascii: ";"): inComment = true
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"): break
            default: if !inComment { current = true }
            }
        }
        newlineCount = hasContent.count
        if bytes.last != UInt8(ascii: "\n") { hasContent.append(current) }
        self.hasContent = hasContent
    }

    /// Reads a whole file; an unreadable one is reported with the system's reason (ENOENT, EACCES, EISDIR...).
    static func read(file: String) throws(ZoneFileError) -> SourceText {
        guard let stream = fopen(file, "r") else {
            throw ZoneFileError(file: file, line: nil, .unreadable(String(cString: strerror(errno))))
        }
        defer { fclose(stream) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, stream) }
            bytes.append(contentsOf: chunk[0..<count])
            if count < chunk.count { break }
        }
        if ferror(stream) != 0 {
            throw ZoneFileError(file: file, line: nil, .unreadable(String(cString: strerror(errno))))
        }
        return SourceText(bytes: bytes)
    }

    /// The line on which the next entry begins after ldns has consumed `line` lines: ldns only reports where it
    /// stopped, so a record's first line is the first one after that holding more than blanks and comments.
    func firstContentLine(after line: Int) -> Int? {
        var index = max(line, 0)
        while index < hasContent.count {
            if hasContent[index] { return index + 1 }
            index += 1
        }
        return nil
    }

    /// The line ldns means by `line`. It counts the newlines it has consumed, which is the current line except on
    /// a last line with no newline, where the count is one short.
    func ldnsLine(_ line: Int) -> Int {
        line >= newlineCount && bytes.last != UInt8(ascii: "\n") ? newlineCount + 1 : max(line, 1)
    }

    /// Runs `body` with a read-only stream over the bytes. Nil if the C library cannot open one (out of memory).
    func withStream<T>(_ body: (UnsafeMutablePointer<FILE>) -> T) -> T? {
        // fmemopen rejects a zero-sized buffer on some platforms; an empty file and a lone newline parse alike.
        var buffer = bytes.isEmpty ? [UInt8(ascii: "\n")] : bytes
        return buffer.withUnsafeMutableBytes { raw -> T? in
            guard let stream = fmemopen(raw.baseAddress, raw.count, "r") else { return nil }
            defer { fclose(stream) }
            return body(stream)
        }
    }
}
