/// A parsed YAML (or JSON) document: every node in one array, children as index ranges into another. A node
/// (`YAMLNode`) is the document and an index, so handing one around costs one reference count and no copy of
/// any string.
///
/// Yams' node tree cost more than libyaml's parsing under it: a tag object and a weakly referenced anchor per
/// node, copied with each node, and a hash of every mapping key for its duplicate check (callgrind of
/// `scdns check`, bench/check-callgrind.sh). Registry files and etcd values are read into this instead
/// (`YAMLComposer`, `JSONNodeReader`).
public final class YAMLDocument: Sendable {
    public enum Kind: UInt8, Sendable {
        case scalar, sequence, mapping
    }

    struct Entry: Sendable {
        var kind: Kind
        /// 1-based, as editors count.
        var line: Int32
        var column: Int32
        /// A collection's children: `children[firstChild..<firstChild + childCount]`, a mapping's as key, value,
        /// key, value.
        var firstChild: Int32 = 0
        var childCount: Int32 = 0
        /// A scalar's text; "" for a collection.
        var text: String
        /// The tag as written (`tag:yaml.org,2002:int` for `!!int`), `YAMLDocument.stringTag` for a quoted
        /// scalar, "" for none. A plain scalar without one is typed by `YAMLField.scalarKind`.
        var tag: String
    }

    /// The tag libyaml and Yams give a quoted scalar, and the one every untagged key resolves to.
    public static let stringTag = "tag:yaml.org,2002:str"

    let entries: [Entry]
    let children: [Int32]

    init(entries: [Entry], children: [Int32]) {
        self.entries = entries
        self.children = children
    }
}

/// One node of a `YAMLDocument`.
public struct YAMLNode: Sendable {
    let document: YAMLDocument
    let index: Int32

    // Each property reads its field of the entry in place: a copy of the whole entry (two strings) for every
    // property read was retains and releases on every field of a registry.
    public var kind: YAMLDocument.Kind { document.entries[Int(index)].kind }
    public var isScalar: Bool { kind == .scalar }
    /// 1-based line and column of the node's first character.
    public var line: Int { Int(document.entries[Int(index)].line) }
    public var column: Int { Int(document.entries[Int(index)].column) }
    /// A scalar's text ("" for a collection).
    public var text: String { document.entries[Int(index)].text }
    /// The tag as written, `YAMLDocument.stringTag` for a quoted scalar, "" for none.
    public var tag: String { document.entries[Int(index)].tag }
    /// How many children: a sequence's elements, or a mapping's keys and values together.
    public var childCount: Int { Int(document.entries[Int(index)].childCount) }

    public func child(_ position: Int) -> YAMLNode {
        YAMLNode(document: document, index: document.children[Int(document.entries[Int(index)].firstChild) + position])
    }
}

/// Collects a document's nodes: a collection is opened (taking its index, so nodes are numbered in document
/// order) and closed with its children once they are read.
struct YAMLDocumentBuilder {
    private var entries: [YAMLDocument.Entry] = []
    private var children: [Int32] = []

    mutating func scalar(_ text: String, tag: String, line: Int, column: Int) -> Int32 {
        entries.append(
            YAMLDocument.Entry(
                kind: .scalar, line: Int32(clamping: line), column: Int32(clamping: column), text: text, tag: tag))
        return Int32(entries.count - 1)
    }

    mutating func open(_ kind: YAMLDocument.Kind, tag: String, line: Int, column: Int) -> Int32 {
        entries.append(
            YAMLDocument.Entry(
                kind: kind, line: Int32(clamping: line), column: Int32(clamping: column), text: "", tag: tag))
        return Int32(entries.count - 1)
    }

    mutating func close<C: Collection<Int32>>(_ node: Int32, children nodes: C) {
        entries[Int(node)].firstChild = Int32(children.count)
        entries[Int(node)].childCount = Int32(nodes.count)
        children.append(contentsOf: nodes)
    }

    func entry(_ node: Int32) -> YAMLDocument.Entry { entries[Int(node)] }

    /// Whether nodes `a` and `b` are scalars that are one key to Yams: the same text and the same tag, an untagged
    /// or `!` key being a string (`YAMLComposer.checkDuplicateKeys`).
    func sameKey(_ a: Int32, _ b: Int32) -> Bool {
        func stringTag(_ tag: String) -> Bool { tag.isEmpty || tag == "!" || tag == YAMLDocument.stringTag }
        let (a, b) = (Int(a), Int(b))
        guard entries[a].kind == .scalar, entries[b].kind == .scalar, entries[a].text == entries[b].text else {
            return false
        }
        let (left, right) = (entries[a].tag, entries[b].tag)
        return left == right || (stringTag(left) && stringTag(right))
    }

    func finish(root: Int32) -> YAMLNode {
        YAMLNode(document: YAMLDocument(entries: entries, children: children), index: root)
    }
}
