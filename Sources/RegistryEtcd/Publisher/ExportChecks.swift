import HealthCheck
import ServiceRegistry

/// How a publisher checks one service's exports from inside its own cluster (`scdns registry publish --check`).
///
/// Written `tcp`, `tcp:PORT`, `http:/PATH`, `http:PORT/PATH` or `none`. Without a port a check uses the
/// service's first TCP port. A ClusterSetIP export is checked at each of its addresses and published unhealthy
/// when all of them fail; a Headless export is checked per endpoint, and an endpoint all of whose addresses fail
/// is published not ready.
public struct CheckSpec: Equatable, Sendable, CustomStringConvertible {
    public enum Kind: Equatable, Sendable {
        case tcp
        case http(path: String)
        /// No check (turns a default off for one service).
        case none
    }

    public var kind: Kind
    /// nil: the service's first TCP port.
    public var port: UInt16?

    public init(kind: Kind, port: UInt16? = nil) {
        self.kind = kind
        self.port = port
    }

    /// Parses `tcp`, `tcp:PORT`, `http:/PATH`, `http:PORT/PATH` or `none`; nil if it is none of them.
    public init?(_ text: String) {
        if text == "none" {
            self.init(kind: .none)
            return
        }
        if text == "tcp" {
            self.init(kind: .tcp)
            return
        }
        if text.hasPrefix("tcp:") {
            guard let port = UInt16(text.dropFirst(4)), port > 0 else { return nil }
            self.init(kind: .tcp, port: port)
            return
        }
        guard text.hasPrefix("http:") else { return nil }
        let rest = text.dropFirst(5)
        guard let slash = rest.firstIndex(of: "/") else { return nil }
        let path = String(rest[slash...])
        // A path goes into the request line as written: no spaces or control characters.
        guard path.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { return nil }
        if slash == rest.startIndex {
            self.init(kind: .http(path: path))
        } else {
            guard let port = UInt16(rest[..<slash]), port > 0 else { return nil }
            self.init(kind: .http(path: path), port: port)
        }
    }

    public var description: String {
        let port = port.map { "\($0)" } ?? ""
        switch kind {
        case .none: return "none"
        case .tcp: return port.isEmpty ? "tcp" : "tcp:\(port)"
        case .http(let path): return port.isEmpty ? "http:\(path)" : "http:\(port)\(path)"
        }
    }
}

/// Which check each service's exports get: one for every service (`--check SPEC`) and per service
/// (`--check NAMESPACE/NAME=SPEC`), the latter first.
public struct ExportCheckPlan: Equatable, Sendable {
    public var everyService: CheckSpec?
    /// Keyed "NAMESPACE/NAME".
    public var perService: [String: CheckSpec]

    public init(everyService: CheckSpec? = nil, perService: [String: CheckSpec] = [:]) {
        self.everyService = everyService
        self.perService = perService
    }

    /// Parses the values of `--check`, each `SPEC` or `NAMESPACE/NAME=SPEC`; the error says which is wrong.
    public init(arguments: [String]) throws(CheckPlanError) {
        self.init()
        for argument in arguments {
            let (service, specText): (String?, String) =
                if let equals = argument.firstIndex(of: "=") {
                    (String(argument[..<equals]), String(argument[argument.index(after: equals)...]))
                } else { (nil, argument) }
            guard let spec = CheckSpec(specText) else {
                throw CheckPlanError(
                    "--check \(argument): '\(specText)' is none of tcp, tcp:PORT, http:/PATH, http:PORT/PATH, none")
            }
            if let service {
                let parts = service.split(separator: "/", omittingEmptySubsequences: false)
                guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                    throw CheckPlanError("--check \(argument): '\(service)' is not NAMESPACE/NAME")
                }
                guard perService[service] == nil else {
                    throw CheckPlanError("--check \(argument): \(service) is given a check twice")
                }
                perService[service] = spec
            } else {
                guard everyService == nil else {
                    throw CheckPlanError("--check \(argument): a check for every service is given twice")
                }
                everyService = spec
            }
        }
    }

    public var isEmpty: Bool { everyService == nil && perService.isEmpty }

    /// The check of `service`, if any.
    public func spec(of service: Service) -> CheckSpec? {
        guard let spec = perService["\(service.namespace)/\(service.name)"] ?? everyService, spec.kind != .none
        else { return nil }
        return spec
    }

    /// The checks of every export of `services`, each once, or an error naming a service a check cannot apply
    /// to: one named that the file does not have, or one without a TCP port and a check without a port.
    public func checks(of services: [Service], file: String) throws(RegistryError) -> Set<HealthCheck> {
        let names = Set(services.map { "\($0.namespace)/\($0.name)" })
        if let missing = perService.keys.sorted().first(where: { !names.contains($0) }) {
            throw RegistryError(
                file: file, field: missing, message: "has a --check but is not in the file (a misspelt name?)")
        }
        var checks: Set<HealthCheck> = []
        for service in services {
            guard let spec = spec(of: service) else { continue }
            guard let check = try Self.check(spec, of: service, file: file) else { continue }
            for export in service.clusters {
                for address in export.addresses + export.endpoints.flatMap(\.addresses) {
                    checks.insert(HealthCheck(address: address, port: check.port, kind: check.kind))
                }
            }
        }
        return checks
    }

    /// The port and kind `spec` checks `service` with.
    private static func check(
        _ spec: CheckSpec, of service: Service, file: String
    ) throws(RegistryError)
        -> (port: UInt16, kind: HealthCheck.Kind)?
    {
        let kind: HealthCheck.Kind
        switch spec.kind {
        case .none: return nil
        case .tcp: kind = .tcp
        case .http(let path): kind = .http(path: path)
        }
        guard let port = spec.port ?? service.ports.first(where: { $0.portProtocol == .tcp })?.port else {
            throw RegistryError(
                file: file, field: "\(service.namespace)/\(service.name)",
                message: "has no TCP port for --check \(spec); give one (--check NAMESPACE/NAME=tcp:PORT)")
        }
        return (port, kind)
    }

    /// `services` as the checks found them: an export all of whose addresses are in `down` unhealthy, an endpoint
    /// all of whose addresses are in `down` not ready. A check only demotes: what the file marks unhealthy or not
    /// ready stays so.
    public func applying(down: Set<HealthCheck>, to services: [Service]) -> [Service] {
        guard !down.isEmpty else { return services }
        return services.map { service in
            guard let spec = spec(of: service),
                let (port, kind) = try? Self.check(spec, of: service, file: "")
            else { return service }
            func isDown(_ addresses: [IPAddress]) -> Bool {
                !addresses.isEmpty
                    && addresses.allSatisfy { down.contains(HealthCheck(address: $0, port: port, kind: kind)) }
            }
            var checked = service
            for (index, export) in service.clusters.enumerated() {
                if isDown(export.addresses) { checked.clusters[index].healthy = false }
                for (endpointIndex, endpoint) in export.endpoints.enumerated() where isDown(endpoint.addresses) {
                    checked.clusters[index].endpoints[endpointIndex].ready = false
                }
            }
            return checked
        }
    }
}

public struct CheckPlanError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

/// The timing of a publisher's checks: each check once per `interval`, given `timeout`, `fall` failures in a row
/// to demote and `rise` successes to restore (the server's probes' meaning, docs/configuration.md "Health probes").
public struct ExportCheckSettings: Equatable, Sendable {
    public var plan: ExportCheckPlan
    public var interval: Duration
    public var timeout: Duration
    public var fall: Int
    public var rise: Int

    public init(
        plan: ExportCheckPlan, interval: Duration = .seconds(2), timeout: Duration = .seconds(1), fall: Int = 3,
        rise: Int = 2
    ) {
        self.plan = plan
        self.interval = interval
        self.timeout = timeout
        self.fall = fall
        self.rise = rise
    }
}
