import DNSWire

/// One record as read from the file, with the line it begins on.
struct ParsedRecord {
    var record: ResourceRecord
    var line: Int?
    /// ldns's own text of the RDATA; empty unless the reader was asked to keep it (differential tests).
    var ldnsPresentation: String
}

/// A file's records as parsed, before the checks that make them a zone. ldns accepts anything syntactically valid;
/// what a server may serve from one file is decided here.
struct ParsedZone {
    /// The first `$ORIGIN` of the file, when it comes before any record: the file naming its own zone.
    var firstOrigin: DNSName?
    /// The first line of every SOA in the file, in order (ldns itself keeps only the first SOA).
    var soaLines: [Int?]
    /// The first SOA (if any) first, then every other record in file order.
    var records: [ParsedRecord] = []

    init(firstOrigin: DNSName?, soaLines: [Int?]) {
        self.firstOrigin = firstOrigin
        self.soaLines = soaLines
    }

    /// The zone at `apex`, or the first problem found: the SOA first, then each record in file order, then the apex
    /// NS set and CNAME conflicts. One error at a time, like `named-checkzone`, so the line named is the one to fix.
    func zone(apex: DNSName, file: String) throws(ZoneFileError) -> Zone {
        guard let soa = records.first(where: { $0.record.type == .soa }) else {
            throw ZoneFileError(file: file, line: nil, .noSOA(apex))
        }
        if soaLines.count > 1 {
            throw ZoneFileError(file: file, line: soaLines[1], .secondSOA(firstLine: soaLines[0]))
        }
        guard soa.record.name == apex else {
            throw ZoneFileError(file: file, line: soa.line, .soaNotAtApex(owner: soa.record.name, apex: apex))
        }
        for parsed in records {
            try check(parsed, apex: apex, file: file)
        }
        let isApexNS = { (record: ResourceRecord) in record.type == .ns && record.name == apex }
        let nameServers = records.map(\.record).filter(isApexNS)
        guard !nameServers.isEmpty else { throw ZoneFileError(file: file, line: nil, .noNameServers(apex)) }
        try checkCNAMEs(file: file)
        let others = records.map(\.record).filter { $0.type != .soa && !isApexNS($0) }
        return Zone(origin: apex, soa: soa.record, nameServers: nameServers, records: others, file: file)
    }

    /// What every record must satisfy on its own.
    private func check(_ parsed: ParsedRecord, apex: DNSName, file: String) throws(ZoneFileError) {
        let record = parsed.record
        // Other classes (CH for version.bind, HS) are neither asked for nor answered by this server.
        guard record.rrClass == .in else {
            throw ZoneFileError(
                file: file, line: parsed.line, .notInternet(owner: record.name, rrClass: record.rrClass.description))
        }
        // ldns turns an unknown `$WORD` line into a TYPE0 record rather than an error; a meta type (OPT, ANY, AXFR)
        // is never data (RFC 6895 3.1).
        guard record.type.rawValue != 0, !record.type.isMetaType else {
            throw ZoneFileError(
                file: file, line: parsed.line, .reservedType(owner: record.name, type: record.type.description))
        }
        guard record.name.isSubdomain(of: apex) else {
            throw ZoneFileError(file: file, line: parsed.line, .outOfZone(owner: record.name, apex: apex))
        }
        // DESIGN.md section 1: a zone file holds apex and static data. A delegation would need referrals and
        // glue, a wildcard owner synthesis (RFC 4592); served as ordinary data, both would answer wrongly.
        if record.type == .ns && record.name != apex {
            throw ZoneFileError(file: file, line: parsed.line, .delegation(owner: record.name))
        }
        if record.name.labels.contains(where: { $0 == [UInt8(ascii: "*")] }) {
            throw ZoneFileError(file: file, line: parsed.line, .wildcard(owner: record.name))
        }
    }

    /// A CNAME owner has no other data (RFC 1034 3.6.2) and one CNAME (RFC 2181 10.1); only DNSSEC's RRSIG and NSEC
    /// may sit beside it (RFC 4035 2.5). The error names the later of the two records, where the conflict appears.
    private func checkCNAMEs(file: String) throws(ZoneFileError) {
        var typesByOwner: [DNSName: [RecordType]] = [:]
        for parsed in records {
            let owner = parsed.record.name
            let type = parsed.record.type
            let earlier = typesByOwner[owner, default: []]
            if type == .cname {
                if earlier.contains(.cname) {
                    throw ZoneFileError(file: file, line: parsed.line, .secondCNAME(owner: owner))
                }
                if let other = earlier.first(where: { !Self.mayAccompanyCNAME($0) }) {
                    throw ZoneFileError(
                        file: file, line: parsed.line, .cnameAndOtherData(owner: owner, other: other.description))
                }
            } else if earlier.contains(.cname) && !Self.mayAccompanyCNAME(type) {
                throw ZoneFileError(
                    file: file, line: parsed.line, .cnameAndOtherData(owner: owner, other: type.description))
            }
            typesByOwner[owner, default: []].append(type)
        }
    }

    private static func mayAccompanyCNAME(_ type: RecordType) -> Bool {
        type == .rrsig || type == .nsec
    }
}
