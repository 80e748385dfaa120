import ServiceRegistry

/// The registry decoder under arbitrary text (`make fuzz`, target `registry`): it never traps, every rejection
/// names the file, and every export it accepts writes out (the flat JSON etcd holds) and reads back the same.
public enum RegistryFuzz {
    public static func check(_ data: [UInt8]) -> [String] {
        let text = String(decoding: data, as: UTF8.self)
        let services: [Service]
        do {
            services = try RegistryDecoder.decode(text, file: "fuzz.yaml")
        } catch {
            return error.description.hasPrefix("fuzz.yaml") ? [] : ["a rejection without the file: \(error)"]
        }
        var problems: [String] = []
        for service in services {
            for cluster in service.clusters {
                var alone = service
                alone.clusters = [cluster]
                let json = ExportEncoder.flatJSON(service, cluster: cluster)
                guard let again = try? RegistryDecoder.decodeExport(json, file: "etcd") else {
                    problems.append("an accepted export does not read back: \(json)")
                    continue
                }
                if again != alone { problems.append("an export reads back changed: \(json)") }
            }
        }
        return problems
    }
}
