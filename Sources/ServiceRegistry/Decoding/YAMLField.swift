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
    /// The path is kept as its parent's path and this field's own step, and spelled only when asked for: almost
    /// every field of a valid document is read and never named, and spelling each one's path was a tenth of
    /// reading a registry file (callgrind of `scdns check`, bench/check-callgrind.sh). The parent's path is a
    /// link to the parent's own parent and step (`YAMLPathLink`), not a string: a mapping or list spelled its
    /// path once for its children (200,000 string appends at 10,000 services; with `isNull`'s typing of every
    /// scalar, a twentieth of decoding). A root field's link holds the file and the path it was given.
    ///
    /// The file is the link's too, and a key step is its key's node, not its text: a field is then the node, the
    /// link and a number, two references to count, and every field of a registry is made and copied a few times
    /// (copying and destroying fields and mappings were up to a quarter of decoding's instructions; taking the
    /// references out saved a sixth, BENCHMARKS.md).
    /// For a root, the link holds the file and the path it was given, and the root's own step is none.
    let parentLink: YAMLPathLink
    let step: YAMLPathLink.Step

    /// The file name used in errors.
    public var file: String { parentLink.file }

    public init(node: YAMLNode, path: String = "", file: String) {
        self.init(node: node, parentLink: YAMLPathLink(file: file, base: path, document: node.document), step: .none)
    }

    init(node: YAMLNode, parentLink: YAMLPathLink, step: YAMLPathLink.Step) {
        self.node = node
        self.parentLink = parentLink
        self.step = step
    }

    /// This field's path as a link for its children: the parent's own when this field adds no step (a root).
    var link: YAMLPathLink {
        if case .none = step { return parentLink }
        return YAMLPathLink(parent: parentLink, step: step, document: node.document)
    }

    /// The field path (`services[2].ports[0].port`), "" for the document root.
    public var path: String { step.after(parentLink.spelled, in: node.document) }

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
        // One link for all the children. The keys stay a short array: a mapping of ours has at most a dozen
        // keys, which a scan finds sooner than a dictionary hashes one. Key and value fields are made when read.
        let link = self.link
        let count = node.childCount / 2
        var keys: [String] = []
        keys.reserveCapacity(count)
        for pair in 0..<count {
            let keyNode = node.child(2 * pair)
            guard keyNode.isScalar else {
                throw YAMLField(node: keyNode, parentLink: link, step: .none).error("a key must be a plain string")
            }
            let key = keyNode.text
            guard allowedKeys.contains(key) else {
                throw YAMLField(node: keyNode, parentLink: link, step: .key(keyNode.index)).error(
                    YAMLField.unknownKeyMessage(key, allowed: allowedKeys))
            }
            keys.append(key)
        }
        return YAMLMapping(field: self, keys: keys, link: link)
    }

    /// The elements of a sequence, each with its own path: `[firstIndex]` onwards (a piece of a longer list,
    /// `ServiceListChunks`), `[0]` onwards otherwise. Each element's field is made when it is read.
    public func sequence(firstIndex: Int = 0) throws(RegistryError) -> YAMLSequence {
        guard node.kind == .sequence else {
            throw error("expected a list, got \(kindDescription)")
        }
        return YAMLSequence(node: node, link: link, firstPathIndex: firstIndex)
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

/// A field's path as its children keep it: made once for all of them, spelled only for an error.
final class YAMLPathLink: Sendable {
    /// One step of a path below its parent's.
    enum Step: Sendable {
        case none
        /// A mapping's value, or its key: the key's node in the document.
        case key(Int32)
        case index(Int)

        /// `path` with this step after it; a key's text is read from `document`.
        func after(_ path: String, in document: YAMLDocument) -> String {
            switch self {
            case .none: return path
            case .key(let node):
                let key = YAMLNode(document: document, index: node).text
                return path.isEmpty ? key : path + "." + key
            case .index(let index): return path + "[\(index)]"
            }
        }
    }

    let parent: YAMLPathLink?
    let file: String
    /// A root's path (`YAMLField.init(node:path:file:)`); "" below one.
    let base: String
    let step: Step
    /// The document a key step's node is in.
    let document: YAMLDocument

    /// A root's: its file and the path it was given.
    init(file: String, base: String, document: YAMLDocument) {
        parent = nil
        self.file = file
        self.base = base
        step = .none
        self.document = document
    }

    init(parent: YAMLPathLink, step: Step, document: YAMLDocument) {
        self.parent = parent
        file = parent.file
        base = ""
        self.step = step
        self.document = document
    }

    var spelled: String { step.after(parent?.spelled ?? base, in: document) }
}

/// The elements of a YAML list as fields, each made when it is read: a list of fields made up front was an
/// array for every list of a registry (the clusters, ports and addresses of every export).
public struct YAMLSequence: RandomAccessCollection, Sendable {
    let node: YAMLNode
    let link: YAMLPathLink
    /// The number element 0 has in its path (`[N]`): a piece of a longer list starts past 0.
    let firstPathIndex: Int
    public let endIndex: Int

    init(node: YAMLNode, link: YAMLPathLink, firstPathIndex: Int) {
        self.node = node
        self.link = link
        self.firstPathIndex = firstPathIndex
        endIndex = node.childCount
    }

    public var startIndex: Int { 0 }

    public subscript(position: Int) -> YAMLField {
        precondition(position >= 0 && position < endIndex, "a list element within the list")
        return YAMLField(node: node.child(position), parentLink: link, step: .index(firstPathIndex + position))
    }
}
