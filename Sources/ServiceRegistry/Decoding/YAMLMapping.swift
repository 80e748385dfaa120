/// A mapping whose keys were checked against an allowed set by `YAMLField.mapping(allowing:)`.
///
/// A key given as explicit null (`vip:` or `vip: ~`) reads as absent, so an operator can blank an optional
/// field without deleting the line.
public struct YAMLMapping {
    /// The mapping itself, for errors about the mapping as a whole (a missing key).
    public let field: YAMLField
    /// The keys present, in document order, each once (Yams refuses a key written twice). Key `i` is child
    /// `2 i` of the mapping's node and its value child `2 i + 1`: their fields are made when read, not kept.
    public let keys: [String]
    /// The mapping's path as its keys and values keep it.
    private let link: YAMLPathLink

    init(field: YAMLField, keys: [String], link: YAMLPathLink) {
        self.field = field
        self.keys = keys
        self.link = link
    }

    /// The field of key `index`'s value, or with `key` of the key itself (its own line and column).
    private func child(_ index: Int, key: Bool = false) -> YAMLField {
        let keyNode = field.node.child(2 * index)
        return YAMLField(
            node: key ? keyNode : field.node.child(2 * index + 1), parentLink: link, step: .key(keyNode.index))
    }

    /// The value of `key`, or `nil` when the key is absent or null.
    public subscript(key: String) -> YAMLField? {
        guard let index = keys.firstIndex(of: key) else { return nil }
        let value = child(index)
        return value.isNull ? nil : value
    }

    /// True when `key` is present, even with a null value.
    public func contains(_ key: String) -> Bool {
        keys.contains(key)
    }

    /// The key node of `key` (its own line and column), for errors about the key rather than its value.
    public func keyField(_ key: String) -> YAMLField? {
        keys.firstIndex(of: key).map { child($0, key: true) }
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
