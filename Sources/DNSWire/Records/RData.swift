/// The start of authority (RFC 1035 3.3.13).
public struct SOARecord: Hashable, Sendable {
    public var primary: DNSName
    public var mailbox: DNSName
    public var serial: UInt32
    public var refresh: UInt32
    public var retry: UInt32
    public var expire: UInt32
    public var minimum: UInt32

    public init(
        primary: DNSName, mailbox: DNSName, serial: UInt32, refresh: UInt32, retry: UInt32, expire: UInt32,
        minimum: UInt32
    ) {
        self.primary = primary
        self.mailbox = mailbox
        self.serial = serial
        self.refresh = refresh
        self.retry = retry
        self.expire = expire
        self.minimum = minimum
    }
}

/// A service location (RFC 2782).
public struct SRVRecord: Hashable, Sendable {
    public var priority: UInt16
    public var weight: UInt16
    public var port: UInt16
    public var target: DNSName

    public init(priority: UInt16, weight: UInt16, port: UInt16, target: DNSName) {
        self.priority = priority
        self.weight = weight
        self.port = port
        self.target = target
    }
}

/// Record data. Types without a case here are kept as opaque octets (RFC 3597), so any record a zone file
/// holds can be served even though the codec does not understand it.
public enum RData: Hashable, Sendable {
    case a(IPv4Address)
    case aaaa(IPv6Address)
    case ns(DNSName)
    case cname(DNSName)
    case ptr(DNSName)
    case mx(preference: UInt16, exchange: DNSName)
    case soa(SOARecord)
    /// One or more character-strings, each at most 255 octets.
    case txt([[UInt8]])
    case srv(SRVRecord)
    case unknown(type: RecordType, data: [UInt8])

    public var type: RecordType {
        switch self {
        case .a: return .a
        case .aaaa: return .aaaa
        case .ns: return .ns
        case .cname: return .cname
        case .ptr: return .ptr
        case .mx: return .mx
        case .soa: return .soa
        case .txt: return .txt
        case .srv: return .srv
        case .unknown(let type, _): return type
        }
    }

    /// A TXT record from text, split into 255-octet character-strings.
    public static func txt(_ text: String) -> RData {
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty else { return .txt([[]]) }
        return .txt(stride(from: 0, to: bytes.count, by: 255).map { Array(bytes[$0..<min($0 + 255, bytes.count)]) })
    }
}

/// A resource record; OPT is not one of these, it is `Message.edns`.
public struct ResourceRecord: Hashable, Sendable, CustomStringConvertible {
    public var name: DNSName
    public var rrClass: RecordClass
    public var ttl: UInt32
    public var data: RData

    public init(name: DNSName, rrClass: RecordClass = .in, ttl: UInt32, data: RData) {
        self.name = name
        self.rrClass = rrClass
        self.ttl = ttl
        self.data = data
    }

    public var type: RecordType { data.type }

    public var description: String { "\(name) \(ttl) \(rrClass) \(type) \(data)" }
}
