/// Turns registry documents into validated, merged services.
///
/// YAML and JSON go through the same path (JSON is a YAML subset as far as these documents go), so a `.json`
/// registry gets the same validation and the same line numbers in its errors.
public enum RegistryDecoder {
    /// The keys of a registry document's top level.
    public static let documentKeys = ["services"]

    /// Parses YAML (and therefore JSON) into validated, merged services, sorted by (namespace, name), each
    /// service's clusters sorted by name. An empty document, or `services: []`, gives no services.
    public static func decode(_ text: String, file: String) throws(RegistryError) -> [Service] {
        guard let root = try YAMLField.parse(text, file: file), !root.isNull else {
            return []
        }
        let document = try root.mapping(allowing: documentKeys)
        guard let list = document["services"] else {
            return []
        }
        let entries = try list.sequence { (field) throws(RegistryError) in try ExportDecoder.entry(field) }
        return try ServiceMerger.merge(entries)
    }

    /// Decodes one export in its flat form, the service's keys and one cluster's keys in one object, as etcd
    /// stores it under `/scdns/v1/services/NS/NAME/CLUSTER` (DESIGN.md section 2). `file` names the origin in
    /// errors, e.g. the etcd key. The result has exactly one cluster.
    public static func decodeExport(_ text: String, file: String) throws(RegistryError) -> Service {
        guard let root = try YAMLField.parse(text, file: file), !root.isNull else {
            throw RegistryError(file: file, message: "an export is an object with at least name, namespace and cluster")
        }
        return try ExportDecoder.flatEntry(root).service
    }

    /// Merges exports that were each decoded (and so validated) on their own, such as the values of an etcd
    /// prefix, with the same rules as entries of one file. `origin` names each export in errors (its etcd key);
    /// field paths are relative to the export (`vip`, `ports[0].port`, `cluster`).
    public static func merge(_ exports: [(origin: String, service: Service)]) throws(RegistryError) -> [Service] {
        let entries = exports.map { export in
            ExportEntry(
                service: export.service,
                origin: ExportOrigin(file: export.origin, clusterCount: export.service.clusters.count)
            )
        }
        return try ServiceMerger.merge(entries)
    }
}
