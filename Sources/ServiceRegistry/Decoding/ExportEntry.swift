/// One decoded export entry (a `services:` list item, or one flat etcd value) before merging, with the positions
/// of the fields that merging compares, so that a conflict found later still points at the later entry's line.
struct ExportEntry {
    var service: Service
    var origin: ExportOrigin
}

/// Where an entry came from: its file, its path in that file, and the positions of some of its fields.
struct ExportOrigin {
    struct Position {
        var line: Int
        var column: Int
    }

    /// The file, or for an etcd value its key.
    let file: String
    /// `services[3]` in a registry file; "" for a flat export, whose fields are at the top level.
    let path: String
    /// Positions keyed by path relative to the entry (`type`, `ports[0].name`, `clusters[1].cluster`); "" is
    /// the entry itself, the fallback for a field that was left at its default.
    private(set) var positions: [String: Position] = [:]
    /// Per cluster, its path relative to the entry: `clusters[1]`, or "" in a flat export.
    var clusterPaths: [String] = []

    init(file: String, path: String) {
        self.file = file
        self.path = path
    }

    /// An origin for an export that did not come from a document (`RegistryDecoder.merge`): no positions, and
    /// field names as the flat export form spells them.
    init(file: String, clusterCount: Int) {
        self.init(file: file, path: "")
        clusterPaths = clusterCount == 1 ? [""] : (0..<clusterCount).map { "clusters[\($0)]" }
    }

    mutating func record(_ relative: String, _ field: YAMLField) {
        if let line = field.line, let column = field.column {
            positions[relative] = Position(line: line, column: column)
        }
    }

    /// The full field path of a relative one.
    func fieldPath(_ relative: String) -> String {
        ExportOrigin.join(path, relative)
    }

    /// How another error message refers to this field: its path in a file, or the origin's name for a flat
    /// export that has no path.
    func locate(_ relative: String) -> String {
        path.isEmpty ? (relative.isEmpty ? file : "\(file) (\(relative))") : fieldPath(relative)
    }

    /// An error at a relative field, positioned at that field when it was written and at the entry otherwise.
    func error(_ relative: String, _ message: String) -> RegistryError {
        let position = positions[relative] ?? positions[""]
        return RegistryError(
            file: file,
            line: position?.line,
            column: position?.column,
            field: fieldPath(relative),
            message: message
        )
    }

    static func join(_ parent: String, _ child: String) -> String {
        if parent.isEmpty { return child }
        if child.isEmpty { return parent }
        return parent + "." + child
    }
}
