import ArgumentParser
import DNSServer

struct Health: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Ask a running server's admin endpoint for /health; exit 0 when it answers 200, 1 otherwise.",
        discussion: "The container image's HEALTHCHECK, so the image needs no curl.")

    @Option(
        name: .long,
        help: "ADDRESS:PORT of the admin endpoint (default: the config's 'admin', else 127.0.0.1:9253).")
    var admin: String?

    @Option(name: .long, help: "The config file whose 'admin' to ask.")
    var config: String?

    @Option(name: .long, help: "The path to ask: /health (liveness) or /ready (readiness).")
    var path = "/health"

    @Option(name: .long, help: "Seconds to wait for the answer.")
    var timeout = 3

    func run() async throws {
        let address: ListenAddress
        if let admin {
            guard let parsed = ListenAddress(admin) else {
                throw ValidationError("--admin '\(admin)' is not ADDRESS:PORT")
            }
            address = parsed
        } else {
            let loaded = try ScdnsServer.loadConfig(path: config)
            address = loaded.admin ?? HealthProbe.defaultAdmin
        }
        let (healthy, message) = await HealthProbe.check(admin: address, path: path, timeout: .seconds(timeout))
        print(message)
        if !healthy { throw ExitCode.failure }
    }
}
