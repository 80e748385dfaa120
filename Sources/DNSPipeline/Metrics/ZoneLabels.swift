import DNSWire
import Synchronization

/// The `zone` label of query metrics: every zone a query can fall in (service, global and zone-file zones,
/// `forward:` zones) gets a small stable slot, so per-thread counters are flat arrays indexed by it. Slots are
/// handed out in the order zones are first seen and never reused, so a counter keeps its label across a zone
/// reload that renumbers the snapshot's zones. Slot 0 is the root, `.`: queries outside every zone (REFUSED)
/// and queries whose question could not be read, as CoreDNS labels what no server block matched.
public final class ZoneLabels: Sendable {
    /// Slots a counter block has room for; zones past the last but one share the last, labelled "other".
    public static let capacity = 64

    private struct State {
        var names: [DNSName] = [.root]
        var overflowed = false
    }

    private let state = Mutex(State())

    /// The process's labels: every snapshot takes its zones' slots from here when it is built, so a query reads
    /// its slot from the snapshot it is answered from (no second reference to hold), and counters keep their
    /// labels across snapshots and processors.
    public static let shared = ZoneLabels()

    private init() {}

    /// The label of each slot handed out so far, in slot order: `.`, then zones in presentation form with the
    /// trailing dot as CoreDNS writes them, then "other" once the capacity was reached.
    public var labels: [String] {
        state.withLock { state in
            state.names.map { $0.isRoot ? "." : $0.description } + (state.overflowed ? ["other"] : [])
        }
    }

    /// The slot of each name in `zones`, handing out new slots for names not seen before.
    func slots(for zones: [DNSName]) -> [UInt8] {
        state.withLock { state in
            zones.map { zone in
                let zone = zone.lowercased()
                if let index = state.names.firstIndex(of: zone) { return UInt8(index) }
                guard state.names.count < Self.capacity - 1 else {
                    state.overflowed = true
                    return UInt8(Self.capacity - 1)
                }
                state.names.append(zone)
                return UInt8(state.names.count - 1)
            }
        }
    }
}
