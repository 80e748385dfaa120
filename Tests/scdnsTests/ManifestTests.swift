import Foundation
import XCTest
import Yams

/// The Kubernetes deployment in deploy/kubernetes/ (its README): every manifest valid against the Kubernetes API
/// schemas, offline, with kubernetes-validate; the objects consistent with each other, with the image (the
/// Dockerfile's ENTRYPOINT and CMD) and with the configuration they mount; and that configuration, laid out as
/// the pod sees it, accepted by the real `scdns check`. No cluster is needed.
final class ManifestTests: XCTestCase {
    func testEveryManifestValidatesStrictlyAgainstTheKubernetesSchemas() throws {
        let manifests = try Manifests()
        // `make test` installs it into the project's tools venv (scripts/install-deps.sh), not onto PATH.
        let validator = ServerProcess.repositoryRoot + "/.build-tools/venv/bin/kubernetes-validate"
        guard FileManager.default.isExecutableFile(atPath: validator) else {
            XCTFail("\(validator) is missing: run `make test-deps` (it installs the PyPI package kubernetes-validate)")
            return
        }
        let result = try Tools.run(validator, ["--strict"] + manifests.files)
        XCTAssertEqual(result.status, 0, result.output)
        // A kind it has no schema for is only a WARN line, with exit status 0: every object must have passed.
        let lines = result.output.split(separator: "\n")
        let passed = lines.filter { $0.hasPrefix("INFO ") && $0.contains(" passed for resource ") }
        XCTAssertEqual(passed.count, manifests.objects.count, result.output)
        XCTAssertFalse(lines.contains { ["WARN ", "ERROR ", "FATAL "].contains(where: $0.hasPrefix) }, result.output)
    }

    /// The Service sends port 53 to the container's DNS ports, which are the port of `listen:`; the probes ask
    /// the container's admin port, which is the port of `admin:`.
    func testTheServiceAndTheProbesUseTheContainerPortsTheConfigListensOn() throws {
        let manifests = try Manifests()
        let container = try manifests.container()
        let config = try manifests.config()
        let ports = Field.list(container, "ports").map(ContainerPort.init)

        let service = try manifests.object("Service", "scdns")
        for port in Field.list(service, "spec", "ports") {
            let target = try XCTUnwrap(Field.value(port, ["targetPort"]), "a Service port without targetPort")
            let proto = Field.string(port, "protocol") ?? "TCP"
            XCTAssertTrue(
                ports.contains { $0.proto == proto && ($0.name == "\(target)" || "\($0.number)" == "\(target)") },
                "Service port \(Field.string(port, "name") ?? "") targets \(target)/\(proto), not a container port")
        }
        for proto in ["UDP", "TCP"] {
            let dns = Field.list(service, "spec", "ports").filter {
                Field.string($0, "port") == "53" && (Field.string($0, "protocol") ?? "TCP") == proto
            }
            XCTAssertEqual(dns.count, 1, "the Service should have port 53/\(proto)")
        }

        // Flags in the container's command line override the config.
        let argv = try manifests.argv()
        let flags = Manifests.options("--listen", in: argv)
        let listen = flags.isEmpty ? Field.strings(config, "listen") ?? [] : flags
        let listenPorts = listen.compactMap(Self.port)
        XCTAssertFalse(listen.isEmpty, "scdns.yaml should say what to listen on")
        XCTAssertEqual(listenPorts.count, listen.count, "listen: \(listen)")
        for proto in ["UDP", "TCP"] {
            let dns = ports.filter { $0.proto == proto && $0.name.hasPrefix("dns") }.map(\.number)
            XCTAssertEqual(dns.count, 1, "one DNS container port over \(proto): \(ports)")
            XCTAssertEqual(Set(dns), Set(listenPorts), "the \(proto) container port is not what scdns listens on")
        }

        let admin = try XCTUnwrap(
            Manifests.options("--admin", in: argv).last ?? Field.string(config, "admin"), "scdns.yaml has no admin")
        for (probe, path) in [("readinessProbe", "/ready"), ("livenessProbe", "/health")] {
            XCTAssertEqual(Field.string(container, probe, "httpGet", "path"), path, probe)
            let port = try XCTUnwrap(Field.string(container, probe, "httpGet", "port"), "\(probe) has no port")
            let target = ports.first { $0.proto == "TCP" && ($0.name == port || "\($0.number)" == port) }
            XCTAssertEqual(target?.name, "admin", "\(probe) should ask the admin container port, not \(port)")
            XCTAssertEqual(target?.number, Self.port(admin), "\(probe) does not ask the port of admin: \(admin)")
        }
    }

    /// The config file the container is started with lies in the read-only ConfigMap volume, and every file the
    /// config names is in the ConfigMap at the path the config gives it: the registry, and the zones directory
    /// holding the repository's zone files.
    func testTheConfigMapMountsEveryFileTheConfigNames() throws {
        let manifests = try Manifests()
        let volume = try manifests.configVolume()
        XCTAssertEqual(volume.configPath, "/etc/scdns/scdns.yaml", "the image's config path (Dockerfile ENTRYPOINT)")
        XCTAssertNotNil(volume.files[volume.configFile], "\(volume.configFile) is not in the volume")
        let config = try manifests.config()

        if Field.value(config, ["registry", "etcd"]) == nil {
            let registry = try volume.relative(Field.string(config, "registry", "file") ?? "registry.yaml")
            XCTAssertNotNil(
                volume.files[registry], "the registry \(registry) is not in the volume: \(volume.files.keys)")
        }

        let zones = try volume.relative(Field.string(config, "zones") ?? "zones")
        let mountedZones = volume.files.filter { path, _ in
            path.hasPrefix(zones + "/") && path.hasSuffix(".zone") && !path.dropFirst(zones.count + 1).contains("/")
        }
        let zoneKeys = try manifests.configMapData().keys.filter { $0.hasSuffix(".zone") }
        XCTAssertEqual(mountedZones.count, zoneKeys.count, "every zone file of the ConfigMap goes under \(zones)/")
        let repositoryZones = ServerProcess.repositoryRoot + "/zones"
        let names = try FileManager.default.contentsOfDirectory(atPath: repositoryZones).filter {
            $0.hasSuffix(".zone")
        }
        XCTAssertEqual(Set(mountedZones.keys.map { String($0.dropFirst(zones.count + 1)) }), Set(names))
        for name in names {
            let text = try String(contentsOfFile: repositoryZones + "/" + name, encoding: .utf8)
            XCTAssertEqual(mountedZones[zones + "/" + name], text, "\(name) differs from the repository's zones/")
        }
    }

    /// The Deployment, the Service, the PodDisruptionBudget and the spread constraints all select the pod's labels.
    func testEverySelectorMatchesThePodLabels() throws {
        let manifests = try Manifests()
        let deployment = try manifests.object("Deployment", "scdns")
        let service = try manifests.object("Service", "scdns")
        let pdb = try manifests.object("PodDisruptionBudget", "scdns")
        let labels = Field.labels(deployment, "spec", "template", "metadata", "labels")
        let selectors = [
            ("Deployment", Field.labels(deployment, "spec", "selector", "matchLabels")),
            ("Service", Field.labels(service, "spec", "selector")),
            ("PodDisruptionBudget", Field.labels(pdb, "spec", "selector", "matchLabels")),
        ]
        for (kind, selector) in selectors {
            XCTAssertFalse(selector.isEmpty, "\(kind) has no selector")
            XCTAssertTrue(selector.allSatisfy { labels[$0.key] == $0.value }, "\(kind) \(selector) vs pod \(labels)")
        }
        let constraints = Field.list(deployment, "spec", "template", "spec", "topologySpreadConstraints")
        XCTAssertFalse(constraints.isEmpty, "the pods should spread across nodes")
        for constraint in constraints {
            let selector = Field.labels(constraint, "labelSelector", "matchLabels")
            XCTAssertFalse(selector.isEmpty, "a spread constraint without a selector counts no pod")
            XCTAssertTrue(selector.allSatisfy { labels[$0.key] == $0.value }, "spread \(selector) vs pod \(labels)")
        }

        let replicas = try XCTUnwrap(Field.value(deployment, ["spec", "replicas"]) as? Int)
        let minAvailable = try XCTUnwrap(Field.value(pdb, ["spec", "minAvailable"]) as? Int)
        XCTAssertTrue(minAvailable >= 1 && minAvailable < replicas, "minAvailable \(minAvailable) of \(replicas)")

        _ = try manifests.object("Namespace", "scdns-system")
        for object in manifests.objects where Field.string(object, "kind") != "Namespace" {
            let name = "\(Field.string(object, "kind") ?? "") \(Field.string(object, "metadata", "name") ?? "")"
            let namespace = Field.string(object, "metadata", "namespace")
            XCTAssertEqual(namespace, name == "ConfigMap coredns" ? "kube-system" : "scdns-system", name)
        }
    }

    /// The pod passes the "restricted" Pod Security profile and has time to finish its lame duck and drain.
    func testThePodRunsRestrictedAndDrainsWithinItsGracePeriod() throws {
        let manifests = try Manifests()
        let deployment = try manifests.object("Deployment", "scdns")
        let pod = Field.value(deployment, ["spec", "template", "spec"])
        let container = try manifests.container()
        XCTAssertEqual(Field.value(pod, ["securityContext", "runAsNonRoot"]) as? Bool, true)
        let user = try XCTUnwrap(Field.value(pod, ["securityContext", "runAsUser"]) as? Int, "a numeric runAsUser")
        XCTAssertNotEqual(user, 0)
        XCTAssertEqual(Field.string(pod, "securityContext", "seccompProfile", "type"), "RuntimeDefault")
        XCTAssertEqual(Field.value(container, ["securityContext", "allowPrivilegeEscalation"]) as? Bool, false)
        XCTAssertEqual(Field.value(container, ["securityContext", "readOnlyRootFilesystem"]) as? Bool, true)
        XCTAssertEqual(Field.strings(container, "securityContext", "capabilities", "drop"), ["ALL"])

        // After SIGTERM: lameduck, then what was read is answered, forwarded queries up to the longest forward
        // timeout and a second (README, Admin endpoint).
        let config = try manifests.config()
        let lameDuck = try XCTUnwrap(Self.seconds(Field.string(config, "lameduck") ?? "5s"), "lameduck")
        let timeouts = try Field.list(config, "forward").map { rule in
            try XCTUnwrap(Self.seconds(Field.string(rule, "timeout") ?? "2s"), "forward timeout")
        }
        let drain = lameDuck + (timeouts.max() ?? 0) + 1
        let grace = try XCTUnwrap(Field.value(pod, ["terminationGracePeriodSeconds"]) as? Int)
        XCTAssertGreaterThan(Double(grace), drain, "terminationGracePeriodSeconds should outlast the lame duck")
    }

    /// CoreDNS forwards the three multi-cluster zones to scdns's Service port, from a server block of their own.
    func testCoreDNSForwardsTheScdnsZones() throws {
        let manifests = try Manifests()
        let corefile = try XCTUnwrap(
            Field.string(try manifests.object("ConfigMap", "coredns"), "data", "Corefile"), "no Corefile")
        var blocks: [(zones: [String], body: [String])] = []
        var depth = 0
        for raw in corefile.split(separator: "\n") {
            let line = (raw.split(separator: "#", omittingEmptySubsequences: false).first ?? "")
                .trimmingCharacters(in: .whitespaces)
            if line.isEmpty { continue }
            if depth == 0 && line.hasSuffix("{") {
                let zones = line.dropLast().split(separator: " ").map { key in
                    String(key.split(separator: ":").first ?? "").lowercased()
                }
                blocks.append((zones, []))
            } else if depth > 0 {
                blocks[blocks.count - 1].body.append(line)
            }
            depth += line.filter { $0 == "{" }.count - line.filter { $0 == "}" }.count
        }
        XCTAssertEqual(depth, 0, "unbalanced braces:\n\(corefile)")
        let root = blocks.first { $0.zones.contains(".") }
        XCTAssertTrue(root?.body.contains { $0.hasPrefix("kubernetes cluster.local") } ?? false, "no default block")

        for zone in ["supercluster.local", "clusterset.local", "global"] {
            let block = try XCTUnwrap(blocks.first { $0.zones.contains(zone) }, "no server block for \(zone)")
            XCTAssertFalse(block.zones.contains("."), "\(zone) should have a block of its own")
            XCTAssertFalse(block.body.contains("loadbalance"), "loadbalance would shuffle scdns's nearest-first order")
            let forward = try XCTUnwrap(block.body.first { $0.hasPrefix("forward . ") }, "\(zone) is not forwarded")
            let targets = forward.dropFirst("forward . ".count).split(separator: " ").map(String.init)
            XCTAssertFalse(targets.isEmpty, forward)
            // IPv4:PORT, [IPv6]:PORT, or an address alone (port 53).
            for target in targets {
                XCTAssertEqual(Self.port(target) ?? 53, 53, "\(zone) goes to \(target), not the Service's port 53")
            }
        }
    }

    /// The ConfigMap's files written out as the kubelet mounts them, and `scdns check` run on them.
    func testScdnsCheckAcceptsTheConfigAsMounted() throws {
        let manifests = try Manifests()
        let volume = try manifests.configVolume()
        let root = NSTemporaryDirectory() + "scdns-manifests-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: root) }
        for (path, text) in volume.files {
            let file = URL(fileURLWithPath: root + "/" + path)
            try FileManager.default.createDirectory(
                at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: file, atomically: true, encoding: .utf8)
        }
        let result = try Tools.scdns(["check", "--config", root + "/" + volume.configFile])
        XCTAssertEqual(result.status, 0, result.output)
        let zones = volume.files.keys.filter { $0.hasSuffix(".zone") }.count
        XCTAssertTrue(result.output.contains("ok: \(zones) zone file(s)"), result.output)
    }

    // MARK: - Helpers

    /// The port of ADDRESS:PORT (`0.0.0.0:5353`, `[::]:5353`); nil for an address alone.
    private static func port(_ address: String) -> Int? {
        address.split(separator: ":").last.flatMap { Int($0) }
    }

    /// A duration of scdns.yaml (`5s`, `500ms`, `2m`, `1h`, or bare seconds) in seconds.
    private static func seconds(_ text: String) -> Double? {
        for (suffix, scale) in [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)] where text.hasSuffix(suffix) {
            return Double(text.dropLast(suffix.count)).map { $0 * scale }
        }
        return Double(text)
    }
}

/// One entry of a container's `ports`.
private struct ContainerPort: CustomStringConvertible {
    var name: String
    var number: Int
    var proto: String

    init(_ port: [AnyHashable: Any]) {
        name = Field.string(port, "name") ?? ""
        number = Field.value(port, ["containerPort"]) as? Int ?? 0
        proto = Field.string(port, "protocol") ?? "TCP"
    }

    var description: String { "\(name) \(number)/\(proto)" }
}

/// The files a configMap volume shows the container: `files` by path under `mountPath`.
private struct ConfigVolume {
    var mountPath: String
    var configPath: String
    var files: [String: String]

    /// The config file's path under the mount.
    var configFile: String { String(configPath.dropFirst(mountPath.count + 1)) }

    /// A path the config names, under the mount: a relative one resolves against the config file's directory.
    func relative(_ path: String, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let directory = URL(fileURLWithPath: configPath).deletingLastPathComponent().path
        var parts: [Substring] = []
        for part in ((path.hasPrefix("/") ? "" : directory + "/") + path).split(separator: "/") where part != "." {
            if part == ".." { _ = parts.popLast() } else { parts.append(part) }
        }
        let absolute = "/" + parts.joined(separator: "/")
        guard absolute.hasPrefix(mountPath + "/") else {
            XCTFail("\(path) (\(absolute)) is outside the volume mounted at \(mountPath)", file: file, line: line)
            throw TestFailure("\(path) not mounted")
        }
        return String(absolute.dropFirst(mountPath.count + 1))
    }
}

/// The objects of deploy/kubernetes/*.yaml, and the parts of them the tests look into.
private struct Manifests {
    static let directory = ServerProcess.repositoryRoot + "/deploy/kubernetes"

    let files: [String]
    let objects: [[AnyHashable: Any]]

    init() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.directory)
        files = names.filter { $0.hasSuffix(".yaml") }.sorted().map { Self.directory + "/" + $0 }
        var objects: [[AnyHashable: Any]] = []
        for file in files {
            var documents = try Yams.load_all(yaml: try String(contentsOfFile: file, encoding: .utf8))
            while let document = documents.next() {
                if let object = document as? [AnyHashable: Any] { objects.append(object) }
            }
            if let error = documents.error { throw error }
        }
        self.objects = objects
        XCTAssertFalse(objects.isEmpty, "no manifests in \(Self.directory)")
    }

    /// The one object of this kind and name.
    func object(
        _ kind: String, _ name: String, file: StaticString = #filePath, line: UInt = #line
    ) throws -> [AnyHashable: Any] {
        let found = objects.filter { Field.string($0, "kind") == kind && Field.string($0, "metadata", "name") == name }
        guard found.count == 1, let object = found.first else {
            XCTFail("expected one \(kind) \(name) in \(Self.directory), found \(found.count)", file: file, line: line)
            throw TestFailure("no \(kind) \(name)")
        }
        return object
    }

    /// The Deployment's scdns container.
    func container() throws -> [AnyHashable: Any] {
        let containers = Field.list(try object("Deployment", "scdns"), "spec", "template", "spec", "containers")
        return try XCTUnwrap(containers.first { Field.string($0, "name") == "scdns" }, "no container named scdns")
    }

    /// What the container runs, as Kubernetes composes it: `command` replaces the image's ENTRYPOINT and drops its
    /// CMD; `args` replaces the CMD.
    func argv() throws -> [String] {
        let container = try self.container()
        let args = Field.strings(container, "args").flatMap { $0.isEmpty ? nil : $0 }
        if let command = Field.strings(container, "command"), !command.isEmpty { return command + (args ?? []) }
        return try (Self.dockerfile("ENTRYPOINT") ?? []) + (args ?? Self.dockerfile("CMD") ?? [])
    }

    /// The exec form (`ENTRYPOINT ["scdns", ...]`) of the Dockerfile's last such instruction, the final stage's.
    static func dockerfile(_ instruction: String) throws -> [String]? {
        let text = try String(contentsOfFile: ServerProcess.repositoryRoot + "/Dockerfile", encoding: .utf8)
        guard let line = text.split(separator: "\n").last(where: { $0.hasPrefix(instruction + " ") }) else {
            return nil
        }
        let json = Data(line.dropFirst(instruction.count + 1).utf8)
        return try XCTUnwrap(JSONSerialization.jsonObject(with: json) as? [String], "not exec form: \(line)")
    }

    /// Every value of an option in `argv`, as `--name VALUE` or `--name=VALUE`.
    static func options(_ name: String, in argv: [String]) -> [String] {
        var values: [String] = []
        for (index, argument) in argv.enumerated() {
            if argument == name && index + 1 < argv.count { values.append(argv[index + 1]) }
            if argument.hasPrefix(name + "=") { values.append(String(argument.dropFirst(name.count + 1))) }
        }
        return values
    }

    func configMapData() throws -> [String: String] {
        let data = Field.mapping(try object("ConfigMap", "scdns-config"), "data")
        return Dictionary(uniqueKeysWithValues: data.map { ("\($0.key)", "\($0.value)") })
    }

    /// The ConfigMap volume that holds the config file the container is started with (`--config`).
    func configVolume() throws -> ConfigVolume {
        let configPath = try XCTUnwrap(Self.options("--config", in: try argv()).last, "scdns runs without --config")
        let mounts = Field.list(try self.container(), "volumeMounts")
        let mount = try XCTUnwrap(
            mounts.first(where: { configPath.hasPrefix((Field.string($0, "mountPath") ?? "") + "/") }),
            "no volume mounted where \(configPath) is")
        XCTAssertEqual(Field.value(mount, ["readOnly"]) as? Bool, true, "the config volume should be read-only")
        let volumes = Field.list(try object("Deployment", "scdns"), "spec", "template", "spec", "volumes")
        let volume = try XCTUnwrap(volumes.first { Field.string($0, "name") == Field.string(mount, "name") })
        XCTAssertEqual(Field.string(volume, "configMap", "name"), "scdns-config")
        let data = try configMapData()
        var files: [String: String] = [:]
        let items = Field.list(volume, "configMap", "items")
        for item in items {
            let key = Field.string(item, "key") ?? ""
            // A missing key keeps the pod from starting.
            let text = try XCTUnwrap(data[key], "item \(key) is not a key of the ConfigMap")
            files[Field.string(item, "path") ?? key] = text
        }
        if items.isEmpty { files = data }
        return ConfigVolume(
            mountPath: Field.string(mount, "mountPath") ?? "", configPath: configPath, files: files)
    }

    /// The mounted scdns.yaml, parsed.
    func config() throws -> [AnyHashable: Any] {
        let volume = try configVolume()
        let text = try XCTUnwrap(volume.files[volume.configFile], "\(volume.configPath) is not in the ConfigMap")
        return try XCTUnwrap(try Yams.load(yaml: text) as? [AnyHashable: Any], "scdns.yaml is not a mapping")
    }
}

/// The loosely typed values Yams gives (`[AnyHashable: Any]`, `[Any]`, scalars), read by a path of keys.
private enum Field {
    static func value(_ root: Any?, _ keys: [String]) -> Any? {
        keys.reduce(root) { current, key in (current as? [AnyHashable: Any])?[AnyHashable(key)] }
    }

    static func string(_ root: Any?, _ keys: String...) -> String? {
        value(root, keys).map { "\($0)" }
    }

    static func strings(_ root: Any?, _ keys: String...) -> [String]? {
        (value(root, keys) as? [Any])?.map { "\($0)" }
    }

    static func mapping(_ root: Any?, _ keys: String...) -> [AnyHashable: Any] {
        value(root, keys) as? [AnyHashable: Any] ?? [:]
    }

    static func list(_ root: Any?, _ keys: String...) -> [[AnyHashable: Any]] {
        (value(root, keys) as? [Any] ?? []).compactMap { $0 as? [AnyHashable: Any] }
    }

    static func labels(_ root: Any?, _ keys: String...) -> [String: String] {
        let labels = value(root, keys) as? [AnyHashable: Any] ?? [:]
        return Dictionary(uniqueKeysWithValues: labels.map { ("\($0.key)", "\($0.value)") })
    }
}
