import DNSWire

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Loads master files (RFC 1035 section 5) into zones. Synchronous and stateless: a reload builds new zones from
/// scratch and the caller swaps them in, so a bad edit leaves the zones already served untouched.
public enum ZoneFileLoader {
    /// Reads one master file. `origin` defaults to the file name without ".zone" (so zones/supercluster.local.zone
    /// is supercluster.local.) unless the file sets `$ORIGIN` before its first record. An explicit `origin` is the
    /// apex even if the file sets `$ORIGIN`, as a server's configured zone name is: `$ORIGIN` then only changes
    /// how relative names are completed. `defaultTTL` applies to records before any `$TTL` or explicit TTL.
    public static func load(
        file: String, origin: DNSName? = nil, defaultTTL: UInt32 = 3600
    ) throws(ZoneFileError) -> Zone {
        let source = try SourceText.read(file: file)
        let initialOrigin: DNSName
        if let origin { initialOrigin = origin } else { initialOrigin = try defaultOrigin(of: file) }
        let parsed = try LDNSZoneReader(file: file, source: source, origin: initialOrigin, defaultTTL: defaultTTL)
            .read()
        let apex = origin ?? parsed.firstOrigin ?? initialOrigin
        return try parsed.zone(apex: apex, file: file)
    }

    /// Every *.zone in a directory, sorted by file name; a missing directory is an error, an empty one gives [].
    /// Two files with the same origin is an error naming both. Hidden files are skipped, as the shell's `*.zone`
    /// skips them, so an editor's or a deploy tool's dot-files never become zones.
    public static func loadDirectory(_ path: String) throws(ZoneFileError) -> [Zone] {
        let separator = path.hasSuffix("/") ? "" : "/"
        var zones: [Zone] = []
        var fileByOrigin: [DNSName: String] = [:]
        for name in try zoneFileNames(in: path) {
            let zone = try load(file: path + separator + name)
            if let other = fileByOrigin[zone.origin] {
                throw ZoneFileError(file: zone.file, line: nil, .duplicateOrigin(origin: zone.origin, otherFile: other))
            }
            fileByOrigin[zone.origin] = zone.file
            zones.append(zone)
        }
        return zones
    }

    /// The zone a file names: its base name without ".zone", taken as absolute.
    static func defaultOrigin(of file: String) throws(ZoneFileError) -> DNSName {
        var name = Substring(file.split(separator: "/", omittingEmptySubsequences: false).last ?? "")
        if name.hasSuffix(".zone") { name = name.dropLast(5) }
        guard !name.isEmpty, let origin = try? DNSName(String(name)) else {
            throw ZoneFileError(file: file, line: nil, .badOrigin(String(name)))
        }
        return origin
    }

    /// The visible `*.zone` entries of a directory, sorted by name so zones load in a stable order.
    private static func zoneFileNames(in path: String) throws(ZoneFileError) -> [String] {
        guard let directory = opendir(path) else {
            throw ZoneFileError(file: path, line: nil, .unreadableDirectory(String(cString: strerror(errno))))
        }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafePointer(to: &entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: MemoryLayout.size(ofValue: $0.pointee)) {
                    String(cString: $0)
                }
            }
            if name.hasSuffix(".zone") && !name.hasPrefix(".") { names.append(name) }
        }
        return names.sorted()
    }
}
