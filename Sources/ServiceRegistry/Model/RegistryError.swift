/// Why a registry (or config) document was rejected, with enough position to fix it without guessing:
/// `registry.yaml:12:9: services[1].clusters[0].addresses[1]: '10.0.0.300' is not an IPv4 or IPv6 address`.
public struct RegistryError: Error, Sendable, CustomStringConvertible, Equatable {
    /// The file (or other origin, such as an etcd key) as the caller named it.
    public let file: String
    /// 1-based; `nil` when the error has no position (an unreadable file, a merge of sources without lines).
    public let line: Int?
    /// 1-based, counted in Unicode scalars as libyaml counts them.
    public let column: Int?
    /// The path of the offending field, e.g. `services[1].ports[0].port`; "" for the document as a whole.
    public let field: String
    /// What is wrong, phrased for the operator.
    public let message: String

    /// Control characters in any part (a value echoed in the message, a key in `file` or `field`) are escaped as
    /// `\n`, `\t`, `\u{1B}`: these end up in log lines, where a raw newline would forge a line of its own and an
    /// escape sequence would rewrite the operator's terminal.
    public init(file: String, line: Int? = nil, column: Int? = nil, field: String = "", message: String) {
        self.file = Self.escaped(file)
        self.line = line
        self.column = column
        self.field = Self.escaped(field)
        self.message = Self.escaped(message)
    }

    static func escaped(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isControl) else { return text }
        var result = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case _ where isControl(scalar): result += "\\u{\(String(scalar.value, radix: 16, uppercase: true))}"
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
    }

    /// `file:line:column: field: message`, leaving out whatever is unknown, as compilers print errors so that
    /// editors and terminals can jump to the spot.
    public var description: String {
        var text = file
        if let line {
            text += ":\(line)"
            if let column {
                text += ":\(column)"
            }
        }
        text += ": "
        if !field.isEmpty {
            text += field + ": "
        }
        return text + message
    }
}
