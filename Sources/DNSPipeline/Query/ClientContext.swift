import ServiceRegistry

/// Who asked, and how: what the policy needs from the socket layer, nothing more.
public struct ClientContext: Sendable {
    public enum Transport: Sendable {
        case udp
        case tcp
    }

    public var address: ClientAddress
    public var transport: Transport

    public init(address: ClientAddress, transport: Transport) {
        self.address = address
        self.transport = transport
    }
}

/// A client's IP address held inline, so building one per query allocates nothing.
public enum ClientAddress: Hashable, Sendable {
    case v4(UInt32)
    case v6(high: UInt64, low: UInt64)

    public init(_ address: IPAddress) {
        let (high, low) = address.words
        self = address.isIPv4 ? .v4(UInt32(truncatingIfNeeded: low)) : .v6(high: high, low: low)
    }

    /// The address back in the registry's model, for logs and explanations (the inverse of `init(_:)`).
    public var ipAddress: IPAddress {
        switch self {
        case .v4(let value):
            return IPAddress(bytes: (0..<4).map { UInt8(truncatingIfNeeded: value >> (24 - 8 * UInt32($0))) })!
        case .v6(let high, let low):
            let words = [high, low]
            return IPAddress(
                bytes: (0..<16).map { UInt8(truncatingIfNeeded: words[$0 / 8] >> (56 - 8 * UInt64($0 % 8))) })!
        }
    }
}

/// A set of networks matched without allocation, for `allow:`.
struct NetworkMatcher: Sendable {
    private var v4: [(network: UInt32, mask: UInt32)] = []
    private var v6: [(high: UInt64, low: UInt64, maskHigh: UInt64, maskLow: UInt64)] = []
    /// Both families' whole address space are listed: the common open case costs one branch.
    let allowsEveryone: Bool

    /// An empty list matches nothing (DESIGN.md section 5: `allow: []` allows nobody).
    init(_ networks: [IPNetwork]) {
        allowsEveryone =
            networks.contains { $0.prefixLength == 0 && $0.address.isIPv4 }
            && networks.contains { $0.prefixLength == 0 && !$0.address.isIPv4 }
        for network in networks {
            let prefix = network.prefixLength
            switch ClientAddress(network.address) {
            case .v4(let address):
                let mask: UInt32 = prefix == 0 ? 0 : ~0 << (32 - UInt32(prefix))
                v4.append((address & mask, mask))
            case .v6(let high, let low):
                let maskHigh: UInt64 = prefix == 0 ? 0 : prefix >= 64 ? ~0 : ~0 << (64 - UInt64(prefix))
                let maskLow: UInt64 = prefix <= 64 ? 0 : prefix == 128 ? ~0 : ~0 << (128 - UInt64(prefix))
                v6.append((high & maskHigh, low & maskLow, maskHigh, maskLow))
            }
        }
    }

    func contains(_ address: ClientAddress) -> Bool {
        if allowsEveryone { return true }
        switch address {
        case .v4(let value):
            return v4.contains { value & $0.mask == $0.network }
        case .v6(let high, let low):
            return v6.contains { high & $0.maskHigh == $0.high && low & $0.maskLow == $0.low }
        }
    }
}
