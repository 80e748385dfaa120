import Yams

/// Typed accessors. Each one refuses a value of the wrong YAML type instead of converting it: `port: "80"` is an
/// error, as is `healthy: "true"` or `name: 80`, because a value that only works by coercion tends to be a mistake
/// somewhere else (a template that quoted the wrong thing) and JSON producers should emit the right types.
extension YAMLField {
    /// The resolved YAML type of a scalar.
    enum ScalarKind: Equatable {
        case string, integer, float, boolean, null
        case other(String)
    }

    var scalarKind: ScalarKind? {
        guard node.isScalar else { return nil }
        // A plain scalar with no tag is typed by `YAMLField.resolver`'s rules; `plainScalarKind` applies the same
        // rules without its regular expressions (ICU's matcher cost more than the rest of decoding together).
        // Quoted scalars arrive tagged as strings; explicit tags are taken as written.
        let raw = node.tag
        if raw.isEmpty { return Self.plainScalarKind(node.text) }
        switch raw {
        case Tag.Name.str.rawValue: return .string
        case Tag.Name.int.rawValue: return .integer
        case Tag.Name.float.rawValue: return .float
        case Tag.Name.bool.rawValue: return .boolean
        case Tag.Name.null.rawValue: return .null
        case let other: return .other(other)
        }
    }

    /// The type `YAMLField.resolver` gives an untagged plain scalar, tried in its order: boolean, integer, float,
    /// null, else string. `YAMLFieldTests` checks the two agree on a table of edge cases.
    static func plainScalarKind(_ text: String) -> ScalarKind {
        // Every rule's match starts with a digit, a sign, a dot, a tilde or the first letter of true, false or
        // null (or is empty); anything else is a string, decided without trying the rules' spellings one by one.
        guard let first = text.utf8.first else { return .null }
        switch first {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."),
            UInt8(ascii: "~"), UInt8(ascii: "t"), UInt8(ascii: "T"), UInt8(ascii: "f"), UInt8(ascii: "F"),
            UInt8(ascii: "n"), UInt8(ascii: "N"):
            break
        default: return .string
        }
        switch text {
        case "true", "True", "TRUE", "false", "False", "FALSE": return .boolean
        case "~", "null", "Null", "NULL", "": return .null
        case ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF", ".nan", ".NaN", ".NAN":
            return .float
        default: break
        }
        var bytes = Substring(text).utf8[...]
        if let first = bytes.first, first == UInt8(ascii: "+") || first == UInt8(ascii: "-") {
            bytes = bytes.dropFirst()
        }
        func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
        if !bytes.isEmpty && bytes.allSatisfy(isDigit) { return .integer }
        // [0-9]+(\.[0-9]*)? or \.[0-9]+, then an optional exponent [eE][-+]?[0-9]+
        var index = bytes.startIndex
        var mantissaDigits = 0
        while index < bytes.endIndex, isDigit(bytes[index]) {
            mantissaDigits += 1
            index = bytes.index(after: index)
        }
        if index < bytes.endIndex, bytes[index] == UInt8(ascii: ".") {
            index = bytes.index(after: index)
            var fraction = 0
            while index < bytes.endIndex, isDigit(bytes[index]) {
                fraction += 1
                index = bytes.index(after: index)
            }
            // "1." is a float, ".5" is a float, "." is not.
            guard mantissaDigits > 0 || fraction > 0 else { return .string }
        } else if mantissaDigits == 0 {
            return .string
        }
        if index < bytes.endIndex, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index = bytes.index(after: index)
            if index < bytes.endIndex, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                index = bytes.index(after: index)
            }
            var exponent = 0
            while index < bytes.endIndex, isDigit(bytes[index]) {
                exponent += 1
                index = bytes.index(after: index)
            }
            guard exponent > 0 else { return .string }
        }
        return index == bytes.endIndex ? .float : .string
    }

    /// True for an explicit null (`~`, `null`, or nothing after the colon).
    public var isNull: Bool {
        // `scalarKind == .null` without typing every other scalar first: each value read asks this (a mapping's
        // subscript, `scalarText`), and an address or a number went through every rule of `plainScalarKind`.
        guard node.isScalar else { return false }
        let tag = node.tag
        guard tag.isEmpty else { return tag == Tag.Name.null.rawValue }
        let text = node.text
        switch text.utf8.count {
        case 0: return true
        case 1: return text == "~"
        case 4: return text == "null" || text == "Null" || text == "NULL"
        default: return false
        }
    }

    /// How the node reads in an error message: `the string "80"`, `a list`.
    public var kindDescription: String {
        switch node.kind {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .scalar:
            switch scalarKind {
            case .string: return "the string \"\(node.text)\""
            case .integer: return "the integer \(node.text)"
            case .float: return "the number \(node.text)"
            case .boolean: return "the boolean \(node.text)"
            case .null: return "null"
            case .other(let tag): return "a value tagged \(tag)"
            case .none: return "a scalar"
            }
        }
    }

    /// A string scalar (plain or quoted). Numbers, booleans and null are refused; quote them to make them strings.
    public func string() throws(RegistryError) -> String {
        guard node.isScalar, scalarKind == .string else {
            let hint = scalarKind == nil || isNull ? "" : " (quote it to make it a string)"
            throw error("expected a string, got \(kindDescription)\(hint)")
        }
        return node.text
    }

    /// The text of any non-null scalar, whatever type YAML gave it. For values with their own syntax that the
    /// caller parses and validates itself (addresses, durations like `10s`, `host:port`).
    public func scalarText() throws(RegistryError) -> String {
        guard node.isScalar, !isNull else {
            throw error("expected a value, got \(kindDescription)")
        }
        return node.text
    }

    /// A decimal integer scalar.
    public func int() throws(RegistryError) -> Int {
        guard node.isScalar, scalarKind == .integer else {
            let hint = scalarKind == .string ? " (write numbers without quotes)" : ""
            throw error("expected an integer, got \(kindDescription)\(hint)")
        }
        guard let value = Int(node.text) else {
            throw error("\(node.text) is out of range")
        }
        return value
    }

    /// An integer within `range`, converted to the caller's integer type.
    public func int<T: FixedWidthInteger>(in range: ClosedRange<T>) throws(RegistryError) -> T {
        let value = try int()
        guard let converted = T(exactly: value), range.contains(converted) else {
            throw error("\(value) is out of range \(range.lowerBound)...\(range.upperBound)")
        }
        return converted
    }

    /// `true` or `false`; the YAML 1.1 spellings `yes`/`no`/`on`/`off` are strings under this schema and refused.
    public func bool() throws(RegistryError) -> Bool {
        guard node.isScalar, scalarKind == .boolean else {
            throw error("expected true or false, got \(kindDescription)")
        }
        return node.text.lowercased() == "true"
    }

    /// One of an enumeration's raw values, spelled exactly (`TCP`, not `tcp`).
    public func oneOf<T: RawRepresentable & CaseIterable>(_ type: T.Type) throws(RegistryError) -> T
    where T.RawValue == String {
        let text = try string()
        guard let value = T(rawValue: text) else {
            let expected = T.allCases.map(\.rawValue).joined(separator: ", ")
            throw error("'\(text)' is not one of \(expected)")
        }
        return value
    }

    /// An IPv4 or IPv6 address.
    public func ipAddress() throws(RegistryError) -> IPAddress {
        let text = try scalarText()
        guard let address = IPAddress(text) else {
            throw error("'\(text)' is not an IPv4 or IPv6 address")
        }
        // `::ffff:10.0.0.1` is 10.0.0.1 to every socket: as a second spelling it slipped past the duplicate check,
        // and as an AAAA record it reaches nobody.
        if address.isIPv4Mapped {
            let v4 = address.bytes[12...].map(String.init).joined(separator: ".")
            throw error("'\(text)' is an IPv4-mapped IPv6 address: write \(v4)")
        }
        return address
    }

    /// An address prefix such as `10.244.0.0/16`; a bare address is a single host.
    public func ipNetwork() throws(RegistryError) -> IPNetwork {
        let text = try scalarText()
        guard let network = IPNetwork(text) else {
            throw error("'\(text)' is not an IPv4 or IPv6 network (ADDRESS/PREFIX)")
        }
        return network
    }
}
