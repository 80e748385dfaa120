import DNSWire

/// Why a master file could not be loaded, in the `file:line: message` form compilers and `named-checkzone` use, so
/// editors and CI logs can jump to the line.
public struct ZoneFileError: Error, Sendable, CustomStringConvertible, Equatable {
    /// The file as it was named to the loader.
    public let file: String
    /// The 1-based line the problem is on, when it is known (a missing record has no line).
    public let line: Int?
    public let message: String

    public init(file: String, line: Int?, message: String) {
        self.file = file
        self.line = line
        self.message = message
    }

    /// `zones/supercluster.local.zone:7: message`, or `zones/x.zone: message` without a line.
    public var description: String {
        if let line { return "\(file):\(line): \(message)" }
        return "\(file): \(message)"
    }
}

extension ZoneFileError {
    /// The messages the loader produces, in one place so tests and callers see consistent wording.
    enum Reason {
        case unreadable(String)
        case unreadableDirectory(String)
        case badOrigin(String)
        case parse(String)
        case noSOA(DNSName)
        case secondSOA(firstLine: Int?)
        case soaNotAtApex(owner: DNSName, apex: DNSName)
        case noNameServers(DNSName)
        case outOfZone(owner: DNSName, apex: DNSName)
        case notInternet(owner: DNSName, rrClass: String)
        case reservedType(owner: DNSName, type: String)
        case cnameAndOtherData(owner: DNSName, other: String)
        case secondCNAME(owner: DNSName)
        case delegation(owner: DNSName)
        case wildcard(owner: DNSName)
        case unconvertible(owner: String, detail: String)
        case duplicateOrigin(origin: DNSName, otherFile: String)

        var message: String {
            switch self {
            case .unreadable(let detail): return "cannot read zone file: \(detail)"
            case .unreadableDirectory(let detail): return "cannot read zone directory: \(detail)"
            case .badOrigin(let text): return "cannot use '\(text)' as the zone origin"
            case .parse(let detail): return detail
            case .noSOA(let apex): return "no SOA record for \(apex) (a zone needs exactly one, at its apex)"
            case .secondSOA(let firstLine):
                let first = firstLine.map { " (the first is on line \($0))" } ?? ""
                return "second SOA record\(first); a zone has exactly one"
            case .soaNotAtApex(let owner, let apex): return "SOA owner \(owner) is not the zone apex \(apex)"
            case .noNameServers(let apex): return "no NS record at the apex \(apex) (a zone needs at least one)"
            case .outOfZone(let owner, let apex): return "\(owner) is out of zone: not at or below \(apex)"
            case .notInternet(let owner, let rrClass): return "\(owner) has class \(rrClass); only IN is served"
            case .reservedType(let owner, let type):
                let hint = owner.labels.first?.first == UInt8(ascii: "$") ? " (an unknown $ directive?)" : ""
                return "\(owner) has type \(type), which cannot be stored in a zone\(hint)"
            case .cnameAndOtherData(let owner, let other):
                return "\(owner) has a CNAME and \(other) data; a CNAME owner has no other data (RFC 1034 3.6.2)"
            case .secondCNAME(let owner): return "\(owner) has more than one CNAME (RFC 2181 10.1)"
            case .delegation(let owner):
                return
                    "\(owner) has NS records below the apex; delegations are not served (zone files hold apex and static data)"
            case .wildcard(let owner):
                return "\(owner) is a wildcard owner; wildcards are not served (zone files hold apex and static data)"
            case .unconvertible(let owner, let detail): return "\(owner): record cannot be converted: \(detail)"
            case .duplicateOrigin(let origin, let otherFile):
                return "zone \(origin) is also defined by \(otherFile); each zone must come from one file"
            }
        }
    }

    init(file: String, line: Int?, _ reason: Reason) {
        self.init(file: file, line: line, message: reason.message)
    }
}
