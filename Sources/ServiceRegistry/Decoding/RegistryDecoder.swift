import Dispatch
import Synchronization

/// Turns registry documents into validated, merged services.
///
/// YAML and JSON go through the same path (JSON is a YAML subset as far as these documents go), so a `.json`
/// registry gets the same validation and the same line numbers in its errors.
public enum RegistryDecoder {
    /// The keys of a registry document's top level.
    public static let documentKeys = ["services"]

    /// Parses YAML (and therefore JSON) into validated, merged services, sorted by (namespace, name), each
    /// service's clusters sorted by name. `services: []` gives no services; a file without a `services` list (no
    /// document at all, `{}`, `services:` with nothing after it) is an error, since that is what a writer that
    /// truncates first leaves for a moment, and taking it as "no services" would delete every export.
    ///
    /// `threads` parse and decode at once (a start's first read, which nothing waits beside): a file cut between
    /// its items piece by piece (`decodeInPieces`), any other file parsed whole and its entries decoded in runs;
    /// an error is the first in the file, whichever thread met it.
    public static func decode(_ text: String, file: String, threads: Int = 1) throws(RegistryError) -> [Service] {
        if threads > 1, let entries = try decodeInPieces(text, file: file, threads: threads) {
            return try mergedAndCompacted(entries)
        }
        guard let root = try YAMLField.parse(text, file: file), !root.isNull else {
            throw RegistryError(file: file, field: "services", message: missingList("the file has no document"))
        }
        let document = try root.mapping(allowing: documentKeys)
        guard let list = document["services"], !list.isNull else {
            let line = document.keyField("services")?.line ?? root.line
            throw RegistryError(file: file, line: line, field: "services", message: missingList("no services list"))
        }
        let entries = try decodeEntries(list.sequence(), threads: threads)
        return try mergedAndCompacted(entries)
    }

    /// The entries merged, each service copied whole (`compacted`) while the parser's temporaries still stand,
    /// so that what is kept does not hold their pages once they are freed. Only a file needs it: an etcd export
    /// read by `FlatExportReader` leaves no temporaries among its parts.
    private static func mergedAndCompacted(_ entries: [ExportEntry]) throws(RegistryError) -> [Service] {
        try ServiceMerger.merge(entries).map { $0.compacted() }
    }

    /// `ExportDecoder.entry` of each field of a run, in order; the first mistake ends it.
    private static func decodeRun(_ fields: Slice<YAMLSequence>) throws(RegistryError) -> [ExportEntry] {
        var entries: [ExportEntry] = []
        entries.reserveCapacity(fields.count)
        for field in fields { entries.append(try ExportDecoder.entry(field)) }
        return entries
    }

    /// Below this many entries one thread decodes them all.
    static let parallelMinimum = 2_048

    /// The entries of a file cut between its `services:` items (`ServiceListChunks`), each piece parsed and
    /// decoded on a thread of its own; nil when the file is not cut, or a piece is not a list of as many items as
    /// the cut counted, or does not parse: the caller then reads the whole file, and reports its mistakes, as
    /// before. The first mistake in the entries, in file order, is the one thrown, as one thread would.
    static func decodeInPieces(
        _ text: String, file: String, threads: Int, minimumItems: Int = parallelMinimum
    ) throws(RegistryError) -> [ExportEntry]? {
        guard let chunks = ServiceListChunks.split(text, into: threads * 4, minimumItems: minimumItems) else {
            return nil
        }
        let results = Mutex([Result<[ExportEntry], RegistryError>?](repeating: nil, count: chunks.count))
        DispatchQueue.concurrentPerform(iterations: chunks.count) { index in
            let chunk = chunks[index]
            // A piece that is not what the cut saw is no answer at all (nil): the whole file is read instead.
            guard let root = try? YAMLComposer.compose(chunk.text, file: file, linesBefore: chunk.linesBefore),
                root.kind == .sequence, root.childCount == chunk.itemCount,
                let fields = try? YAMLField(node: root, path: "services", file: file).sequence(
                    firstIndex: chunk.firstItem)
            else { return }
            let result = Result { () throws(RegistryError) -> [ExportEntry] in try decodeRun(fields[...]) }
            results.withLock { $0[index] = result }
        }
        let pieces = results.withLock { $0 }
        guard pieces.allSatisfy({ $0 != nil }) else { return nil }
        var entries: [ExportEntry] = []
        entries.reserveCapacity(chunks.reduce(0) { $0 + $1.itemCount })
        for piece in pieces { entries += try piece!.get() }
        return entries
    }

    /// `ExportDecoder.entry` of every field, in order: in runs on `threads` threads when there are many.
    static func decodeEntries(_ fields: YAMLSequence, threads: Int) throws(RegistryError) -> [ExportEntry] {
        guard threads > 1, fields.count >= parallelMinimum else { return try decodeRun(fields[...]) }
        // Several runs a thread, so one slower run (headless services of many endpoints) leaves no thread idle.
        let runCount = threads * 8
        let length = (fields.count + runCount - 1) / runCount
        let runs = Mutex([Result<[ExportEntry], RegistryError>?](repeating: nil, count: runCount))
        DispatchQueue.concurrentPerform(iterations: runCount) { run in
            let slice = fields[min(fields.count, run * length)..<min(fields.count, (run + 1) * length)]
            let result = Result { () throws(RegistryError) -> [ExportEntry] in try decodeRun(slice) }
            runs.withLock { $0[run] = result }
        }
        var entries: [ExportEntry] = []
        entries.reserveCapacity(fields.count)
        for run in runs.withLock({ $0 }) { entries += try run!.get() }
        return entries
    }

    private static func missingList(_ what: String) -> String {
        "\(what) (cut short, or still being written?); an empty registry is written `services: []`"
    }

    /// Decodes one export in its flat form, the service's keys and one cluster's keys in one object, as etcd
    /// stores it under `/scdns/v1/clusters/CLUSTER/services/NS/NAME` (DESIGN.md section 2). `file` names the origin in
    /// errors, e.g. the etcd key. The result has exactly one cluster.
    /// `file` is made only for the general path (a listing's 300,000 exports need none).
    public static func decodeExport(_ text: String, file: @autoclosure () -> String) throws(RegistryError) -> Service {
        // What a publisher writes is read straight into its service; anything else, and every error, here.
        if let service = FlatExportReader.read(text) { return service }
        let file = file()
        return try decodeExport(YAMLField.parse(text, file: file), file: file)
    }

    /// `decodeExport` of a document already parsed (by either reader: `JSONNodeReaderTests` compares them).
    static func decodeExport(_ root: YAMLField?, file: String) throws(RegistryError) -> Service {
        guard let root, !root.isNull else {
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
