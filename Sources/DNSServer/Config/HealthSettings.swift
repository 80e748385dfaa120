import ServiceRegistry

/// `health: { probes, interval, timeout, fall, rise, maxProbesPerSecond }`: this instance's reachability probes
/// (DESIGN.md section 3). Off by default: a probe sends a TCP SYN to every export address of the registry, which
/// an operator turns on knowing where those addresses lead.
public struct HealthSettings: Sendable, Equatable {
    /// `probes`: whether this instance probes the exports it may hand out and demotes those it cannot reach.
    public var probes = false
    /// `interval`: between two probes of one target (the cycle lengthens when `maxProbesPerSecond` says so).
    public var interval: Duration = .seconds(2)
    /// `timeout`: a TCP connect not completed by then has failed.
    public var timeout: Duration = .seconds(1)
    /// `fall`: failed probes in a row that take a target down; `rise`: successful ones that bring it back.
    public var fall = 3
    public var rise = 2
    /// `maxProbesPerSecond`: the most TCP connects to export addresses this instance starts in a second (beacons,
    /// a few per cluster, are probed every `interval` besides).
    public var maxProbesPerSecond = 200

    public init() {}

    static func decode(_ field: YAMLField) throws(RegistryError) -> HealthSettings {
        let mapping = try field.mapping(allowing: ConfigKeys.health)
        var settings = HealthSettings()
        if let value = mapping["probes"] { settings.probes = try value.bool() }
        if let value = mapping["interval"] {
            settings.interval = try ServerConfig.duration(value, ServerConfig.DurationRange.probeInterval)
        }
        if let value = mapping["timeout"] {
            settings.timeout = try ServerConfig.duration(value, ServerConfig.DurationRange.probeTimeout)
        }
        if let value = mapping["fall"] { settings.fall = try value.int(in: 1...100) }
        if let value = mapping["rise"] { settings.rise = try value.int(in: 1...100) }
        if let value = mapping["maxProbesPerSecond"] { settings.maxProbesPerSecond = try value.int(in: 1...100_000) }
        if settings.timeout > settings.interval, let value = mapping["timeout"] {
            throw value.error("is longer than interval (\(settings.interval)): a probe must end before the next")
        }
        return settings
    }
}
