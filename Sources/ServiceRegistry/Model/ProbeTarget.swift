/// One address and TCP port an instance probes (DESIGN.md section 3, "Health is what this instance can see"):
/// an export's address on its service's first TCP port, or a cluster's beacon. Services that share an address and
/// port share one target, so each is probed once however many name it.
public struct ProbeTarget: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var address: IPAddress
    public var port: UInt16

    public init(address: IPAddress, port: UInt16) {
        self.address = address
        self.port = port
    }

    public static func < (lhs: ProbeTarget, rhs: ProbeTarget) -> Bool {
        (lhs.address.description, lhs.port) < (rhs.address.description, rhs.port)
    }

    public var description: String {
        address.isIPv4 ? "\(address):\(port)" : "[\(address)]:\(port)"
    }
}

extension ProbeTarget {
    /// Parses `ADDRESS:PORT` (IPv4) or `[ADDRESS]:PORT` (IPv6), as `description` writes it; the port 1...65535.
    public init?(_ text: String) {
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else {
                return nil
            }
            host = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        guard let address = IPAddress(String(host)), address.isIPv4 != text.hasPrefix("["),
            let port = UInt16(portText), port > 0
        else { return nil }
        self.init(address: address, port: port)
    }
}
