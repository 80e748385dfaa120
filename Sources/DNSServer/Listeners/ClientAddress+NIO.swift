import DNSPipeline
import NIOCore

extension ClientAddress {
    /// The client's address as the pipeline sees it; nil for a socket address that is not IP.
    init?(_ address: SocketAddress) {
        switch address {
        case .v4(let v4):
            self = .v4(UInt32(bigEndian: v4.address.sin_addr.s_addr))
        case .v6(let v6):
            var storage = v6.address.sin6_addr
            let (high, low) = withUnsafeBytes(of: &storage) { raw in
                (
                    raw[0..<8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) },
                    raw[8..<16].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
                )
            }
            self.init(ipv6High: high, low: low)
        default:
            return nil
        }
    }

    /// An IPv6 address; an IPv4 client of a dual-stack socket ([::]:53) arrives as ::ffff:a.b.c.d, and
    /// `allow:` and `clients:` hold it as IPv4.
    init(ipv6High high: UInt64, low: UInt64) {
        if high == 0 && low >> 32 == 0xFFFF {
            self = .v4(UInt32(truncatingIfNeeded: low))
        } else {
            self = .v6(high: high, low: low)
        }
    }
}
