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
        guard case .scalar = node else { return nil }
        switch node.tag.description {
        case Tag.Name.str.rawValue: return .string
        case Tag.Name.int.rawValue: return .integer
        case Tag.Name.float.rawValue: return .float
        case Tag.Name.bool.rawValue: return .boolean
        case Tag.Name.null.rawValue: return .null
        case let other: return .other(other)
        }
    }

    /// True for an explicit null (`~`, `null`, or nothing after the colon).
    public var isNull: Bool { scalarKind == .null }

    /// How the node reads in an error message: `the string "80"`, `a list`.
    public var kindDescription: String {
        switch node {
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        case .scalar(let scalar):
            switch scalarKind {
            case .string: return "the string \"\(scalar.string)\""
            case .integer: return "the integer \(scalar.string)"
            case .float: return "the number \(scalar.string)"
            case .boolean: return "the boolean \(scalar.string)"
            case .null: return "null"
            case .other(let tag): return "a value tagged \(tag)"
            case .none: return "a scalar"
            }
        }
    }

    /// A string scalar (plain or quoted). Numbers, booleans and null are refused; quote them to make them strings.
    public func string() throws(RegistryError) -> String {
        guard case .scalar(let scalar) = node, scalarKind == .string else {
            let hint = scalarKind == nil || isNull ? "" : " (quote it to make it a string)"
            throw error("expected a string, got \(kindDescription)\(hint)")
        }
        return scalar.string
    }

    /// The text of any non-null scalar, whatever type YAML gave it. For values with their own syntax that the
    /// caller parses and validates itself (addresses, durations like `10s`, `host:port`).
    public func scalarText() throws(RegistryError) -> String {
        guard case .scalar(let scalar) = node, !isNull else {
            throw error("expected a value, got \(kindDescription)")
        }
        return scalar.string
    }

    /// A decimal integer scalar.
    public func int() throws(RegistryError) -> Int {
        guard case .scalar(let scalar) = node, scalarKind == .integer else {
            let hint = scalarKind == .string ? " (write numbers without quotes)" : ""
            throw error("expected an integer, got \(kindDescription)\(hint)")
        }
        guard let value = Int(scalar.string) else {
            throw error("\(scalar.string) is out of range")
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
        guard case .scalar(let scalar) = node, scalarKind == .boolean else {
            throw error("expected true or false, got \(kindDescription)")
        }
        return scalar.string.lowercased() == "true"
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
