import CLDNS
import DNSWire

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Crossing between ldns and DNSWire. A record crosses as uncompressed wire bytes: ldns writes them, DNSWire's own
/// bounds-checked parser reads them, so there is one decoder of RDATA in the project and no field-by-field mapping
/// of ldns's rdf types to keep in step with it.
extension LDNSZoneReader {
    /// The record as DNSWire sees it. Types DNSWire does not model stay opaque (`RData.unknown`, RFC 3597).
    func convert(_ rr: UnsafeMutablePointer<ldns_rr>, line: Int?) throws(ZoneFileError) -> ResourceRecord {
        var wire: UnsafeMutablePointer<UInt8>? = nil
        var size = 0
        let status = ldns_rr2wire(&wire, rr, Int32(LDNS_SECTION_ANSWER.rawValue), &size)
        // ldns allocates with malloc; free(nil) is a no-op when it failed before allocating.
        defer { free(wire) }
        let owner = Self.string(ldns_rr_owner(rr))
        guard status == LDNS_STATUS_OK, let wire else {
            throw ZoneFileError(file: file, line: line, .unconvertible(owner: owner, detail: Self.describe(status)))
        }
        // A response header announcing one answer, then the record: the smallest input `Message(parsing:)` takes,
        // and it keeps the record parser internal to DNSWire.
        var message: [UInt8] = [0, 0, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0]
        message.append(contentsOf: UnsafeBufferPointer(start: wire, count: size))
        let detail: String
        do throws(DNSWireError) {
            // An OPT record never lands in `answers`: DNSWire rejects it outside the additional section.
            if let record = try Message(parsing: message).answers.first { return record }
            detail = "not a data record"
        } catch {
            detail = error.description
        }
        throw ZoneFileError(file: file, line: line, .unconvertible(owner: owner, detail: detail))
    }

    /// The RDATA as `ldns_rr2str` prints it: the text after owner, TTL, class and type, which ldns separates by
    /// tabs. The whole record rather than each rdf, since only `ldns_rr2str` prints empty RDATA (`\# 0`).
    static func rdataPresentation(of rr: UnsafeMutablePointer<ldns_rr>) -> String {
        guard let text = ldns_rr2str(rr) else { return "?" }
        defer { free(text) }
        let fields = String(cString: text).split(separator: "\t", maxSplits: 4, omittingEmptySubsequences: false)
        guard fields.count == 5 else { return "?" }
        return String(fields[4].hasSuffix("\n") ? fields[4].dropLast() : fields[4])
    }

    static func type(of rr: UnsafeMutablePointer<ldns_rr>) -> RecordType {
        RecordType(UInt16(truncatingIfNeeded: ldns_rr_get_type(rr).rawValue))
    }

    /// A DNAME rdf holding `name`; the caller frees it with `ldns_rdf_deep_free`. Built from wire bytes so that no
    /// escaping is lost between DNSWire's text and ldns's.
    static func rdf(_ name: DNSName) -> UnsafeMutablePointer<ldns_rdf>? {
        name.wire.withUnsafeBytes { ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, $0.count, $0.baseAddress) }
    }

    /// The name in a DNAME rdf; nil if it is not a valid uncompressed name (ldns only builds valid ones).
    static func name(_ rdf: UnsafeMutablePointer<ldns_rdf>) -> DNSName? {
        guard let data = ldns_rdf_data(rdf) else { return nil }
        return try? DNSName(wire: Array(UnsafeBufferPointer(start: data, count: ldns_rdf_size(rdf))))
    }

    /// ldns's text for a status; its table has no entry for a status added by a newer ldns than the one we know.
    static func describe(_ status: ldns_status) -> String {
        guard let text = ldns_get_errorstr_by_id(status) else { return "ldns error \(status.rawValue)" }
        return String(cString: text)
    }

    /// ldns's presentation of one rdf.
    static func string(_ rdf: UnsafeMutablePointer<ldns_rdf>?) -> String {
        guard let rdf, let text = ldns_rdf2str(rdf) else { return "?" }
        defer { free(text) }
        return String(cString: text)
    }
}
