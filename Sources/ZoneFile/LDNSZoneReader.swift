import CLDNS
import DNSWire

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The one place that calls ldns: it parses a master file and hands back DNSWire records. Master files are trusted
/// operator input; nothing that arrives from the network is ever passed to C.
///
/// Two passes over the same bytes. `ldns_zone_new_frm_fp_l` does the real parse, with its TTL defaulting rules
/// (RFC 1035 5.1, RFC 2308 4), but it keeps no line per record, silently drops a second SOA, and on a syntax error
/// frees only its list, leaking every record read so far (ldns 1.8.3 `ldns_zone_free`). So a record-by-record scan
/// with `ldns_rr_new_frm_fp_l` (the same parser, so the same records in the same order and the same errors) runs
/// first: it reports syntax errors with ldns's message and line, and records each record's line, every SOA and the
/// first `$ORIGIN`, which the checks after parsing need. Only a file that scans cleanly reaches the zone parser.
struct LDNSZoneReader {
    let file: String
    let source: SourceText
    /// The origin in effect at the top of the file: `@` and relative names resolve against it until `$ORIGIN`.
    let origin: DNSName
    let defaultTTL: UInt32

    /// Parses and converts the whole file. With `keepingPresentation`, each record also carries ldns's own text of
    /// its RDATA, so tests can compare DNSWire's formatting with ldns's.
    func read(keepingPresentation: Bool = false) throws(ZoneFileError) -> ParsedZone {
        let layout = try scan()
        let zone = try parse()
        defer { ldns_zone_deep_free(zone) }
        var records: [UnsafeMutablePointer<ldns_rr>] = []
        if let soa = ldns_zone_soa(zone) { records.append(soa) }
        let list = ldns_zone_rrs(zone)
        for index in 0..<ldns_rr_list_rr_count(list) {
            if let rr = ldns_rr_list_rr(list, index) { records.append(rr) }
        }
        let lines = layout.lines(of: records.map(Self.type(of:)))
        var parsed = ParsedZone(firstOrigin: layout.firstOrigin, soaLines: layout.soaLines)
        for (rr, line) in zip(records, lines) {
            let record = try convert(rr, line: line)
            let text = keepingPresentation ? Self.rdataPresentation(of: rr) : ""
            parsed.records.append(ParsedRecord(record: record, line: line, ldnsPresentation: text))
        }
        return parsed
    }

    /// The real parse, through `ldns_zone_new_frm_fp_l`, of a file that scanned cleanly. The caller owns the zone.
    private func parse() throws(ZoneFileError) -> UnsafeMutablePointer<ldns_zone> {
        let originRDF = Self.rdf(origin)
        defer { ldns_rdf_deep_free(originRDF) }
        var line: Int32 = 0
        let outcome = source.withStream { stream -> (ldns_status, UnsafeMutablePointer<ldns_zone>?) in
            var zone: UnsafeMutablePointer<ldns_zone>? = nil
            let status = ldns_zone_new_frm_fp_l(&zone, stream, originRDF, defaultTTL, LDNS_RR_CLASS_IN, &line)
            return (status, zone)
        }
        guard let (status, zone) = outcome else { throw ZoneFileError(file: file, line: nil, .unreadable("no memory")) }
        guard status == LDNS_STATUS_OK, let zone else {
            throw ZoneFileError(file: file, line: source.ldnsLine(Int(line)), .parse(Self.describe(status)))
        }
        return zone
    }

    /// Record by record, noting where each begins; the first syntax error ends the scan and is thrown.
    private func scan() throws(ZoneFileError) -> Layout {
        let scanned = source.withStream { stream -> Result<Layout, ZoneFileError> in
            var layout = Layout()
            var ttl = defaultTTL
            var currentOrigin = Self.rdf(origin)
            var previousOwner = Self.rdf(origin)
            defer {
                ldns_rdf_deep_free(currentOrigin)
                ldns_rdf_deep_free(previousOwner)
            }
            var line: Int32 = 0
            var consumed = 0
            while feof(stream) == 0 {
                var rr: UnsafeMutablePointer<ldns_rr>? = nil
                let status = ldns_rr_new_frm_fp_l(&rr, stream, &ttl, &currentOrigin, &previousOwner, &line)
                if status == LDNS_STATUS_OK, let rr {
                    layout.entries.append((Self.type(of: rr), source.firstContentLine(after: consumed)))
                    ldns_rr_free(rr)
                } else if status == LDNS_STATUS_SYNTAX_ORIGIN {
                    // Only an $ORIGIN before the first record names the zone; later ones just shorten names.
                    if layout.entries.isEmpty, let currentOrigin { layout.firstOrigin = Self.name(currentOrigin) }
                } else if status != LDNS_STATUS_SYNTAX_TTL && status != LDNS_STATUS_SYNTAX_EMPTY {
                    // The zone parser turns $INCLUDE into "not implemented"; say the same.
                    let reported =
                        status == LDNS_STATUS_SYNTAX_INCLUDE ? LDNS_STATUS_SYNTAX_INCLUDE_ERR_NOTIMPL : status
                    let error = ZoneFileError(
                        file: file, line: source.ldnsLine(Int(line)), .parse(Self.describe(reported)))
                    return .failure(error)
                }
                consumed = Int(line)
            }
            return .success(layout)
        }
        guard let scanned else { throw ZoneFileError(file: file, line: nil, .unreadable("no memory")) }
        return try scanned.get()
    }

    /// What the scan learned: each record's type and first line, in file order, SOAs included.
    struct Layout {
        var entries: [(type: RecordType, line: Int?)] = []
        var firstOrigin: DNSName?

        var soaLines: [Int?] { entries.filter { $0.type == .soa }.map(\.line) }

        /// Lines for the zone parser's records (its SOA first, then the rest in order, later SOAs dropped). Should
        /// the two passes ever disagree, no line is better than a wrong one.
        func lines(of types: [RecordType]) -> [Int?] {
            var ordered = entries.filter { $0.type != .soa }
            if let firstSOA = entries.first(where: { $0.type == .soa }) { ordered.insert(firstSOA, at: 0) }
            guard ordered.map(\.type) == types else { return types.map { _ in nil } }
            return ordered.map(\.line)
        }
    }
}
