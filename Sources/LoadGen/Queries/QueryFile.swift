import DNSWire
import Glibc

/// dnsperf's query-file format: one `NAME TYPE` a line, fields separated by spaces or tabs; blank lines and
/// lines starting with `#` are skipped. The queries keep the file's order.
public enum QueryFile {
    /// Reads and parses the file at `path`.
    public static func load(path: String) throws(QueryFileError) -> [QuerySpec] {
        let bytes: [UInt8]
        do {
            bytes = try readAll(path: path)
        } catch {
            throw QueryFileError(file: path, line: 0, reason: .unreadable(error.description))
        }
        return try parse(String(decoding: bytes, as: UTF8.self), file: path)
    }

    /// Parses the text of a query file; `file` names it in errors.
    public static func parse(_ text: String, file: String) throws(QueryFileError) -> [QuerySpec] {
        var queries: [QuerySpec] = []
        var lineNumber = 0
        // "\r\n" is one Character in Swift, so CRLF files need it named.
        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            lineNumber += 1
            let fields = rawLine.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" })
            guard let first = fields.first, !first.hasPrefix("#") else { continue }
            do throws(QueryFileError.Reason) {
                guard fields.count >= 2 else { throw .missingType }
                guard fields.count == 2 else { throw .extraText(fields[2...].joined(separator: " ")) }
                queries.append(try QuerySpec(name: String(fields[0]), type: String(fields[1])))
            } catch {
                throw QueryFileError(file: file, line: lineNumber, reason: error)
            }
        }
        guard !queries.isEmpty else { throw QueryFileError(file: file, line: 0, reason: .noQueries) }
        return queries
    }

    private static func readAll(path: String) throws(LoadGenError) -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .system("open", errno) }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw .system("read", errno)
            }
            if count == 0 { return bytes }
            bytes.append(contentsOf: chunk[0..<count])
        }
    }
}

/// One query to send: a name and a type, class IN.
public struct QuerySpec: Hashable, Sendable, CustomStringConvertible {
    public var name: DNSName
    public var type: RecordType

    public init(name: DNSName, type: RecordType) {
        self.name = name
        self.type = type
    }

    /// Parses the name and the type mnemonic (`A`, `AAAA`, `TYPE65`), for `--name` and `--type`.
    public init(name: String, type: String) throws(QueryFileError.Reason) {
        guard let parsedType = RecordType(mnemonic: type) else { throw .unknownType(type) }
        do {
            self.name = try DNSName(name)
        } catch {
            throw .badName(name)
        }
        self.type = parsedType
    }

    public var description: String { "\(name) \(type)" }
}

/// A query file that cannot be used, with the file and the 1-based line at fault.
public struct QueryFileError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What is wrong with a line (or with the file as a whole).
    public enum Reason: Error, Equatable, Sendable, CustomStringConvertible {
        case missingType
        case unknownType(String)
        case badName(String)
        case extraText(String)
        case noQueries
        case unreadable(String)

        public var description: String {
            switch self {
            case .missingType: return "missing type (the format is 'NAME TYPE')"
            case .unknownType(let type): return "unknown type '\(type)'"
            case .badName(let name): return "bad name '\(name)'"
            case .extraText(let text): return "unexpected '\(text)' after the type"
            case .noQueries: return "no queries in the file"
            case .unreadable(let reason): return "cannot read: \(reason)"
            }
        }
    }

    public var file: String
    /// 1-based; 0 when the fault is the whole file's.
    public var line: Int
    public var reason: Reason

    public init(file: String, line: Int, reason: Reason) {
        self.file = file
        self.line = line
        self.reason = reason
    }

    public var description: String { line > 0 ? "\(file):\(line): \(reason)" : "\(file): \(reason)" }
}
