/// One decoded export entry (a `services:` list item, or one flat etcd value) before merging, with the positions
/// of the fields that merging compares, so that a conflict found later still points at the later entry's line.
struct ExportEntry {
    var service: Service
    var origin: ExportOrigin
}

/// Where an entry came from: its file, its path in that file, and the nodes of the fields merging compares, so
/// that a conflict found later still points at the later entry's line. Nothing of it is spelled (paths, origins
/// in messages) until an error needs it: merging 100,000 valid entries built a dozen strings each, a quarter of
/// reading a registry file.
struct ExportOrigin {
    /// A field of the entry that merging compares, and so may name.
    enum Field {
        case entry
        case type
        case vip
        /// `ports[N]`.
        case port(Int)
        /// `ports[N].port`.
        case portNumber(Int)
        /// `clusters[N]`; the entry itself in the flat form.
        case cluster(Int)
        /// `clusters[N].cluster`; `cluster` in the flat form.
        case clusterName(Int)
    }

    /// The file, or for an etcd value its key.
    let file: String
    /// The entry's own field, whose path (`services[3]`, "" for a flat export) is spelled only when asked for;
    /// nil for an export that did not come from a document.
    private let entryField: YAMLField?
    /// Whether the cluster's keys sit beside the service's (the flat etcd form): its one cluster has no path.
    private let flat: Bool
    private var typeNode: YAMLNode? = nil
    private var vipNode: YAMLNode? = nil
    /// Each port's number, by port index.
    private var portNodes: [YAMLNode?] = []
    /// Each cluster's name, by cluster index.
    private var clusterNameNodes: [YAMLNode?] = []

    /// An entry of a document: a `services:` item, or with `flat` an etcd value.
    init(entry: YAMLField, flat: Bool) {
        file = entry.file
        entryField = entry
        self.flat = flat
    }

    /// An origin for an export that did not come from a document (`RegistryDecoder.merge`): no positions, and
    /// field names as the flat export form spells them.
    init(file: String, clusterCount: Int) {
        self.file = file
        entryField = nil
        flat = clusterCount == 1
    }

    mutating func recordType(_ field: YAMLField) { typeNode = field.node }
    mutating func recordVIP(_ field: YAMLField) { vipNode = field.node }
    /// Port `index`'s number.
    mutating func recordPort(_ index: Int, _ field: YAMLField) {
        while portNodes.count <= index { portNodes.append(nil) }
        portNodes[index] = field.node
    }
    /// Cluster `index`'s name.
    mutating func recordCluster(_ index: Int, _ field: YAMLField) {
        while clusterNameNodes.count <= index { clusterNameNodes.append(nil) }
        clusterNameNodes[index] = field.node
    }

    /// `services[3]` in a registry file; "" for a flat export, whose fields are at the top level.
    var path: String { entryField?.path ?? "" }

    /// The path of a field relative to the entry.
    func relative(_ field: Field) -> String {
        switch field {
        case .entry: return ""
        case .type: return "type"
        case .vip: return "vip"
        case .port(let index): return "ports[\(index)]"
        case .portNumber(let index): return "ports[\(index)].port"
        case .cluster(let index): return flat ? "" : "clusters[\(index)]"
        case .clusterName(let index): return flat ? "cluster" : "clusters[\(index)].cluster"
        }
    }

    /// The full field path of a field.
    func fieldPath(_ field: Field) -> String {
        ExportOrigin.join(path, relative(field))
    }

    /// How another error message refers to this field: its path in a file, or the origin's name for a flat
    /// export that has no path.
    func locate(_ field: Field) -> String {
        let path = self.path
        let relative = relative(field)
        return path.isEmpty ? (relative.isEmpty ? file : "\(file) (\(relative))") : ExportOrigin.join(path, relative)
    }

    /// An error at a field, positioned at that field when it was written and at the entry otherwise.
    func error(_ field: Field, _ message: String) -> RegistryError {
        let node: YAMLNode? =
            switch field {
            case .type: typeNode
            case .vip: vipNode
            case .portNumber(let index): index < portNodes.count ? portNodes[index] : nil
            case .clusterName(let index): index < clusterNameNodes.count ? clusterNameNodes[index] : nil
            case .entry, .port, .cluster: nil
            }
        let position = node ?? entryField?.node
        return RegistryError(
            file: file, line: position?.line, column: position?.column, field: fieldPath(field), message: message)
    }

    static func join(_ parent: String, _ child: String) -> String {
        if parent.isEmpty { return child }
        if child.isEmpty { return parent }
        return parent + "." + child
    }
}
