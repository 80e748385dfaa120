import ServiceRegistry

/// Finds a query's locality index: 0 is this instance's own locality, 1... are the distinct localities of
/// `clients:` networks. Answers are precompiled once per index, so a query only picks one.
///
/// Networks are kept longest prefix first, so the first match is the longest (as in routing tables). The
/// table is small (one entry per client network), so a linear scan of plain integers beats anything cleverer.
struct LocalityResolver: Sendable {
    private struct Entry: Sendable {
        var isIPv4: Bool
        var high: UInt64
        var low: UInt64
        var maskHigh: UInt64
        var maskLow: UInt64
        var prefixLength: Int
        var locality: Int
        /// Its position in `clients:`, to name the network that matched (`/explain`).
        var client: Int
    }

    /// IPv4 networks in the shape the common case needs: one 32-bit compare per network.
    private struct IPv4Entry: Sendable {
        var network: UInt32
        var mask: UInt32
        var prefixLength: Int32
        var locality: Int32
    }

    /// Every locality answers are compiled for; index 0 is the instance's own.
    let localities: [Locality]
    private let entries: [Entry]
    private let ipv4Entries: [IPv4Entry]

    var isEmpty: Bool { entries.isEmpty }

    init(own: Locality, clients: [ClientNetwork]) {
        var localities = [own]
        var entries: [Entry] = []
        for (position, client) in clients.enumerated() {
            let index: Int
            if let existing = localities.firstIndex(of: client.locality) {
                index = existing
            } else {
                index = localities.count
                localities.append(client.locality)
            }
            // Two words, IPv4 in the top 32 bits of the first, so one mask shape serves both families.
            let address = client.network.address
            let (high, low) = address.isIPv4 ? (address.words.low << 32, 0) : address.words
            let (maskHigh, maskLow) = Self.mask(
                prefixLength: client.network.prefixLength, isIPv4: client.network.address.isIPv4)
            entries.append(
                Entry(
                    isIPv4: client.network.address.isIPv4, high: high & maskHigh, low: low & maskLow,
                    maskHigh: maskHigh, maskLow: maskLow, prefixLength: client.network.prefixLength, locality: index,
                    client: position))
        }
        self.localities = localities
        // Stable: among equal prefixes the first listed wins.
        self.entries = entries.enumerated()
            .sorted { ($0.element.prefixLength, -$0.offset) > ($1.element.prefixLength, -$1.offset) }
            .map(\.element)
        self.ipv4Entries = self.entries.filter(\.isIPv4).map {
            IPv4Entry(
                network: UInt32($0.high >> 32), mask: UInt32($0.maskHigh >> 32), prefixLength: Int32($0.prefixLength),
                locality: Int32($0.locality))
        }
    }

    /// The locality of a client address, and the prefix length of the network that matched.
    func locate(_ address: ClientAddress) -> (locality: Int, prefixLength: Int)? {
        switch address {
        case .v4(let value):
            for entry in ipv4Entries where value & entry.mask == entry.network {
                return (Int(entry.locality), Int(entry.prefixLength))
            }
            return nil
        case .v6(let high, let low):
            return locate(isIPv4: false, high: high, low: low, maxPrefix: 128)
        }
    }

    /// The locality of an EDNS Client Subnet, nil when no network holds it (only a network no longer than the
    /// subnet's source prefix can), and the answer's scope (RFC 7871 7.2.1): the matching network's prefix length,
    /// made longer where a longer network lies near the subnet, so that the addresses the scope covers all get
    /// this answer. Scope 0 would tell a resolver's cache this answer is everyone's.
    func locate(_ subnet: ClientSubnet) -> (locality: Int?, scope: Int) {
        let found = locate(
            isIPv4: subnet.isIPv4, high: subnet.high, low: subnet.low, maxPrefix: subnet.sourcePrefixLength)
        var scope = found?.prefixLength ?? 0
        // Entries are longest first: when the match is already as long as any, nothing can lengthen the scope.
        guard let longest = entries.first?.prefixLength, longest > scope else { return (found?.locality, scope) }
        for entry in entries where entry.isIPv4 == subnet.isIPv4 && entry.prefixLength > scope {
            // A longer network that did not match: cover one bit past what it shares with the subnet, no more
            // than its own length (more than the source prefix, when the subnet was too short to match it).
            let shared =
                subnet.high == entry.high
                ? 64 + (subnet.low ^ entry.low).leadingZeroBitCount : (subnet.high ^ entry.high).leadingZeroBitCount
            scope = max(scope, min(shared + 1, entry.prefixLength))
        }
        return (found?.locality, scope)
    }

    private func locate(isIPv4: Bool, high: UInt64, low: UInt64, maxPrefix: Int) -> (locality: Int, prefixLength: Int)?
    {
        firstMatch(isIPv4: isIPv4, high: high, low: low, maxPrefix: maxPrefix).map { ($0.locality, $0.prefixLength) }
    }

    private func firstMatch(isIPv4: Bool, high: UInt64, low: UInt64, maxPrefix: Int) -> Entry? {
        entries.first {
            $0.isIPv4 == isIPv4 && $0.prefixLength <= maxPrefix && high & $0.maskHigh == $0.high
                && low & $0.maskLow == $0.low
        }
    }

    /// The position in `clients:` of the network `locate(address)` matched: the same longest match, for telling
    /// an operator which network gave the locality (`/explain`), off the query path.
    func matchingClient(_ address: ClientAddress) -> Int? {
        switch address {
        case .v4(let value):
            return firstMatch(isIPv4: true, high: UInt64(value) << 32, low: 0, maxPrefix: 32)?.client
        case .v6(let high, let low):
            return firstMatch(isIPv4: false, high: high, low: low, maxPrefix: 128)?.client
        }
    }

    /// The position in `clients:` of the network `locate(subnet)` matched.
    func matchingClient(_ subnet: ClientSubnet) -> Int? {
        firstMatch(
            isIPv4: subnet.isIPv4, high: subnet.high, low: subnet.low, maxPrefix: subnet.sourcePrefixLength)?.client
    }

    static func mask(prefixLength: Int, isIPv4: Bool) -> (UInt64, UInt64) {
        let bits = prefixLength
        let high: UInt64 = bits == 0 ? 0 : bits >= 64 ? ~0 : ~0 << UInt64(64 - bits)
        let low: UInt64 = bits <= 64 ? 0 : bits >= 128 ? ~0 : ~0 << UInt64(128 - bits)
        return (high, low)
    }
}
