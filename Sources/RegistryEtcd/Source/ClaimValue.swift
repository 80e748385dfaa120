import Foundation
import ServiceRegistry

/// The value of a cluster's publisher claim (`PREFIX clusters/CLUSTER/publisher`): who holds it, and the
/// cluster's beacons, as one JSON object: `{"holder":"host-1 pid 7","beacons":["10.244.0.3:53"]}`.
///
/// Beacons are addresses in the cluster (its scdns instances' DNS address over TCP, a gateway) that instances
/// elsewhere probe to tell whether the cluster as a whole is reachable from them: a few probes per cluster find
/// a lost cluster in seconds, where one probe per export address takes a cycle of thousands. They ride on the
/// claim because the claim is already there: written by the one publisher of the cluster, under its lease, so
/// they vanish with it, and read by every server as its heartbeat, so they cost no new key, permission or read.
public struct ClaimValue: Equatable, Sendable {
    public var holder: String
    public var beacons: [ProbeTarget]

    public init(holder: String, beacons: [ProbeTarget] = []) {
        self.holder = holder
        self.beacons = beacons
    }

    private struct Wire: Codable {
        var holder: String
        var beacons: [String]?
    }

    public var json: String {
        let wire = Wire(holder: holder, beacons: beacons.isEmpty ? nil : beacons.map(\.description))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(wire)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    /// Reads a claim's value. A value that is not this JSON (a claim written by an earlier version: the holder
    /// as plain text) is all holder and no beacons; a beacon that does not parse is left out.
    public init(parsing text: String) {
        guard text.hasPrefix("{"), let wire = try? JSONDecoder().decode(Wire.self, from: Data(text.utf8)) else {
            self.init(holder: text)
            return
        }
        self.init(holder: wire.holder, beacons: (wire.beacons ?? []).compactMap(ProbeTarget.init))
    }
}
