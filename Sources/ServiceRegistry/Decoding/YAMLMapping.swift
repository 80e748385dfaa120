/// A mapping whose keys were checked against an allowed set by `YAMLField.mapping(allowing:)`.
///
/// A key given as explicit null (`vip:` or `vip: ~`) reads as absent, so an operator can blank an optional
/// field without deleting the line.
public struct YAMLMapping {
    /// The mapping itself, for errors about the mapping as a whole (a missing key).
    public let field: YAMLField
    /// The keys present, in document order, each once (Yams refuses a key written twice).
    public let keys: [String]
    /// Beside `keys`, index for index: each key's own node (for errors about the key), and its value. Kept
    /// apart from the keys so that finding one compares strings and copies no node.
    private let keyFields: [YAMLField]
    private let values: [YAMLField]

    init(field: YAMLField, keys: [String], keyFields: [YAMLField], values: [YAMLField]) {
        self.field = field
        self.keys = keys
        self.keyFields = keyFields
        self.values = values
    }

    /// The value of `key`, or `nil` when the key is absent or null.
    public subscript(key: String) -> YAMLField? {
        guard let index = keys.firstIndex(of: key), !values[index].isNull else { return nil }
        return values[index]
    }

    /// True when `key` is present, even with a null value.
    public func contains(_ key: String) -> Bool {
        keys.contains(key)
    }

    /// The key node of `key` (its own line and column), for errors about the key rather than its value.
    public func keyField(_ key: String) -> YAMLField? {
        keys.firstIndex(of: key).map { keyFields[$0] }
    }

    /// The value of a key that must be present and not null. The error is positioned at the mapping and names
    /// the missing field's path, so the operator sees which entry lacks it.
    public func required(_ key: String) throws(RegistryError) -> YAMLField {
        if let value = self[key] {
            return value
        }
        let missing = RegistryError(
            file: field.file,
            line: keyField(key)?.line ?? field.line,
            column: keyField(key)?.column ?? field.column,
            field: field.childPath(key),
            message: contains(key) ? "'\(key)' must have a value" : "missing required field '\(key)'"
        )
        throw missing
    }

    /// Decodes an optional key with `transform`, or returns `defaultValue` when it is absent or null.
    public func optional<T>(
        _ key: String,
        default defaultValue: T,
        _ transform: (YAMLField) throws(RegistryError) -> T
    ) throws(RegistryError) -> T {
        guard let value = self[key] else { return defaultValue }
        return try transform(value)
    }
}
