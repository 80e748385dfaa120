import Yams

/// A node of a YAML (or JSON) document together with where it is: file, line, column and field path
/// (`services[2].ports[0].port`, `limits.udpPayload`).
///
/// Both the registry and the server's config (`scdns.yaml`, DESIGN.md section 5) are read through this type so that
/// every file scdns reads reports errors the same way, and so that typos are errors rather than silently ignored
/// keys: `unknown field 'adresses'` is far cheaper to debug than a service answering with no address.
///
/// Scalars are typed by a strict YAML 1.2 core schema (`YAMLField.resolver`), not by YAML 1.1 rules: only
/// `true`/`false` are booleans (so a zone called `no` stays a string), only decimal digits are integers (so an
/// IPv6 address like `1:2:3:4:5:6:7:8` is not a sexagesimal number), and a quoted `"80"` is a string, never a port.
///
public struct YAMLField: Sendable {
    /// The node itself.
    public let node: YAMLNode
    /// The file name used in errors.
    public let file: String
    /// The path is kept as its parent's path and this field's own step, and spelled only when asked for: almost
    /// every field of a valid document is read and never named, and spelling each one's path was a tenth of
    /// reading a registry file (callgrind of `scdns check`, bench/check-callgrind.sh). The parent's path is a
    /// link to the parent's own parent and step (`PathLink`), not a string: a mapping or list spelled its path
    /// once for its children (200,000 string appends at 10,000 services; with `isNull`'s typing of every scalar,
    /// a twentieth of decoding).
    private let parent: PathLink?
    /// The path given to a root field (`init(node:path:file:)`); "" below one.
    private let base: String
    private let step: Step

    private enum Step {
        case none
        case key(String)
        case index(Int)

        /// `path` with this step after it.
        func after(_ path: String) -> String {
            switch self {
            case .none: return path
            case .key(let key): return path.isEmpty ? key : path + "." + key
            case .index(let index): return path + "[\(index)]"
            }
        }
    }

    /// A field's path as its children keep it: made once for all of them, spelled only for an error.
    private final class PathLink: Sendable {
        let parent: PathLink?
        let base: String
        let step: Step

        init(parent: PathLink?, base: String, step: Step) {
            self.parent = parent
            self.base = base
            self.step = step
        }

        var spelled: String { step.after(parent?.spelled ?? base) }
    }

    public init(node: YAMLNode, path: String = "", file: String) {
        self.init(node: node, file: file, parent: nil, base: path, step: .none)
    }

    private init(node: YAMLNode, file: String, parent: PathLink?, base: String = "", step: Step) {
        self.node = node
        self.file = file
        self.parent = parent
        self.base = base
        self.step = step
    }

    /// This field's path as a link for its children.
    private var link: PathLink { PathLink(parent: parent, base: base, step: step) }

    /// The field path (`services[2].ports[0].port`), "" for the document root.
    public var path: String { step.after(parent?.spelled ?? base) }

    /// The tag resolver of the YAML 1.2 core schema, decimal integers only: how `scalarKind` types plain scalars
    /// (`PlainScalarKindTests` holds the two to each other).
    public static let resolver: Resolver = {
        let float =
            "^[-+]?(?:\\.[0-9]+|[0-9]+(?:\\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$"
            + "|^[-+]?\\.(?:inf|Inf|INF)$|^\\.(?:nan|NaN|NAN)$"
        // The patterns are constants, so a failure here is a programming error that any test run catches.
        return try! Resolver.basic
            .appending(.bool, "^(?:true|True|TRUE|false|False|FALSE)$")
            .appending(.int, "^[-+]?[0-9]+$")
            .appending(.float, float)
            .appending(.null, "^(?:~|null|Null|NULL|)$")
    }()

    /// The resolver the reference reading composes with (`parseWithYams`): no rules. Yams resolves tags only to
    /// hash each mapping key for its duplicate-key check, and with no rules every key is a string, as every key
    /// of ours is (so `1` and `"1"` are one key twice). Values are typed by `scalarKind`.
    static let composingResolver = Resolver.basic

    /// Parses one YAML or JSON document. Returns `nil` for a document with no content (empty, or only comments),
    /// which callers treat as "every key at its default". Syntax errors carry the file, line and column.
    public static func parse(_ text: String, file: String) throws(RegistryError) -> YAMLField? {
        // One line of plain JSON (every etcd value) is read without libyaml; anything else by libyaml's events.
        if let root = JSONNodeReader.read(text) { return YAMLField(node: root, file: file) }
        return try YAMLComposer.compose(text, file: file).map { YAMLField(node: $0, file: file) }
    }

    /// `parse` as Yams composes the text, its nodes copied into a `YAMLDocument`: the reference both readers of
    /// `parse` must agree with, errors included (`YAMLComposerTests`, `JSONNodeReaderTests`).
    static func parseWithYams(_ text: String, file: String) throws(RegistryError) -> YAMLField? {
        let root: Node?
        do {
            // UTF-8 named outright: Yams' default encoding reads the whole process environment on every parse.
            root = try Yams.compose(yaml: text, composingResolver, .default, .utf8)
        } catch let error as YamlError {
            throw YAMLSyntaxError.registryError(from: error, text: text, file: file)
        } catch {
            throw RegistryError(file: file, message: "cannot parse: \(error)")
        }
        guard let root else { return nil }
        var builder = YAMLDocumentBuilder()
        func copy(_ node: Node) -> Int32 {
            let mark = (line: node.mark?.line ?? 0, column: node.mark?.column ?? 0)
            switch node {
            case .scalar(let scalar):
                return builder.scalar(scalar.string, tag: scalar.tag.description, line: mark.line, column: mark.column)
            case .mapping(let mapping):
                let index = builder.open(.mapping, tag: mapping.tag.description, line: mark.line, column: mark.column)
                builder.close(index, children: mapping.flatMap { [copy($0.key), copy($0.value)] })
                return index
            case .sequence(let sequence):
                let index = builder.open(.sequence, tag: sequence.tag.description, line: mark.line, column: mark.column)
                builder.close(index, children: sequence.map(copy))
                return index
            case .alias:
                // Yams composes an alias as the node it names; it never leaves one in the tree.
                return builder.scalar("", tag: "", line: mark.line, column: mark.column)
            }
        }
        let index = copy(root)
        return YAMLField(node: builder.finish(root: index), file: file)
    }

    /// 1-based line of the node.
    public var line: Int? { node.line }
    /// 1-based column of the node.
    public var column: Int? { node.column }

    /// An error positioned at this node and naming its path.
    public func error(_ message: String) -> RegistryError {
        RegistryError(file: file, line: line, column: column, field: path, message: message)
    }

    /// The path of a child key: `a.b` (or `b` at the root).
    public func childPath(_ key: String) -> String {
        path.isEmpty ? key : path + "." + key
    }

    /// The path of a sequence element: `a[3]`.
    public func elementPath(_ index: Int) -> String {
        path + "[\(index)]"
    }

    /// The node as a mapping whose keys must all be in `allowedKeys`. An unknown key is an error positioned at
    /// the key, with a suggestion when it is a near miss of an allowed one.
    public func mapping(allowing allowedKeys: [String]) throws(RegistryError) -> YAMLMapping {
        guard node.kind == .mapping else {
            throw error("expected a mapping (key: value), got \(kindDescription)")
        }
        // One link for all the children. The entries stay a short array: a mapping of ours has at most a dozen
        // keys, which a scan finds sooner than a dictionary hashes one.
        let link = self.link
        let count = node.childCount / 2
        var keys: [String] = []
        var keyFields: [YAMLField] = []
        var values: [YAMLField] = []
        keys.reserveCapacity(count)
        keyFields.reserveCapacity(count)
        values.reserveCapacity(count)
        for pair in 0..<count {
            let keyNode = node.child(2 * pair)
            let valueNode = node.child(2 * pair + 1)
            guard keyNode.isScalar else {
                throw YAMLField(node: keyNode, file: file, parent: link, step: .none).error(
                    "a key must be a plain string")
            }
            let key = keyNode.text
            let keyField = YAMLField(node: keyNode, file: file, parent: link, step: .key(key))
            guard allowedKeys.contains(key) else {
                throw keyField.error(YAMLField.unknownKeyMessage(key, allowed: allowedKeys))
            }
            keys.append(key)
            keyFields.append(keyField)
            values.append(YAMLField(node: valueNode, file: file, parent: link, step: .key(key)))
        }
        return YAMLMapping(field: self, keys: keys, keyFields: keyFields, values: values)
    }

    /// The elements of a sequence, each with its own path: `[firstIndex]` onwards (a piece of a longer list,
    /// `ServiceListChunks`), `[0]` onwards otherwise.
    public func sequence(firstIndex: Int = 0) throws(RegistryError) -> [YAMLField] {
        guard node.kind == .sequence else {
            throw error("expected a list, got \(kindDescription)")
        }
        let link = self.link
        return (0..<node.childCount).map {
            YAMLField(node: node.child($0), file: file, parent: link, step: .index(firstIndex + $0))
        }
    }

    /// Decodes each element of a sequence with `transform`.
    public func sequence<T>(_ transform: (YAMLField) throws(RegistryError) -> T) throws(RegistryError) -> [T] {
        var result: [T] = []
        for element in try sequence() {
            result.append(try transform(element))
        }
        return result
    }

    /// `unknown field 'adresses'; did you mean 'addresses'?`
    static func unknownKeyMessage(_ key: String, allowed: [String]) -> String {
        let message = "unknown field '\(key)'"
        let lowered = key.lowercased()
        let nearest = allowed.map { ($0, editDistance(lowered, $0.lowercased())) }.min { $0.1 < $1.1 }
        if let (candidate, distance) = nearest, distance <= max(1, min(2, candidate.count / 3)) {
            return message + "; did you mean '\(candidate)'?"
        }
        return message + "; expected one of: " + allowed.joined(separator: ", ")
    }

    private static func editDistance(_ lhs: String, _ rhs: String) -> Int {
        let a = Array(lhs.unicodeScalars)
        let b = Array(rhs.unicodeScalars)
        var previous = Array(0...b.count)
        for i in 1...max(a.count, 1) where !a.isEmpty {
            var current = [i] + [Int](repeating: 0, count: b.count)
            for j in stride(from: 1, through: b.count, by: 1) {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            }
            previous = current
        }
        return a.isEmpty ? b.count : previous[b.count]
    }
}
