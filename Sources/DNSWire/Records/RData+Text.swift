extension RData: CustomStringConvertible {
    /// Presentation format as in a master file (RFC 1035 5.1, RFC 3597 3 for unknown types).
    public var description: String {
        switch self {
        case .a(let address): return address.description
        case .aaaa(let address): return address.description
        case .ns(let name), .cname(let name), .ptr(let name): return name.description
        case .mx(let preference, let exchange): return "\(preference) \(exchange)"
        case .soa(let soa):
            return
                "\(soa.primary) \(soa.mailbox) \(soa.serial) \(soa.refresh) \(soa.retry) \(soa.expire) \(soa.minimum)"
        case .txt(let strings): return strings.map(RData.quoted).joined(separator: " ")
        case .srv(let srv): return "\(srv.priority) \(srv.weight) \(srv.port) \(srv.target)"
        case .unknown(_, let data):
            let hex = data.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
            return data.isEmpty ? "\\# 0" : "\\# \(data.count) \(hex)"
        }
    }

    static func quoted(_ string: [UInt8]) -> String {
        var text = "\""
        for byte in string {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                text.append("\\")
                text.append(Character(Unicode.Scalar(byte)))
            case 0x20...0x7E:
                text.append(Character(Unicode.Scalar(byte)))
            default:
                let digits = String(byte)
                text.append("\\" + String(repeating: "0", count: 3 - digits.count) + digits)
            }
        }
        return text + "\""
    }
}
