import DNSPipeline
import Foundation

extension QueryExplanation {
    /// The explanation as `scdns explain` prints it: a few lines of context, then one row per candidate.
    public var table: String {
        var lines: [String] = []
        let ecs = query.ecs.map { " (ECS \($0))" } ?? ""
        lines.append("\(query.name) \(query.type) asked by \(query.client)\(ecs)")
        let place = [locality.cluster, locality.region, locality.zone].map { $0.isEmpty ? "-" : $0 }
        lines.append("locality  \(place.joined(separator: " / ")): \(locality.reason)")
        if let service {
            let vip = service.vip.map { ", vip \($0)" } ?? ""
            lines.append(
                "service   \(service.namespace)/\(service.name) (\(service.type)\(vip)), as its \(service.form) name")
        }
        switch outcome {
        case "forwarded":
            lines.append("answer    forwarded to the upstreams of \(forwardZone ?? "?")")
        case "dropped":
            lines.append("answer    none (dropped)")
        default:
            if let answer {
                let flags = (answer.authoritative ? " aa" : "") + (answer.truncated ? " tc" : "")
                lines.append("answer    \(answer.rcode)\(flags), \(answer.records.count) record(s)")
                lines += answer.records.map { "          \($0)" }
            }
        }
        if !tiers.isEmpty {
            let described = tiers.map { "\($0.tier) \($0.name): \($0.clusters.joined(separator: ", "))" }
            lines.append("tiers     " + described.joined(separator: "; "))
        }
        if maxAnswers > 0 { lines.append("maxAnswers \(maxAnswers)") }
        lines += notes.map { "note      \($0)" }
        guard !candidates.isEmpty else { return lines.joined(separator: "\n") + "\n" }
        lines.append("")
        let header = ["pos", "address", "cluster", "tier", "weight", "healthy", "why"]
        let rows = candidates.map { candidate -> [String] in
            [
                candidate.position.map(String.init) ?? "-",
                candidate.endpoint.map { "\(candidate.address) (\($0))" } ?? candidate.address,
                candidate.cluster,
                candidate.tier.map(String.init) ?? "-",
                String(candidate.weight),
                candidate.healthy ? "yes" : "no",
                candidate.reason,
            ]
        }
        let widths = header.indices.dropLast().map { column in
            ([header] + rows).map { $0[column].count }.max() ?? 0
        }
        for row in [header] + rows {
            let padded = widths.indices.map { row[$0].padding(toLength: widths[$0], withPad: " ", startingAt: 0) }
            lines.append((padded + [row[row.count - 1]]).joined(separator: "  "))
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
